"""The VQF and offline tests, a fast subset, under ``NUMBA_DISABLE_JIT=1`` (kernels run as Python).

The kernels' lines then run as plain Python, so coverage and debuggers see them, and code that
only works compiled (tuple indexing, ``py_func`` look-ups, ...) is caught. One subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# everything except the long runs (BROAD trials, 300 s of motion, 120 s recordings) and the
# hypothesis sweep (as Python, numpy scalars warn on the overflows it feeds on purpose)
SELECTION = (
    "not broad and not in_motion and not beats_realtime and not six_d_mode and not any_input"
)


def test_vqf_subset_passes_without_jit():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        str(TESTS / "test_fusion_vqf.py"), str(TESTS / "test_fusion_offline.py"), "-k", SELECTION,
    ]  # fmt: skip
    proc = subprocess.run(
        cmd, check=False, env=env, capture_output=True, text=True, timeout=300, cwd=TESTS.parent
    )
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "failed" not in proc.stdout, tail
    n_passed = int(proc.stdout.rsplit(" passed", 1)[0].split()[-1])
    assert n_passed >= 18, tail
