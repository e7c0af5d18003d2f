"""A fast subset of the fusion suite under ``NUMBA_DISABLE_JIT=1`` (kernels run as Python).

Runs the kernels' lines as plain Python, so coverage and debuggers see them and a kernel that
only works compiled (or only interpreted) is caught. One subprocess, a few seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

SELECTION = (
    "(one_by_one and 9D and not vqf) or (gaps_skip and not vqf) or (matches_ahrs and 0) "
    "or zero_gain or constant_rate or time_constant"
)


def test_subset_passes_without_jit():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        str(TESTS / "test_fusion_common.py"), str(TESTS / "test_fusion_mahony.py"),
        str(TESTS / "test_fusion_madgwick.py"), str(TESTS / "test_fusion_complementary.py"),
        "-k", SELECTION,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=TESTS.parent)
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "failed" not in proc.stdout, tail
    n_passed = int(proc.stdout.rsplit(" passed", 1)[0].split()[-1])
    assert n_passed >= 20, tail
