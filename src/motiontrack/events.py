"""Typed events of a live :class:`~motiontrack.session.Session` (frozen dataclasses).

Every event has ``t``: the session time in seconds (the proximal sensor's device clock,
zero at its first sample; for replays the recording's own time). Angles are in degrees.

=========================  ===========================================================
event                      when
=========================  ===========================================================
``SessionStarted``         sensors connected (or recording opened), streaming begins
``CalibrationPrompt``      the user should do something (hold still, move)
``CalibrationDone``        sensor-to-segment calibration computed (angles follow)
``CalibrationFailed``      a calibration attempt failed; ``reason`` says why
``AngleUpdate``            new joint angles, one event per processed block of samples
``OrientationUpdate``      fused orientations of a processed block (when asked for)
``RepCompleted``           a repetition was counted (``rep``: motiontrack.reps.Rep)
``RepInterrupted``         a repetition was cut by a data gap: seen in part, not counted
``TemplateRepCompleted``   a template matched a repetition (``Session(templates=...)``;
                           ``rep``: motiontrack.reps.TemplateRep, with label and score)
``SensorDisconnected``     a sensor's link dropped (the transport reconnects)
``SensorReconnected``      ... and came back
``DataGap``                samples of a sensor are missing (lost packets, link loss,
                           buffer overflow), exactly how many and when
``EventsDropped``          the application consumed events too slowly: this many were
                           discarded (angle updates first; reps and calibration never)
``SessionWarning``         something about the data or the session the user should know
``SessionEnded``           the session stopped; ``summary`` of the reps
=========================  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - types only: this module imports nothing of motiontrack
    from .kinematics import SegmentCalibration
    from .reps import Rep, TemplateRep

__all__ = [
    "AngleUpdate",
    "CalibrationDone",
    "CalibrationFailed",
    "CalibrationPrompt",
    "DataGap",
    "EventsDropped",
    "OrientationUpdate",
    "RepCompleted",
    "RepInterrupted",
    "SensorDisconnected",
    "SensorReconnected",
    "SessionEnded",
    "SessionEvent",
    "SessionStarted",
    "SessionWarning",
    "TemplateRepCompleted",
    "event_to_dict",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionEvent:
    """Base class: ``t`` is the session time, s."""

    t: float


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionStarted(SessionEvent):
    sensors: tuple[str, ...]
    joint: str | None
    source: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CalibrationPrompt(SessionEvent):
    """Ask the user to do something, or warn. ``step``: ``"still"`` (stand still with the legs
    straight: the session protocol's calibration pose), ``"move"`` (take the exercise position,
    then exercise or do the calibration movements), ``"exercise"`` (guided calibration done)
    or ``"warning"`` (e.g. the patient started in the exercise posture: its nominal angle is
    assumed)."""

    step: str
    message: str
    duration_s: float  # s; how long the step takes at least (0 = until told otherwise)


@dataclass(frozen=True, kw_only=True, slots=True)
class CalibrationDone(SessionEvent):
    """``calibration`` is a :class:`motiontrack.kinematics.SegmentCalibration`."""

    calibration: SegmentCalibration = field(repr=False)
    pose: str
    confidence: float  # 0..1


@dataclass(frozen=True, kw_only=True, slots=True)
class CalibrationFailed(SessionEvent):
    reason: str
    will_retry: bool


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class AngleUpdate(SessionEvent):
    """Joint angles of a block of samples; ``t`` and ``angle_deg`` are the latest ones
    (NaN while the sensor-to-segment calibration is still running, or inside a gap).

    ``times`` (n,) s and ``values_deg`` (n, k) hold the whole block, columns named by
    ``names`` (primary first, e.g. ``flexion_deg``). ``final`` is False for the NaN
    placeholders sent while calibrating: once calibrated, the same times are sent again with
    their angles. ``bridged`` (n,) bool, when known, marks the rows where a sensor's data were
    interpolated over a short hole (up to ``ExerciseSettings.max_interp_s``).
    """

    joint: str | None
    names: tuple[str, ...]
    angle_deg: float  # latest primary angle, deg (NaN inside a gap)
    times: np.ndarray = field(repr=False)
    values_deg: np.ndarray = field(repr=False)
    final: bool = True
    bridged: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class OrientationUpdate(SessionEvent):
    """Fused ``q_earth_sensor`` (w, x, y, z) of each sensor at the session times ``times``
    (n,) s: ``q[name]`` has shape (n, 4), NaN where the orientation is unknown (a gap)."""

    times: np.ndarray = field(repr=False)
    q: dict[str, np.ndarray] = field(repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class RepCompleted(SessionEvent):
    """A counted repetition. ``rep`` is a :class:`motiontrack.reps.Rep` (times in session
    time, angles in degrees); ``count`` the number of reps so far."""

    rep: Rep
    count: int


@dataclass(frozen=True, kw_only=True, slots=True)
class RepInterrupted(SessionEvent):
    """A repetition cut by a data gap (a segment's orientation unknown for longer than the
    bridge, ``ExerciseSettings.max_interp_s``): ``rep`` holds what was seen of it (flag
    ``INTERRUPTED``, ``index`` -1). It is not counted, has no quality verdict and is not part
    of the ROM; ``interrupted`` is the number of such reps so far."""

    rep: Rep
    interrupted: int


@dataclass(frozen=True, kw_only=True, slots=True)
class TemplateRepCompleted(SessionEvent):
    """A repetition matched by a template (``Session(..., templates=[...])``): ``rep`` is a
    :class:`motiontrack.reps.TemplateRep` (label, score, execution measures); ``count`` the
    number of template reps so far."""

    rep: TemplateRep
    count: int


@dataclass(frozen=True, kw_only=True, slots=True)
class SensorDisconnected(SessionEvent):
    sensor: str
    detail: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class SensorReconnected(SessionEvent):
    sensor: str
    attempts: int


@dataclass(frozen=True, kw_only=True, slots=True)
class DataGap(SessionEvent):
    """Missing samples of ``sensor`` between ``start_s`` and ``end_s`` (sensor time, s)."""

    sensor: str
    start_s: float
    end_s: float
    missing_samples: int
    cause: str  # "packet_loss", "link_lost", "buffer_overflow", "processing_error",
    #             "missing_samples" (found in the data, no transport reason known)
    bridged: bool = False  # short enough to be interpolated (ExerciseSettings.max_interp_s)


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionWarning(SessionEvent):
    """Something the user should know about the data or the session (``code``: a short
    machine-readable kind, e.g. ``"late_still"``, ``"low_confidence"``)."""

    code: str
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class EventsDropped(SessionEvent):
    """``count`` events were discarded because the consumer was too slow
    (``total``: since the session started)."""

    count: int
    total: int


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionEnded(SessionEvent):
    rep_count: int
    summary: dict[str, Any] = field(repr=False)


def json_default(o: Any) -> Any:
    """``json.dumps(event_to_dict(e), default=json_default)``: numpy scalars and arrays as
    plain numbers and lists, anything else as its ``str`` (the live views' JSON lines, the
    live page's messages, LSL rep markers)."""
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def event_to_dict(event: SessionEvent) -> dict[str, Any]:
    """Plain JSON values of an event (``{"type": "rep_completed", "t": ..., ...}``), as
    written to recordings and printed by ``--json`` live views."""
    name = type(event).__name__
    kind = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    d: dict[str, Any] = {"type": kind, "t": round(float(event.t), 6)}
    if isinstance(event, AngleUpdate):
        d.update(
            joint=event.joint,
            names=list(event.names),
            angle_deg=None
            if not np.isfinite(event.angle_deg)
            else round(float(event.angle_deg), 3),
        )
    elif isinstance(event, (RepCompleted, TemplateRepCompleted)):
        d.update(count=event.count, rep=event.rep.to_dict())
    elif isinstance(event, RepInterrupted):
        d.update(interrupted=event.interrupted, rep=event.rep.to_dict())
    elif isinstance(event, OrientationUpdate):
        d.update(sensors=sorted(event.q), n=int(event.times.shape[0]))
    elif isinstance(event, CalibrationDone):
        c = event.calibration
        d.update(pose=event.pose, confidence=round(float(event.confidence), 4))
        if c is not None and hasattr(c, "q_segment_sensor_proximal"):
            d.update(
                q_segment_sensor_proximal=[float(v) for v in c.q_segment_sensor_proximal],
                q_segment_sensor_distal=[float(v) for v in c.q_segment_sensor_distal],
            )
    elif isinstance(event, SessionEnded):
        d.update(rep_count=event.rep_count, summary=event.summary)
    else:
        for k in event.__dataclass_fields__:
            if k != "t":
                v = getattr(event, k)
                d[k] = list(v) if isinstance(v, tuple) else v
    return d
