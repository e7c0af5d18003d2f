"""The target zone of an exercise: the joint angle a rep should reach at its turning point.

The report marks the reps that reached it and the live page changes colour when the live
angle is inside it. A target is an *angle to reach* (``90°`` of knee flexion in a squat,
``10°`` or less at the end of a seated knee extension), not a range of motion: the
preset's ``direction`` says on which side of it the zone lies (``+1``: the target or more,
``-1``: the target or less), and the joint's anatomical range
(:data:`motiontrack.conventions.JOINT_RANGE_DEG`) closes the zone on the other side.

A prescribed target is given with ``target_deg`` (``--target`` on the command line). Without
one, the exercises of :data:`DEFAULT_TARGET_DEG` have a common default goal, said as such
wherever it is shown ("default goal"); other exercises have no target.

>>> z = target_zone("squat", joint="knee")
>>> z.describe(), z.reached(95.0), z.reached(80.0)
('knee flexion 90° or more (default goal for squat)', True, False)
>>> target_zone("seated_knee_extension", joint="knee", target_deg=5).describe()
'knee flexion 5° or less (given)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..conventions import JOINT_RANGE_DEG
from ..errors import ConfigurationError
from ..reps import PRESETS

__all__ = ["DEFAULT_TARGET_DEG", "EXERCISE_WORDS", "TargetZone", "target_zone"]

#: Common default goals (deg of knee flexion at a rep's turning point), used only when no
#: target is given: a squat to thighs parallel (about 90°), a seated knee extension to
#: within 10° of straight (an extension lag under 10°), a heel slide to 90° (the usual early
#: goal after knee surgery), a short-arc quad to within 5° of straight (its short arc ends in
#: full extension), a sit-to-stand to an upright stand (10° or less), a standing knee bend to
#: 90° and a wall slide to 45° (the common partial-squat depth of early rehabilitation). The
#: long-arc quad is the seated knee extension. Care teams set their own with ``target_deg``.
DEFAULT_TARGET_DEG: dict[str, float] = {
    "squat": 90.0,
    "seated_knee_extension": 10.0,
    "knee_extension": 10.0,
    "long_arc_quad": 10.0,
    "heel_slide": 90.0,
    "short_arc_quad": 5.0,
    "sit_to_stand": 10.0,
    "standing_knee_bend": 90.0,
    "knee_wall_slide": 45.0,
}


#: The knee exercises in a therapist's words: the report's "Movement" line under the preset.
EXERCISE_WORDS: dict[str, str] = {
    "seated_knee_extension": "seated knee extension (long-arc quad): from ~90° to straight",
    "long_arc_quad": "long-arc quad (seated knee extension): from ~90° to straight",
    "squat": "squat: knee flexion from standing",
    "heel_slide": "heel slide, lying on the back: knee flexion",
    "short_arc_quad": "short-arc quad, knee over a bolster: from 30-45° to straight",
    "sit_to_stand": "sit-to-stand (chair rise): from ~90° seated to straight standing",
    "standing_knee_bend": "standing knee bend (hamstring curl): knee flexion, thigh vertical",
    "knee_wall_slide": "wall slide, back against a wall: knee flexion to 45-60°",
    "straight_leg_raise": "straight-leg raise: hip flexion, knee straight",
}


@dataclass(frozen=True, slots=True)
class TargetZone:
    """Where a rep's turning point should be, in degrees of the primary angle.

    ``lo_deg``..``hi_deg`` is the zone (one end is the target, the other the joint's
    anatomical limit, or infinite for a joint without one); ``direction`` is ``+1`` when the
    target is reached from below (flexion to 90° or more), ``-1`` from above.
    """

    joint: str | None
    angle: str  # name of the primary angle, e.g. "flexion_deg"
    target_deg: float
    direction: int
    lo_deg: float
    hi_deg: float
    given: bool  # True: prescribed (target_deg given); False: the exercise's default goal
    exercise: str | None = None

    def reached(self, angle_deg: float) -> bool:
        """Is ``angle_deg`` (deg) inside the zone? NaN (unknown) is not."""
        return bool(math.isfinite(angle_deg) and self.lo_deg <= angle_deg <= self.hi_deg)

    def rep_reached(self, min_deg: float, max_deg: float) -> bool:
        """Did a rep with these extremes (deg) reach the target at its turning point?"""
        return self.reached(max_deg if self.direction > 0 else min_deg)

    def describe(self) -> str:
        """The target in plain words."""
        what = f"{self.joint} {self.angle.replace('_deg', '')}" if self.joint else "angle"
        side = "or more" if self.direction > 0 else "or less"
        why = "given" if self.given else f"default goal for {self.exercise}"
        return f"{what} {self.target_deg:g}° {side} ({why})"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (the live page's ``hello`` message)."""
        return {
            "angle": self.angle,
            "target_deg": self.target_deg,
            "direction": self.direction,
            "lo_deg": None if math.isinf(self.lo_deg) else self.lo_deg,
            "hi_deg": None if math.isinf(self.hi_deg) else self.hi_deg,
            "given": self.given,
            "text": self.describe(),
        }


def target_zone(
    exercise: str | None,
    *,
    joint: str | None,
    angle: str = "flexion_deg",
    target_deg: float | None = None,
) -> TargetZone | None:
    """The target zone of ``exercise``: ``target_deg`` if given, else its default goal
    (:data:`DEFAULT_TARGET_DEG`), else None.

    Raises
    ------
    ConfigurationError
        ``target_deg`` not a finite angle inside the joint's range, or given for an
        exercise whose direction is not known (no preset direction: say which exercise).
    """
    if target_deg is None:
        if exercise not in DEFAULT_TARGET_DEG or joint != "knee":
            return None
        value, given = DEFAULT_TARGET_DEG[exercise], False
    else:
        value, given = target_deg, True
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ConfigurationError(f"the target must be an angle in degrees, got {value!r}")
    direction = PRESETS[exercise].direction if exercise in PRESETS else 0
    if direction == 0:
        raise ConfigurationError(
            f"a target needs an exercise whose direction is known (--exercise, one of "
            f"{', '.join(sorted(n for n, s in PRESETS.items() if s.direction))}); got {exercise!r}"
        )
    limits = JOINT_RANGE_DEG.get(joint or "") or (-math.inf, math.inf)
    if not limits[0] <= value <= limits[1]:
        raise ConfigurationError(
            f"target {value:g}° is outside the {joint}'s range {limits[0]:g}..{limits[1]:g}°"
        )
    lo, hi = (float(value), limits[1]) if direction > 0 else (limits[0], float(value))
    return TargetZone(joint, angle, float(value), direction, lo, hi, given, exercise)
