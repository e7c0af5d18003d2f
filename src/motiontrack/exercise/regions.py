"""The body regions of an MSK programme, as data: which segments carry the sensors, which
angles each region has (clinical names, axes, signs), the calibration poses and their
prompts, and the exercise presets; plus the placement check (what is worn where).

Angles are measured the way :mod:`motiontrack.kinematics.inclination` describes (segment
against gravity and its start heading; two sensors: the distal segment's angle minus the
proximal one's about the same anatomical axis); the conventions (ISB, Wu et al. 2002 for the
spine and hip, 2005 for the shoulder and elbow; signs; zero) are in
:mod:`motiontrack.conventions`, section "Body regions".

A placement map says what is worn where: ``{segment: sensor}`` (``{"chest": "ble:AA:..",
"upper_arm": "sim:upper_arm"}`` as the sensors of a :class:`motiontrack.Session`, or
``{"chest": "u5"}`` naming the sensors of a recording). :func:`check_placement` checks it
against the exercise before any sample is streamed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..conventions import REGION_ANGLES, REGION_SEGMENTS, SEGMENT_ALIASES
from ..errors import ConfigurationError
from ..reps import RepSettings

__all__ = [
    "CALIBRATION_POSES",
    "RHYTHM",
    "REGION_EXERCISES",
    "PlacementError",
    "RegionExercise",
    "check_placement",
    "load_placement",
    "segment_of",
]


class PlacementError(ConfigurationError):
    """A sensor is missing for the exercise, or worn on a segment the exercise does not use."""


#: The usual direction of the proximal segment's tilt during a region's exercises, relative
#: to the distal one (+1 with it, -1 against it): the lumbo-pelvic rhythm (the pelvis tilts
#: forward with the trunk), cervico-thoracic following, the trunk leaning back under a raised
#: arm or a lifted thigh. Used only where 6D data cannot tell (:mod:`.region_counter`).
RHYTHM: dict[str, float] = {"trunk": 1.0, "neck": 1.0, "shoulder": -1.0, "hip": -1.0, "elbow": 1.0}

#: Calibration poses: the prompt of the still pose at the start of a session (its angles are
#: the pose's nominal ones, all 0 unless the exercise says otherwise).
CALIBRATION_POSES: dict[str, str] = {
    "standing": "Stand upright and still, arms relaxed at your sides",
    "seated": "Sit upright and still, feet on the floor, arms relaxed",
    "supine": "Lie still on your back with your legs straight",
    "side_lying": "Lie still on your side, hips and knees bent, knees together",
    "quadruped": "Get on your hands and knees, back flat, and keep still",
    "elbow_90": "Stand still, upper arm at your side, elbow bent to 90°, forearm pointing forward",
    "hook_lying": "Lie still on your back, knees bent, feet flat on the floor",
}


@dataclass(frozen=True)
class RegionExercise:
    """An exercise preset of a body region.

    name, region
        Preset name; region key of :data:`motiontrack.conventions.REGION_SEGMENTS`.
    angle
        The counted (primary) angle, a column of :data:`motiontrack.conventions.REGION_ANGLES`.
    pose
        Calibration pose (:data:`CALIBRATION_POSES`).
    motion
        The first movement, in the patient's words (the prompt after the still pose).
    rep
        Rep-counter settings of the primary angle (``direction`` +1: a rep increases it).
    axis_deg
        deg; the first movement must reach this to set the angle's axis.
    one_sensor
        The distal segment's sensor alone measures it (against gravity); two sensors measure
        it relative to the proximal segment.
    """

    name: str
    region: str
    angle: str
    pose: str
    motion: str
    rep: RepSettings
    axis_deg: float = 10.0
    one_sensor: bool = True

    @property
    def segments(self) -> tuple[str, str]:
        """(distal, proximal) segment names."""
        return REGION_SEGMENTS[self.region]

    @property
    def axis(self) -> str:
        """Anatomical axis of the primary angle: ``"x"``, ``"z"`` (tilts, heading-free),
        ``"y"`` (about the vertical) or ``"elevation"`` (angle from the pose's long axis)."""
        return REGION_ANGLES[self.region][self.angle][0]


def _rep(min_rom: float, fast_s: float = 2.0, **kw: float) -> RepSettings:
    return RepSettings(direction=1, min_rom_deg=min_rom, fast_s=fast_s, **kw)  # type: ignore[arg-type]


def _twist(min_rom: float) -> RepSettings:
    return RepSettings(direction=0, min_rom_deg=min_rom, fast_s=2.0)


_E = RegionExercise
#: The staple exercises of digital MSK programmes, per region.
REGION_EXERCISES: dict[str, RegionExercise] = {
    e.name: e
    for e in [
        # lumbar spine / trunk: chest sensor (+ pelvis/sacrum)
        _E("trunk_flexion", "trunk", "flexion_deg", "standing", "bend forward slowly", _rep(10)),
        _E("seated_trunk_flexion", "trunk", "flexion_deg", "seated", "lean forward slowly", _rep(8)),
        _E("cat_cow", "trunk", "flexion_deg", "quadruped", "round your back up (cat)", _rep(6), 6.0),
        _E("side_bend", "trunk", "lateral_flexion_deg", "standing", "bend to one side", _rep(8)),
        _E("trunk_rotation", "trunk", "rotation_deg", "seated", "turn your trunk to one side", _twist(10)),
        # neck: head sensor relative to the chest (or alone)
        _E("cervical_rotation", "neck", "rotation_deg", "seated", "turn your head to one side", _twist(10)),
        _E("chin_tuck", "neck", "flexion_deg", "seated", "tuck your chin in", _rep(4), 4.0),
        _E("neck_flexion", "neck", "flexion_deg", "seated", "nod your head down", _rep(8)),
        # shoulder: upper-arm sensor relative to the chest (or alone, against gravity)
        _E("shoulder_flexion", "shoulder", "flexion_deg", "standing", "raise your arm forward", _rep(15)),
        _E("shoulder_abduction", "shoulder", "abduction_deg", "standing", "raise your arm to the side", _rep(15)),
        _E("shoulder_raise", "shoulder", "elevation_deg", "standing", "raise your arm", _rep(10)),
        _E("wall_slide", "shoulder", "elevation_deg", "standing", "slide your arm up the wall", _rep(15)),
        _E("shoulder_external_rotation", "shoulder", "external_rotation_deg", "elbow_90",
           "turn your forearm outwards", _twist(10)),
        # hip: thigh sensor relative to the pelvis (or alone)
        _E("standing_hip_flexion", "hip", "flexion_deg", "standing", "lift your knee forward", _rep(10)),
        _E("hip_abduction", "hip", "abduction_deg", "standing", "lift your leg to the side", _rep(8)),
        _E("clamshell", "hip", "abduction_deg", "side_lying", "open your top knee", _rep(8)),
        _E("bridge", "hip", "extension_deg", "hook_lying", "lift your hips", _rep(8)),
        _E("hip_leg_raise", "hip", "flexion_deg", "supine", "raise your leg", _rep(5)),
        # elbow: forearm sensor relative to the upper arm (or alone)
        _E("elbow_curl", "elbow", "flexion_deg", "standing", "bend your elbow", _rep(10)),
    ]
}


def segment_of(sensor: str) -> str:
    """The segment a sensor name says it is worn on (:data:`SEGMENT_ALIASES`), or the name."""
    n = sensor.lower()
    for seg, aliases in SEGMENT_ALIASES.items():
        if n == seg or n in aliases:
            return seg
    return n


def load_placement(placement: Mapping[str, str] | str | os.PathLike[str]) -> dict[str, str]:
    """A placement map ``{segment: sensor}`` from a mapping or a JSON file holding one."""
    if isinstance(placement, Mapping):
        data = dict(placement)
    else:
        try:
            with open(placement, encoding="utf-8") as f:
                data = json.load(f)
        except OSError as exc:
            raise PlacementError(f"cannot read the placement file {placement}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise PlacementError(f"the placement file {placement} is not JSON: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise PlacementError('a placement map is {"segment": "sensor"}, both strings')
    return {segment_of(k): v for k, v in data.items()}


def check_placement(
    exercise: str, sensors: list[str], placement: Mapping[str, str] | None = None
) -> tuple[str, str | None]:
    """The (distal, proximal or None) sensors of ``exercise``, checked before streaming.

    Parameters
    ----------
    exercise : str
        A key of :data:`REGION_EXERCISES`.
    sensors : list of str
        The session's (or recording's) sensor names.
    placement : mapping segment -> sensor, optional
        What is worn where; default: each sensor's name says its segment
        (:func:`segment_of`: ``"chest"``, ``"upper_arm"``, ``"humerus"``, ...).

    Raises
    ------
    PlacementError
        The distal segment's sensor is missing, a sensor is worn on a segment the exercise
        does not use, or the placement names a sensor that is not there.
    """
    ex = REGION_EXERCISES[exercise]
    distal, proximal = ex.segments
    where = dict(placement) if placement is not None else {segment_of(n): n for n in sensors}
    for seg, name in where.items():
        if name not in sensors:
            raise PlacementError(
                f"the placement puts {name!r} on the {seg}, but there is no sensor {name!r} "
                f"(sensors: {', '.join(sensors)})"
            )
    wrong = sorted(seg for seg in where if seg not in (distal, proximal))
    known = set(SEGMENT_ALIASES) | set(REGION_SEGMENTS)
    unnamed = sorted(where[seg] for seg in wrong if seg not in known)
    if placement is None and unnamed:
        raise PlacementError(
            f"the sensor name(s) {', '.join(unnamed)} say no segment: name the sensors by the "
            f"segment they are worn on ({distal}" + (f", {proximal}" if proximal else "")
            + ") or give a placement map {segment: sensor}"
        )
    if wrong:
        raise PlacementError(
            f"{exercise} ({ex.region}) uses sensors on the {distal}"
            + (f" and the {proximal}" if proximal else "")
            + f"; a sensor is placed on the {', '.join(wrong)}: wrong placement for this exercise"
        )
    if distal not in where:
        need = f"the {distal}" + (f" (and optionally the {proximal})" if ex.one_sensor else f" and the {proximal}")
        raise PlacementError(f"{exercise} needs a sensor on {need}; none is placed there (sensors: "
                             f"{', '.join(sensors)})")
    if proximal is not None and proximal not in where and not ex.one_sensor:
        raise PlacementError(f"{exercise} needs a sensor on the {proximal} as well")
    return where[distal], where.get(proximal) if proximal else None
