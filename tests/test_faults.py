"""Issue 13: the fault matrix of ``benchmarks/faults.py`` (:mod:`motiontrack.bench.faults`)
runs here too, one simulated session per case: zero invented reps, zero angles where a
segment is unknown beyond the bridge, counts exact outside the interrupted spans, and a clear
message (a typed error naming the problem, or a warning) for every degraded case."""

from __future__ import annotations

import pytest

from motiontrack.bench.faults import CASES, run_case


def test_the_matrix_has_every_fault_the_issue_lists():
    names = {c.name for c in CASES}
    assert len(CASES) >= 25
    for d in ("0.1", "0.3", "2", "10", "60"):
        assert {f"shank_out_{d}s_rest", f"shank_out_{d}s_mid_rep"} <= names
    assert {"shank_stops", "both_out_2s", "nan_rows", "inf_values", "duplicated_rows",
            "unsorted_rows", "interleaved_rows", "gyro_deg_s", "acc_g", "acc_mg", "mag_nT",
            "time_ms", "body_turn_180", "clock_jump_fwd", "clock_jump_back", "gyro_saturated",
            "starts_mid_rep", "ends_mid_rep", "crooked_pose", "sit_down", "lie_down"} <= names


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_case(case):
    v = run_case(case, seed=1, reps=12)
    assert v.ok, f"{case.name}: {v.reported} (truth {v.truth}): {'; '.join(v.problems)}"
    if not case.clean and case.error is None and v.rmse_deg == v.rmse_deg:
        # the reps that were counted were measured as well as on a clean session, except
        # where the fault itself limits it (said, not corrected): a bent calibration pose
        # offsets every angle, a clipped gyroscope loses the fastest strokes' rotation
        limit = {"crooked_pose": 20.0, "gyro_saturated": 5.0}.get(case.name, 2.5)
        assert v.rmse_deg < limit, v
