"""Compiling a third-party rule's C source through cffi, once, into a per-user cache.

A rule may ship C source (``PlasticityRule.c_source``) so that it runs at kernel speed. The source
is written once for both precisions, with ``real`` as the float type and ``SSMN_RULE(name)`` around
its two function names, and must define::

    int SSMN_RULE(update)(void *ctx, real *W, const real *pre, const real *post,
                          const real *eta, const real *decay, int64_t n, int64_t H);
    int SSMN_RULE(vjp)(void *ctx, real *G, real *dpre, real *dpost, real *deta, real *ddecay,
                       const real *W, const real *pre, const real *post,
                       const real *eta, const real *decay, int64_t n, int64_t H);  /* if it has a vjp */

Each call covers n blocks at once (every stream, and head, of one step): W (n,H,H, row = post
index), pre and post (n,H), and block b's rates eta[b], decay[b] (the model's fixed values, or
the gates' eta_t and lambda_t when the rule declares ``per_stream_rates``). ``ctx`` points to
doubles: the rule's declared parameters in declaration order. ``update`` overwrites W with the
rule's W' before the clip; ``vjp`` gets G = dL/dW' and must overwrite it with dL/dW and *add*
dL/dpre and dL/dpost, and dL/deta, dL/ddecay (n each) when those pointers are not NULL (they are
NULL unless the model's gates need them). Return 0 on success.
The compiled module is cached under ``$SSMN_RL_CACHE`` (default ``~/.cache/ssmn_rl``), keyed by a
hash of the source and the compiler flags, and reused by later processes. When the source does not
compile, the ConfigError carries the compiler's own messages (line numbers refer to ``rule.c``,
the rule's source as written).
"""
from __future__ import annotations

import contextlib
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
        lines.append(f"int update_{suf}(void *, {ctype} *, const {ctype} *, const {ctype} *, const {ctype} *, "
                     f"const {ctype} *, int64_t, int64_t);")
        if has_vjp:
            lines.append(f"int vjp_{suf}(void *, {ctype} *, {ctype} *, {ctype} *, {ctype} *, {ctype} *, "
                         f"const {ctype} *, const {ctype} *, const {ctype} *, const {ctype} *, const {ctype} *, "
                         "int64_t, int64_t);")
    return "\n".join(lines)


def _source(user: str) -> str:
    parts = [_PRELUDE]
    for ctype, suf in _PRECISIONS:
        parts.append(f"#define real {ctype}\n#define SSMN_RULE(name) name##_{suf}\n#line 1 \"rule.c\"\n"
                     f"{user}\n#line 1 \"cffi_glue.c\"\n#undef real\n#undef SSMN_RULE\n")
    return "\n".join(parts)


@contextlib.contextmanager
def _captured_stderr():
    """Collect what is written to file descriptor 2 (the compiler cffi spawns writes there) into the
    yielded list, as one string, when the block ends. Callers hold ``_lock``."""
    sys.stderr.flush()
    saved = os.dup(2)
    out: list[str] = []
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode(errors="replace"))


def _compiler_messages(text: str, limit: int = 20) -> str:
    """The compiler's diagnostics about the rule's source (``rule.c:LINE:COL: error: ...`` and the
    lines that follow), at most `limit` lines; all of `text`'s last lines when none mention rule.c."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if "rule.c:" in ln), None)
    picked = lines[start:] if start is not None else lines[-limit:]
    return "\n".join(picked[:limit])


def compile_rule(name: str, source: str, has_vjp: bool, label: str | None = None):
    """Return the (ffi, lib) of the compiled rule, building it on first use. `label` names the
    rule (and its distribution) in errors; the default is ``rule 'NAME'``."""
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
                with _captured_stderr() as log:
                    so = ffi.compile(tmpdir=str(tmp))
            except Exception as e:
                gcc = _compiler_messages(log[0] if log else "")
                raise ConfigError(f"C source of {label or f'rule {name!r}'} failed to compile: {e}\n{gcc}\n"
                                  "HINT: the source must define SSMN_RULE(update) (and SSMN_RULE(vjp) if "
                                  "the rule has a vjp) with `real` as the float type; see "
                                  "ssmn_rl/custom_rules.py and the plugin tutorial") from e
            if log and log[0].strip():  # compiler warnings of a successful build: pass them on
                sys.stderr.write(log[0])
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
