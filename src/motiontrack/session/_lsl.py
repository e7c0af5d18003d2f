"""Lab Streaming Layer outlets of a live session (``Session(..., lsl=True)``, ``stream --lsl``).

Optional: ``pip install "motiontrack[lsl]"`` (pylsl; its wheels bundle liblsl). Streams,
each with ``source_id`` ``motiontrack-<kind>[-<sensor>]`` and channel labels and units in
its description:

``motiontrack IMU <sensor>`` (type ``IMU``, one per sensor, the sensor's nominal rate)
    acc_x..z (m/s^2), gyr_x..z (rad/s), mag_x..z (uT, NaN without a magnetometer): every
    sample as received, float64.
``motiontrack orientation`` (type ``Orientation``, the session rate)
    ``<sensor>_qw.._qz`` per sensor: q_earth_sensor (ENU, :mod:`motiontrack.conventions`).
``motiontrack angles`` (type ``Angles``, the session rate)
    the joint's (or segment's) angles in degrees, primary first; only final values (not
    the NaN placeholders sent while the session calibrates itself: once calibrated, the
    angles since the start are pushed with their own time stamps).
``motiontrack markers`` (type ``Markers``, irregular, one string channel)
    JSON objects: ``{"type": "rep_start"|"rep_peak"|"rep_end", "count": n, "rep": {...}}``
    stamped at the rep's start, turning point and end; and every other session event
    (calibration, gaps, disconnections, the end) as :func:`motiontrack.events.event_to_dict`
    at its own time.

Time stamps: motiontrack's session time is the reference sensor's clock (device time, s).
Each sensor's clock is mapped to the LSL clock (``pylsl.local_clock()``) by the same
estimator that aligns sensors in the engine (:class:`motiontrack.protocol.ClockSync`: the
lower envelope of "arrival minus device time" over the notifications, with the clock's
drift): each block's arrival (the transport's ``received_at``, a ``perf_counter`` reading,
shifted to the LSL clock by their difference measured at start) is paired with the device
time of the block's last sample. A sample, an angle or an event at session time ``t`` is
stamped ``host_ref + (t - device_ref) * rate`` of the reference sensor's current fit, so
every stream and marker shares one time base; LSL inlets then correct for the clock offset
between machines (``time_correction``) as for any other stream. Replays without host
times are stamped at their processing time.

LSL outlets listen on all network interfaces (liblsl has no setting to bind its data
servers to loopback); limit discovery to this machine with an ``lsl_api.cfg`` (see
docs/lsl.md).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import events as ev
from .._optional import require
from ..exercise import SEGMENT_ANGLE
from ..kinematics.angles import JOINTS
from ..protocol import ClockSync
from ..transport import SampleBatch

logger = logging.getLogger(__name__)

__all__ = ["LslOutlets"]

_IMU = [(f"{q}_{c}", u) for q, u in (("acc", "m/s^2"), ("gyr", "rad/s"), ("mag", "uT"))
        for c in "xyz"]


class LslOutlets:
    """The outlets of one session; ``on_batch`` gets every block of samples and ``on_event``
    every session event (a subscriber: ``session.on(outlets.on_event)``).

    Parameters
    ----------
    rates : mapping sensor -> Hz
        The sensors and their nominal rates.
    ref, partner : str or None
        The engine's reference and partner sensors (the session time is ``ref``'s clock).
    joint : str or None
        The joint (its angle names), None for a single segment.
    fs : float
        The session rate, Hz.
    """

    def __init__(self, rates: Mapping[str, float], ref: str, partner: str | None,
                 joint: str | None, fs: float) -> None:
        self._lsl = lsl = require("pylsl", "lsl")
        self._to_lsl = _clock_offset(lsl)
        self.ref = ref
        self.clocks = {n: ClockSync() for n in rates}
        self.pushed: Counter[str] = Counter()
        self.imu = {n: self._outlet(f"motiontrack IMU {n}", "IMU", _IMU, r, f"imu-{n}")
                    for n, r in rates.items()}
        used = [n for n in (ref, partner) if n is not None]
        self.orientation_sensors = used
        self.orientation = self._outlet(
            "motiontrack orientation", "Orientation",
            [(f"{n}_q{c}", "unitless") for n in used for c in "wxyz"], fs, "orientation")
        two = joint is not None and partner is not None
        names = JOINTS[joint].names if two else (SEGMENT_ANGLE,)
        self.angle_names = tuple(names)
        self.angles = self._outlet("motiontrack angles", "Angles",
                                   [(n, "deg") for n in names], fs, "angles")
        info = lsl.StreamInfo("motiontrack markers", "Markers", 1, lsl.IRREGULAR_RATE,
                              "string", "motiontrack-markers")
        self.markers = lsl.StreamOutlet(info)

    def _outlet(self, name: str, kind: str, channels: Sequence[tuple[str, str]], fs: float,
                sid: str) -> Any:
        lsl = self._lsl
        info = lsl.StreamInfo(name, kind, len(channels), float(fs), "double64",
                              f"motiontrack-{sid}")
        chans = info.desc().append_child("channels")
        for label, unit in channels:
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", unit)
        info.desc().append_child_value("manufacturer", "motiontrack")
        return lsl.StreamOutlet(info)

    # ---------------------------------------------------------------------- time
    def lsl_time(self, sensor: str, t: np.ndarray) -> np.ndarray:
        """LSL times of device times ``t`` (s) of ``sensor`` (module docstring)."""
        est = self.clocks[sensor].estimate()
        if est is None:
            return np.full(np.shape(t), self._lsl.local_clock())
        return est.host_ref_s + (np.asarray(t, dtype=np.float64) * 1e6 - est.device_ref_us) \
            * 1e-6 * est.rate

    def on_batch(self, b: SampleBatch, live: bool) -> None:
        """Every received block: refine the sensor's clock map, push its samples."""
        outlet = self.imu.get(b.sensor)
        if outlet is None or b.n_samples == 0:
            return
        arrival = float(b.received_at) + self._to_lsl if live else self._lsl.local_clock()
        self.clocks[b.sensor].update([float(b.t[-1]) * 1e6], [arrival])
        mag = b.mag if b.mag is not None else np.full((b.n_samples, 3), np.nan)
        outlet.push_chunk(np.column_stack([b.acc, b.gyr, mag]),
                          self.lsl_time(b.sensor, b.t).tolist())
        self.pushed[f"imu-{b.sensor}"] += b.n_samples

    # ---------------------------------------------------------------------- events
    def on_event(self, e: ev.SessionEvent) -> None:
        """A session event: angles, orientations and markers (module docstring)."""
        try:
            if isinstance(e, ev.AngleUpdate):
                self._angles(e)
            elif isinstance(e, ev.OrientationUpdate):
                self._orientations(e)
            elif isinstance(e, ev.RepCompleted):
                self._rep(e)
            elif not isinstance(e, ev.SessionStarted):  # t = 0, not a session time
                self._marker(ev.event_to_dict(e), e.t)
        except Exception:  # an outlet must never break the session
            logger.exception("LSL push of %s failed", type(e).__name__)

    def _angles(self, e: ev.AngleUpdate) -> None:
        if not e.final or e.times.size == 0:
            return
        cols = [list(e.names).index(n) if n in e.names else -1 for n in self.angle_names]
        vals = np.column_stack([e.values_deg[:, j] if j >= 0 else np.full(e.times.size, np.nan)
                                for j in cols])
        self.angles.push_chunk(vals, self.lsl_time(self.ref, e.times).tolist())
        self.pushed["angles"] += e.times.size

    def _orientations(self, e: ev.OrientationUpdate) -> None:
        if e.times.size == 0:
            return
        q = [np.asarray(e.q[n]) if n in e.q else np.full((e.times.size, 4), np.nan)
             for n in self.orientation_sensors]
        self.orientation.push_chunk(np.hstack(q), self.lsl_time(self.ref, e.times).tolist())
        self.pushed["orientation"] += e.times.size

    def _rep(self, e: ev.RepCompleted) -> None:
        rep = e.rep.to_dict()
        for phase, t in (("start", e.rep.start_s), ("peak", e.rep.peak_s), ("end", e.rep.end_s)):
            self._marker({"type": f"rep_{phase}", "count": e.count, "rep": rep}, t)

    def _marker(self, payload: Mapping[str, Any], t: float) -> None:
        ts = float(self.lsl_time(self.ref, np.asarray([t]))[0])
        self.markers.push_sample([json.dumps(payload, default=ev.json_default)], ts)
        self.pushed["markers"] += 1

    def close(self) -> None:
        """Drop the outlets (their streams disappear from the network)."""
        self.imu.clear()
        self.orientation = self.angles = self.markers = None


def _clock_offset(lsl: Any) -> float:
    """``local_clock() - perf_counter()``: the tightest of a few bracketing readings, s."""
    best = None
    for _ in range(5):
        a = time.perf_counter()
        c = lsl.local_clock()
        b = time.perf_counter()
        if best is None or b - a < best[0]:
            best = (b - a, c - (a + b) / 2)
    assert best is not None
    return best[1]

