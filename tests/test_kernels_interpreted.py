"""Issue 17, the first run: kernels run as plain Python until their compiled code is ready.

The interpreted kernel is the *same* source (``py_func``) run by CPython with every helper it
calls interpreted too (``_jit.interpreted``). Checked here: it gives the compiled numbers up to
round-off (the compiled code uses ``contract``/``arcp`` fastmath); a stream that switches from
interpreted to compiled mid-way goes on where it was; a kernel marked pending runs interpreted
when called through its module's namespace; importing motiontrack imports no numba, and a
one-sample ``fuse`` runs without loading it. Timings are measured in benchmarks/startup.py only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from motiontrack import fusion, quaternion
from motiontrack._kernels import _jit
from motiontrack.fusion import _base
from motiontrack.fusion import vqf as _vqf

#: Largest |interpreted - compiled| of the quaternions, per filter, over the stream below.
#: Round-off only, except Madgwick: its normalised gradient step (eq. 33) points along the
#: round-off of a gradient that is ~0 right after the initialisation from acc and mag, so any
#: two roundings (fastmath or not) differ there by up to beta * dt per sample (0.041 * 0.01).
TOL = {"vqf": 1e-12, "ekf": 1e-12, "mahony": 1e-12, "complementary": 1e-12, "madgwick": 5e-4}


def _inputs(n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(17)
    t = np.arange(n) / 100.0
    gyr = np.stack([np.sin(1.3 * t), 0.5 * np.cos(0.7 * t), 0.2 * np.sin(2.1 * t)], axis=1) + rng.normal(0, 0.02, (n, 3))
    acc = rng.normal([0.3, -0.2, 9.81], 0.3, (n, 3))
    mag = rng.normal([5.0, 20.0, -40.0], 0.5, (n, 3))
    acc[40] = np.nan  # a gap: the same skip either way
    gyr[90] = np.nan
    return acc, gyr, mag


def _stream(cls: type, *, interpreted_until: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stream one-sample calls then blocks of 20, interpreted for the first
    ``interpreted_until`` samples (the kernels marked pending), compiled after."""
    acc, gyr, mag = _inputs()
    names = [_jit.name_of(getattr(cls._kernel, e)) for e in ("run1", "run1m", "runb", "runbm", "run")]
    with _jit.compiled():
        fusion.warmup([cls.method], batch=False)
    saved, fill = dict(_base._EPF), list(_vqf._FILL)
    f = None
    _jit.interpret_pending(True)  # (as a session's engine thread)
    try:
        if interpreted_until:
            _base._EPF.clear()  # as in a new process: no compiled entry resolved yet
            _vqf._FILL.clear()
            _jit.set_pending(names)
        f = cls(fs=100.0)
        out, extras = [], []
        for i in range(200):
            if i == interpreted_until:  # what the loader does once the entries are on disk
                _base._EPF.update(saved)
                _vqf._FILL[:] = fill
                _jit.set_pending(names, False)
            out.append(f.update(acc[i], gyr[i], mag[i] if i % 2 else None))
            extras.append(np.concatenate([v.ravel() for v in f.extras.values()]) if f.extras else np.zeros(0))
        for i in range(200, len(acc), 20):
            out.extend(f.update(acc[i : i + 20], gyr[i : i + 20], mag[i : i + 20]))
        return np.array(out), f.state, np.array(extras)
    finally:
        _base._EPF.update(saved)
        _vqf._FILL[:] = fill
        _jit.set_pending(names, False)
        _jit.interpret_pending(False)


@pytest.mark.parametrize("method", sorted(TOL))
def test_interpreted_filter_gives_the_compiled_numbers(method):
    cls = fusion.FILTERS[method]
    qc, sc, ec = _stream(cls, interpreted_until=0)
    qi, si, ei = _stream(cls, interpreted_until=10**9)
    assert np.all(np.isfinite(qc)) and np.allclose(np.linalg.norm(qc, axis=1), 1.0, atol=1e-12)
    assert np.abs(qi - qc).max() <= TOL[method]
    assert np.allclose(si, sc, rtol=1e-9, atol=TOL[method])
    assert np.allclose(ei, ec, rtol=1e-9, atol=TOL[method])


@pytest.mark.parametrize("method", ["vqf", "ekf"])
def test_switching_to_compiled_mid_stream_keeps_the_stream(method):
    """Interpreted for 100 samples, compiled after: the filter goes on from its state (the
    buffer both use), so the output equals an all-compiled stream up to round-off."""
    cls = fusion.FILTERS[method]
    qc, sc, _ = _stream(cls, interpreted_until=0)
    qs, ss, _ = _stream(cls, interpreted_until=100)
    assert np.abs(qs - qc).max() <= TOL[method]
    assert np.allclose(ss, sc, rtol=1e-9, atol=TOL[method])


def test_a_pending_kernel_runs_interpreted_through_its_module():
    """``quaternion.multiply`` looks its kernel up in the kernel module at call time: while the
    kernel is pending that is a Switch, which runs the Python function on a thread that opted in
    (a session's engine thread) and the compiled one elsewhere; after it, the dispatcher."""
    rng = np.random.default_rng(3)
    a = quaternion.normalize(rng.normal(size=(50, 4)))
    b = quaternion.normalize(rng.normal(size=(50, 4)))
    compiled = quaternion.multiply(a, b)
    from motiontrack._kernels import quaternion as kq

    names = [_jit.name_of(k) for k in _jit._ALL if k.py_func.__module__ == kq.__name__]
    calls = []
    real = _jit.interpreted

    def spy(kernel):
        calls.append(_jit.name_of(kernel))
        return real(kernel)

    _jit.set_pending(names)
    _jit.interpreted = spy
    try:
        assert any(isinstance(v, _jit.Switch) for v in vars(kq).values())
        other_thread = quaternion.multiply(a, b)  # a thread that has not opted in: compiled
        assert calls == []
        _jit.interpret_pending(True)
        pending = quaternion.multiply(a, b)
        assert calls == ["quaternion.multiply_n"]
    finally:
        _jit.interpreted = real
        _jit.interpret_pending(False)
        _jit.set_pending(names, False)
    assert np.array_equal(other_thread, compiled)
    assert not any(isinstance(v, _jit.Switch) for v in vars(kq).values())
    assert np.abs(pending - compiled).max() < 1e-14
    # the Hamilton product, checked against a known rotation: 90° about z twice is 180° about z
    qz = np.array([[np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)]])
    assert np.allclose(np.abs(quaternion.multiply(qz, qz)), [[0.0, 0.0, 0.0, 1.0]], atol=1e-15)


def _fresh(code: str, **env: str) -> dict:
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         env=dict(os.environ, **env), timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_import_loads_no_numba_and_tiny_fuse_runs_without_it(tmp_path):
    """``import motiontrack`` compiles nothing and imports no numba; a one-sample ``fuse``
    runs the kernel as Python (no numba loaded, nothing compiled) and gives the identity for a
    sensor at rest, level."""
    out = _fresh("""
        import json, sys
        import motiontrack as mt, motiontrack.fusion
        from motiontrack._kernels import _jit
        at_import = "numba" in sys.modules
        import numpy as np
        q = mt.fuse(np.array([[0.0, 0.0, 9.81]]), np.zeros((1, 3)), fs=100.0)
        print(json.dumps({"at_import": at_import, "after_fuse": "numba" in sys.modules,
                          "active": _jit.is_active(), "q": q.tolist(), "kernels": len(_jit.REGISTRY)}))
    """, NUMBA_CACHE_DIR=str(tmp_path))
    assert out["kernels"] > 20
    assert not out["at_import"] and not out["after_fuse"] and not out["active"]
    assert np.allclose(out["q"], [[1.0, 0.0, 0.0, 0.0]], atol=1e-12)
    assert not any(tmp_path.rglob("*.nbi"))  # nothing compiled


def test_only_small_fuse_calls_run_interpreted_and_within_a_budget():
    """``fuse`` of a few samples runs as Python until the process has so run
    ``INTERPRETED_BUDGET`` samples, then loads numba; a streaming filter runs compiled from
    its first sample (one-by-one and batch stay bit-identical), whatever the budget left."""
    out = _fresh("""
        import json
        import numpy as np
        from motiontrack import fusion
        from motiontrack._kernels import _jit
        acc, gyr = np.array([[0.0, 0.0, 9.81]]), np.zeros((1, 3))
        seen = []
        for i in range(_jit.INTERPRETED_BUDGET + 1):
            q = fusion.fuse(acc, gyr, fs=100.0, method="madgwick")
            seen.append(_jit.is_active())
        first = seen.index(True)
        import subprocess, sys
        print(json.dumps({"first": first, "q": q.tolist()}))
    """)
    assert out["first"] == _jit.INTERPRETED_BUDGET
    assert np.allclose(out["q"], [[1.0, 0.0, 0.0, 0.0]], atol=1e-12)
    out = _fresh("""
        import json
        import numpy as np
        from motiontrack import fusion
        from motiontrack._kernels import _jit
        fusion.Madgwick(fs=100.0).update(np.array([0.0, 0.0, 9.81]), np.zeros(3))
        print(json.dumps({"active": _jit.is_active()}))
    """)
    assert out["active"]
