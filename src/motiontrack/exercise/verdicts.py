"""What the engine says about its data beyond gaps and reps: a sensor clipped at its full
scale, a sensor whose gyroscope and accelerometer disagree (one of them faulty), and a joint
resting where it cannot (a calibration pose held bent). Each is said as a
:class:`~motiontrack.events.SessionWarning`; no angle is corrected."""

from __future__ import annotations

import math

import numpy as np

from .. import events as ev
from ..conventions import GRAVITY, REST_EXTENSION_SUSPECT_DEG
from ..reps import Rep
from .streams import SensorStream

__all__ = ["clip_warnings", "rest_warning", "tilt_warnings"]

_UNITS = {"gyroscope": (180.0 / math.pi, "°/s"), "accelerometer": (1.0 / GRAVITY, "g")}


def clip_warnings(sensor: str, stream: SensorStream, t: float) -> list[ev.SessionEvent]:
    """A sensor clipped at its full scale, said once per sensor and kind."""
    out: list[ev.SessionEvent] = []
    for kind, level in stream.newly_clipped():
        k, u = _UNITS[kind]
        out.append(ev.SessionWarning(
            t=t, code="saturated",
            message=(f"{sensor}'s {kind} is clipped at ±{level * k:.0f} {u} (its full "
                     "scale): angles during the fastest movements are less accurate; use a "
                     "larger range if the sensor has one"),
        ))
    return out


def tilt_warnings(sensor: str, stream: SensorStream, t: float) -> list[ev.SessionEvent]:
    """A sensor whose gyroscope and accelerometer disagree at rest
    (:class:`motiontrack.checks.TiltAgreementWatch`), said once per sensor."""
    if not stream.newly_disagreeing():
        return []
    w = stream.tilt
    rest = (f"; at rest it reads {np.median(w.norms):.1f} m/s² (gravity: {GRAVITY:.2f})"
            if w.norms else "")
    return [ev.SessionWarning(
        t=t, code="sensor_fault",
        message=(f"{sensor}'s gyroscope and accelerometer disagree: at rest the tilt its "
                 f"gyroscope carried through the movements and the one gravity gives differ by "
                 f"more than {w.OFF_DEG:g}° in {100 * w.share:.0f} % of the still moments so "
                 f"far (a working sensor: a few degrees){rest}. One of them is faulty, out of "
                 f"calibration or disturbed (vibration): the angles from {sensor}, and the reps "
                 "counted from them, are not to be trusted; calibrate the sensor (motiontrack "
                 "calibrate) or replace it"),
    )]


def rest_warning(joint: str | None, reps: list[Rep], t: float) -> list[ev.SessionEvent]:
    """The reps rest in more hyperextension than the joint has: a calibration pose held bent
    (said once, at the end: the angles are not corrected)."""
    limit = REST_EXTENSION_SUSPECT_DEG.get(joint or "")
    if limit is None or len(reps) < 3:
        return []
    rest = float(np.median([r.min_deg for r in reps]))
    if rest >= limit:
        return []
    return [ev.SessionWarning(
        t=t, code="calibration_suspect",
        message=(f"the {joint} rests at {rest:.0f}° between reps, more hyperextension than it "
                 f"has: the calibration pose was probably held bent, by about {-rest:.0f}°; "
                 "every angle reads that much too low. Calibrate again with the joint straight"),
    )]
