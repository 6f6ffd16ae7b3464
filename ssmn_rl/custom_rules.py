"""Compiling a third-party rule's C source through cffi, once, into a per-user cache.

A rule may ship C source (``PlasticityRule.c_source``) so that it runs at kernel speed. The source
is written once for both precisions, with ``real`` as the float type and ``SSMN_RULE(name)`` around
its two function names, and must define::

    int SSMN_RULE(update)(void *ctx, real *W, const real *pre, const real *post, int64_t H);
    int SSMN_RULE(vjp)(void *ctx, real *G, real *dpre, real *dpost, const real *W,
                       const real *pre, const real *post, int64_t H);   /* if the rule has a vjp */

``ctx`` points to doubles: eta, decay, then the rule's declared parameters in declaration order.
``update`` overwrites W (H,H, row = post index) with the rule's W' before the clip; ``vjp`` gets
G = dL/dW' and must overwrite it with dL/dW and *add* dL/dpre and dL/dpost. Return 0 on success.
The compiled module is cached under ``$SSMN_RL_CACHE`` (default ``~/.cache/ssmn_rl``), keyed by a
hash of the source and the compiler flags, and reused by later processes.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import pathlib
import sys
import tempfile
import threading

import cffi

from .errors import ConfigError

_PRELUDE = """
#include <math.h>
#include <stdint.h>
#include <string.h>
"""
_PRECISIONS = (("float", "f32"), ("double", "f64"))
_lock = threading.Lock()
_loaded: dict = {}


def cache_dir() -> pathlib.Path:
    root = os.environ.get("SSMN_RL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ssmn_rl")
    return pathlib.Path(root) / "rules"


def _cdef(has_vjp: bool) -> str:
    lines = []
    for ctype, suf in _PRECISIONS:
        lines.append(f"int update_{suf}(void *, {ctype} *, const {ctype} *, const {ctype} *, int64_t);")
        if has_vjp:
            lines.append(f"int vjp_{suf}(void *, {ctype} *, {ctype} *, {ctype} *, const {ctype} *, "
                         f"const {ctype} *, const {ctype} *, int64_t);")
    return "\n".join(lines)


def _source(user: str) -> str:
    parts = [_PRELUDE]
    for ctype, suf in _PRECISIONS:
        parts.append(f"#define real {ctype}\n#define SSMN_RULE(name) name##_{suf}\n#line 1 \"rule.c\"\n"
                     f"{user}\n#undef real\n#undef SSMN_RULE\n")
    return "\n".join(parts)


def compile_rule(name: str, source: str, has_vjp: bool):
    """Return the (ffi, lib) of the compiled rule, building it on first use."""
    flags = ["-O3", "-std=c99", "-ffp-contract=fast"]
    if os.environ.get("SSMN_PORTABLE", "0") in ("", "0"):
        flags.append("-march=native")
    key = hashlib.sha256("\0".join([source, str(has_vjp), *flags, sys.version, cffi.__version__]).encode())
    modname = f"_ssmn_rule_{name}_{key.hexdigest()[:16]}"
    with _lock:
        if modname in _loaded:
            return _loaded[modname]
        ffi = cffi.FFI()
        ffi.cdef(_cdef(has_vjp))
        target = cache_dir() / modname
        built = list(target.glob(f"{modname}*.so")) if target.is_dir() else []
        if not built:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = pathlib.Path(tempfile.mkdtemp(prefix=modname + ".", dir=target.parent))
            ffi.set_source(modname, _source(source), extra_compile_args=flags)
            try:
                so = ffi.compile(tmpdir=str(tmp))
            except Exception as e:
                raise ConfigError(f"C source of rule {name!r} failed to compile: {e}") from e
            try:
                os.replace(tmp, target)  # atomic publish; a concurrent builder may have won
            except OSError:
                pass
            built = list(target.glob(f"{modname}*.so")) or [pathlib.Path(so)]
        spec = importlib.util.spec_from_file_location(modname, built[0])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _loaded[modname] = (module.ffi, module.lib)
        return _loaded[modname]
