"""Test bench: link tests against real or virtual sensors, fault-injection soak, latency.

* :func:`run_link_test` (``motiontrack bench link``): packet loss, jitter, sample rate,
  clock drift, reconnect time, command round trip and battery trend of each sensor,
  judged against :class:`LinkThresholds`, with a raw packet capture for bug reports.
* :func:`run_soak` (``motiontrack bench soak``): virtual sensors with injected link drops,
  malformed bursts, drift, saturation and a slow consumer through the full live
  :class:`~motiontrack.session.Session`; memory, CPU, losses and rep counts over time.
* :func:`run_latency` (``motiontrack bench latency``): sample on the device -> rep event
  in the application, with the emulated radio's share reported separately.

See ``docs/firmware-bench.md``.
"""

from __future__ import annotations

from .latency import LatencyReport, LatencySettings, run_latency
from .link import (
    LinkReport,
    LinkTestSettings,
    LinkThresholds,
    SensorLinkResult,
    SimFaults,
    run_link_test,
)
from .soak import SoakReport, SoakSettings, run_soak

__all__ = [
    "LatencyReport",
    "LatencySettings",
    "LinkReport",
    "LinkTestSettings",
    "LinkThresholds",
    "SensorLinkResult",
    "SimFaults",
    "SoakReport",
    "SoakSettings",
    "run_latency",
    "run_link_test",
    "run_soak",
]
