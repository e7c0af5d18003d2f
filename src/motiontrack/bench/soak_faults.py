"""The soak's faults: the seeded schedule, which of them a run can reach, injecting them,
and finding each in what the transport and the sessions reported.

Reachable means the run is long enough to show the fault:

* link drops and malformed bursts recur at random intervals; when even the first one
  falls after the last injection time (5 s before the end), it is listed as not reached;
* a clock drift is measured from arrival times whose latency floor swings with the
  host's load, so the run resolves only drifts of at least :func:`drift_tolerance_ppm`
  (smaller with longer runs): a smaller injected drift, or drift step, is not reached;
* a slow consumer shows only when its stretch brings more events than the session queue
  holds (judged with the event rate measured in the run).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..transport import GapCause, LinkState

__all__ = [
    "drift_tolerance_ppm",
    "inject",
    "judge_slow_consumer_reach",
    "observe",
    "plan_faults",
]

#: No fault is injected in the last this many seconds of a run (time to observe it).
END_MARGIN_S = 5.0


def drift_tolerance_ppm(stream_s: float) -> float:
    """Drift resolution of a run of ``stream_s`` s of sensor time, ppm.

    Arrival latency swings with the host's load (in simulated time, speed x the wall-clock
    swing); its effect on the slope shrinks with the run's length.
    """
    return max(10.0, 6000.0 / max(stream_s, 1.0))


def _recurring(
    st: Any, rng: np.random.Generator, names: list[str], kind: str
) -> tuple[list[tuple[float, str, str, dict[str, Any]]], dict[str, Any] | None]:
    """Random recurrences of ``kind``; the first one as an unreached fault if it is late."""
    every = st.drop_every_s if kind == "link_drop" else st.malformed_every_s
    last = st.stream_s - END_MARGIN_S
    plan = []
    t = float(rng.uniform(*every))
    first = t
    while t < last:
        target = str(rng.choice(names))  # drawn before the parameters: seeds keep their plans
        if kind == "link_drop":
            params: dict[str, Any] = {"down_s": float(rng.uniform(*st.drop_down_s))}
        else:
            burst = st.malformed_burst
            params = {"count": int(rng.integers(burst[0], burst[1] + 1))}
        plan.append((t, kind, target, params))
        t += float(rng.uniform(*every))
    if plan:
        return plan, None
    return plan, {
        "t_s": round(first, 2),
        "kind": kind,
        "sensor": "-",
        "reachable": False,
        "unreached": f"first due at {first:.0f} s (every {every[0]:g}-{every[1]:g} s), after "
        f"the last injection time {last:.0f} s",
    }


def plan_faults(
    st: Any, names: list[str], rng: np.random.Generator
) -> tuple[list[tuple[float, str, str, dict[str, Any]]], list[dict[str, Any]]]:
    """The seeded schedule ``[(t_s, kind, sensor, params)]`` of faults to inject during
    the run, and the fault records known before it starts: the clock drifts (t = 0) and
    every scheduled fault that the run cannot reach."""
    records: list[dict[str, Any]] = []
    plan: list[tuple[float, str, str, dict[str, Any]]] = []
    for kind in ("link_drop", "malformed"):
        recurring, late = _recurring(st, rng, names, kind)
        plan.extend(recurring)
        if late is not None:
            records.append(late)
    plan.append(
        (st.saturation_at * st.stream_s, "saturation", names[1], {"duration_s": st.saturation_s})
    )
    plan.append(
        (
            0.5 * st.stream_s,
            "drift_step",
            names[0],
            {"drift_ppm": st.drift_ppm[0] + st.drift_step_ppm},
        )
    )
    plan.append(
        (
            st.slow_consumer[0] * st.stream_s,
            "slow_consumer",
            "app",
            {"until_s": st.slow_consumer[1] * st.stream_s},
        )
    )
    plan.sort(key=lambda p: p[0])
    tol = drift_tolerance_ppm(st.stream_s)
    for i, n in enumerate(names):
        drift = st.drift_ppm[i % len(st.drift_ppm)]
        f: dict[str, Any] = {
            "t_s": 0.0,
            "kind": "clock_drift",
            "sensor": n,
            "detail": f"{drift:+g} ppm",
            "reachable": abs(drift) >= tol,
        }
        if not f["reachable"]:
            f["unreached"] = _unresolved(abs(drift), tol)
        records.append(f)
    return plan, records


def _unresolved(size_ppm: float, tol: float) -> str:
    need = 6000.0 / size_ppm if size_ppm > 10.0 else (600.0 if size_ppm == 10.0 else math.inf)
    more = f"needs >= {need:.0f} s" if math.isfinite(need) else "never resolvable (< 10 ppm)"
    return f"{size_ppm:g} ppm is below this run's drift resolution of {tol:.0f} ppm ({more})"


def inject(
    fleet: Any, now: float, step: tuple[float, str, str, dict[str, Any]], st: Any
) -> dict[str, Any]:
    """Inject one scheduled fault at sensor time ``now``; returns its fault record."""
    _at, kind, target, p = step
    f: dict[str, Any] = {"t_s": round(now, 2), "kind": kind, "sensor": target, "reachable": True}
    if kind == "link_drop":
        up = fleet[target].drop_link(down_s=p["down_s"])
        f["detail"] = f"down {p['down_s']:.2f} s" + ("" if up else " (link already down)")
        f["was_up"] = up
    elif kind == "malformed":
        f["detail"] = f"{fleet[target].send_malformed(p['count'])} notifications"
    elif kind == "saturation":
        fleet[target].saturate(p["duration_s"])
        f["detail"] = f"{p['duration_s']:g} s"
    elif kind == "drift_step":
        fleet[target].set_clock_drift(p["drift_ppm"])
        f["detail"] = f"-> {p['drift_ppm']:+g} ppm"
        tol = drift_tolerance_ppm(st.stream_s)
        if abs(st.drift_step_ppm) < tol:
            f["reachable"] = False
            f["unreached"] = "a step of " + _unresolved(abs(st.drift_step_ppm), tol)
    elif kind == "slow_consumer":
        f["detail"] = f"until {p['until_s']:.0f} s, {1e3 * st.slow_consumer_sleep_s:g} ms per event"
    return f


def judge_slow_consumer_reach(f: dict[str, Any], st: Any, events_per_s: float) -> None:
    """Mark the slow-consumer fault unreached when its stretch cannot fill the queue."""
    stretch = (st.slow_consumer[1] - st.slow_consumer[0]) * st.stream_s
    expected = stretch * events_per_s
    if expected <= st.queue_size:
        need = st.queue_size / max(events_per_s, 1e-9) / (st.slow_consumer[1] - st.slow_consumer[0])
        f["reachable"] = False
        f["unreached"] = (
            f"the slow stretch ({stretch:.0f} s) brings ~{expected:.0f} events per session, "
            f"which the {st.queue_size}-event queue holds (needs a run of >= {need:.0f} s)"
        )


def observe(
    f: dict[str, Any],
    sensors: dict[str, dict[str, Any]],
    gaps: dict[str, list[Any]],
    links: dict[str, list[Any]],
    sessions: dict[str, dict[str, Any]],
    fw_drift: dict[str, float],
    drift_tol_ppm: float,
) -> None:
    """Find the injected fault in what the transport and the session reported."""
    kind, n = f["kind"], f["sensor"]
    if kind == "link_drop":
        downs = [e for e in links.get(n, []) if e.state == LinkState.DISCONNECTED]
        ups = [e for e in links.get(n, []) if e.state == LinkState.RECONNECTED]
        lg = [
            g
            for g in gaps.get(n, [])
            if g.cause == GapCause.LINK_LOST and abs(g.start_s - f["t_s"]) < 30.0
        ]
        f["seen"] = bool(downs and ups and lg) or not f.get("was_up", True)
        f["observed"] = (
            (
                f"gap of {lg[0].missing_samples} samples at {lg[0].start_s:.1f} s, "
                f"{len(downs)} disconnects / {len(ups)} reconnects on this sensor"
            )
            if lg
            else "no link-lost gap"
        )
    elif kind == "malformed":
        s = sensors[n]
        f["seen"] = s["malformed"] == s["malformed_sent"] and s["malformed"] > 0
        f["observed"] = (
            f"{s['malformed']} malformed counted of {s['malformed_sent']} sent (all bursts)"
        )
    elif kind == "saturation":
        s = sensors[n]
        f["seen"] = s["saturated_packets"] > 0
        f["observed"] = f"{s['saturated_packets']} packets flagged saturated"
    elif kind == "clock_drift":
        m = sensors[n]["drift_measured_ppm"]
        f["seen"] = math.isfinite(m) and abs(m - sensors[n]["drift_injected_ppm"]) < drift_tol_ppm
        f["observed"] = f"measured {m:+.1f} ppm (visible within {drift_tol_ppm:.0f} ppm)"
    elif kind == "drift_step":
        m2 = sensors[n]["drift_measured_late_ppm"]
        f["seen"] = math.isfinite(m2) and abs(m2 - fw_drift[n]) < drift_tol_ppm
        f["observed"] = f"measured {m2:+.1f} ppm after the step (firmware {fw_drift[n]:+.1f} ppm)"
    elif kind == "slow_consumer":
        dropped = sum(s["events_dropped"] for s in sessions.values())
        f["seen"] = dropped > 0
        f["observed"] = f"{dropped} events dropped (EventsDropped delivered), reps kept"
