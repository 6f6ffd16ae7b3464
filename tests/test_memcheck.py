"""The C core under valgrind memcheck: scripts/run_memcheck.sh builds scripts/memcheck_driver.c with
the kernels and runs every entry point (both precisions, every rule and variant, the error paths)
under ``valgrind --leak-check=full --error-exitcode=1``. About 20 s of CPU; skipped where gcc or
valgrind is missing."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("valgrind")), reason="needs gcc and valgrind")
def test_kernels_are_clean_under_valgrind_memcheck():
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "run_memcheck.sh")], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "0 failed" in proc.stdout, log[-4000:]
    assert "ERROR SUMMARY: 0 errors from 0 contexts" in log, log[-4000:]
    assert "All heap blocks were freed -- no leaks are possible" in log, log[-4000:]
