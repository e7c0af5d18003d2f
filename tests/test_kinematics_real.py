"""Knee angles on real recordings (Physical Therapy Exercises dataset, seated knee extension,
subjects s1-s3; thigh = unit 3, shank = unit 2, 25 Hz, 6D): the trace is plausible.

There is no angle reference in this dataset, so these are plausibility checks (issue 5,
acceptance 2); ``benchmarks/pt_knee_real.py`` prints the same numbers:

* 99 % of the trace (0.5-99.5 percentiles) lies within 0-110°;
* ``count_reps`` finds the protocol's 30 repetitions (+-2), each with a ROM above 8°;
* drift: between the first and the last resting still window (minutes apart) the resting
  angle changes by no more than 3° beyond what the accelerometers alone (gravity seen by the
  two segments, heading- and integration-free) say the posture changed; checked where both
  accelerometers are sound. The thigh unit (unit 3) of s2 and s3 is faulty: at rest its
  |acc| varies by 0.19 / 0.86 m/s² between still windows of the same seated posture (a working
  unit: <= 0.06 here) and by 7.2-13.4 m/s² across the postures of other exercises
  (``benchmarks/regions_real.py``), so "what gravity says" is not a reference there. (With
  the 5 °/s bias clip the filter learns that unit's (2.25, -0.12, -2.6) °/s gyroscope bias,
  which the 2 °/s clip held at (1.9, 0.8, -2.0): s2's difference went from 2.0° to 4.1°.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
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
    if _resting_norm_spread(path, unit=2) > SOUND_SPREAD:  # the thigh's accelerometer is faulty
        assert subject in ("s2", "s3"), "only s2/s3's unit 3 is known to be faulty"
        return
    assert r.drift <= 3.0, (
        f"drift {r.drift:.1f}° (raw change {r.raw_change:.1f}°, gravity says {r.reference_change:.1f}°)"
    )


#: m/s²; a working accelerometer's |acc| varies less than this between still windows of one
#: posture (0.01-0.06 in these sessions; the faulty unit 3 of s2/s3: 0.19 / 0.86)
SOUND_SPREAD = 0.1


def _resting_norm_spread(path: Path, unit: int) -> float:
    """5-95 % spread of |acc| over the 1 s windows in which the unit's accelerometer is still."""
    a = np.load(path)["test_acc_m_s2"][:, unit].astype(np.float64)
    k = len(a) // 25
    w = a[: k * 25].reshape(k, 25, 3)
    quiet = w.std(axis=1).max(axis=1) < 0.05
    n = np.linalg.norm(w[quiet].mean(axis=1), axis=1)
    return float(np.percentile(n, 95) - np.percentile(n, 5))
