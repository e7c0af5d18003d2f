"""Settings and exercise presets of the repetition counter."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from ..errors import ConfigurationError


@dataclass(frozen=True, kw_only=True, slots=True)
class RepSettings:
    """What the user chooses for :class:`RepCounter`; independent of the sample rate.

    Angles are in degrees of the counted signal: the joint angle in angle mode, the angle
    about the dominant rotation axis in single-sensor mode.
    """

    direction: int = 0  # +1: a rep increases the angle; -1: decreases it; 0: learnt per set
    #                     (single-sensor mode always learns it: the axis sign is arbitrary)
    min_rom_deg: float = 5.0  # deg; smaller excursions are never reps
    hysteresis_deg: float = 3.0  # deg; smallest reversal that confirms a top or a bottom
    hysteresis_frac: float = 0.15  # reversal threshold as a fraction of the set's running ROM
    reject_frac: float = 0.2  # excursions below this fraction of the set's ROM are not reps
    #                          (shallow reps of 1/3 of the set's ROM still count); 0 disables
    min_duration_s: float = 0.5  # s; shorter candidates are rejected; 0 disables
    max_duration_s: float = 20.0  # s; longer candidates are rejected; 0 disables
    return_frac: float = 0.85  # a rep ends as soon as it has come back this share of its ROM
    settle_frac: float = 0.5  # ... or this share, once it has stopped moving for settle_s
    settle_s: float = 0.15  # s; no progress for this long counts as stopped (event latency)
    pause_s: float = 5.0  # s; stillness at rest that ends a set
    max_hold_s: float = 8.0  # s; stillness away from rest that abandons a candidate (holds
    #                          longer than this need a preset with a larger value)
    max_gap_s: float = 1.0  # s; a longer data gap abandons the candidate and ends the set
    bridge_s: float = 0.25  # s; a rep with a longer data gap inside is INTERRUPTED: reported
    #                        as seen, never counted (shorter holes are only missing samples)
    ref_weight: float = 0.3  # weight of each new rep in the set's running ROM (EMA)
    partial_frac: float = 0.75  # flag PARTIAL_SET below this share of the full-rep ROM (EMA of
    #                             the counter's reps not judged partial, kept across sets)
    target_rom_deg: float = 0.0  # deg; prescribed ROM; 0 disables the PARTIAL_TARGET flag
    target_frac: float = 0.9  # flag PARTIAL_TARGET below this share of target_rom_deg
    fast_s: float = 0.0  # s; flag TOO_FAST below this duration; 0 disables
    fast_frac: float = 0.6  # flag TOO_FAST below this share of the normal tempo (EMA of the
    #                         durations of reps not judged fast); 0 disables
    slow_s: float = 0.0  # s; flag TOO_SLOW above this duration; 0 disables
    axis_tau_s: float = 10.0  # s; memory of the gyroscope covariance (dominant axis)
    vertical_weight: float = 0.3  # weight of rotation about the vertical (body turns) in the
    #                               dominant-axis estimate; 1 treats all axes alike
    tilt_tau_s: float = 2.0  # s; time constant pulling the angle towards gravity's inclination
    leak_tau_s: float = 10.0  # s; high-pass time constant of the angle when gravity is unusable
    reference_tau_s: float = 0.0  # s; memory of the posture that is the single-sensor angle's
    #                               zero; 0: the posture at the first sample, kept for good
    smoothing_s: float = 0.04  # s; time constant of each of two low-pass stages on the input
    noise_mult: float = 6.0  # hysteresis >= this many sigmas of the smoothed signal's noise
    #                          (estimated online); the smallest ROM is twice that
    rest_tau_s: float = 2.0  # s; the rest level follows slow drift with this time constant

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "direction":
                if not isinstance(v, int) or isinstance(v, bool) or v not in (-1, 0, 1):
                    raise ConfigurationError(f"direction must be -1, 0 or +1, got {v!r}")
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigurationError(f"{f.name} must be a finite number, got {v!r}")
            if v < 0:
                raise ConfigurationError(f"{f.name} must be >= 0, got {v!r}")
        for name in ("hysteresis_deg", "settle_s", "pause_s", "max_hold_s", "axis_tau_s",
                     "tilt_tau_s", "leak_tau_s", "rest_tau_s", "max_gap_s"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name} must be > 0")
        for name in ("hysteresis_frac", "reject_frac", "partial_frac", "target_frac", "ref_weight",
                     "fast_frac", "vertical_weight"):
            if getattr(self, name) > 1:
                raise ConfigurationError(f"{name} must be in [0, 1]")
        if not 0 < self.settle_frac <= self.return_frac <= 1:
            raise ConfigurationError("need 0 < settle_frac <= return_frac <= 1")
        if self.max_duration_s and self.max_duration_s <= self.min_duration_s:
            raise ConfigurationError("max_duration_s must exceed min_duration_s")
        if self.slow_s and self.slow_s <= self.fast_s:
            raise ConfigurationError("slow_s must exceed fast_s")

    def replace(self, **changes: float) -> RepSettings:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


#: Exercise presets. ``direction`` refers to the joint angle named in the comment; in
#: single-sensor mode it is ignored (learnt). Tempo flags follow common prescriptions of
#: 2-3 s per rep at the fastest.
PRESETS: dict[str, RepSettings] = {
    "generic": RepSettings(),
    # knee flexion decreases during an extension (90 deg seated -> 0 deg straight)
    "knee_extension": RepSettings(direction=-1, min_rom_deg=8.0, fast_s=3.0),
    # knee flexion increases in these
    "squat": RepSettings(direction=1, min_rom_deg=5.0, fast_s=2.0),
    "heel_slide": RepSettings(direction=1, min_rom_deg=5.0, fast_s=2.0),
    # short-arc quad: lying, knee over a bolster, extending from 30-45° to 0° (flexion decreases)
    "short_arc_quad": RepSettings(direction=-1, min_rom_deg=5.0, fast_s=2.0),
    # sit-to-stand: seated ~90° -> standing ~0° -> seated (flexion decreases, then returns)
    "sit_to_stand": RepSettings(direction=-1, min_rom_deg=10.0, fast_s=1.5),
    # standing knee bend (hamstring curl): 0° -> ~90° with the thigh near vertical
    "standing_knee_bend": RepSettings(direction=1, min_rom_deg=10.0, fast_s=2.0),
    # wall slide: back on a wall, 0° -> 45-60° -> 0° (closed chain, both segments tilt); an
    # excursion under 15° (leaning back onto the wall, shuffling the feet) is not a rep
    "knee_wall_slide": RepSettings(direction=1, min_rom_deg=15.0, fast_s=3.0),
    "biceps_curl": RepSettings(direction=1, min_rom_deg=10.0, fast_s=3.0),  # elbow flexion
    # hip flexion increases in leg raises, shoulder flexion/abduction in arm raises (these are
    # often counted from one segment sensor, where the direction is learnt anyway)
    "straight_leg_raise": RepSettings(direction=1, min_rom_deg=3.0, fast_s=3.0),
    "leg_raise": RepSettings(direction=1, min_rom_deg=3.0, fast_s=3.0),
    "arm_raise": RepSettings(direction=1, min_rom_deg=10.0, fast_s=3.0),
    # pendulum circles: no natural rest side, the direction is learnt
    "pendulum": RepSettings(min_rom_deg=5.0, fast_s=3.0),
    # trunk flexion increases when leaning forward (trunk or thigh sensor)
    "trunk_lean": RepSettings(direction=1, min_rom_deg=10.0, fast_s=3.0),
}
PRESETS["seated_knee_extension"] = PRESETS["knee_extension"]
#: The long-arc quad is the seated knee extension (90° -> full extension): an alias, one preset.
PRESETS["long_arc_quad"] = PRESETS["knee_extension"]


def resolve_settings(settings: RepSettings | None, preset: str | None) -> RepSettings:
    """Settings from an explicit object or a preset name (not both)."""
    if settings is not None and preset is not None:
        raise ConfigurationError("give settings or preset, not both")
    if settings is not None:
        if not isinstance(settings, RepSettings):
            raise ConfigurationError(f"settings must be RepSettings, got {type(settings).__name__}")
        return settings
    if preset is None:
        return PRESETS["generic"]
    try:
        return PRESETS[preset]
    except (KeyError, TypeError):
        raise ConfigurationError(
            f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}"
        ) from None
