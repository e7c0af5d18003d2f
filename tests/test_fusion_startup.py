"""Start-up: importing motiontrack compiles nothing; warmup compiles every fusion kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap


def _run(code: str, **env: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=dict(os.environ, **env), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_compiles_nothing(tmp_path):
    out = _run(
        """
        import json, sys, motiontrack, motiontrack.fusion
        numba_imported = "numba" in sys.modules
        from motiontrack._kernels._jit import REGISTRY
        compiled = [d.py_func.__module__ + "." + d.__name__ for d in REGISTRY if d.signatures]
        print(json.dumps({"n": len(REGISTRY), "compiled": compiled, "numba": numba_imported}))
        """,
        NUMBA_CACHE_DIR=str(tmp_path),
    )
    assert out["n"] > 0
    assert out["compiled"] == []
    assert not out["numba"]  # numba is loaded on the first compiled call (_kernels/_jit.py)


def test_one_sample_fuse_after_warm_cache(tmp_path):
    # first process fills a fresh cache, the second must load from it (fast) and agree
    # (MOTIONTRACK_INTERPRETED=0: compiled even for one sample, which would run as Python)
    code = """
        import json, time
        t0 = time.perf_counter()
        import numpy as np
        import motiontrack.fusion as mf
        q = mf.fuse(np.array([[0.0, 0.0, 9.81]]), np.zeros((1, 3)), fs=100.0, method="madgwick")
        print(json.dumps({"q": q.tolist(), "s": time.perf_counter() - t0}))
    """
    cold = _run(code, NUMBA_CACHE_DIR=str(tmp_path), MOTIONTRACK_INTERPRETED="0")
    warm = _run(code, NUMBA_CACHE_DIR=str(tmp_path), MOTIONTRACK_INTERPRETED="0")
    assert cold["q"] == warm["q"]
    assert any(tmp_path.rglob("*.nbi")), "numba wrote no cache"
    assert warm["s"] < cold["s"]


def test_warmup_compiles_every_fusion_filter():
    from motiontrack.fusion import FILTERS, warmup

    seconds = warmup()
    assert seconds >= 0.0
    for cls in FILTERS.values():
        run = cls._run
        assert getattr(run, "signatures", [None]), cls.__name__  # compiled (or plain under DISABLE_JIT)
