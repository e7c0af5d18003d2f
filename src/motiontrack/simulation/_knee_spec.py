"""The knee sessions' exercises (:data:`EXERCISES` and their movement ranges) and the
result types of :func:`~motiontrack.simulation.knee.simulate_knee_session`:
:class:`SimulatedSession`, its ground truth :class:`KneeTruth` and the true repetitions
(:class:`TrueRep`). The model: :mod:`motiontrack.simulation.knee`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .imu import SimulatedImu, to_recording, write_long_csv

EXERCISES: tuple[str, ...] = (
    "seated_knee_extension",
    "squat",
    "heel_slide",
    "straight_leg_raise",
    "short_arc_quad",
    "sit_to_stand",
    "standing_knee_bend",
    "knee_wall_slide",
)
#: Names that simulate the same movement as another exercise (the session keeps the name
#: given); not in :data:`EXERCISES`, which lists distinct movements.
ALIASES: dict[str, str] = {"long_arc_quad": "seated_knee_extension"}

_DEG = np.pi / 180.0
_EX = np.array([1.0, 0.0, 0.0])
_EY = np.array([0.0, 1.0, 0.0])
_EZ = np.array([0.0, 0.0, 1.0])
#: q_earth_body at heading 0: body x (forward) -> north, y (up) -> up, z (right) -> east.
_Q_EARTH_BODY0 = np.array([0.5, 0.5, 0.5, 0.5])


@dataclass(frozen=True, slots=True)
class _Spec:
    primary: str  # "flexion" (knee) or "hip_flexion"
    rest_deg: tuple[float, float]
    peak_deg: tuple[float, float]
    move_s: tuple[float, float]
    hold_s: tuple[float, float]
    supine: bool
    #: the point that stays fixed: "hip" (seat, bed, standing on the other leg) or "ankle"
    #: (closed chain: the foot stays on the floor and the body rises and sinks over it)
    anchor: str = "hip"
    #: standing start: how long the transition into the exercise posture takes, s (None:
    #: 1.5-3 s sitting down, 2.5-4 s lying down)
    transition_s: tuple[float, float] | None = None


_SPECS: dict[str, _Spec] = {
    "seated_knee_extension": _Spec("flexion", (80.0, 95.0), (0.0, 12.0), (1.2, 2.0), (0.5, 2.0), False),
    "squat": _Spec("flexion", (0.0, 5.0), (70.0, 100.0), (1.3, 2.2), (0.2, 1.0), False,
                   anchor="ankle", transition_s=(0.4, 0.6)),
    "heel_slide": _Spec("flexion", (0.0, 5.0), (75.0, 110.0), (2.0, 3.0), (0.5, 1.5), True),
    "straight_leg_raise": _Spec("hip_flexion", (0.0, 3.0), (35.0, 60.0), (1.5, 2.5), (1.0, 3.0), True),
    # supine, a bolster under the knee: the heel lifts from the bed until the knee is straight
    "short_arc_quad": _Spec("flexion", (30.0, 45.0), (0.0, 5.0), (1.0, 2.0), (1.0, 3.0), True),
    # seated on a chair, rising to standing and sitting back (closed chain: the feet stay)
    "sit_to_stand": _Spec("flexion", (85.0, 100.0), (0.0, 5.0), (1.2, 2.0), (0.3, 1.0), False,
                          anchor="ankle"),
    # standing on the other leg, thigh near vertical, the heel curls up towards the buttock
    "standing_knee_bend": _Spec("flexion", (0.0, 5.0), (75.0, 100.0), (1.0, 2.0), (0.5, 1.5), False,
                                transition_s=(0.8, 1.5)),  # weight onto the other leg
    # back against a wall, feet forward, sliding down to 45-60° and up again (closed chain)
    "knee_wall_slide": _Spec("flexion", (0.0, 5.0), (45.0, 60.0), (2.0, 3.5), (1.0, 3.0), False,
                             anchor="ankle", transition_s=(1.0, 2.0)),
}
_SPECS["long_arc_quad"] = _SPECS["seated_knee_extension"]


@dataclass(frozen=True, slots=True)
class TrueRep:
    """One true repetition of the primary angle (``KneeTruth.primary``).

    ``peak_s`` is the middle of the hold at the extreme of the movement (minimum flexion for a
    knee extension, maximum for the others); ``min_deg``/``max_deg`` bound the primary angle
    over ``[start_s, end_s]``.
    """

    start_s: float
    peak_s: float
    end_s: float
    min_deg: float
    max_deg: float
    partial: bool = False  # amplitude 35-60 % of a full rep
    fast: bool = False  # movement phases of 0.4-0.7 s

    @property
    def rom_deg(self) -> float:
        return self.max_deg - self.min_deg


@dataclass(frozen=True, slots=True)
class KneeTruth:
    """Ground truth of a simulated knee session; arrays have N rows like ``SimulatedSession.t``.

    ``hinge_axis_thigh_sensor`` and ``hinge_axis_shank_sensor`` are the knee's *functional* hinge
    axis, the one an estimate from the two sensors' angular rates converges to: the principal
    direction (least squares) of the bones' relative angular velocity over the session, expressed
    in each segment and then in each sensor frame, signed towards the thigh's +z. Because
    ab/adduction and axial rotation are coupled to flexion, it differs from the anatomical
    flexion axis (Grood & Suntay e1 = the thigh's z axis, ``flexion_axis_thigh_sensor``) by
    about 1.5-2°. All use the nominal
    mounting ``q_segment_sensor``, not the soft-tissue motion.
    """

    flexion_deg: np.ndarray  # (N,) knee flexion, 0 = straight, positive = flexion
    abduction_deg: np.ndarray  # (N,) positive = abduction (valgus)
    rotation_deg: np.ndarray  # (N,) positive = internal rotation of the shank
    hip_flexion_deg: np.ndarray  # (N,) thigh vs an upright (standing/seated) or flat (supine) trunk
    heading_deg: np.ndarray  # (N,) whole-body heading, counter-clockwise from magnetic north
    primary: str  # which angle the reps are counted on: "flexion" or "hip_flexion"
    reps: list[TrueRep]
    hinge_axis_thigh_sensor: np.ndarray  # (3,) unit, functional knee axis in the thigh sensor frame
    hinge_axis_shank_sensor: np.ndarray  # (3,) unit, functional knee axis in the shank sensor frame
    flexion_axis_thigh_sensor: np.ndarray  # (3,) unit, Grood & Suntay e1 (thigh z) in the thigh sensor frame
    q_earth_thigh: np.ndarray  # (N, 4) segment orientations (bone, no soft tissue)
    q_earth_shank: np.ndarray  # (N, 4)
    positions: dict[str, np.ndarray]  # "hip", "knee", "ankle": (N, 3) m, ENU
    parameters: dict[str, Any]  # segment lengths, sensor offsets, coupling coefficients, ...


@dataclass(frozen=True, slots=True)
class SimulatedSession:
    """A simulated session: two IMUs ("thigh", "shank") sampled at ``fs`` on the times ``t``."""

    fs: float
    t: np.ndarray
    exercise: str
    sensors: dict[str, SimulatedImu]
    truth: KneeTruth
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the long-form CSV of API.md (one row per sample per sensor, dropped rows omitted).

        Columns ``time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z[,mag_x,mag_y,mag_z]`` in
        s, m/s², rad/s, µT; rows in time order, thigh before shank at equal times.
        """
        write_long_csv(path, self.t, self.sensors)

    def to_recording(self) -> Any:
        """The sensors' valid samples as a :class:`motiontrack.recording.Recording` (no file)."""
        return to_recording(self.t, self.sensors, source=f"simulation:{self.exercise}:seed={self.seed}")
