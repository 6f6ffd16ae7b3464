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
import zipfile

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


def _digest(params: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(params).tobytes()).hexdigest()


def save_model(model, path) -> None:
    from . import __version__

    params = model.get_parameters()
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "class": "SSMN",
        "config": model.config.to_dict(),
        "n_parameters": int(params.size),
        "dtype": str(params.dtype),
        "sha256": _digest(params),
        "seed": model.seed,
    }
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, parameters=params, metadata=blob))


def read_model_file(path) -> tuple[dict, np.ndarray]:
    """Return (metadata, parameters) after checking format, version and checksum."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist or is not a file")
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ModelFileError(f"{str(path)!r} is a bare .npy array, not an ssmn_rl model file")
        with z:
            names = set(z.files)
            if {"parameters", "metadata"} - names:
                raise ModelFileError(f"{str(path)!r} is not an ssmn_rl model file (arrays {sorted(names)}, "
                                     "expected 'parameters' and 'metadata')")
            blob, params = z["metadata"], z["parameters"]
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, zipfile.LargeZipFile) as e:
        raise ModelFileError(f"{str(path)!r} is not a readable ssmn_rl model file "
                             f"(truncated or corrupted?): {type(e).__name__}: {e}") from e
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
    if _digest(params) != meta.get("sha256"):
        raise ModelFileError(f"{str(path)!r}: parameter checksum mismatch (file corrupted)")
    return meta, params


def load_model(path):
    from .model import SSMN

    meta, params = read_model_file(path)
    try:
        return SSMN.from_config(meta["config"], parameters=params, seed=meta.get("seed"))
    except (SSMNError, TypeError, KeyError) as e:
        raise ModelFileError(f"{str(path)!r}: stored configuration is invalid: {e}") from e
