"""Templates (issue 15, acceptance 5): bad input gives a clear, typed error, never a traceback.

Three kinds, each through the Python API and the command line: a template span with no
motion, a template from other sensors than the session's, and a template file that cannot be
read (damaged, truncated, another version, not a template). The command line prints one line
``motiontrack <command>: error: ...`` on stderr and exits 1 (``cli.EXIT_ERROR``, the code of
every bad-input error; 2 is argparse's, for malformed arguments).
"""

from __future__ import annotations

import json
import numpy as np
import pytest

from motiontrack.cli import EXIT_ERROR
from motiontrack.cli import main as cli_main
from motiontrack.errors import MotionTrackError
from motiontrack.reps import Template, TemplateError
from motiontrack.simulation.imu import write_long_csv
from motiontrack.simulation.regions import simulate_region_session
from motiontrack.template_analysis import analyze_templates, create_template


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """A shoulder session (upper_arm + chest) and an elbow session (forearm + upper_arm) as
    CSV, and a good template of each (its first true rep)."""
    d = tmp_path_factory.mktemp("tplbad")
    out: dict = {"dir": d}
    for name, preset in (("shoulder", "shoulder_abduction"), ("elbow", "elbow_curl")):
        s = simulate_region_session(preset, reps=2, fs=50.0, seed=3)
        path = d / f"{name}.csv"
        write_long_csv(path, s.t, s.sensors)
        a, b = s.truth.reps[0]
        tpl = create_template(path, span=(a - 0.3, b + 0.3), segments=list(s.sensors), label=name)
        tpl.save(d / f"{name}.json")
        out[name] = (path, s, tpl)
    return out


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = cli_main(argv)
    err = capsys.readouterr().err
    return code, err


def _one_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"motiontrack {command}: error: ") and "Traceback" not in err
    return lines[0]


# -- 1. a template span with no motion ------------------------------------------------------
def test_still_span_api(files):
    path, s, _ = files["shoulder"]
    calib = s.truth.calib_s  # the still pose at the start
    with pytest.raises(TemplateError, match="no motion"):
        create_template(path, span=(0.2, calib - 0.2), segments=list(s.sensors))
    with pytest.raises(TemplateError, match="no motion"):  # a single sensor as well
        create_template(s.to_recording(), span=(0.2, calib - 0.2), segments=["chest"])


def test_still_span_cli(files, capsys, tmp_path):
    path, s, _ = files["shoulder"]
    out = tmp_path / "t.json"
    code, err = _cli(["template", "create", str(path), "--span", f"0.2:{s.truth.calib_s - 0.2:.2f}",
                      "--segment", "upper_arm", "-o", str(out)], capsys)
    assert code == EXIT_ERROR
    assert "the span holds no motion" in _one_line(err, "template")
    assert not out.exists()  # nothing half-written


# -- 2. a template from other sensors than the session's -------------------------------------
def test_other_sensor_set_api(files):
    sh_path, _, sh_tpl = files["shoulder"]
    el_path, _, el_tpl = files["elbow"]
    # the shoulder template (upper_arm + chest) on the elbow session (forearm + upper_arm)
    with pytest.raises(TemplateError, match=r"needs sensors \['upper_arm', 'chest'\].*no chest"):
        analyze_templates(el_path, [sh_tpl])
    with pytest.raises(TemplateError, match=r"no forearm"):
        analyze_templates(sh_path, [files["dir"] / "elbow.json"])
    # templates of two sensor sets together
    with pytest.raises(TemplateError, match="different sources"):
        analyze_templates(sh_path, [sh_tpl, el_tpl])
    # a joint-angle template whose sensors the recording lacks
    ang = Template(label="knee", source={"kind": "angle", "joint": "knee", "proximal": "thigh",
                                         "distal": "shank"},
                   examples=[np.radians(np.r_[0:60:10, 60:0:-10]).reshape(-1, 1)])
    with pytest.raises(MotionTrackError, match="no sensor named 'thigh'"):
        analyze_templates(sh_path, [ang])


def test_other_sensor_set_cli(files, capsys):
    el_path = files["elbow"][0]
    code, err = _cli(["analyze", str(el_path), "--template", str(files["dir"] / "shoulder.json")],
                     capsys)
    assert code == EXIT_ERROR
    line = _one_line(err, "analyze")
    assert "needs sensors ['upper_arm', 'chest']" in line and "no chest" in line


# -- 3. a template file that cannot be read --------------------------------------------------
def _good(files) -> dict:
    return json.loads((files["dir"] / "shoulder.json").read_text())


def _damaged(files) -> list[tuple[str, bytes, str]]:
    """(name, file content, expected message) of damaged template files."""
    good = (files["dir"] / "shoulder.json").read_bytes()
    g = _good(files)

    def js(**change) -> bytes:
        return json.dumps({**g, **change}).encode()

    return [
        ("truncated", good[: len(good) // 2], "cannot read template"),
        ("empty", b"", "cannot read template"),
        ("binary", b"\x00\xff\xfe\x80garbage", "cannot read template"),
        ("not json", b"{not json", "cannot read template"),
        ("a list", b"[1, 2]", "is not a motiontrack template"),
        ("other format", js(format="motiontrack.recording"), "is not a motiontrack template"),
        ("version 2", js(version=2), "has template version 2; this motiontrack reads version 1"),
        ("no version", json.dumps({k: v for k, v in g.items() if k != "version"}).encode(),
         "has template version None"),
        ("no examples", json.dumps({k: v for k, v in g.items() if k != "examples"}).encode(),
         "is damaged: KeyError: 'examples'"),
        ("examples empty", js(examples=[]), "at least one example"),
        ("examples not numbers", js(examples=[[["a", "b"]]]), "is damaged"),
        ("examples of the wrong width", js(examples=[[[0.0, 1.0]] * 5]), "examples must be finite"),
        ("NaN example", js(examples=[[[float("nan")] * 4] * 5]), "examples must be finite"),
        ("unknown source kind", js(source={"kind": "emg"}), "source kind must be 'imu' or 'angle'"),
        ("unknown frame", js(frame="world"), "frame must be 'invariant', 'sensor' or 'aligned'"),
        ("no label", js(label=""), "non-empty label"),
    ]


def test_unreadable_template_api(files, tmp_path):
    for name, content, msg in _damaged(files):
        p = tmp_path / "t.json"
        p.write_bytes(content)
        with pytest.raises(TemplateError, match=msg.replace("(", r"\(")) as ei:
            Template.load(p)
        assert "t.json" in str(ei.value), name  # the message names the file
    with pytest.raises(TemplateError, match="does not exist"):
        Template.load(tmp_path / "missing.json")
    with pytest.raises(TemplateError, match="cannot read template"):
        Template.load(tmp_path)  # a directory


def test_unreadable_template_cli(files, capsys, tmp_path):
    rec = str(files["shoulder"][0])
    for name, content, msg in _damaged(files):
        p = tmp_path / "t.json"
        p.write_bytes(content)
        code, err = _cli(["analyze", rec, "--template", str(p)], capsys)
        assert code == EXIT_ERROR, name
        assert msg in _one_line(err, "analyze"), name
    code, err = _cli(["analyze", rec, "--template", str(tmp_path / "missing.json")], capsys)
    assert code == EXIT_ERROR and "does not exist" in _one_line(err, "analyze")


def test_batch_reads_templates_before_starting(files, capsys, tmp_path):
    """``batch --template`` with a damaged template stops at once (no cluster started)."""
    p = tmp_path / "t.json"
    p.write_bytes(b"{")
    code, err = _cli(["batch", str(files["shoulder"][0]), "--out", str(tmp_path / "o.parquet"),
                      "--template", str(p)], capsys)
    assert code == EXIT_ERROR and "cannot read template" in _one_line(err, "batch")
    assert not (tmp_path / "o.parquet").exists()


# Fields Template checks itself (it used to read these without a clear error: a feature
# rate of 0 gave a ZeroDivisionError traceback, a negative one or a sensor named twice counted
# 0 reps silently, NaN was accepted, sensor names that are not strings gave a TypeError).
#: feature columns of the fixture's templates: 2 sensors x 6 (the default frame, "aligned")
_W = 12
_FIELDS = [
    ("feature rate 0", {"feature_rate_hz": 0}, "feature_rate_hz must be a number within 5-200 Hz"),
    ("negative feature rate", {"feature_rate_hz": -25}, "feature_rate_hz must be a number"),
    ("NaN feature rate", {"feature_rate_hz": float("nan")}, "feature_rate_hz must be a number"),
    ("infinite feature rate", {"feature_rate_hz": float("inf")}, "feature_rate_hz must be"),
    ("feature rate not a number", {"feature_rate_hz": [25]}, "is damaged: TypeError"),
    ("sensor names not strings", {"source": {"kind": "imu", "segments": [1, 2]}},
     "a non-empty list of sensor names"),
    ("sensor names a string", {"source": {"kind": "imu", "segments": "chest"}},
     "a non-empty list of sensor names"),
    ("no sensors", {"source": {"kind": "imu", "segments": []}}, "a non-empty list of sensor"),
    ("no segments key", {"source": {"kind": "imu"}}, "a non-empty list of sensor names"),
    ("a sensor twice", {"source": {"kind": "imu", "segments": ["chest", "chest"]}},
     "names a sensor twice"),
    ("angle joint not a name", {"source": {"kind": "angle", "joint": 3}}, "joint must be a name"),
    ("source not a mapping", {"source": "imu"}, "is damaged"),
    ("label not a string", {"label": 7}, "non-empty label"),
    ("meta not a mapping", {"meta": 5}, "is damaged: TypeError"),
    ("examples not a list", {"examples": 5}, "is damaged: TypeError"),
    ("a flat example", {"examples": [[[0.1, 0.2] + [0.0] * (_W - 2)] * 5]}, "does not move"),
    ("an absurd value", {"examples": [[[0.0] * _W, [1e9] + [0] * (_W - 1), [0.0] * _W]]},
     "within ±1000 rad"),
    ("a number too large for a float", b'"examples": [[[1' + b"0" * 400 + b", 0" * (_W - 1) + b"]]]",
     "is damaged: OverflowError"),
    ("version true", {"version": True}, "has template version True"),
]


def _field_files(files) -> list[tuple[str, bytes, str]]:
    g = _good(files)
    out = []
    for name, change, msg in _FIELDS:
        if isinstance(change, bytes):  # raw JSON text replacing the examples
            head = json.dumps({k: v for k, v in g.items() if k != "examples"})[:-1].encode()
            out.append((name, head + b", " + change + b"}", msg))
        else:
            out.append((name, json.dumps({**g, **change}).encode(), msg))
    return out


@pytest.mark.parametrize("api", [True, False], ids=["api", "cli"])
def test_template_fields_checked(files, tmp_path, capsys, api):
    """Each field a damaged file may get wrong: a TemplateError naming the file (API), one
    line on stderr and exit 1 (CLI ``analyze --template``)."""
    rec = str(files["shoulder"][0])
    for name, content, msg in _field_files(files):
        p = tmp_path / "t.json"
        p.write_bytes(content)
        if api:
            with pytest.raises(TemplateError) as ei:
                analyze_templates(rec, [p])
            assert msg in str(ei.value) and "t.json" in str(ei.value), (name, str(ei.value))
        else:
            code, err = _cli(["analyze", rec, "--template", str(p)], capsys)
            assert code == EXIT_ERROR, name
            assert msg in _one_line(err, "analyze"), (name, err)


def test_template_fields_checked_when_made_in_python():
    """The same checks on a Template built directly (no file)."""
    ex = [np.radians(np.r_[0:60:10, 60:0:-10]).reshape(-1, 1)]
    ok = {"label": "knee", "source": {"kind": "angle", "joint": "knee"}, "examples": ex}
    Template(**ok)
    for change in ({"feature_rate_hz": 0.0}, {"feature_rate_hz": float("nan")},
                   {"feature_rate_hz": True}, {"feature_rate_hz": "25"}, {"meta": []},
                   {"source": {"kind": "imu", "segments": ["a", "a"]}},
                   {"source": ["kind", "imu"]}, {"examples": [np.zeros((5, 1))]}):
        with pytest.raises(TemplateError):
            Template(**{**ok, **change})


def test_deeply_nested_json(tmp_path, capsys, files):
    p = tmp_path / "t.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TemplateError, match="nested too deeply") as ei:
        Template.load(p)
    assert "t.json" in str(ei.value)
    code, err = _cli(["analyze", str(files["shoulder"][0]), "--template", str(p)], capsys)
    assert code == EXIT_ERROR and "nested too deeply" in _one_line(err, "analyze")
