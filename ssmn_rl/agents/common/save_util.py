"""Agent files: one ``.npz`` (read with ``allow_pickle=False``) holding numeric arrays and a JSON
metadata blob (format name and version, algorithm, hyperparameters, policy config, counters, RNG
states), with a SHA-256 over every array. Written atomically. Live rollout state is not saved."""
from __future__ import annotations

import hashlib
import json
import pathlib

import numpy as np

from ...errors import ModelFileError
from ...serialization import atomic_write, read_npz_arrays

FORMAT_NAME = "ssmn_rl.agent"
FORMAT_VERSION = 1


def _digest(arrays: dict) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()


def save_agent_file(path, meta: dict, arrays: dict) -> None:
    from ..._version import __version__

    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for k, a in arrays.items():
        if a.dtype == object:
            raise ModelFileError(f"array {k!r} has dtype object, which the agent format does not store")
    full = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "library_version": __version__,
            "sha256": _digest(arrays), **meta}
    blob = np.frombuffer(json.dumps(full, sort_keys=True).encode(), dtype=np.uint8)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: np.savez(f, __metadata__=blob, **arrays))


def load_agent_file(path) -> tuple[dict, dict]:
    """(metadata, arrays) of an agent file, after checking format, version and checksum."""
    path = pathlib.Path(path)
    arrays = read_npz_arrays(path, "agent")
    blob = arrays.pop("__metadata__", None)
    if blob is None:
        raise ModelFileError(f"{str(path)!r} is not an ssmn_rl agent file (no metadata). HINT: a model file "
                             "written by SSMN.save is read with SSMN.load.")
    try:
        meta = json.loads(blob.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{str(path)!r}: metadata is not valid JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{str(path)!r} is not an ssmn_rl agent file (format "
                             f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    v = meta.get("format_version")
    if not isinstance(v, int) or not 1 <= v <= FORMAT_VERSION:
        raise ModelFileError(f"{str(path)!r} has agent format version {v!r}; this ssmn_rl reads 1..{FORMAT_VERSION}")
    if _digest(arrays) != meta.get("sha256"):
        raise ModelFileError(f"{str(path)!r}: checksum mismatch (file corrupted)")
    return meta, arrays


def summarize_agent_file(path) -> str:
    """A readable summary of an agent file (what ``ssmn-rl info`` prints): the algorithm, what it
    was trained on and for how long, its spaces and plugins, then the summary of its SSMN."""
    from ...serialization import check_plugins_installed
    from .policy import SSMNPolicy

    meta, arrays = load_agent_file(path)
    try:
        pc = meta["policy"]
        check_plugins_installed(path, pc["variant"], pc["policy_kwargs"].get("rule"), meta.get("plugins"))
        policy = SSMNPolicy.from_config(pc)
        policy.set_parameters(arrays["parameters"])
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        if isinstance(e, ModelFileError):
            raise
        raise ModelFileError(f"{str(path)!r}: stored agent description is invalid: {type(e).__name__}: {e}") from e
    plugins = meta.get("plugins") or {}
    used = ", ".join(f"{kind} {info.get('name')} ({info.get('distribution')} {info.get('version')})"
                     for kind, info in plugins.items() if isinstance(info, dict))
    hp = ", ".join(f"{k}={v}" for k, v in sorted((meta.get("hyperparameters") or {}).items()))
    lines = [
        f"ssmn_rl agent file {path}",
        f"  algorithm  {str(meta.get('algo')).upper()}"
        + ("  (checkpoint: resumes training exactly)" if meta.get("checkpoint") else ""),
        f"  trained    {int(meta.get('num_timesteps', 0)):,} env steps on {meta.get('env_id') or 'an unregistered env'}"
        f" (seed {meta.get('seed')})",
        f"  spaces     observation {policy.observation_space} -> action {policy.action_space}",
        f"  policy     variant={pc['variant']} normalize_obs={pc['normalize_obs']} value_head={pc['value_head']} "
        f"critic={policy.critic_mode or 'none'} parameters {policy.n_parameters:,} (SSMN {policy.model.n_parameters:,}"
        + (f" + critic SSMN {policy.n_critic_parameters:,}" if policy.critic is not None else "")
        + f" + head {policy.extra.size})",
        f"  plugins    {used or 'not recorded'}",
        f"  written by ssmn_rl {meta.get('library_version')}, agent format {meta.get('format_version')}",
    ]
    if hp:
        lines.append(f"  hyperparameters {hp}")
    lines.append("policy network:")
    lines += ["  " + ln for ln in policy.model.summary().splitlines()]
    return "\n".join(lines)
