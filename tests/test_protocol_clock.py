"""protocol.clock: the one unwrapper of u32 µs device timestamps (TickUnwrapper) and the
uncertainty of ClockSync's drift estimate."""

from __future__ import annotations

import numpy as np
import pytest

from motiontrack.protocol.clock import TICK_WRAP, TickUnwrapper, unwrap_ticks
from motiontrack.transport.timebase import StreamTracker


def test_wraps_at_2_pow_32_and_keeps_counting():
    true_us = np.arange(0, 3 * TICK_WRAP, 10_000_000, dtype=np.int64) + TICK_WRAP - 5
    out = unwrap_ticks(true_us % TICK_WRAP)
    np.testing.assert_array_equal(out - out[0], true_us - true_us[0])


def test_backward_jitter_stays_small_across_the_wrap():
    u = TickUnwrapper()
    assert u.unwrap(TICK_WRAP - 100) == TICK_WRAP - 100
    assert u.unwrap(50) == TICK_WRAP + 50  # wrapped forward
    assert u.unwrap(TICK_WRAP - 30) == TICK_WRAP - 30  # a late packet from before the wrap
    assert u.unwrap(60) == TICK_WRAP + 60  # and forward again
    assert u.peek(40) == TICK_WRAP + 40 and u.last == TICK_WRAP + 60  # peek changes nothing


def test_long_silence_needs_host_time():
    silence_us = 3 * TICK_WRAP + 2**31 + 123_456  # 3.5 wraps: beyond 2**31 µs
    start = 1_000_000
    end = start + silence_us
    # without host times the nearest candidate is taken (off by whole wraps)
    blind = TickUnwrapper()
    blind.unwrap(start)
    assert blind.unwrap(end % TICK_WRAP) != end
    # with host arrival times (host clock 50 ppm slow, 30 ms latency) the count is right
    u = TickUnwrapper()
    u.unwrap(start, 10.0)
    host_end = 10.0 + silence_us * 1e-6 * (1 - 50e-6) + 0.03
    assert u.unwrap(end % TICK_WRAP, host_end) == end
    # short silences ignore the host clock (a simulation sped up 20x must not mislead it)
    u.unwrap((end + 600_000_000) % TICK_WRAP, host_end + 30.0)
    assert u.last == end + 600_000_000


def test_reset_starts_over():
    u = TickUnwrapper()
    u.unwrap(TICK_WRAP - 1)
    u.unwrap(1)
    u.reset()
    assert u.last is None and u.unwrap(7) == 7


def test_stream_tracker_unwraps_a_long_link_loss_with_arrival_times():
    tr = StreamTracker()
    period = 10_000.0
    ts0 = TICK_WRAP - 20_000
    assert tr.observe(0, ts0, 1, period, arrival_s=0.0).accept
    silence = 2 * TICK_WRAP + 5_000_000  # two wraps and 5 s
    v = tr.observe(1, (ts0 + silence) % TICK_WRAP, 1, period, arrival_s=silence * 1e-6)
    assert v.accept
    assert abs(v.t0_s - silence * 1e-6) < 1e-6
    assert v.missing_samples == round(silence / period) - 1


def _arrivals(drift_ppm: float, seed: int, span_s: float = 120.0, interval_s: float = 0.0075):
    """(device µs, host s) of 20 ms packets: device clock ``drift_ppm`` fast, arrival after a
    wait for the next connection event (0..interval) plus occasional OS stalls."""
    rng = np.random.default_rng(seed)
    host_true = np.arange(0.0, span_s, 0.02)
    dev_us = host_true * (1 + drift_ppm * 1e-6) * 1e6 + 3e6
    wait = rng.uniform(0.0, interval_s, host_true.size)  # to the next connection event
    stalls = rng.exponential(0.002, host_true.size) * (rng.random(host_true.size) < 0.05)
    return dev_us, 100.0 + host_true + wait + 0.0004 + stalls


def test_drift_interval_covers_the_injected_drift():
    from motiontrack.protocol.clock import ClockSync, ClockSyncSettings

    covered = 0
    for seed in range(20):
        sync = ClockSync(ClockSyncSettings(bin_s=2.0))
        sync.update(*_arrivals(35.0, seed))
        low, high = sync.drift_interval(0.95)
        assert low <= sync.drift_ppm <= high
        assert high - low < 20.0  # informative: a few ppm over 2 minutes
        covered += low <= 35.0 <= high
    assert covered >= 16  # 95 % nominal; binomial(20, 0.95) >= 16 with p > 0.98
    sync = ClockSync(ClockSyncSettings(bin_s=2.0))
    sync.update(*_arrivals(0.0, 99))
    low, high = sync.drift_interval()
    assert low <= 0.0 <= high
    assert ClockSync().drift_interval() == (pytest.approx(np.nan, nan_ok=True),) * 2
