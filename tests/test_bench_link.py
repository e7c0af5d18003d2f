"""Link test (issue 8, acceptance 1): virtual sensors with injected loss and drift are
reported back within 1 % (loss) and 5 ppm (drift).

The sensor runs 4x faster than wall time for 360 s of sensor time (~90 s wall): drift is
measured from arrival times, whose latency floor drifts with the host's load by a
fraction of a millisecond of *wall* time; the drift error is about that change divided
by the wall-clock length of the test, so the test needs tens of seconds of wall time
whatever the speed. Measured at 4x/120 s (30 s wall) on the shared 2-core machine:
errors from -9 to +9.5 ppm depending on the load trend (benchmarks/link.py); at 45 s wall
the errors seen were 0.2 to 4.4 ppm, and at 60 s once 5.85 ppm (a clean-clone CI run on
2026-12-06), so the test runs 90 s of wall time.
"""

from __future__ import annotations

import json

import pytest
from scipy.stats import t as student_t

from motiontrack.bench import LinkTestSettings, LinkThresholds, SimFaults, run_link_test
from motiontrack.errors import ConfigurationError
from motiontrack.recording import read_recording

INJECTED_LOSS = 0.02
INJECTED_DRIFT_PPM = 80.0
LOSS_TOLERANCE = 0.01  # acceptance: loss within 1 % (absolute, of all packets)
DRIFT_TOLERANCE_PPM = 5.0  # acceptance
T95 = float(student_t.ppf(0.975, 9))  # the report's interval: jackknife over 10 runs of bins
T999 = float(student_t.ppf(0.9995, 9))  # what the tests check, so they are not flaky


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import asyncio

    capture = tmp_path_factory.mktemp("link") / "capture.mtrec"
    settings = LinkTestSettings(
        duration_s=360.0,
        capture=capture,
        rtt_probes=8,
        thresholds=LinkThresholds(
            max_loss=0.05,
            max_drift_ppm=100.0,
            max_malformed=None,
            max_jitter_ms=None,
            min_rate_ratio=0.95,
        ),
        sim=SimFaults(
            loss=INJECTED_LOSS,
            drift_ppm=INJECTED_DRIFT_PPM,
            speed=4.0,
            seed=3,
            malformed_per_min=3.0,
            battery_drain_pct_per_h=600.0,
        ),
    )
    return asyncio.run(run_link_test(["sim:dut"], settings)), capture


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_injected_loss_and_drift_are_reported_back(report):
    rep, _ = report
    (s,) = rep.sensors
    truth = s.truth
    # the sequence numbers give every packet the firmware dropped over the air, except those
    # next to the forced link drop (inside the link-lost gap) or after the last one received
    assert truth["packets_lost_air"] - 3 <= s.packets_lost <= truth["packets_lost_air"]
    assert abs(s.loss_rate - INJECTED_LOSS) < LOSS_TOLERANCE
    assert abs(s.drift_ppm - INJECTED_DRIFT_PPM) < DRIFT_TOLERANCE_PPM, s.drift_ppm
    # the bench's own clock fit reports its uncertainty, which covers the injected drift:
    # checked at 99.9 % (t with 9 degrees of freedom) so that the test fails 1 run in 1000,
    # not 1 in 20; the report shows the 95 % interval
    assert s.drift_ppm_high - s.drift_ppm == pytest.approx(T95 * s.drift_ppm_se)
    assert s.drift_ppm - s.drift_ppm_low == pytest.approx(T95 * s.drift_ppm_se)
    err = abs(s.drift_ppm - INJECTED_DRIFT_PPM)
    assert err <= T999 * s.drift_ppm_se, (s.drift_ppm, s.drift_ppm_se)
    # samples: 200 Hz nominal, the effective rate reflects the loss and the clock
    assert s.nominal_rate_hz == 200.0
    expected = 200.0 * (1 - s.loss_rate) * (1 + INJECTED_DRIFT_PPM * 1e-6)
    assert abs(s.effective_rate_hz - expected) / expected < 0.01
    assert s.longest_burst >= 1


def test_forced_drop_rtt_battery_malformed_and_mtu(report):
    rep, _ = report
    (s,) = rep.sensors
    assert s.drops == 1 and len(s.reconnect_s) == 1 and len(s.reconnect_to_data_s) == 1
    assert 0 < s.reconnect_s[0] <= s.reconnect_to_data_s[0] < 5.0
    assert s.link_lost_samples > 0  # the samples made while the link was down
    assert len(s.rtt_ms) == 8 and all(r > 0 for r in s.rtt_ms)
    assert s.malformed == s.truth["malformed_sent"] > 0
    # 600 %/h for 360 s of sensor time: 60 points down (whole percents)
    assert s.battery[0][1] - s.battery[-1][1] >= 57
    assert s.battery_trend_pct_per_h == pytest.approx(-600.0, rel=0.2)
    assert s.mtu == 247
    # 200 Hz, 50 ms latency cap: 10 samples of 12 bytes + 8-byte header
    assert s.payload_bytes.get(128, 0) == s.packets_received


def test_pass_fail_summary_and_json(report):
    rep, _ = report
    by = {c.name: c for c in rep.checks}
    assert by["loss"].passed and by["abs_drift_ppm"].passed and by["reconnect_s"].passed
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["sensors"][0]["truth"]["injected_drift_ppm"] == INJECTED_DRIFT_PPM
    assert d["passed"] == rep.passed
    text = rep.format()
    assert "clock drift" in text and "RESULT:" in text
    # a tighter loss limit fails the run
    from motiontrack.bench.link_report import judge

    strict = judge(rep.sensors, LinkThresholds(max_loss=0.001))
    assert not next(c for c in strict if c.name == "loss").passed


def test_capture_holds_every_notification(report):
    rep, capture = report
    (s,) = rep.sensors
    rec = read_recording(capture)
    n_notifications = sum(s.payload_bytes.values())
    assert len(rec.packets) == n_notifications
    kinds = {e["type"] for e in rec.events}
    assert {"data_gap", "link_disconnected", "link_reconnected"} <= kinds


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_drift_without_injected_drift_is_consistent_with_zero():
    """The bench fits the clock itself from the (device time, arrival) pairs it observes;
    a virtual crystal without error must come out with an interval that contains 0."""
    import asyncio

    settings = LinkTestSettings(
        duration_s=180.0,  # 45 s of wall time: at 30 s the 95 % interval was once 40.6 ppm wide
        rtt_probes=0,
        force_drop=False,
        sim=SimFaults(drift_ppm=0.0, speed=4.0, seed=5),
    )
    rep = asyncio.run(run_link_test(["sim:still"], settings))
    (s,) = rep.sensors
    assert abs(s.drift_ppm) <= T999 * s.drift_ppm_se, (s.drift_ppm, s.drift_ppm_se)
    assert s.drift_ppm_high - s.drift_ppm_low < 40.0  # and it is informative
    assert "clock drift (95 % interval)" in rep.format()


def test_settings_are_validated():
    with pytest.raises(ConfigurationError):
        SimFaults(loss=1.5)
    with pytest.raises(ConfigurationError):
        LinkTestSettings(duration_s=0)
    with pytest.raises(ConfigurationError):
        LinkThresholds(max_loss=-1)
