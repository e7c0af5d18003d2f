"""pandas tables of recordings, angles and reps (motiontrack.io.tables, issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

import motiontrack as mt
from motiontrack.errors import InputError, MissingDependencyError
from motiontrack.io.tables import REP_COLUMNS
from motiontrack.kinematics import SegmentCalibration
from motiontrack.simulation import simulate_knee_session

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    s = simulate_knee_session("squat", reps=3, seed=21, drop_rate=0.01, max_mount_deg=60.0)
    p = tmp_path_factory.mktemp("tables") / "squat.csv"
    s.to_csv(p)
    return s, p


def test_a_recording_table_holds_every_sample_and_comes_back_equal(sim):
    s, path = sim
    rec = mt.io.load(path)
    df = mt.io.to_dataframe(path)
    assert len(df) == sum(len(x) for x in rec.sensors.values())
    assert np.all(np.diff(df["time_s"].to_numpy()) >= 0)
    thigh = df[df["sensor"] == "thigh"]
    np.testing.assert_array_equal(thigh["time_s"], rec.sensors["thigh"].t)
    np.testing.assert_array_equal(thigh[["gyr_x", "gyr_y", "gyr_z"]], rec.sensors["thigh"].gyr)
    back = mt.io.from_dataframe(df.sample(frac=1.0, random_state=1))  # rows in any order
    assert list(back.sensors) == list(rec.sensors) or set(back.sensors) == set(rec.sensors)
    for n, x in rec.sensors.items():
        np.testing.assert_array_equal(back.sensors[n].t, x.t)
        np.testing.assert_array_equal(back.sensors[n].acc, x.acc)
        np.testing.assert_array_equal(back.sensors[n].mag, x.mag)
    assert any("out of time order" in w for w in back.warnings)


def test_a_table_in_the_wrong_unit_is_refused_like_a_csv(sim):
    _, path = sim
    df = mt.io.to_dataframe(path)
    df[["gyr_x", "gyr_y", "gyr_z"]] *= 180.0 / np.pi  # deg/s
    with pytest.raises(InputError, match="deg/s"):
        mt.io.from_dataframe(df)
    with pytest.raises(InputError, match="missing column"):
        mt.io.from_dataframe(df.drop(columns=["acc_x"]))


def test_analysis_tables_match_the_result(sim):
    s, path = sim
    cal = SegmentCalibration.from_mounting(
        s.sensors["thigh"].q_segment_sensor, s.sensors["shank"].q_segment_sensor
    )
    res = mt.analyze(path, exercise="squat", calibration=cal)
    df = res.to_dataframe(orientations=True)
    assert list(df.columns[:2]) == ["time_s", res.primary]
    np.testing.assert_array_equal(df[res.primary], res.primary_deg)
    assert {"in_gap", "bridged", "thigh_qw", "shank_qz"} <= set(df.columns)
    # the simulator dropped ~1 % in short bursts: some samples sit in gaps; the rows the
    # engine interpolated over (its own flag) are among them
    assert res.gaps and df["in_gap"].any() and df["bridged"].any()
    np.testing.assert_array_equal(df["bridged"], res.bridged)
    assert not (df["bridged"] & ~df["in_gap"]).any()
    g = res.gaps[0]
    inside = df[(df["time_s"] > g.start_s) & (df["time_s"] < g.end_s)]
    assert inside["in_gap"].all()
    reps = res.reps_dataframe()
    assert list(reps.columns) == list(REP_COLUMNS)
    assert len(reps) == res.rep_count == len(s.truth.reps)
    np.testing.assert_array_equal(reps["max_deg"], [r.max_deg for r in res.reps])
    assert reps["flags"].map(type).eq(str).all()


def test_a_missing_optional_dependency_names_the_extra(monkeypatch):
    from motiontrack._optional import require

    with pytest.raises(MissingDependencyError, match=r'motiontrack\[pandas\]'):
        require("pandas_not_installed_here", "pandas")
