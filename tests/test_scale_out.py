"""Many recordings on Dask (motiontrack.batch, ``motiontrack batch``; issue 16).

A real local cluster: a scheduler and two worker processes on 127.0.0.1. Short simulated
recordings, one damaged ``.mtrec`` among them; the results must be those of
:func:`motiontrack.analyze` run one by one, the damaged file must be reported in its row,
and a second run must skip what is done.
"""

from __future__ import annotations

import json
import os
import shutil
import stat

import numpy as np
import pytest

import motiontrack as mt
from motiontrack.batch import (
    RECORDING_COLUMNS,
    REP_TABLE_COLUMNS,
    analyze_many,
    local_cluster,
    reps_path,
)
from motiontrack.cli import main
from motiontrack.io.tables import REP_COLUMNS
from motiontrack.recording import RecordingWriter
from motiontrack.simulation import simulate_knee_session

pd = pytest.importorskip("pandas")
distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")


def _damaged_mtrec(path):
    s = simulate_knee_session("squat", reps=2, seed=1)
    with RecordingWriter(path) as w:
        for n in ("thigh", "shank"):
            w.add_sensor(n, fs=s.fs)
        for n in ("thigh", "shank"):
            w.write_samples(n, s.t, s.sensors[n].acc, s.sensors[n].gyr)
    b = bytearray(path.read_bytes())
    b[len(b) // 2 : len(b) // 2 + 64] = b"\xff" * 64
    path.write_bytes(bytes(b))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    d = tmp_path_factory.mktemp("study")
    for i in range(4):
        simulate_knee_session("squat", reps=3, seed=40 + i).to_csv(d / f"p{i}.csv")
    _damaged_mtrec(d / "damaged.mtrec")
    return d


@pytest.fixture(scope="module")
def client():
    with local_cluster(2) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def first_run(study, client, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "results.parquet"
    paths = sorted(str(p) for p in study.iterdir())
    recs, reps = analyze_many(paths, client, out=out, exercise="squat", quiet=True)
    return paths, out, recs, reps


def test_a_batch_gives_what_analyze_gives_one_by_one(client, first_run):
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()  # two processes
    assert all(a.startswith("tcp://127.0.0.1:") for a in pids)
    paths, out, recs, reps = first_run
    assert list(recs.columns) == list(RECORDING_COLUMNS)
    assert list(reps.columns) == list(REP_TABLE_COLUMNS)
    assert len(recs) == 5
    bad = recs[recs["path"].str.endswith("damaged.mtrec")].iloc[0]
    assert bad["status"] == "error" and bad["error_type"] == "CorruptRecordingError"
    assert "damaged" in bad["error"] and "--recover" in bad["error"]
    for p in paths[1:]:
        row = recs[recs["path"] == p].iloc[0]
        res = mt.analyze(p, exercise="squat")
        assert row["status"] == "ok" and row["rep_count"] == res.rep_count == 3
        assert row["rom_deg"] == res.rom()["rom_deg"]
        assert row["duration_s"] == res.duration_s and row["gap_count"] == len(res.gaps)
        mine = reps[reps["path"] == p].reset_index(drop=True)
        want = res.reps_dataframe()
        assert mine[list(REP_COLUMNS)].equals(want)  # bit for bit
    # the files on disk are the tables returned, owner-only
    assert pd.read_parquet(out).equals(recs)
    assert len(pd.read_parquet(reps_path(out))) == len(reps) == 12
    for f in (out, reps_path(out)):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600


def test_the_cli_resumes_and_skips_what_is_done(study, client, first_run, tmp_path, capsys):
    """The CLI on its own two local workers continues the first run: the finished recordings
    keep their rows (same worker times: not analysed again), the damaged one is tried again,
    a new recording is added; other options are another analysis."""
    paths, first_out, first, _ = first_run
    out = tmp_path / "r.parquet"
    shutil.copy(first_out, out)
    shutil.copy(reps_path(first_out), reps_path(out))
    d = tmp_path / "more"
    d.mkdir()
    for p in paths:
        os.symlink(p, d / os.path.basename(p))
    simulate_knee_session("squat", reps=2, seed=77).to_csv(d / "new.csv")
    code = main(["batch", str(d / "*"), "--out", str(out), "--exercise", "squat", "--json",
                 "--workers", "2"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1  # the damaged recording still fails, and says so
    assert summary["ok"] == 5 and summary["failed"] == 1 and summary["reps"] == 14
    assert summary["errors"][0]["path"].endswith("damaged.mtrec")
    again = pd.read_parquet(out)
    ok = first[first["status"] == "ok"].set_index("sha256")["elapsed_s"]
    assert again.set_index("sha256")["elapsed_s"].loc[ok.index].equals(ok)
    recs, _ = analyze_many([str(d / "new.csv")], client, out=out, segment="thigh", quiet=True)
    assert len(recs) == 7 and recs["path"].str.endswith("new.csv").sum() == 2


def test_templates_count_by_example_in_a_batch(study, client, tmp_path):
    """``batch --template``: each recording's reps found by a template, with its label and
    score in the rep table, as ``analyze --template`` finds them one by one."""
    from motiontrack.template_analysis import analyze_templates, create_template

    s = simulate_knee_session("squat", reps=3, seed=40)
    r0 = s.truth.reps[0]
    t = create_template(study / "p0.csv", span=(r0.start_s - 0.5, r0.end_s + 0.5),
                        segments=["thigh"], label="squat")
    tpath = tmp_path / "squat.json"
    t.save(tpath)
    paths = sorted(str(p) for p in study.glob("p*.csv"))
    recs, reps = analyze_many(paths, client, templates=[str(tpath)], quiet=True)
    assert list(reps.columns) == list(REP_TABLE_COLUMNS)
    for p in paths:
        want = analyze_templates(p, [tpath])
        row = recs[recs["path"] == p].iloc[0]
        assert row["status"] == "ok" and row["rep_count"] == want.rep_count >= 2
        got = reps[reps["path"] == p]
        assert list(got["label"]) == ["squat"] * want.rep_count
        assert np.allclose(got["score"], [r.score for r in want.reps])
        assert np.allclose(got["start_s"], [r.start_s for r in want.reps])
