"""cffi build script for the SSMN C core (run by setup.py at install time, never imported).

Reads the declarations from native/ssmn_api.h and compiles native/*.c into the extension module
``ssmn_rl._ssmn_native``. Build switches, read from the environment in this one place:

- ``SSMN_PORTABLE=1``  compile for the generic x86-64/aarch64 target instead of ``-march=native``.
- ``SSMN_SANITIZE=1``  add AddressSanitizer and UndefinedBehaviorSanitizer (debug builds).
- ``SSMN_DEBUG=1``     ``-O0 -g`` instead of ``-O3``.
- ``SSMN_NO_OPENMP=1`` build without OpenMP threads: every call then runs on the calling thread
  whatever a model's ``n_threads`` says.
"""
import os
import pathlib

from cffi import FFI

ROOT = pathlib.Path(__file__).resolve().parent.parent
NATIVE = ROOT / "native"
SOURCES = ["ssmn_core.c", "cell_f32.c", "cell_f64.c"]


def _flag(name: str) -> bool:
    return os.environ.get(name, "0") not in ("", "0", "false", "no")


def _compile_args() -> tuple[list[str], list[str]]:
    cflags = ["-std=c99", "-fopenmp-simd", "-fno-fast-math", "-fno-trapping-math", "-ffp-contract=fast", "-Wall", "-Wextra"]
    ldflags: list[str] = []
    if not _flag("SSMN_NO_OPENMP"):
        cflags.append("-fopenmp")
        ldflags.append("-fopenmp")
    cflags += ["-O0", "-g"] if _flag("SSMN_DEBUG") else ["-O3"]
    if not _flag("SSMN_PORTABLE"):
        cflags.append("-march=native")
    if _flag("SSMN_SANITIZE"):
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
        cflags += san + ["-g"]
        ldflags += san
    return cflags, ldflags


ffibuilder = FFI()
ffibuilder.cdef(
    "\n".join(
        line
        for line in (NATIVE / "ssmn_api.h").read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
)
_cflags, _ldflags = _compile_args()
ffibuilder.set_source(
    "ssmn_rl._ssmn_native",
    '#include "ssmn_internal.h"',
    sources=[str((NATIVE / s).relative_to(ROOT)) for s in SOURCES],
    include_dirs=[str(NATIVE.relative_to(ROOT))],
    extra_compile_args=_cflags,
    extra_link_args=_ldflags,
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
