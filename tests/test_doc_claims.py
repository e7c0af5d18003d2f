"""The checkable claims of README.md, docs/ and calibration/ hold for the code (issue 13).

Each test names the document and the claim it checks. Defaults come from the dataclasses and
the argparse parsers, formats from a file written and read back byte by byte, behaviour from
small simulated sessions. Claims other test files already check are listed in the issue's
report, not repeated here. Benchmark figures are left to the benchmarks: here only that the
script exists and that its docstring states the setup the documents give.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import math
import re
import struct
import sys
import tomllib
import zlib
from pathlib import Path

import numpy as np
import pytest

import motiontrack as mt
from motiontrack.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
CALIBRATION_DOCS = sorted((ROOT / "calibration").glob("*.md"))


# ---------------------------------------------------------------------------- helpers
def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def _command(*path: str) -> argparse.ArgumentParser:
    p = build_parser()
    for name in path:
        p = _subparsers(p)[name]
    return p


def _options(p: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in p._actions for s in a.option_strings}


def _row(v: np.ndarray) -> str:
    return ",".join(repr(float(x)) for x in v)


def _snippets(text: str) -> list[str]:
    """Code-block lines (backslash continuations joined) and inline code spans."""
    out: list[str] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        out += block.replace("\\\n", " ").splitlines()
    rest = re.sub(r"```.*?```", "", text, flags=re.S)
    out += re.findall(r"`([^`\n]+)`", rest)
    return out


def _command_lines() -> list[tuple[str, list[str], list[str]]]:
    """(document, sub-command path, --flags) of every ``motiontrack <command> ...`` shown."""
    top = _subparsers(build_parser())
    found = []
    for doc in [README, *DOCS, *CALIBRATION_DOCS]:
        for snip in _snippets(doc.read_text(encoding="utf-8")):
            for m in re.finditer(r"(?<![\w.])motiontrack ([a-z]+)(?: ([a-z]+))?([^#]*)", snip):
                cmd, sub, rest = m.group(1), m.group(2), m.group(3) or ""
                if cmd not in top:
                    continue
                path = [cmd]
                if sub and sub in _subparsers(top[cmd]):
                    path.append(sub)
                elif sub:
                    rest = f"{sub} {rest}"
                rest = rest.split("motiontrack ")[0]
                found.append((doc.name, path, re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest)))
    return found


# ---------------------------------------------------------------------------- README
def test_readme_python_version_extras_and_entry_point():
    """README quickstart: Python >= 3.11, extras ``sim`` and ``test``, the ``motiontrack``
    command; `.ci/run` executes the README's test-command marker."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert {"sim", "test", "bench"} <= set(project["optional-dependencies"])
    assert project["scripts"]["motiontrack"] == "motiontrack.cli:main"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command:" in ci and "README.md" in ci and 'bash -c "$cmd"' in ci


def test_every_cli_flag_the_documents_show_exists():
    """Every ``motiontrack COMMAND ... --flag`` in README.md, docs/ and calibration/ names a
    real option of that command (README 'Command line', the calibrate, bench and analyze
    examples, troubleshooting's --pose-flexion, --recover, ...)."""
    lines = _command_lines()
    assert len(lines) > 30  # the extraction found the documents' commands
    bad = []
    for doc, path, flags in lines:
        opts = _options(_command(*path))
        bad += [f"{doc}: motiontrack {' '.join(path)} {f}" for f in flags if f not in opts]
    assert not bad, bad


def test_every_flag_the_documents_mention_exists_somewhere():
    """Every ``--flag`` in the code of README.md, docs/ and calibration/ (also the ones named
    alone, e.g. ``--pose-flexion 81``, ``--rest-s``, ``--recover``) is an option of some
    motiontrack command, or of ``python -m benchmarks`` (``--quick``, ``--list``)."""
    known: set[str] = set()

    def walk(p: argparse.ArgumentParser) -> None:
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sp in a.choices.values():
                    walk(sp)
            else:
                known.update(a.option_strings)

    walk(build_parser())
    runner = (ROOT / "benchmarks" / "__main__.py").read_text()
    known |= {f for f in ("--quick", "--list") if f'"{f}"' in runner}
    seen, bad = set(), []
    for doc in [README, *DOCS, *CALIBRATION_DOCS]:
        for snip in _snippets(doc.read_text(encoding="utf-8")):
            if re.match(r"\s*dask (scheduler|worker)\b", snip):
                continue  # Dask's own command line (README/research: a cluster of your own)
            for f in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", snip):
                seen.add(f)
                if f not in known:
                    bad.append(f"{doc.name}: {f} in {snip!r}")
    assert len(seen) > 40 and not bad, bad


def test_readme_command_line_lists_every_command():
    """README 'Command line': demo, scan, stream, record, replay, analyze, template,
    calibrate, report, batch, export, bench {link,soak,latency}."""
    top = _subparsers(build_parser())
    assert set(top) == {"demo", "scan", "stream", "record", "replay", "analyze", "template",
                        "calibrate", "report", "batch", "export", "bench"}
    assert set(_subparsers(top["bench"])) == {"link", "soak", "latency"}
    text = README.read_text()
    block = text.split("## Command line")[1].split("```")[1]
    for name in top:
        assert f"motiontrack {name}" in block


def test_readme_demo_options():
    """README: the demo streams 'for about 20 s'; options --seconds, --exercise {...}, --json."""
    opts = _options(_command("demo"))
    assert opts["--seconds"].default == 20.0
    assert "--json" in opts
    listed = re.search(r"`--exercise \{([a-z_,]+)\}`", README.read_text()).group(1).split(",")
    assert sorted(listed) == sorted(opts["--exercise"].choices)


def test_readme_offline_cli_and_json_fields(analysed):
    """README 'Offline': analyze --joint/--proximal/--distal/--json/--angles-out/--segment;
    'calibration.pose' in --json; --pose and --pose-flexion override the detection;
    result.gaps / reps / rom()."""
    opts = _options(_command("analyze"))
    for flag in ("--joint", "--proximal", "--distal", "--json", "--angles-out", "--segment",
                 "--pose", "--pose-flexion", "--exercise", "--recover"):
        assert flag in opts
    assert opts["--pose"].choices == ("standing", "seated", "supine")
    d = analysed["json"]
    assert d["calibration"]["pose"] == "standing"  # the simulated protocol's standing start
    for key in ("reps", "rep_count", "rom", "gaps", "warnings", "interrupted_reps",
                "bridged_samples"):
        assert key in d


def test_readme_events_are_frozen_dataclasses():
    """README: 'Events are frozen dataclasses in motiontrack.events: angle updates, calibration
    prompts and results, completed reps, reps cut by a gap, sensor disconnected/reconnected,
    data gaps, dropped events, warnings and orientation updates'."""
    from motiontrack import events as ev

    names = ["AngleUpdate", "CalibrationPrompt", "CalibrationDone", "CalibrationFailed",
             "RepCompleted", "RepInterrupted", "SensorDisconnected", "SensorReconnected",
             "DataGap", "EventsDropped", "SessionWarning", "OrientationUpdate"]
    for n in names:
        cls = getattr(ev, n)
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, n


def test_readme_public_names_exist():
    """README 'Live', 'Offline', 'What is inside': the names it shows exist and ``fuse``'s
    default method is ``vqf`` (with ``vqf-offline`` offered)."""
    from motiontrack import fusion, protocol, reps, session, transport, virtual  # noqa: F401
    from motiontrack.exercise import ExerciseEngine, ExerciseSettings  # noqa: F401
    from motiontrack.io import write_sto  # noqa: F401
    from motiontrack.recording import RecordingWriter, read_recording  # noqa: F401
    from motiontrack.simulation import simulate_knee_session  # noqa: F401

    for name in ("fuse", "calibrate_joint", "joint_angles", "count_reps", "analyze", "Session",
                 "SyncSession", "warmup"):
        assert callable(getattr(mt, name)), name
    for name in ("VQF", "Madgwick", "Mahony", "Complementary", "EKF"):
        assert hasattr(fusion, name), name
    assert inspect.signature(mt.fuse).parameters["method"].default == "vqf"
    assert {"vqf", "vqf-offline", "madgwick", "mahony"} <= set(fusion.methods())
    for name in ("RepCounter", "count_reps", "summarize", "summarize_session"):
        assert hasattr(reps, name), name
    for name in ("snapshot",):
        assert hasattr(mt.Session, name)
    assert "resume" in inspect.signature(mt.Session).parameters
    from motiontrack.virtual.fleet import start_sensors

    assert inspect.iscoroutinefunction(start_sensors)
    assert "exercise" in inspect.signature(start_sensors).parameters
    assert (ROOT / "examples" / "live_knee_rom.py").is_file()
    assert {"witmotion", "movella_dot"} <= {
        n for n in ("witmotion", "movella_dot") if protocol.profiles.get_profile(n)}
    for prefix in ("ble:AA:BB:CC:DD:EE:FF", "sim:thigh", "replay:x.csv"):
        assert transport.parse_source(prefix) is not None


def test_readme_conventions_helpers_exist():
    """README 'Conventions' / troubleshooting: conventions converts NED/NWU and SciPy's
    scalar-last order; a quaternion rotates sensor vectors into the earth frame."""
    from motiontrack import conventions as cv
    from motiontrack.quaternion import rotate

    q = np.array([math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)])  # +90° about z
    np.testing.assert_allclose(rotate(q, np.array([1.0, 0.0, 0.0])), [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(cv.to_scipy(q), [0, 0, q[3], q[0]])
    np.testing.assert_allclose(cv.from_scipy(cv.to_scipy(q)), q)
    for name in ("enu_from_ned", "ned_from_enu", "enu_from_nwu"):
        assert callable(getattr(cv, name)), name
    assert abs(cv.GRAVITY - 9.80665) < 1e-12
    # troubleshooting 'OpenSim': to_opensim=True is the IMU placer's rotation -1.5707963 0 0
    from motiontrack.io.opensim import Q_OPENSIM_ENU

    a = -1.5707963
    np.testing.assert_allclose(Q_OPENSIM_ENU, [math.cos(a / 2), math.sin(a / 2), 0, 0], atol=1e-7)


def test_readme_benchmarks_exist_and_state_the_documented_setup():
    """README 'Benchmarks' table and the documents' figures: each script exists, is in the
    suite (``python -m benchmarks --list``), and its docstring states the setup the documents
    give (the figures themselves are measured by the benchmark, not here)."""
    setups = {
        "broad": ["BROAD"],
        "fusion_speed": ["vqf", "imufusion", "ahrs"],
        "kinematics_accuracy": ["8 reps", "random orientations"],
        "analyze_sim": ["60 sessions", "1-1.5 % dropped samples", "within 3°"],
        "live_offline": ["same rep count", "calibration pose"],
        "pt_knee_real": ["s1, s2, s3", "30 repetitions"],
        "reps_real": ["24 sessions", "30 reps"],
        "ble_throughput": ["1, 2 and 8 virtual sensors", "200"],
        "protocol_decode": ["244-byte"],
        "soak": ["4 sensors x 200 Hz, 30 min"],
        "e2e_latency": ["p99 < 20 ms"],
        "faults": ["0.25 s", "tests/test_faults.py"],
        "reps_latency": ["at most 0.3 s"],  # troubleshooting: 'latency <= 0.3 s'
        "presets": ["8 reps", "±2 °/s", "RMSE <= 2°", "rep count", "exact", "refused by design (6D)",
                    "random places along them", "closed chains", "body turns"],
    }
    text = " ".join(p.read_text() for p in [README, *DOCS])
    for name, words in setups.items():
        path = ROOT / "benchmarks" / f"{name}.py"
        assert path.is_file(), path
        doc = " ".join(ast.get_docstring(ast.parse(path.read_text())).split())
        for w in words:
            assert w in doc, (name, w)
        assert f"{name}.py" in text or name in ("faults", "reps_latency")
    assert _kinematics_sessions_default() == 20  # "20 seeded sessions per row"


def _kinematics_sessions_default() -> int:
    src = (ROOT / "benchmarks" / "kinematics_accuracy.py").read_text()
    return int(re.search(r'"--sessions", type=int, default=(\d+)', src).group(1))


# ---------------------------------------------------------------------------- recording format
def test_recording_format_layout_byte_by_byte(tmp_path):
    """docs/recording-format.md 'Layout': header (magic, major 1, minor 0, reserved 0), records
    of sync A5 5A | type u8 | length u32 | payload | crc32 (zlib CRC-32 of type, length and
    payload), META first (format 'mtrec', version '1.0', created, software, free-form fields),
    SENSOR JSON (id, name, fs, address, has_mag, config_hex), PACKET (sensor id u16, host time
    f64, bytes), SAMPLES (sensor id u16, host time f64, n u32, ncols u8, n timestamps, then
    n x ncols values row by row), CALIBRATION/EVENT JSON, END last, written by a clean close;
    the 64 MiB payload limit; fsync at least once per second by default."""
    from motiontrack.recording import RecordingWriter
    from motiontrack.recording import format as fmt

    p = tmp_path / "a.mtrec"
    t = np.array([1.0, 1.01, 1.02])
    acc = np.arange(9.0).reshape(3, 3)
    gyr = -np.arange(9.0).reshape(3, 3)
    mag = np.full((3, 3), 40.0)
    with RecordingWriter(p, meta={"exercise": "squat"}) as w:
        assert w.sync_interval_s == 1.0
        w.add_sensor("thigh", fs=100.0, address="AA:BB", config=b"\x01\x02", has_mag=True)
        w.write_packet("thigh", b"\xde\xad", host_time_s=0.5)
        w.write_samples("thigh", t, acc, gyr, mag, host_time_s=0.75)
        w.write_calibration({"kind": "sensor", "sensor": "thigh"})
        w.write_event({"type": "rep_completed", "t": 1.0})
    raw = p.read_bytes()
    magic, major, minor, reserved = struct.unpack_from("<8sBBH", raw)
    assert (magic, major, minor, reserved) == (b"MTREC\r\n\x1a", 1, 0, 0)
    records, off = [], 12
    while off < len(raw):
        assert raw[off:off + 2] == b"\xa5\x5a"
        rtype, length = struct.unpack_from("<BI", raw, off + 2)
        payload = raw[off + 7:off + 7 + length]
        (crc,) = struct.unpack_from("<I", raw, off + 7 + length)
        assert crc == zlib.crc32(raw[off + 2:off + 7 + length])
        records.append((rtype, payload))
        off += 7 + length + 4
    assert [r for r, _ in records] == [1, 2, 3, 4, 5, 6, 7]
    meta = json.loads(records[0][1])
    assert meta["format"] == "mtrec" and meta["version"] == "1.0" and meta["exercise"] == "squat"
    assert meta["created"].endswith("+00:00") and "software" in meta
    sensor = json.loads(records[1][1])
    assert sensor == {"id": 0, "name": "thigh", "fs": 100.0, "address": "AA:BB",
                      "has_mag": True, "config_hex": "0102"}
    sid, host = struct.unpack_from("<Hd", records[2][1])
    assert (sid, host, records[2][1][10:]) == (0, 0.5, b"\xde\xad")
    s = records[3][1]
    sid, host, n, ncols = struct.unpack_from("<HdIB", s)
    assert (sid, host, n, ncols) == (0, 0.75, 3, 9)
    body = np.frombuffer(s[15:], dtype="<f8")
    np.testing.assert_array_equal(body[:3], t)
    np.testing.assert_array_equal(body[3:].reshape(3, 9), np.hstack([acc, gyr, mag]))
    assert json.loads(records[4][1])["kind"] == "sensor"
    assert json.loads(records[5][1])["type"] == "rep_completed"
    assert fmt.MAX_PAYLOAD == 64 * 1024 * 1024
    from motiontrack.errors import RecordingError

    with RecordingWriter(tmp_path / "b.mtrec") as w:
        with pytest.raises(RecordingError, match="add_sensor"):
            w.write_samples("shank", t, acc, gyr)  # SENSOR precedes the sensor's data


def test_recording_unknown_record_types_are_skipped_with_a_note(tmp_path):
    """docs/recording-format.md: 'Unknown record types are skipped by readers (with a
    note)'; a file cut between two records reads with ``complete`` False and a warning."""
    from motiontrack.recording import RecordingWriter, read_recording
    from motiontrack.recording import format as fmt

    p = tmp_path / "a.mtrec"
    with RecordingWriter(p) as w:
        w.add_sensor("thigh", fs=100.0)
        w.write_samples("thigh", np.arange(20) / 100.0, np.tile([0, 0, 9.81], (20, 1)),
                        np.zeros((20, 3)))
    raw = p.read_bytes()
    end = raw.rindex(b"\xa5\x5a")  # the END record
    extra = fmt.encode_record(42, b"future")
    (tmp_path / "b.mtrec").write_bytes(raw[:end] + extra + raw[end:])
    rec = read_recording(tmp_path / "b.mtrec")
    assert rec.complete and any("unknown type 42" in w for w in rec.warnings)
    assert rec.sensors["thigh"].t.size == 20
    (tmp_path / "c.mtrec").write_bytes(raw[:end])  # killed between records: no END
    cut = read_recording(tmp_path / "c.mtrec")
    assert not cut.complete and cut.warnings and cut.sensors["thigh"].t.size == 20


def test_recording_csv_replayed_has_nan_host_time(tmp_path):
    """docs/recording-format.md 'Clocks': a SAMPLES record written from a source without a
    host clock has ``host_time`` NaN."""
    from motiontrack.recording import RecordingWriter

    p = tmp_path / "a.mtrec"
    with RecordingWriter(p) as w:
        w.add_sensor("thigh", fs=100.0)
        w.write_samples("thigh", [0.0, 0.01], np.zeros((2, 3)), np.zeros((2, 3)),
                        host_time_s=float("nan"))
    raw = p.read_bytes()
    i = raw.index(b"\xa5\x5a\x04")
    assert math.isnan(struct.unpack_from("<Hd", raw, i + 7)[1])


# ---------------------------------------------------------------------------- session protocol
def test_session_protocol_thresholds():
    """docs/session-protocol.md 'What the analysis does': still = both gyroscopes below
    0.1 rad/s for >= 1 s, a warning when it does not begin within the first second; quiet
    periods >= 0.5 s; a turn over 45° (START_TURN_DEG) with no rest back within 20°; the
    exercises' own postures; 'Without --exercise the start is taken as standing'."""
    from motiontrack import analysis
    from motiontrack.exercise import ExerciseSettings, posture
    from motiontrack.exercise.posture import START_TURN_DEG
    from motiontrack.kinematics import detect_still

    assert START_TURN_DEG == 45.0
    assert posture.QUIET_RATE == 0.1 and posture.QUIET_MIN_S == 0.5
    assert posture.BACK_DEG == 20.0 and posture.START_WITHIN_S == 1.0
    sig = inspect.signature(detect_still).parameters
    assert sig["max_rate"].default == 0.1 and ExerciseSettings().still_s == 1.0
    assert analysis.EXERCISE_POSES["seated_knee_extension"] == "seated"
    assert analysis.EXERCISE_POSES["squat"] == "standing"
    assert analysis.EXERCISE_POSES["heel_slide"] == "supine"
    assert analysis.EXERCISE_POSES["straight_leg_raise"] == "supine"
    assert posture.NOMINAL_DEG == {"standing": 0.0, "seated": 90.0, "supine": 0.0}
    from motiontrack.exercise.counting import SegmentCounter

    assert SegmentCounter.CHECK_S == 0.5  # 'the single-sensor start is judged every 0.5 s'


def test_session_protocol_engine_settings():
    """docs/session-protocol.md 'Live and offline are one engine' and the README: attempts at
    the still pose's end + calibration_motion_s, then every calibration_retry_s until
    min_confidence or max_calibration_s; ExerciseSettings is the one settings object
    (SessionSettings and AnalysisSettings alias it); troubleshooting's
    ``ExerciseSettings(pose_flexion_deg=81)``."""
    from motiontrack.exercise import ExerciseSettings

    s = ExerciseSettings(pose_flexion_deg=81)
    for name in ("calibration_motion_s", "calibration_retry_s", "min_confidence",
                 "max_calibration_s"):
        assert getattr(s, name) > 0, name
    assert s.pose_flexion_deg == 81
    import motiontrack.analysis as an
    import motiontrack.session as se

    assert an.AnalysisSettings is ExerciseSettings and se.SessionSettings is ExerciseSettings
    assert "settings" in inspect.signature(mt.Session).parameters


@pytest.mark.parametrize(
    ("exercise", "low", "high"),
    [("seated_knee_extension", 1.5, 3.0), ("heel_slide", 2.5, 4.0), ("squat", 0.4, 0.6)],
)
def test_simulator_follows_the_documented_protocol(exercise, low, high):
    """docs/session-protocol.md 'Simulating it': the default ``start_pose=None`` starts in the
    exercise posture; ``start_pose="standing"`` holds ``still_start_s`` of quiet standing with
    the knee exactly 0°, then sits down in 1.5-3 s, lies down in 2.5-4 s or settles into the
    squat stance in 0.4-0.6 s, then 1-2 s still before the first rep."""
    from motiontrack.simulation import simulate_knee_session

    assert inspect.signature(simulate_knee_session).parameters["start_pose"].default is None
    for seed in (2, 3):
        sim = simulate_knee_session(exercise, reps=1, seed=seed, start_pose="standing",
                                    still_start_s=2.0, noise=False)
        f = sim.truth.flexion_deg
        assert np.all(f[sim.t < 2.0] == 0.0)
        moving = np.flatnonzero(f != 0.0)[0]
        settled = moving + np.flatnonzero(np.diff(f[moving:]) == 0.0)[0]  # the posture's rest
        assert low - 0.02 <= sim.t[settled] - sim.t[moving] <= high + 0.02, seed
        first_rep = sim.truth.reps[0].start_s
        assert 1.0 - 0.02 <= first_rep - sim.t[settled] <= 2.0 + 0.25, seed
    if exercise == "seated_knee_extension":
        plain = simulate_knee_session(exercise, reps=1, seed=2, noise=False)
        assert plain.truth.flexion_deg[0] > 60.0  # directly seated


def test_readme_benchmark_results_and_data_location():
    """README 'Benchmarks': each benchmark writes JSON with machine info to
    benchmarks/results/; datasets are read from ../shared/data or $MOTIONTRACK_DATA."""
    src = (ROOT / "benchmarks" / "_common.py").read_text()
    assert 'os.environ.get("MOTIONTRACK_DATA", REPO.parent / "shared" / "data")' in src
    assert 'Path(__file__).resolve().parent / "results"' in src
    assert '"machine": machine_info()' in src


def test_readme_transport_notes_and_backend_registry():
    """README 'What is inside' / troubleshooting 'Bluetooth': backends by registry (Python entry
    points ``motiontrack.transport_backends``, the virtual sensors register ``sim``); the
    transport documents BlueZ MTU, macOS UUID addresses and Android permissions."""
    from motiontrack import transport

    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert "sim" in eps["motiontrack.transport_backends"]
    doc = transport.__doc__
    assert "BlueZ" in doc and "MTU" in doc and "macOS" in doc and "UUID" in doc
    assert "Android" in doc and "BLUETOOTH_CONNECT" in doc


# ---------------------------------------------------------------------------- gaps, reps
def test_gap_bridge_and_rejection_defaults():
    """docs/troubleshooting.md 'Gaps' and 'Rep not counted': holes up to 0.25 s are
    interpolated (the engine's bridge and the rep counter's), longer ones are gaps; reps
    under ~20 % of the set's ROM are rejected on purpose."""
    from motiontrack.exercise import ExerciseSettings
    from motiontrack.reps import RepSettings

    assert ExerciseSettings().max_interp_s == 0.25
    assert RepSettings().bridge_s == 0.25
    assert RepSettings().reject_frac == 0.2


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """One simulated protocol squat with a 0.2 s and a 2 s hole in the shank, mid-rep,
    analysed from its CSV by the documents' command (``analyze ... --json --angles-out``)."""
    import contextlib
    import io

    from motiontrack.cli import main
    from motiontrack.simulation import simulate_knee_session

    d = tmp_path_factory.mktemp("doc_claims")
    sim = simulate_knee_session("squat", reps=6, seed=5, fs=100.0, start_pose="standing")
    reps = sim.truth.reps
    short_at = 0.5 * (reps[1].start_s + reps[1].end_s)
    long_at = 0.5 * (reps[3].start_s + reps[3].end_s)
    hole = ((sim.t >= short_at) & (sim.t < short_at + 0.2)) | (
        (sim.t >= long_at - 1.0) & (sim.t < long_at + 1.0))
    sim.sensors["shank"].valid[hole] = False  # rows omitted from the CSV
    csv = d / "session.csv"
    sim.to_csv(csv)
    out = d / "angles.csv"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["analyze", str(csv), "--joint", "knee", "--proximal", "thigh", "--distal",
                     "shank", "--exercise", "squat", "--angles-out", str(out), "--json"])
    assert code == 0
    table = np.genfromtxt(out, delimiter=",", names=True)
    return {"sim": sim, "json": json.loads(stdout.getvalue()), "angles_csv": out,
            "table": table, "short_at": short_at, "long_at": long_at}


def test_gaps_short_bridged_long_unknown_and_the_cut_rep_interrupted(analysed):
    """docs/troubleshooting.md 'Gaps' (issue 13 behaviour): a 0.2 s hole is bridged (angles
    there, flagged ``bridged``); over a 2 s hole the angles are NaN (empty fields of the
    angles CSV), the rep it cuts is reported as interrupted and not counted, a warning says
    so and ``gaps`` lists both holes with their missing samples."""
    d, tab, sim = analysed["json"], analysed["table"], analysed["sim"]
    t, flex = tab["time_s"], tab["flexion_deg"]
    short = (t >= analysed["short_at"] + 0.02) & (t < analysed["short_at"] + 0.18)
    assert short.any() and np.isfinite(flex[short]).all() and (tab["bridged"][short] == 1).all()
    long_ = (t > analysed["long_at"] - 0.9) & (t < analysed["long_at"] + 0.9)
    assert long_.any() and np.isnan(flex[long_]).all()
    assert d["bridged_samples"] == int(np.sum(tab["bridged"] == 1)) > 0
    gaps = [g for g in d["gaps"] if g["sensor"] == "shank"]
    assert [g["missing_samples"] for g in gaps] == [20, 200]
    assert len(d["interrupted_reps"]) == 1 and d["interrupted_reps"][0]["flags"] == ["interrupted"]
    assert d["rep_count"] == len(sim.truth.reps) - 1
    assert any("interrupted" in w for w in d["warnings"]), d["warnings"]
    assert any("gaps up to 0.25 s interpolated" in w for w in d["warnings"]), d["warnings"]


# ---------------------------------------------------------------------------- troubleshooting
def test_troubleshooting_unit_thresholds():
    """docs/troubleshooting.md 'Units': deg/s caught when the fastest tenth turns faster than
    15 rad/s (860 °/s) or the 99th percentile exceeds 35 rad/s (2000 °/s); g is a median norm
    of 0.4-2.5, mg 400-2500; Earth's field 25-65 µT sits inside the accepted band."""
    from motiontrack import checks

    assert checks.GYR_MOVING_MAX == 15.0 and round(math.degrees(15.0), -1) == 860.0
    assert checks.GYR_PEAK_MAX == 35.0 and round(math.degrees(35.0), -2) == 2000.0
    assert checks.ACC_G_BAND == (0.4, 2.5) and checks.ACC_MG_BAND == (400.0, 2500.0)
    lo, hi = checks.MAG_UT_BAND
    assert lo < 25.0 and 65.0 < hi


def test_troubleshooting_file_messages_name_the_sensor(tmp_path):
    """docs/troubleshooting.md 'Units': a file's message is '<file>: sensor '<name>': '
    followed by exactly what fuse says for the same arrays."""
    from motiontrack.errors import InputError
    from motiontrack.io import read_csv

    rng = np.random.default_rng(0)
    n = 300
    t = np.arange(n) / 100.0
    acc = np.tile([0.0, 0.0, 1.0], (n, 1)) + rng.normal(0, 0.01, (n, 3))  # in g
    gyr = rng.normal(0, 0.01, (n, 3))
    p = tmp_path / "g.csv"
    rows = ["time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"]
    rows += [f"{t[i]},thigh,{_row(acc[i])},{_row(gyr[i])}"
             for i in range(n)]
    p.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError) as file_err:
        read_csv(p)
    with pytest.raises(InputError) as api_err:
        mt.fuse(acc, gyr, fs=100.0)
    assert str(file_err.value) == f"{p}: sensor 'thigh': {api_err.value}"
    assert "median |acc| is 1" in str(api_err.value) and "9.81" in str(api_err.value)
    assert np.isfinite(mt.fuse(acc, gyr, fs=100.0, check_input=False)).all()  # checks skipped


def test_troubleshooting_duplicate_rows(tmp_path):
    """docs/troubleshooting.md: a row stored twice exactly is kept once (a note says so); two
    rows of one sensor at one time with different values are an error that counts them; rows
    out of time order are sorted, with a note."""
    from motiontrack.errors import InputError
    from motiontrack.io import read_csv

    n = 200
    t = np.arange(n) / 100.0
    rng = np.random.default_rng(1)
    acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + rng.normal(0, 0.02, (n, 3))
    gyr = rng.normal(0, 0.01, (n, 3))
    rows = [f"{float(t[i])!r},thigh,{_row(acc[i])},{_row(gyr[i])}"
            for i in range(n)]
    head = "time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n"
    p = tmp_path / "twice.csv"
    p.write_text(head + "\n".join(rows[:100] + rows[90:100] + rows[100:]) + "\n")
    rec = read_csv(p)
    assert rec.sensors["thigh"].t.size == n and any("repeated exactly" in w for w in rec.warnings)
    clash = list(rows)
    clash[51] = f"{float(t[50])!r}" + clash[51][clash[51].index(","):]  # same time, other values
    p2 = tmp_path / "clash.csv"
    p2.write_text(head + "\n".join(clash) + "\n")
    with pytest.raises(InputError, match=r"1 of .* steps are not increasing \(1 repeat"):
        read_csv(p2)
    shuffled = rows[:]
    shuffled[10], shuffled[11] = shuffled[11], shuffled[10]
    p3 = tmp_path / "swap.csv"
    p3.write_text(head + "\n".join(shuffled) + "\n")
    rec3 = read_csv(p3)
    assert np.all(np.diff(rec3.sensors["thigh"].t) > 0) and rec3.warnings


def test_troubleshooting_fuse_flags_repeated_timestamps():
    """docs/troubleshooting.md: 'fuse works on your row order ... a repeated or backward
    timestamp is a skipped sample, flagged DT_INVALID and counted in the diagnostics'."""
    from motiontrack.fusion import FusionFlag

    n = 100
    t = np.arange(n) / 100.0
    t[50] = t[49]
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    gyr = np.zeros((n, 3))
    res = mt.fuse(acc, gyr, timestamps=t, full_output=True, check_input=False)
    assert res.flags[50] & FusionFlag.DT_INVALID
    assert np.isfinite(res.quaternion).all()


def test_troubleshooting_private_file_modes(tmp_path, analysed):
    """docs/troubleshooting.md 'Permission denied': the --angles-out CSV is created 0600."""
    assert analysed["angles_csv"].stat().st_mode & 0o777 == 0o600


def test_troubleshooting_no_still_period(tmp_path, capsys):
    """docs/troubleshooting.md '"no still period"': a recording never still (both gyroscopes
    above 0.1 rad/s throughout) is refused with that message in one line, exit status 1."""
    from motiontrack.cli import main
    from motiontrack.simulation import simulate_knee_session

    sim = simulate_knee_session("squat", reps=2, seed=1)
    for imu in sim.sensors.values():
        imu.gyr[:] += np.array([0.3, 0.0, 0.0])  # rad/s: a turn that never stops
    sim.to_csv(tmp_path / "s.csv")
    assert main(["analyze", str(tmp_path / "s.csv"), "--joint", "knee"]) == 1
    err = capsys.readouterr().err.strip()
    assert "no still period" in err and "2-3 s without moving" in err and "\n" not in err


def test_calibration_cli_error_and_warning_lines(tmp_path, capsys):
    """calibration/README.md: problems are one line ('error: sensor '<name>': the sensor was
    not still ...', exit status 1), doubtful results 'warning:' lines."""
    from motiontrack.cli import main
    from motiontrack.simulation import simulate_magnetometer_rotation, simulate_rest

    simulate_magnetometer_rotation(10.0, seed=42).to_csv(tmp_path / "moving.csv")
    assert main(["calibrate", str(tmp_path / "moving.csv"), "--gyro", "-o",
                 str(tmp_path / "a.json")]) == 1
    err = capsys.readouterr().err.strip()
    assert re.search(r"error: sensor '\w+': the sensor was not still", err) and "\n" not in err
    simulate_rest(20.0, seed=43, move_at_s=12.0).to_csv(tmp_path / "r.csv")
    assert main(["calibrate", str(tmp_path / "r.csv"), "--gyro", "-o",
                 str(tmp_path / "b.json")]) == 0
    out = capsys.readouterr()
    assert any(ln.startswith("warning: ") and "moved" in ln
               for ln in (out.out + out.err).splitlines()), out


# ---------------------------------------------------------------------------- firmware bench
def test_firmware_bench_thresholds_table_is_the_parser():
    """docs/firmware-bench.md 'Thresholds and exit code': every option of the table with its
    default; exit codes 0 / 3 (a check failed) / 1 / 130; --speed default 10, --minutes,
    --rtt-probes, --force-drop, the --inject-* faults; soak 4 sensors x 200 Hz x 30 min with
    drops every 60-180 s; latency --seconds 180 at 200 Hz."""
    from motiontrack import cli
    from motiontrack.cli import bench

    text = (ROOT / "docs" / "firmware-bench.md").read_text()
    table = text.split("| option | default | check |")[1].split("\n\n")[0]
    rows = re.findall(r"\| `(--[a-z-]+)` \| ([0-9.]+) \|", table)
    assert len(rows) == 8
    opts = _options(_command("bench", "link"))
    for flag, default in rows:
        assert float(opts[flag].default) == float(default), flag
    assert opts["--speed"].default == 10.0
    for flag in ("--minutes", "--rtt-probes", "--force-drop", "--capture", "--json", "--rate",
                 "--inject-loss", "--inject-drift-ppm", "--inject-malformed-per-min",
                 "--inject-battery-drain"):
        assert flag in opts, flag
    assert (cli.EXIT_OK, cli.EXIT_ERROR, bench.EXIT_FAILED, cli.EXIT_INTERRUPTED) == (0, 1, 3, 130)
    soak = _options(_command("bench", "soak"))
    assert (soak["--minutes"].default, soak["--sensors"].default, soak["--rate"].default) == (
        30.0, 4, 200.0)
    assert tuple(soak["--drop-every"].default) == (60.0, 180.0)
    assert "--no-tracemalloc" in soak
    lat = _options(_command("bench", "latency"))
    assert (lat["--seconds"].default, lat["--rate"].default) == (180.0, 200.0)
    from motiontrack.bench import run_latency, run_link_test, run_soak  # noqa: F401


def test_firmware_bench_negative_limit_disables_and_json_dash_is_stdout(capsys):
    """docs/firmware-bench.md: 'A negative value disables a check'; '--json FILE (- for
    stdout)'."""
    from pathlib import Path as _P

    from motiontrack.bench.link_report import LinkThresholds
    from motiontrack.cli import _bench

    assert _bench._limit(-1.0) is None and _bench._limit(0.5) == 0.5
    assert LinkThresholds(max_jitter_ms=_bench._limit(-1.0)).max_jitter_ms is None
    _bench._write_json(_P("-"), {"passed": True})
    assert json.loads(capsys.readouterr().out) == {"passed": True}


def test_firmware_bench_soak_schedule():
    """docs/firmware-bench.md 'Soak': 4 sensors at 200 Hz for 30 minutes of sensor time,
    slowing down while the backlog exceeds 100 packets; a link drop every 60-180 s (0.2-2 s
    down), malformed bursts of 5-40 notifications every 60-180 s, drift +40, -25, +60, -10 ppm
    per sensor with a +30 ppm step at half time, a 2 s saturation episode at 40 %, a slow
    application (100 ms per event) from 60 % to 70 %, warm-up 20 %; a drift below
    max(10, 6000 / run length in s) ppm is out of reach."""
    from motiontrack.bench.soak import SoakSettings
    from motiontrack.bench.soak_faults import drift_tolerance_ppm

    s = SoakSettings()
    assert (s.n_sensors, s.sample_rate_hz, s.stream_s) == (4, 200.0, 1800.0)
    assert s.max_backlog_packets == 100
    assert s.drop_every_s == (60.0, 180.0) and s.drop_down_s == (0.2, 2.0)
    assert s.malformed_every_s == (60.0, 180.0) and s.malformed_burst == (5, 40)
    assert s.drift_ppm == (40.0, -25.0, 60.0, -10.0) and s.drift_step_ppm == 30.0
    assert (s.saturation_at, s.saturation_s) == (0.4, 2.0)
    assert s.slow_consumer == (0.6, 0.7) and s.slow_consumer_sleep_s == 0.1
    assert s.warmup == 0.2
    assert drift_tolerance_ppm(120.0) == 50.0 and drift_tolerance_ppm(1800.0) == 10.0


@pytest.mark.parametrize("drift_ppm", [50.0, -30.0])
def test_firmware_bench_drift_sign_and_interval(drift_ppm):
    """docs/firmware-bench.md 'What is measured': clock drift fitted on the lower envelope of
    (device time, host arrival), '+ = device clock fast', reported with its 95 % interval,
    leaving out the first 10 % of the run (here: a latency floor 20 ms higher while it
    settles, which must not bend the fit)."""
    from motiontrack.bench.link_analysis import fit_clock

    rng = np.random.default_rng(0)
    t = np.arange(0.0, 600.0, 0.05)  # true time, s: 20 notifications/s for 10 min
    dev = t * (1.0 + drift_ppm * 1e-6)  # a fast device clock runs ahead
    host = t + 0.004 + rng.exponential(0.003, t.size) + np.where(t < 8.0, 0.02, 0.0)
    fit = fit_clock({"t_last": dev, "ref": host, "host": host}, 0.0, [], 1.0)
    assert fit.drift_ppm_low <= drift_ppm <= fit.drift_ppm_high
    assert abs(fit.drift_ppm - drift_ppm) < 0.2 and fit.drift_ppm_high - fit.drift_ppm_low < 1.0


# ---------------------------------------------------------------------------- calibration
def _calibration_readme_json() -> dict:
    text = (ROOT / "calibration" / "README.md").read_text()
    return json.loads(re.search(r"```json\n(.*?)```", text, flags=re.S).group(1))


def test_calibration_readme_file_format_example_loads(tmp_path):
    """calibration/README.md 'File format (JSON, version 1)': the example file is what the
    reader accepts and it applies the models of 'Models' (gyr = raw - bias,
    acc = M S (raw - o), mag = C (raw - h)); a section absent passes readings through;
    another version is refused naming both versions; other units are refused."""
    from motiontrack.calibration import load_calibrations
    from motiontrack.errors import CalibrationError

    doc = _calibration_readme_json()
    p = tmp_path / "sensors.json"
    p.write_text(json.dumps(doc))
    cal = load_calibrations(p)["thigh"]
    s = doc["sensors"]["thigh"]
    raw_a, raw_g, raw_m = np.array([[1.0, 2.0, 9.0]]), np.array([[0.1, 0.2, 0.3]]), np.array(
        [[30.0, 10.0, -20.0]])
    a, g, m = cal.apply(raw_a, raw_g, raw_m)
    acc = s["accelerometer"]
    K = np.asarray(acc["misalignment"]) @ np.diag(acc["scale"])
    np.testing.assert_allclose(g[0], raw_g[0] - s["gyroscope"]["bias"])
    np.testing.assert_allclose(a[0], K @ (raw_a[0] - acc["offset"]))
    mg = s["magnetometer"]
    np.testing.assert_allclose(m[0], np.asarray(mg["soft_iron"]) @ (raw_m[0] - mg["hard_iron"]))
    del doc["sensors"]["thigh"]["gyroscope"]
    p.write_text(json.dumps(doc))
    _, g2, _ = load_calibrations(p)["thigh"].apply(raw_a, raw_g, raw_m)
    np.testing.assert_array_equal(g2, raw_g)
    doc["version"] = 7
    p.write_text(json.dumps(doc))
    with pytest.raises(CalibrationError, match=r"7.*1|1.*7"):
        load_calibrations(p)
    doc["version"] = 1
    doc["sensors"]["thigh"]["accelerometer"]["offset_unit"] = "g"
    p.write_text(json.dumps(doc))
    with pytest.raises(CalibrationError):
        load_calibrations(p)


def test_calibration_readme_python_example_runs(tmp_path, monkeypatch):
    """calibration/README.md 'In Python': the example runs as written (a simulated rest then
    a figure-eight, and a simulated two-sensor recording); the bias it applies is the one it
    estimated."""
    import warnings

    from motiontrack.calibration import calibrate_sensor, save_calibrations
    from motiontrack.recording import RecordingWriter
    from motiontrack.simulation import (
        simulate_knee_session,
        simulate_magnetometer_rotation,
        simulate_rest,
    )

    block = re.search(r"```python\n(.*?)```", (ROOT / "calibration" / "README.md").read_text(),
                      flags=re.S).group(1)
    rest, rot = simulate_rest(10.0, seed=0), simulate_magnetometer_rotation(40.0, seed=0)
    ns = {k: np.vstack([getattr(rest.imu, k), getattr(rot.imu, k)]) for k in ("acc", "gyr", "mag")}
    sim = simulate_knee_session("squat", reps=2, seed=1)
    monkeypatch.chdir(tmp_path)
    with RecordingWriter(tmp_path / "session.mtrec") as w:
        for name, imu in sim.sensors.items():
            w.add_sensor(name, fs=100.0)
            w.write_samples(name, sim.t[imu.valid], imu.acc[imu.valid], imu.gyr[imu.valid])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # doubtful-result warnings of a short simulation
        gyro = calibrate_sensor(rest.imu.acc, rest.imu.gyr, None, fs=rest.fs, gyroscope=True)
        save_calibrations(tmp_path / "sensors.json", {"thigh": gyro, "shank": gyro})
        exec(compile(block, "calibration-README", "exec"), ns)
    np.testing.assert_allclose(ns["gyr_c"], ns["gyr"] - ns["cal"].gyr_bias)
    assert (tmp_path / "imu.json").is_file()
    assert set(ns["rec"].sensors) == {"thigh", "shank"}
    thigh = sim.sensors["thigh"]
    np.testing.assert_allclose(ns["rec"].sensors["thigh"].gyr,
                               thigh.gyr[thigh.valid] - gyro.gyr_bias, atol=1e-12)


def test_calibration_docs_thresholds():
    """calibration/gyroscope_bias.md 'How it works': a sample is still when, in a 0.5 s window,
    every gyroscope axis varies by less than 0.86 °/s and every accelerometer axis by less
    than 0.2 m/s²; README: --rest-s default 10 s, --step-timeout 120; magnetometer.md: the
    live procedure ends at 80 % coverage."""
    from motiontrack.calibration import MagnetometerProcedure
    from motiontrack.calibration.still import StillnessSettings

    s = StillnessSettings()
    assert s.window_s == 0.5 and s.acc_std_max == 0.2
    assert round(math.degrees(s.gyr_std_max), 2) == 0.86
    opts = _options(_command("calibrate"))
    assert opts["--rest-s"].default == 10.0 and opts["--step-timeout"].default == 120.0
    sig = inspect.signature(MagnetometerProcedure).parameters
    assert sig["target_coverage"].default == 0.8


def test_gyro_bias_refusals_and_warnings():
    """calibration/gyroscope_bias.md 'When it refuses or warns': 'no stretch of 3.0 s at rest'
    for a sensor never still for 3 s; a bias over 5 °/s 'is implausibly large'."""
    from motiontrack.calibration import estimate_gyro_bias
    from motiontrack.errors import CalibrationError, CalibrationWarning
    from motiontrack.simulation import simulate_rest

    rest = simulate_rest(10.0, seed=3)
    acc, gyr = rest.imu.acc, rest.imu.gyr.copy()
    wobble = gyr.copy()
    wobble[::250] += 0.5  # a knock every 2.5 s: no 3 s still stretch
    with pytest.raises(CalibrationError, match=r"no stretch of 3\.0 s at rest"):
        estimate_gyro_bias(wobble, acc, fs=rest.fs)
    with pytest.warns(CalibrationWarning, match="implausibly large"):
        estimate_gyro_bias(gyr + math.radians(6.0), acc, fs=rest.fs)


def test_calibration_accuracy_table_on_a_few_seeds():
    """calibration/README.md table (and the three procedure pages), for seeds 0-2 of
    accuracy.py's simulation: gyro bias <= 0.01 °/s, accelerometer offset <= 0.03 % of g and
    scale <= 0.05 %, magnetometer corrected field <= 0.25 % of the field. accuracy.py runs
    20 seeds by default ('over 20 seeded simulations')."""
    import warnings

    from motiontrack.calibration import (
        calibrate_magnetometer,
        calibrate_six_face,
        estimate_gyro_bias,
    )
    from motiontrack.conventions import GRAVITY
    from motiontrack.simulation import (
        simulate_magnetometer_rotation,
        simulate_rest,
        simulate_six_face,
    )

    src = (ROOT / "calibration" / "accuracy.py").read_text()
    assert '"--seeds", type=int, default=20' in src
    field = 49.0
    dirs = np.random.default_rng(0).normal(size=(500, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    for seed in range(3):
        rest = simulate_rest(10.0, seed=seed)
        r = estimate_gyro_bias(rest.imu.gyr, rest.imu.acc, fs=rest.fs)
        err = np.max(np.abs(r.bias - rest.imu.gyr_bias_series[r.used].mean(axis=0)))
        assert math.degrees(err) <= 0.01
        six = simulate_six_face(seed=seed, tilt_deg=0.3)
        s = calibrate_six_face(six.imu.acc, six.imu.gyr, fs=six.fs)
        k_true = np.linalg.inv(np.asarray(six.imu.errors.acc_gain))
        offset_err = np.max(np.abs(s.offset - np.asarray(six.imu.errors.acc_offset)))
        assert 100 * offset_err / GRAVITY <= 0.03
        assert 100 * np.max(np.abs(s.scale / np.diag(k_true) - 1)) <= 0.05
        mag = simulate_magnetometer_rotation(40.0, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = calibrate_magnetometer(mag.imu.mag, field_ut=field)
        e = mag.imu.errors
        b = field * dirs
        corrected = (b @ np.asarray(e.mag_soft_iron).T) @ m.soft_iron.T
        assert 100 * np.max(np.linalg.norm(corrected - b, axis=1)) / field <= 0.25


def test_calibration_scripts_run(tmp_path, caplog, monkeypatch):
    """calibration/README.md 'Scripts in this folder': guided_demo.py runs the three guided
    procedures against a simulated sensor and writes the result; simulate_recordings.py is
    exercised by tests/test_calibration_cli.py."""
    from motiontrack.calibration import load_calibrations

    sys.path.insert(0, str(ROOT / "calibration"))
    try:
        import guided_demo  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "calibration"))
    out = tmp_path / "imu.json"
    caplog.set_level("INFO", logger="calibration.guided")
    monkeypatch.setattr(sys, "argv", ["guided_demo.py", "-o", str(out)])
    guided_demo.main()
    cal = next(iter(load_calibrations(out).values()))
    assert cal.gyr_bias is not None and cal.acc_scale is not None and cal.mag_hard_iron is not None
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "% of directions covered" in said and "expected -x up, the sensor has +x up" in said


def test_six_face_mislabelled_faces_give_a_negative_scale_error():
    """calibration/accelerometer_six_face.md: offsets o_k = (r+k,k + r-k,k)/2 exactly; 'six-face
    fit gives a negative scale': a face was mislabelled."""
    from motiontrack.calibration import fit_six_face
    from motiontrack.conventions import GRAVITY
    from motiontrack.errors import CalibrationError

    offset, gain = np.array([0.1, -0.2, 0.3]), np.array([1.02, 0.97, 1.01])
    faces = np.zeros((6, 3))
    for i in range(6):
        faces[i, i // 2] = GRAVITY if i % 2 == 0 else -GRAVITY
    raw = faces * gain + offset  # r = S⁻¹-ish gain on each axis, plus the offset
    o, scale, mis, resid = fit_six_face(raw)
    np.testing.assert_allclose(o, offset, atol=1e-12)
    np.testing.assert_allclose(scale, 1.0 / gain, rtol=1e-12)
    with pytest.raises(CalibrationError, match="negative scale"):
        fit_six_face(raw[[1, 0, 2, 3, 4, 5]])  # +x and -x swapped
