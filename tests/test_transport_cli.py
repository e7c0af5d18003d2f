"""``motiontrack scan`` and ``motiontrack stream`` against virtual sensors."""

from __future__ import annotations

import json

import pytest

from motiontrack.cli import main

pytestmark = pytest.mark.timeout(60)


def test_scan_sim_lists_both_sensors_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--sim", "--seconds", "0.3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["source"] for r in rows) == ["sim:shank", "sim:thigh"]
    assert all(r["rssi_dbm"] < 0 and r["address"].count(":") == 5 for r in rows)


def test_stream_sim_json_reports_rate_and_no_loss(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["stream", "sim:thigh", "sim:shank", "--seconds", "6", "--speed", "12", "--interval", "0.2", "--json"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    final = lines[-1]
    assert final["final"] is True
    for row in final["sensors"]:
        assert row["rate_hz"] == pytest.approx(100.0, rel=1e-6)  # device-time rate
        assert row["loss_percent"] == 0.0 and row["gaps"] == 0 and row["malformed"] == 0
        assert row["samples"] >= 600 and len(row["acc"]) == 3


def test_stream_bad_source_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stream", "usb:0", "--seconds", "1"]) == 1
    err = capsys.readouterr().err
    assert "unknown source kind" in err and "Traceback" not in err
