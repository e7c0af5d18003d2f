"""From what a link test observed to a :class:`~.link_report.SensorLinkResult`.

The device clock is fitted here, by the bench itself, from the (device time of a
packet's last sample, reference arrival time) pairs it observed, with the protocol's
:class:`~motiontrack.protocol.clock.ClockSync`; the drift comes with its standard error
and 95 % interval. The standard error has two parts: the scatter of the fit
(:meth:`ClockSync.drift_standard_error`, a delete-a-group jackknife over runs of the fit's
bins) and, added in quadrature, a trend of the latency floor over the test, which the
jackknife cannot see (a host under changing load moves the floor by a fraction of a
millisecond of wall time; measured on the shared 2-core machine: 0.2-0.35 ms over 30-90 s
tests): :data:`LATENCY_TREND_S` divided by the wall-clock span of the fit.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..protocol.clock import ClockSync, ClockSyncSettings
from ..transport import Gap, GapCause, LinkEvent, LinkState
from ._probe import ProbeSensor
from .link_report import SensorLinkResult

__all__ = ["ClockFit", "analyse", "fit_clock"]

_NAN3 = (math.nan, math.nan, math.nan)
#: s; standard deviation of the latency floor's change over a test (host wall time): a drift
#: error of this over the test's wall-clock span (0.1 ms over 90 s: 1.1 ppm)
LATENCY_TREND_S = 1e-4


@dataclass(frozen=True, slots=True)
class ClockFit:
    """Device clock against the reference clock, and arrival jitter above the fitted line."""

    drift_ppm: float  # + = device fast
    drift_ppm_se: float  # standard error, 9 degrees of freedom: the fit's jackknife and the
    #                      latency floor's trend (LATENCY_TREND_S over the wall span)
    drift_ppm_low: float  # 95 % interval
    drift_ppm_high: float
    offset_ms: float  # fitted reference time of device time 0 minus the test start
    jitter_ms: tuple[float, float, float]  # p50, p99, max of arrival above the latency floor


_NO_FIT = ClockFit(math.nan, math.nan, math.nan, math.nan, math.nan, _NAN3)


def fit_clock(
    a: dict[str, np.ndarray], ref0: float, disconnects: list[float], host_per_ref: float
) -> ClockFit:
    """Fit the device clock from the probe's arrivals ``a`` (see ``ProbeSensor.arrivals``).

    The clock is fitted on the longest stretch without a link drop (a new connection may
    bring a new latency floor, which would bend the lower envelope), leaving out its first
    10 % (at most 10 s): right after START the latency floor settles (connection setup
    traffic, first status and command exchanges). ``host_per_ref`` converts reference
    seconds to host seconds for the jitter (virtual sensors run ``speed`` x faster).
    """
    span_dev = float(a["t_last"][-1] - a["t_last"][0])
    bin_s = max(2.0, span_dev / 600.0)  # 2 s bins: the lowest of ~40 packets each
    window = max(4 * bin_s, 2.0 * span_dev + 1.0)
    min_span = min(5.0, max(span_dev / 2, 0.01))
    fit = ClockSync(ClockSyncSettings(window_s=window, bin_s=bin_s, min_span_s=min_span))
    seg = _longest_segment(a["host"], disconnects)
    rel = a["ref"][seg] - ref0
    keep = rel >= min(10.0, 0.1 * float(rel[-1])) if rel.size else rel.astype(bool)
    if keep.sum() < 3:
        keep = np.ones(rel.size, dtype=bool)
    fit.update(a["t_last"][seg][keep] * 1e6, rel[keep])
    est = fit.estimate()
    if est is None:
        return _NO_FIT
    se_fit = fit.drift_standard_error()
    low, high = fit.drift_interval(0.95)
    t95 = (high - low) / (2.0 * se_fit) if se_fit > 0 else 0.0  # Student's t of the interval
    wall = float(rel[keep][-1] - rel[keep][0]) * host_per_ref
    se = math.hypot(se_fit, LATENCY_TREND_S / wall * 1e6) if wall > 0 else se_fit
    if t95 > 0:
        low, high = est.drift_ppm - t95 * se, est.drift_ppm + t95 * se
    # arrival above the fitted clock line, in host time; 1st percentile = latency floor
    resid = (a["ref"] - ref0 - est.to_host(a["t_last"] * 1e6)) * host_per_ref
    above = (resid - float(np.percentile(resid, 1.0))) * 1e3
    jitter = (float(np.percentile(above, 50)), float(np.percentile(above, 99)), float(above.max()))
    return ClockFit(est.drift_ppm, se, low, high, float(est.to_host(0.0)) * 1e3, jitter)


def _longest_segment(host: np.ndarray, cuts: list[float]) -> slice:
    """Index range of the longest run of arrivals between two disconnection times."""
    edges = [0, *np.searchsorted(host, sorted(cuts)).tolist(), host.size]
    best = max(itertools.pairwise(edges), key=lambda ab: ab[1] - ab[0])
    return slice(best[0], best[1])


def _reconnect_times(links: list[LinkEvent], host: np.ndarray) -> tuple[list[float], list[float]]:
    """DISCONNECTED -> RECONNECTED, and -> the first sample after it, host s."""
    reconnect, to_data = [], []
    down_at = None
    for e in links:
        if e.state == LinkState.DISCONNECTED:
            down_at = e.at
        elif e.state == LinkState.RECONNECTED and down_at is not None:
            reconnect.append(e.at - down_at)
            later = host[host > e.at]
            if later.size:
                to_data.append(float(later[0] - down_at))
            down_at = None
    return reconnect, to_data


def _battery_trend(battery: list[tuple[float, int]]) -> float | None:
    """Least-squares battery slope, %/h, or None with fewer than two distinct times."""
    if len(battery) < 2 or battery[-1][0] - battery[0][0] <= 0:
        return None
    bt = np.array([b[0] for b in battery]) / 3600.0
    bv = np.array([b[1] for b in battery], dtype=float)
    return float(np.polyfit(bt, bv, 1)[0]) if np.ptp(bt) > 0 else None


def _truth(p: ProbeSensor, fleet: Any) -> dict[str, Any] | None:
    """What a virtual sensor's firmware really did (None for real sensors)."""
    if fleet is None or p.spec.kind != "sim":
        return None
    vs = fleet[p.spec.target]
    c = vs.counters
    return {
        "injected_loss": vs.faults.packet_loss,
        "injected_drift_ppm": vs.device_clock.drift_ppm,
        "packets_lost_air": c.packets_lost_air,
        "packets_generated": c.packets_generated,
        "packets_unsent": c.packets_unsent,
        "malformed_sent": c.malformed_sent,
        "link_drops": c.link_drops,
    }


def analyse(
    p: ProbeSensor,
    ref0: float,
    gaps: list[Gap],
    links: list[LinkEvent],
    rtts: list[float],
    battery: list[tuple[float, int]],
    overflow: int,
    fleet: Any,
) -> SensorLinkResult:
    """The link figures of one probe sensor after the test."""
    a = p.arrivals()
    n_packets = int(a["n"].size)
    nominal = float(p.config.sample_rate_hz) if p.config is not None else math.nan
    live = [g for g in gaps if g.cause == GapCause.PACKET_LOSS]
    link = [g for g in gaps if g.cause == GapCause.LINK_LOST]
    device = [g for g in gaps if g.cause == GapCause.DEVICE]
    lost_packets = sum(max(0, g.missing_packets) for g in live)
    samples = int(a["n"].sum())
    clock = _NO_FIT
    inter = _NAN3
    eff = math.nan
    if n_packets >= 3:
        host_per_ref = float(np.polyfit(a["ref"], a["host"], 1)[0]) if p.spec.kind == "sim" else 1.0
        downs = [e.at for e in links if e.state == LinkState.DISCONNECTED]
        clock = fit_clock(a, ref0, downs, host_per_ref)
        d_host = np.diff(a["host"]) * 1e3
        inter = (float(d_host.mean()), float(d_host.std()), float(d_host.max()))
        # streaming time without the link-down intervals (device s ~ reference s)
        down = sum(max(0.0, g.end_s - g.start_s) for g in link)
        ref_span = float(a["ref"][-1] - a["ref"][0]) - down
        if ref_span > 0:
            eff = (samples - a["n"][-1]) / ref_span
    reconnect, to_data = _reconnect_times(links, a["host"])
    return SensorLinkResult(
        sensor=p.name,
        source=str(p.spec),
        mtu=p.mtu_size,
        payload_bytes=dict(p.payload_sizes),
        samples_per_packet=samples / n_packets if n_packets else math.nan,
        nominal_rate_hz=nominal,
        packets_received=n_packets,
        samples_received=samples,
        packets_lost=lost_packets,
        samples_lost=sum(max(0, g.missing_samples) for g in live),
        loss_rate=lost_packets / (n_packets + lost_packets) if n_packets + lost_packets else 0.0,
        longest_burst=max((g.missing_packets for g in live), default=0),
        link_lost_samples=sum(max(0, g.missing_samples) for g in link),
        device_gap_samples=sum(max(0, g.missing_samples) for g in device),
        buffer_dropped=overflow,
        malformed=p.stats.malformed,
        duplicates=p.stats.duplicates,
        effective_rate_hz=eff,
        rate_ratio=eff / nominal if nominal else math.nan,
        drift_ppm=clock.drift_ppm,
        drift_ppm_se=clock.drift_ppm_se,
        drift_ppm_low=clock.drift_ppm_low,
        drift_ppm_high=clock.drift_ppm_high,
        offset_ms=clock.offset_ms,
        jitter_ms_p50=clock.jitter_ms[0],
        jitter_ms_p99=clock.jitter_ms[1],
        jitter_ms_max=clock.jitter_ms[2],
        interarrival_ms_mean=inter[0],
        interarrival_ms_std=inter[1],
        interarrival_ms_max=inter[2],
        drops=sum(1 for e in links if e.state == LinkState.DISCONNECTED),
        reconnect_s=reconnect,
        reconnect_to_data_s=to_data,
        rtt_ms=rtts,
        battery=battery,
        battery_trend_pct_per_h=_battery_trend(battery),
        truth=_truth(p, fleet),
    )
