"""CSV import/export in the API.md long format, and OpenSim .sto orientation tables."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from motiontrack import quaternion as qt
from motiontrack.cli import main
from motiontrack.errors import InputError, RecordingError
from motiontrack.io import (
    load,
    read_csv,
    read_sto,
    write_angles_csv,
    write_orientations_csv,
    write_samples_csv,
    write_sto,
)
from motiontrack.io.opensim import Q_OPENSIM_ENU
from motiontrack.recording import Recording, SensorSamples

HEADER = "time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"


def test_long_format_per_sensor_rates_and_gaps(tmp_path):
    rows = [HEADER]
    for k in range(200):  # thigh at 100 Hz with samples 50..59 missing, shank at 50 Hz
        if not 50 <= k < 60:
            rows.append(f"{k / 100:.2f},thigh,0,0,9.81,0.1,0,0")
        if k % 2 == 0:
            rows.append(f"{k / 100 + 0.003:.3f},shank,0,9.81,0,0,0,{k / 100}")  # rad/s
    p = tmp_path / "x.csv"
    p.write_text("\n".join(rows) + "\n")
    rec = read_csv(p)
    assert rec.names == ["thigh", "shank"]
    assert rec.sensors["thigh"].fs == pytest.approx(100.0) and rec.sensors[
        "shank"
    ].fs == pytest.approx(50.0)
    assert len(rec.sensors["thigh"]) == 190 and len(rec.sensors["shank"]) == 100
    assert rec.sensors["shank"].gyr[-1, 2] == 1.98
    (gap,) = rec.gaps()
    assert (
        gap.sensor == "thigh"
        and gap.start_s == pytest.approx(0.49)
        and gap.end_s == pytest.approx(0.60)
    )
    assert gap.missing == 10


def test_unsorted_rows_and_mag(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(
        HEADER
        + ",mag_x,mag_y,mag_z\n0.02,a,1,2,3,4,5,6,7,8,9\n0.00,a,0,0,0,0,0,0,1,1,1\n0.01,a,0,0,0,0,0,0,,,\n"
    )
    s = read_csv(p).sensors["a"]
    np.testing.assert_array_equal(s.t, [0, 0.01, 0.02])
    assert s.mag is not None and np.isnan(s.mag[1]).all() and s.mag[2, 2] == 9


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("time_s,sensor,acc_x\n", "missing column"),
        (HEADER + "\n", "no samples"),
        (
            HEADER + "\n0,a,1,2,3,4,5,x\n0.01,a,1,2,3,4,5,6\n",
            r"line 2: gyr_z = 'x' is not a number",
        ),
        (HEADER + "\n0,a,1,2,3\n", "line 2: 5 fields"),
        (HEADER + "\n0,a,1,2,3,4,5,6\n", "only 1 sample"),
    ],
)
def test_bad_csv_is_a_clear_input_error(tmp_path, text, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=match):
        read_csv(p)


def test_missing_file(tmp_path):
    with pytest.raises(RecordingError, match="no such file"):
        load(tmp_path / "nope.csv")


def test_samples_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(50) / 100
    g = [0.0, 0.0, 9.81]  # m/s²: values near 1 would be read as g (motiontrack.checks)
    rec = Recording(
        sensors={
            "thigh": SensorSamples(t, rng.normal(g, size=(50, 3)), rng.normal(size=(50, 3))),
            "shank": SensorSamples(
                t[::2] + 0.001, rng.normal(g, size=(25, 3)), rng.normal(size=(25, 3))
            ),
        }
    )
    write_samples_csv(tmp_path / "r.csv", rec)
    back = read_csv(tmp_path / "r.csv")
    for k in rec.sensors:
        np.testing.assert_array_equal(back.sensors[k].t, rec.sensors[k].t)
        np.testing.assert_array_equal(
            back.sensors[k].acc, rec.sensors[k].acc
        )  # repr() floats round-trip exactly


def test_angles_and_orientation_csv(tmp_path):
    t = np.arange(3) / 100
    write_angles_csv(
        tmp_path / "a.csv", t, {"flexion_deg": [1.0, np.nan, 3.0], "abduction_deg": [0, 0, 0]}
    )
    lines = (tmp_path / "a.csv").read_text().splitlines()
    assert lines[0] == "time_s,flexion_deg,abduction_deg" and lines[2] == "0.010000,,0.0000"
    write_orientations_csv(tmp_path / "q.csv", t, {"thigh": np.tile([1.0, 0, 0, 0], (3, 1))})
    assert (tmp_path / "q.csv").read_text().splitlines()[
        0
    ] == "time_s,thigh_qw,thigh_qx,thigh_qy,thigh_qz"


def test_sto_is_opensense_format_and_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    t = np.arange(20) / 60.0
    q = qt.from_rotvec(rng.normal(size=(20, 3)))
    q[5] = np.nan  # a gap is forward-filled (OpenSense cannot read NaN)
    write_sto(tmp_path / "o.sto", t, {"femur_r": q, "tibia_r_imu": q})
    text = (tmp_path / "o.sto").read_text().splitlines()
    assert text[:5] == [
        "DataRate=60.000000",
        "DataType=Quaternion",
        "version=3",
        "OpenSimVersion=4.1",
        "endheader",
    ]
    assert text[5] == "time\tfemur_r_imu\ttibia_r_imu"
    _header, tt, cols = read_sto(tmp_path / "o.sto")
    np.testing.assert_allclose(tt, t, atol=1e-6)
    assert qt.angle_between(cols["femur_r_imu"][4], cols["femur_r_imu"][5]) < 1e-6
    good = np.arange(20) != 5
    assert np.max(qt.angle_between(cols["femur_r_imu"][good], q[good])) < 1e-6


def test_sto_opensim_frame_puts_up_on_y(tmp_path):
    # A sensor whose z axis points up (identity in ENU) has its z axis on OpenSim's +y.
    t = np.arange(3) / 100
    write_sto(tmp_path / "o.sto", t, {"pelvis": np.tile([1.0, 0, 0, 0], (3, 1))}, to_opensim=True)
    _, _, cols = read_sto(tmp_path / "o.sto")
    np.testing.assert_allclose(qt.rotate(cols["pelvis_imu"][0], [0, 0, 1.0]), [0, 1, 0], atol=1e-9)
    np.testing.assert_allclose(
        qt.rotate(Q_OPENSIM_ENU, [0, 1.0, 0]), [0, 0, -1], atol=1e-12
    )  # north -> -z


# ---- issue 13: what a file that is not a recording is said to be -----------------------------
@pytest.mark.parametrize("command", ["analyze", "replay"])
def test_empty_file_is_said_to_be_empty(tmp_path, capsys, command):
    p = tmp_path / "empty.mtrec"
    p.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        load(p)
    assert main([command, str(p)]) == 1
    err = capsys.readouterr().err
    assert "is empty" in err and "header" not in err


@pytest.mark.parametrize("command", ["analyze", "replay"])
def test_random_bytes_are_neither_mtrec_nor_csv(tmp_path, capsys, command):
    p = tmp_path / "noise.mtrec"
    p.write_bytes(np.random.default_rng(13).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=r"not a motiontrack recording \(\.mtrec\) nor a CSV file"):
        load(p)
    assert main([command, str(p)]) == 1
    err = capsys.readouterr().err
    assert "not a motiontrack recording (.mtrec) nor a CSV file" in err
    assert "CSV text file" not in err and "Traceback" not in err


def test_binary_with_nul_bytes_and_cut_header(tmp_path):
    p = tmp_path / "zeros.csv"
    p.write_bytes(b"time_s,sensor\x00\x00\x00")
    with pytest.raises(InputError, match="nor a CSV file"):
        load(p)
    p.write_bytes(b"MTREC")  # a recording cut inside its 12-byte header
    with pytest.raises(RecordingError, match="truncated"):
        load(p)


def test_utf8_character_cut_by_the_sniffing_window_is_still_csv(tmp_path):
    p = tmp_path / "wide.csv"
    header = "time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n"
    name = "é" * 3000  # 2 bytes each: one is cut at byte 4096 whatever the header length
    rows = "".join(f"{k / 100},{name},0,0,9.81,0,0,0\n" for k in range(3))
    p.write_text(header + rows, encoding="utf-8")
    assert load(p).names == [name]


# ------------------------------------------- bulk reader == the row-by-row reader, bit for bit
def _both(p):
    from motiontrack.io.csv import _open, _read_plain, _read_rows

    with _open(p) as f:
        plain = _read_plain(f)
    with _open(p) as f:
        rows = _read_rows(f, p)
    return plain, rows


def test_bulk_reader_gives_the_row_readers_arrays_bit_for_bit(tmp_path):
    """Plain files (the common case) are parsed in bulk; the arrays are those of the csv
    module and ``float``, bit for bit, for every number format a writer might use."""
    rng = np.random.default_rng(3)
    formats = [repr, "{:.9g}".format, "{:.17g}".format, "{:.6e}".format, "{:.4f}".format,
               lambda v: f" {v!r} ", lambda v: f"+{abs(v)!r}"]
    specials = ["inf", "-inf", "nan", "-0.0", "1e-320", "1E5", ".5", "5.", "1e999", "Infinity"]
    lines = [HEADER + ",mag_x,mag_y,mag_z,note"]
    for k in range(3000):
        vals = rng.normal(size=9) * 10.0 ** rng.integers(-8, 8, size=9)
        cells = [formats[(k + j) % len(formats)](float(v)) for j, v in enumerate(vals)]
        if k % 97 == 0:
            cells[k % 9] = specials[k % len(specials)]
        name = (" thigh", "shank ", "thigh", "s3")[k % 4]  # blanks around a name are not part of it
        lines.append(",".join([repr(k / 100 + (k % 4) * 1e-3), name, *cells, "x"]))
    lines.insert(500, lines.pop(700))  # rows need not be in time order
    p = tmp_path / "plain.csv"
    text = "\r\n".join(lines[:2000]) + "\r\n" + "\n".join(lines[2000:]) + "\n"  # CRLF and LF
    p.write_text(text, encoding="utf-8")
    plain, rows = _both(p)
    assert plain is not None, "a plain file takes the bulk reader"
    assert plain[1] is rows[1] is True
    assert list(plain[0]) == list(rows[0]) == ["thigh", "shank", "s3"]
    for name, a in rows[0].items():
        b = plain[0][name]
        assert b.dtype == a.dtype and b.shape == a.shape and b.flags.c_contiguous
        np.testing.assert_array_equal(b.view(np.int64), a.view(np.int64))  # NaN bits too


@pytest.mark.parametrize(
    ("body", "bulk"),
    [
        ("0,a,1,2,3,4,5,6,,,\n0.01,a,1,2,3,4,5,6,7,8,9\n", False),  # empty magnetometer fields: NaN
        ('0,"a",1,2,3,4,5,6,7,8,9\n0.01,a,1,2,3,4,5,6,7,8,9\n', False),  # quoted
        ("0,a,1,2,3,4,5,6,7,8,9\r0.01,a,1,2,3,4,5,6,7,8,9\r\n", False),  # a lone CR ends a row too
        ("0,a,1,2,3,4,5,6,7,8,9,extra\n0.01,a,1,2,3,4,5,6,7,8,9\n", False),  # an extra field
        ("0,a,1,2,3,4,5,6,7,8,9\n0.01,a,1_0,2,3,4,5,6,7,8,9\n", False),  # float() reads 1_0
        ("0,a,1,2,3,4,5,6,7,8,9\n0.01,a,１,2,3,4,5,6,7,8,9\n", False),  # so are non-ASCII digits
        ("0,a,1,2,3,4,5,6,7,8,9\n\n0.01,a,1,2,3,4,5,6,7,8,9\n", True),  # a blank line: skipped
        ("0,a,1,2,3,4,5,6,7,8,9\n   \n0.01,a,1,2,3,4,5,6,7,8,9\n", None),  # a blank one
        ("0,a,1,2,3,4,5,6,7,8,9\n,,,,,,,,,,\n0.01,a,1,2,3,4,5,6,7,8,9\n", False),  # empty fields
        ("0,a,1,2,3,4,5,6,7,8,9\r\n0.01,a,1,2,3,4,5,6,7,8,9\n", True),  # CRLF and LF mixed
    ],
)
def test_unusual_files_read_as_the_row_reader_reads_them(tmp_path, body, bulk):
    p = tmp_path / "u.csv"
    p.write_bytes((HEADER + ",mag_x,mag_y,mag_z\n" + body).encode("utf-8"))
    plain, rows = _both(p)
    if bulk is not None:
        assert (plain is not None) == bulk
    if plain is not None:
        assert plain[1] == rows[1] and list(plain[0]) == list(rows[0])
        for name, a in rows[0].items():
            np.testing.assert_array_equal(plain[0][name], a)
    rec = read_csv(p)
    for name, a in rows[0].items():
        s = rec.sensors[name]
        got = np.column_stack([s.t, s.acc, s.gyr])
        np.testing.assert_array_equal(got, a[np.argsort(a[:, 0]), :7])


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("0,a,1,2,3,4,5,6\n0.01, ,1,2,3,4,5,6\n", "line 3: empty sensor name"),
        ("0,a,1,2,3,4,5,6\nnan,a,1,2,3,4,5,6\n", "line 3: time_s must be finite"),
        ("0,a,1,2,3,4,5,6\n0.01,a,1,2,3,4,5\n", "line 3: 7 fields, expected 8"),
        ("0,a,1,2,3,4,5,6\n0.01,a,1,2,3,4,5,\n", "line 3: gyr_z = '' is not a number"),
    ],
)
def test_errors_name_their_line_whichever_reader(tmp_path, body, match):
    p = tmp_path / "e.csv"
    p.write_text(HEADER + "\n" + body)
    with pytest.raises(InputError, match=match):
        read_csv(p)


def test_repeated_rows_are_dropped_only_when_equal_in_every_field():
    from motiontrack.io.csv import _drop_repeated_rows

    rng = np.random.default_rng(1)
    a = np.column_stack([np.arange(100) / 100, rng.normal(size=(100, 6))])
    kept, dropped = _drop_repeated_rows(a)
    assert kept is a and dropped == 0  # no time twice: returned as is
    b = np.vstack([a, a[[3, 7]], a[[5]] + [0, 1, 0, 0, 0, 0, 0]])  # two packets twice, one clash
    b[[7, 101], 2] = np.nan  # NaN equals NaN here
    kept, dropped = _drop_repeated_rows(b)
    assert dropped == 2
    np.testing.assert_array_equal(kept, b[list(range(100)) + [102]])


def test_blank_rows_only_is_no_samples_without_a_numpy_warning(tmp_path):
    p = tmp_path / "blank.csv"
    p.write_text(HEADER + "\n\n  \n\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="has a header but no samples"):
            read_csv(p)
