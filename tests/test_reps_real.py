"""Acceptance 1 of issue 6 on the physical-therapy dataset (skips without the data)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _benchmark():
    spec = importlib.util.spec_from_file_location("reps_real", REPO / "benchmarks" / "reps_real.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_pt_sessions_counts(pt_dir):
    bench = _benchmark()
    files = sorted(pt_dir.glob("s*_e*.npz"))
    assert len(files) == 24
    errors = np.array([bench.count_session(f)[0] - bench.TRUE_COUNT for f in files])
    exact = float(np.mean(errors == 0))
    mae = float(np.mean(np.abs(errors)))
    print(f"exact {exact:.3f}, MAE {mae:.3f}, errors {errors.tolist()}")
    assert exact >= 0.8, f"exact count in {100 * exact:.0f} % of sessions; errors {errors.tolist()}"
    assert mae <= 0.5, f"MAE {mae:.2f}; errors {errors.tolist()}"
