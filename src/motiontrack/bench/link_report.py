"""What a link test reports: per-sensor figures, thresholds and pass/fail checks."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import ConfigurationError

__all__ = ["Check", "LinkReport", "LinkThresholds", "SensorLinkResult", "judge"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkThresholds:
    """Pass/fail limits of the link test; None disables a check."""

    max_loss: float | None = 0.01  # fraction of packets lost on a live link
    max_burst: int | None = 10  # packets; longest run of consecutive lost packets
    max_jitter_ms: float | None = 20.0  # ms; p99 arrival jitter above the latency floor
    max_drift_ppm: float | None = 100.0  # ppm; |device clock drift|
    min_rate_ratio: float | None = 0.98  # effective / nominal sample rate
    max_reconnect_s: float | None = 5.0  # s; disconnection -> first sample after reconnection
    max_rtt_ms: float | None = 250.0  # ms; p99 command round trip
    max_malformed: int | None = 0  # notifications that failed to decode

    def __post_init__(self) -> None:
        for name in (
            "max_loss",
            "max_jitter_ms",
            "max_drift_ppm",
            "min_rate_ratio",
            "max_reconnect_s",
            "max_rtt_ms",
        ):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ConfigurationError(f"LinkThresholds: {name} must be >= 0 or None, got {v!r}")
        for name in ("max_burst", "max_malformed"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 0):
                raise ConfigurationError(f"LinkThresholds: {name} must be an int >= 0 or None")


@dataclass(kw_only=True, slots=True)
class SensorLinkResult:
    """Measured link figures of one sensor (see the module docstring)."""

    sensor: str
    source: str
    mtu: int
    payload_bytes: dict[int, int]  # notification length -> count
    samples_per_packet: float
    nominal_rate_hz: float
    packets_received: int
    samples_received: int
    packets_lost: int  # on a live link (sequence numbers)
    samples_lost: int
    loss_rate: float  # packets_lost / (received + lost)
    longest_burst: int  # packets
    link_lost_samples: int  # samples that fell into link-down intervals
    device_gap_samples: int  # samples the device skipped (timestamps jump, sequence contiguous)
    buffer_dropped: int  # samples discarded because the consumer fell behind (whole test)
    malformed: int
    duplicates: int
    effective_rate_hz: float  # received samples per reference second of live link
    rate_ratio: float  # effective / nominal
    drift_ppm: float  # device clock against the reference clock, + = device fast
    drift_ppm_se: float  # standard error of drift_ppm, 9 degrees of freedom (jackknife and
    #                      the latency floor's trend: bench.link_analysis)
    drift_ppm_low: float  # 95 % confidence interval of drift_ppm: drift -+ t(0.975, 9) * se
    drift_ppm_high: float
    offset_ms: float  # fitted reference time of device time 0 minus the test start
    jitter_ms_p50: float  # arrival above the latency floor, host ms
    jitter_ms_p99: float
    jitter_ms_max: float
    interarrival_ms_mean: float
    interarrival_ms_std: float
    interarrival_ms_max: float
    drops: int
    reconnect_s: list[float]  # disconnection -> RECONNECTED, host s
    reconnect_to_data_s: list[float]  # disconnection -> first sample after it, host s
    rtt_ms: list[float]
    battery: list[tuple[float, int]]  # (reference s since start, %)
    battery_trend_pct_per_h: float | None
    truth: dict[str, Any] | None = None  # virtual sensors: what the firmware really did

    @property
    def rtt_ms_p50(self) -> float:
        return float(np.percentile(self.rtt_ms, 50)) if self.rtt_ms else math.nan

    @property
    def rtt_ms_p99(self) -> float:
        return float(np.percentile(self.rtt_ms, 99)) if self.rtt_ms else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["payload_bytes"] = {str(k): v for k, v in self.payload_bytes.items()}
        d["rtt_ms_p50"] = self.rtt_ms_p50
        d["rtt_ms_p99"] = self.rtt_ms_p99
        return d


@dataclass(frozen=True, kw_only=True, slots=True)
class Check:
    sensor: str
    name: str
    value: float
    limit: float
    passed: bool


@dataclass(kw_only=True, slots=True)
class LinkReport:
    """Result of :func:`run_link_test`: per-sensor figures and the pass/fail checks."""

    duration_s: float  # reference seconds streamed
    wall_s: float
    sensors: list[SensorLinkResult]
    checks: list[Check]
    capture: str | None
    settings: dict[str, Any]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "duration_s": self.duration_s,
            "wall_s": self.wall_s,
            "capture": self.capture,
            "settings": self.settings,
            "sensors": [s.to_dict() for s in self.sensors],
            "checks": [asdict(c) for c in self.checks],
        }

    def format(self) -> str:
        """A human-readable report: one column per sensor, then the checks."""
        rows: list[tuple[str, ...]] = []

        def add(label: str, fn: Any) -> None:
            rows.append((label, *(fn(s) for s in self.sensors)))

        f = _fmt
        add(
            "MTU / payload bytes",
            lambda s: (
                f"{s.mtu} / " + ",".join(f"{k}x{v}" for k, v in sorted(s.payload_bytes.items()))
            ),
        )
        add("samples per packet", lambda s: f(s.samples_per_packet, 2))
        add("packets received", lambda s: str(s.packets_received))
        add("packets lost (live link)", lambda s: f"{s.packets_lost} ({100 * s.loss_rate:.3f} %)")
        add("longest loss burst", lambda s: f"{s.longest_burst} packets")
        add("samples lost in link drops", lambda s: str(s.link_lost_samples))
        add("device-skipped samples", lambda s: str(s.device_gap_samples))
        add("malformed notifications", lambda s: str(s.malformed))
        add(
            "rate nominal / effective",
            lambda s: f"{f(s.nominal_rate_hz, 2)} / {f(s.effective_rate_hz, 3)} Hz",
        )
        add(
            "clock drift (95 % interval)",
            lambda s: f"{s.drift_ppm:+.2f} ppm ({s.drift_ppm_low:+.2f} .. {s.drift_ppm_high:+.2f})",
        )
        add("clock offset", lambda s: f"{f(s.offset_ms, 2)} ms")
        add(
            "jitter p50/p99/max",
            lambda s: f"{f(s.jitter_ms_p50, 2)}/{f(s.jitter_ms_p99, 2)}/{f(s.jitter_ms_max, 2)} ms",
        )
        add(
            "inter-arrival mean/std/max",
            lambda s: (
                f"{f(s.interarrival_ms_mean, 2)}/{f(s.interarrival_ms_std, 2)}/"
                f"{f(s.interarrival_ms_max, 2)} ms"
            ),
        )
        add(
            "drops / reconnect",
            lambda s: f"{s.drops} / " + ",".join(f"{x:.3f}" for x in s.reconnect_s) + " s",
        )
        add(
            "drop -> first data",
            lambda s: ",".join(f"{x:.3f}" for x in s.reconnect_to_data_s) + " s",
        )
        add(
            "command RTT p50/p99",
            lambda s: f"{f(s.rtt_ms_p50, 2)}/{f(s.rtt_ms_p99, 2)} ms ({len(s.rtt_ms)})",
        )
        add(
            "battery first/last, trend",
            lambda s: (
                (
                    f"{s.battery[0][1]}/{s.battery[-1][1]} %, "
                    + (
                        f"{s.battery_trend_pct_per_h:+.2f} %/h"
                        if s.battery_trend_pct_per_h is not None
                        else "n/a"
                    )
                )
                if s.battery
                else "n/a"
            ),
        )
        if any(s.truth for s in self.sensors):
            add(
                "injected loss / drift",
                lambda s: (
                    f"{s.truth['injected_loss']:g} / {s.truth['injected_drift_ppm']:+g} ppm"
                    if s.truth
                    else ""
                ),
            )
            add(
                "firmware: lost in air",
                lambda s: str(s.truth["packets_lost_air"]) if s.truth else "",
            )
        header = ("", *(s.sensor for s in self.sensors))
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = [f"link test: {self.duration_s:.1f} s streamed in {self.wall_s:.1f} s wall"]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)
        lines.append("")
        for c in self.checks:
            lines.append(
                f"  {'PASS' if c.passed else 'FAIL'}  {c.sensor}: {c.name} = {c.value:.4g} "
                f"(limit {c.limit:g})"
            )
        lines.append(f"RESULT: {'PASS' if self.passed else 'FAIL'}")
        if self.capture:
            lines.append(f"capture: {self.capture}")
        return "\n".join(lines)


def _fmt(v: float, digits: int = 3) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def judge(results: list[SensorLinkResult], th: LinkThresholds) -> list[Check]:
    out: list[Check] = []

    def check(
        s: SensorLinkResult, name: str, value: float, limit: float | None, upper: bool = True
    ) -> None:
        if limit is None:
            return
        ok = math.isfinite(value) and (value <= limit if upper else value >= limit)
        out.append(
            Check(
                sensor=s.sensor, name=name, value=float(value), limit=float(limit), passed=bool(ok)
            )
        )

    for s in results:
        check(s, "loss", s.loss_rate, th.max_loss)
        check(s, "burst_packets", s.longest_burst, th.max_burst)
        check(s, "jitter_ms_p99", s.jitter_ms_p99, th.max_jitter_ms)
        check(s, "abs_drift_ppm", abs(s.drift_ppm), th.max_drift_ppm)
        check(s, "rate_ratio", s.rate_ratio, th.min_rate_ratio, upper=False)
        if s.drops:
            worst = max(s.reconnect_to_data_s, default=math.inf)
            check(s, "reconnect_s", worst, th.max_reconnect_s)
        if s.rtt_ms:
            check(s, "rtt_ms_p99", s.rtt_ms_p99, th.max_rtt_ms)
        check(s, "malformed", s.malformed, th.max_malformed)
    return out
