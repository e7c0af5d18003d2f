"""Knee angles on real recordings (Physical Therapy Exercises dataset, seated knee extension,
subjects s1-s3; thigh = unit 3, shank = unit 2, 25 Hz, 6D): the trace is plausible.

There is no angle reference in this dataset, so these are plausibility checks (issue 5,
acceptance 2); ``benchmarks/pt_knee_real.py`` prints the same numbers:

* 99 % of the trace (0.5-99.5 percentiles) lies within 0-110°;
* ``count_reps`` finds the protocol's 30 repetitions (+-2), each with a ROM above 8°;
* drift: between the first and the last resting still window (minutes apart) the resting
  angle changes by no more than 3° beyond what the accelerometers alone (gravity seen by the
  two segments, heading- and integration-free) say the posture changed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "pt_knee_real.py"


@pytest.fixture(scope="module")
def pt():
    spec = importlib.util.spec_from_file_location("pt_knee_real", BENCH)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = mod  # dataclasses look their module up while being built
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.data
@pytest.mark.parametrize("subject", ["s1", "s2", "s3"])
def test_seated_knee_extension_trace_is_plausible(pt, pt_dir, subject):
    path = pt_dir / f"{subject}_e1.npz"
    if not path.exists():
        pytest.skip(f"{path.name} not in {pt_dir}")
    r, _, _ = pt.analyse(path)
    assert r.p_lo >= 0.0 and r.p_hi <= 110.0, f"trace {r.p_lo:.1f}..{r.p_hi:.1f}°"
    assert abs(r.n_reps - 30) <= 2, f"{r.n_reps} reps"
    assert r.rep_rom_min > 8.0, f"smallest rep ROM {r.rep_rom_min:.1f}°"
    if r.labelled_rom_min is not None:
        assert r.labelled_rom_min > 8.0
    assert r.t_end - r.t_start > 120.0  # the two rest windows are minutes apart
    assert r.drift <= 3.0, (
        f"drift {r.drift:.1f}° (raw change {r.raw_change:.1f}°, gravity says {r.reference_change:.1f}°)"
    )
