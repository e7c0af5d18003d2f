"""What a soak run reports: memory, losses, reps, and which injected faults it saw.

Faults the run was too short to reach (scheduled after its end) or to resolve (a clock
drift smaller than what the run's length can measure, a slow-consumer stretch whose
events all fit in the session queue) are listed apart, with the reason, and not judged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["SoakReport"]


@dataclass(kw_only=True, slots=True)
class SoakReport:
    """Everything :func:`run_soak` measured (see the module docstring)."""

    settings: dict[str, Any]
    stream_s: float  # sensor seconds actually streamed
    wall_s: float
    cpu_s: float
    memory: list[dict[str, float]]  # t_s (sensor), wall_s, rss_mb, heap_mb
    faults: list[dict[str, Any]]  # what was injected, when (sensor time)
    sensors: dict[str, dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    errors: list[str]  # ERROR log records (crashes, failed callbacks)
    heap_growth_top: list[str]  # tracemalloc: biggest growth after warm-up, by line

    # ------------------------------------------------------------ derived figures
    @property
    def warmup_s(self) -> float:
        """End of warm-up, sensor s: the warm-up fraction, or 10 s after the last session
        calibrated itself (its joint-angle and rep state start then), whichever is later."""
        cal = [s.get("calibrated_at_s") for s in self.sessions.values()]
        t_cal = max((c for c in cal if c is not None), default=0.0) + 10.0
        return max(self.settings["warmup"] * self.stream_s, t_cal)

    def _growth(self, key: str) -> float:
        mem = [m for m in self.memory if math.isfinite(m.get(key, math.nan))]
        if len(mem) < 4:
            return math.nan
        t_w = self.warmup_s
        after = [m for m in mem if m["t_s"] >= t_w] or mem[len(mem) // 2 :]
        base = after[0][key]
        tail = max(1, len(after) // 10)
        end = float(np.mean([m[key] for m in after[-tail:]]))
        return (end - base) / base if base > 0 else math.nan

    @property
    def rss_growth(self) -> float:
        """Relative RSS growth from the end of warm-up to the last tenth of the run."""
        return self._growth("rss_mb")

    @property
    def heap_growth(self) -> float:
        """Relative Python-heap growth (tracemalloc) over the same stretch."""
        return self._growth("heap_mb")

    @property
    def samples_lost_outside_drops(self) -> int:
        return int(sum(s["lost_outside_drops"] for s in self.sensors.values()))

    @property
    def events_lost(self) -> int:
        return int(
            sum(s["events_dropped"] + s["callbacks_dropped"] for s in self.sessions.values())
        )

    @property
    def reachable_faults(self) -> list[dict[str, Any]]:
        """Injected faults this run was long enough to show (the ones judged)."""
        return [f for f in self.faults if f.get("reachable", True)]

    @property
    def unreached_faults(self) -> list[dict[str, Any]]:
        """Scheduled faults the run was too short to reach or to resolve (not judged)."""
        return [f for f in self.faults if not f.get("reachable", True)]

    @property
    def double_counted(self) -> int:
        return int(sum(s["reps_overlapping"] for s in self.sessions.values()))

    def acceptance(self) -> dict[str, dict[str, Any]]:
        growth = self.rss_growth
        return {
            "memory_growth_lt_5pct": {
                "value": growth,
                "passed": bool(math.isfinite(growth) and growth < 0.05),
            },
            "zero_samples_lost_outside_drops": {
                "value": self.samples_lost_outside_drops,
                "passed": self.samples_lost_outside_drops == 0,
            },
            "zero_crashes": {"value": len(self.errors), "passed": not self.errors},
            "every_reachable_fault_visible": {
                "value": sum(1 for f in self.reachable_faults if f.get("seen")),
                "of": len(self.reachable_faults),
                "not_reached": len(self.unreached_faults),
                "passed": all(f.get("seen") for f in self.reachable_faults),
            },
            "no_double_counted_reps": {
                "value": self.double_counted,
                "passed": self.double_counted == 0,
            },
            "every_rep_delivered": {
                "value": sum(s["reps_delivered"] for s in self.sessions.values()),
                "of": sum(s["reps"] for s in self.sessions.values()),
                "passed": all(
                    s["reps_delivered"] == s["reps_live"] for s in self.sessions.values()
                ),
            },
        }

    @property
    def passed(self) -> bool:
        return all(v["passed"] for v in self.acceptance().values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            rss_growth=self.rss_growth,
            heap_growth=self.heap_growth,
            samples_lost_outside_drops=self.samples_lost_outside_drops,
            events_lost=self.events_lost,
            double_counted=self.double_counted,
            acceptance=self.acceptance(),
            passed=self.passed,
        )
        return d

    def format(self) -> str:
        lines = [
            (
                f"soak: {len(self.sensors)} sensors x {self.settings['sample_rate_hz']:g} Hz, "
                f"{self.stream_s:.0f} s of sensor time in {self.wall_s:.0f} s wall "
                f"(x{self.stream_s / max(self.wall_s, 1e-9):.1f}), CPU {self.cpu_s:.0f} s "
                f"({100 * self.cpu_s / max(self.wall_s, 1e-9):.0f} % of one core)"
            ),
            "",
            "injected faults (sensor time) -> what the report saw:",
        ]
        for f in self.reachable_faults:
            lines.append(
                f"  {'seen' if f.get('seen') else 'MISSED':6s} t={f['t_s']:8.1f} s  "
                f"{f['kind']:<15s} "
                f"{f['sensor']:<8s} {f.get('detail', '')}  -> {f.get('observed', '')}"
            )
        if self.unreached_faults:
            lines.append(
                f"not reached, the run ({self.stream_s:.0f} s) was too short (not judged):"
            )
            for f in self.unreached_faults:
                lines.append(
                    f"  {'-':6s} t={f['t_s']:8.1f} s  {f['kind']:<15s} {f['sensor']:<8s} "
                    f"{f.get('detail', '')}  -> {f['unreached']}"
                )
        lines.append("")
        lines.append("sensors:")
        for name, s in self.sensors.items():
            lines.append(
                f"  {name:<8s} generated {s['generated']}, received {s['received']}, "
                f"link-down loss {s['link_lost_samples']}, "
                f"lost outside drops {s['lost_outside_drops']} "
                f"(firmware residual {s['firmware_residual']}), drops {s['disconnects']}/"
                f"reconnects {s['reconnects']}, "
                f"malformed {s['malformed']}/{s['malformed_sent']} sent, "
                f"saturated packets {s['saturated_packets']}, "
                f"drift injected {s['drift_injected_ppm']:+.1f} "
                f"measured {s['drift_measured_ppm']:+.1f} ppm"
            )
        lines.append("sessions:")
        for name, s in self.sessions.items():
            lines.append(
                f"  {name:<6s} reps {s['reps']} (delivered {s['reps_delivered']}, "
                f"expected ~{s['reps_expected']:.0f}, overlapping {s['reps_overlapping']}), "
                f"events {s['events']}, dropped {s['events_dropped']} "
                f"(+{s['callbacks_dropped']} callbacks), "
                f"calibrated {s['calibrated']}"
            )
        lines.append("")
        mem = self.memory
        if mem:
            step = max(1, len(mem) // 12)
            lines.append(
                "memory (sensor s: RSS MB / heap MB): "
                + ", ".join(
                    f"{m['t_s']:.0f}: {m['rss_mb']:.1f}/{m['heap_mb']:.1f}" for m in mem[::step]
                )
            )
        lines.append(
            f"RSS growth after warm-up ({self.warmup_s:.0f} s): {100 * self.rss_growth:+.2f} %; "
            f"heap growth: {100 * self.heap_growth:+.2f} %"
        )
        if self.heap_growth_top:
            lines.append("heap growth by line: " + "; ".join(self.heap_growth_top[:5]))
        lines.append(
            f"errors logged: {len(self.errors)}"
            + (": " + " | ".join(self.errors[:5]) if self.errors else "")
        )
        lines.append("")
        for k, v in self.acceptance().items():
            lines.append(
                f"  {'PASS' if v['passed'] else 'FAIL'}  {k}: {v['value']}"
                + (f" of {v['of']}" if "of" in v else "")
                + (f" ({v['not_reached']} not reached)" if v.get("not_reached") else "")
            )
        lines.append(f"RESULT: {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)
