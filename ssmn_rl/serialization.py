"""Model files: a versioned, non-executable format with atomic writes.

A model file is a ZIP archive written by ``numpy.savez`` holding two arrays:
``parameters`` (the flat vector) and ``metadata`` (UTF-8 JSON as uint8): format name and version,
library version, the full config, parameter count, dtype, and a SHA-256 of the parameter bytes.
It is read with ``allow_pickle=False``, so loading never runs code from the file. Writes go to a
temporary file in the same directory, are flushed and fsynced, then renamed over the target.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile

import numpy as np

from .errors import ModelFileError, SSMNError

FORMAT_NAME = "ssmn_rl.model"
FORMAT_VERSION = 1


def atomic_write(path, write_fn) -> None:
    """Call write_fn(file object) on a temp file next to `path`, fsync, then os.replace."""
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_archive_error(path, what: str, e: Exception) -> ModelFileError:
    """The error for an archive that numpy/zipfile could not read. A damaged ZIP makes them raise
    almost anything (BadZipFile, ValueError, EOFError, NotImplementedError for an unknown
    compression method or version, RuntimeError for an "encrypted" member, zlib.error,
    MemoryError for a header claiming a huge array, ...), so every Exception while parsing an
    untrusted file becomes this one typed error, with the original chained."""
    return ModelFileError(f"{str(path)!r} is not a readable ssmn_rl {what} file (truncated or "
                          f"corrupted?): {type(e).__name__}: {e}")


def read_npz_arrays(path, what: str) -> dict:
    """Every array of an untrusted ``.npz`` file, read without pickle; any failure to parse it is
    a ModelFileError naming `what` ("model", "agent", ...)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ModelFileError(f"{what} file {str(path)!r} does not exist or is not a file")
    try:
        # the file handle is ours, so it is closed however np.load or zipfile fail
        with open(path, "rb") as fh:
            z = np.load(fh, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ModelFileError(f"{str(path)!r} is a bare .npy array, not an ssmn_rl {what} file")
            with z:
                return {k: z[k] for k in z.files}
    except ModelFileError:
        raise
    except Exception as e:  # noqa: BLE001 - see read_archive_error
        raise read_archive_error(path, what, e) from e


def parameters_digest(params: np.ndarray) -> str:
    """SHA-256 of a parameter vector's bytes (the checksum stored in model files)."""
    return hashlib.sha256(np.ascontiguousarray(params).tobytes()).hexdigest()


def save_model(model, path) -> None:
    from ._version import __version__

    params = model.get_parameters()
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "class": "SSMN",
        "config": model.config.to_dict(),
        "n_parameters": int(params.size),
        "dtype": str(params.dtype),
        "sha256": parameters_digest(params),
        "seed": model.seed,
        "plugins": plugin_info(model.config.variant, model.config.rule),
    }
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, parameters=params, metadata=blob))


def read_model_file(path) -> tuple[dict, np.ndarray]:
    """Return (metadata, parameters) after checking format, version and checksum."""
    path = pathlib.Path(path)
    arrays = read_npz_arrays(path, "model")
    if {"parameters", "metadata"} - set(arrays):
        raise ModelFileError(f"{str(path)!r} is not an ssmn_rl model file (arrays {sorted(arrays)}, "
                             "expected 'parameters' and 'metadata')")
    blob, params = arrays["metadata"], arrays["parameters"]
    try:
        meta = json.loads(blob.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{str(path)!r}: metadata is not valid JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{str(path)!r} is not an ssmn_rl model file (format "
                             f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ModelFileError(f"{str(path)!r} has format version {version!r}; this ssmn_rl reads "
                             f"versions 1..{FORMAT_VERSION}. HINT: upgrade ssmn_rl to load it.")
    if params.ndim != 1 or params.size != meta.get("n_parameters") or str(params.dtype) != meta.get("dtype"):
        raise ModelFileError(f"{str(path)!r}: parameter array ({params.dtype}, {params.shape}) does not "
                             "match its metadata")
    if parameters_digest(params) != meta.get("sha256"):
        raise ModelFileError(f"{str(path)!r}: parameter checksum mismatch (file corrupted)")
    return meta, params


def plugin_info(variant: str, rule: str) -> dict:
    """{"variant": {...}, "rule": {...}}: name, distribution and version of the plugins a model
    needs, stored in files so that a load without them can say what to install."""
    from .plugin_manager import list_rules, list_variants

    out = {}
    for kind, name, listed in (("variant", variant, list_variants()), ("rule", rule, list_rules())):
        found = [r for r in listed if r["name"] == name]
        out[kind] = {"name": name, "distribution": found[0]["distribution"] if found else None,
                     "version": found[0]["version"] if found else None}
    return out


def check_plugins_installed(path, variant, rule, stored: dict | None) -> None:
    """ModelFileError naming the missing plugin (and the distribution that provides it, when the
    file says) if the variant or rule a file needs is not registered here."""
    from .plugin_manager import list_rules, list_variants

    for kind, name, listed in (("variant", variant, list_variants()), ("rule", rule, list_rules())):
        names = sorted(r["name"] for r in listed)
        if not isinstance(name, str) or name in names:
            continue
        info = (stored or {}).get(kind) if isinstance(stored, dict) else None
        dist = info.get("distribution") if isinstance(info, dict) else None
        if dist == "<runtime>":
            hint = "HINT: it was registered at run time; call ssmn_rl.register_plugin() with it first"
        elif dist:
            hint = (f"HINT: install the plugin package {dist!r} (version {info.get('version')}) "
                    "that registers it")
        else:
            hint = "HINT: install the plugin package that registers it"
        raise ModelFileError(f"{str(path)!r} needs the {kind} plugin {name!r}, which is not installed "
                             f"here (installed {kind}s: {names}). {hint}, then load again.")


def read_model(path) -> tuple[dict, np.ndarray, object]:
    """(config dict, parameters, seed) of a model file, after the file checks and a check that
    the plugins it needs are installed; `SSMN.load` builds the model from them."""
    meta, params = read_model_file(path)
    cfg = meta.get("config")
    if not isinstance(cfg, dict):
        raise ModelFileError(f"{str(path)!r}: stored configuration is not a mapping (got {type(cfg).__name__})")
    check_plugins_installed(path, cfg.get("variant"), cfg.get("rule"), meta.get("plugins"))
    return cfg, params, meta.get("seed")
