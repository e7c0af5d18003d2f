"""Instrumented transport sensor for the test bench: arrival times and raw notifications.

:class:`ProbeSensor` is a :class:`motiontrack.transport.Sensor` that additionally keeps,
for every accepted DATA packet, its device times and its arrival time on the host clock
and on a *reference* clock, and hands every raw notification to an optional capture
writer, through the transport's public ``raw_tap`` and ``batch_tap`` hooks. The reference
clock is the host clock for real sensors and the simulated (true) time for virtual ones,
so drift measured against it is the device crystal's own error.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import numpy as np

from ..transport import BleOptions, EventBuffer, SampleBatch, Sensor

__all__ = ["ProbeSensor"]


class ProbeSensor(Sensor):
    """A transport :class:`~motiontrack.transport.Sensor` that records packet arrivals.

    Parameters
    ----------
    source : str
        ``ble:ADDRESS`` or ``sim:NAME``.
    reference : callable returning float
        The reference clock, s (``time.perf_counter`` for real sensors).
    capture : callable(name, payload, host_s), optional
        Receives every DATA notification as received (raw bytes, ``perf_counter`` s).
    """

    def __init__(
        self,
        source: str,
        *,
        options: BleOptions,
        buffer: EventBuffer,
        reference: Callable[[], float],
        capture: Callable[[str, bytes, float], None] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(source, name=name, options=options, buffer=buffer)
        self.reference = reference
        self.capture = capture
        self.payload_sizes: Counter[int] = Counter()
        # per accepted DATA packet: device t of first & last sample (s), n, host s, reference s
        self._rows: list[tuple[float, float, int, float, float]] = []
        self._arrival = (math.nan, math.nan)  # (host, reference) s of the notification at hand
        self.raw_tap = self._on_raw
        self.batch_tap = self._on_batch

    def _on_raw(self, name: str, payload: bytes, host: float) -> None:
        """Every DATA notification, before decoding (the transport's ``raw_tap``)."""
        self._arrival = (host, self.reference())
        self.payload_sizes[len(payload)] += 1
        if self.capture is not None:
            self.capture(name, payload, host)

    def _on_batch(self, batch: SampleBatch) -> None:
        """Every accepted DATA packet (the transport's ``batch_tap``)."""
        host, ref = self._arrival
        self._rows.append((float(batch.t[0]), float(batch.t[-1]), batch.n_samples, host, ref))

    def arrivals(self) -> dict[str, np.ndarray]:
        """Accepted DATA packets so far: ``t_first``, ``t_last`` (device s), ``n``,
        ``host`` (perf_counter s) and ``ref`` (reference clock s) arrival times."""
        if not self._rows:
            empty = np.zeros(0)
            return {"t_first": empty, "t_last": empty, "n": empty, "host": empty, "ref": empty}
        a = np.asarray(self._rows, dtype=np.float64)
        return {
            "t_first": a[:, 0],
            "t_last": a[:, 1],
            "n": a[:, 2],
            "host": a[:, 3],
            "ref": a[:, 4],
        }
