"""The one settings object of an exercise session, live (:class:`motiontrack.Session`) and
offline (:func:`motiontrack.analyze`): what the user chooses, in SI units and degrees."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigurationError

__all__ = ["ExerciseSettings"]

#: Joints with an automatic (hinge) sensor-to-segment calibration.
HINGE_JOINTS = ("knee", "elbow", "hinge")
#: Primary (counted) angle of each joint.
PRIMARY_ANGLE = {
    "knee": "flexion_deg",
    "elbow": "flexion_deg",
    "hip": "flexion_deg",
    "hinge": "flexion_deg",
    "shoulder": "elevation_deg",
}
#: Column name of the counted signal in single-sensor mode.
SEGMENT_ANGLE = "segment_angle_deg"

_POSITIVE = (
    "still_s",
    "calibration_motion_s",
    "calibration_retry_s",
    "max_calibration_s",
    "max_interp_s",
    "pair_timeout_s",
    "max_gap_s",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExerciseSettings:
    """How an exercise session is processed; the same object live and offline.

    .. versionchanged:: 0.1.0
       Replaces ``SessionSettings`` and ``AnalysisSettings`` (both names remain as aliases).
    """

    fusion_method: str = "vqf"  # orientation filter (motiontrack.fusion.methods()), streaming
    magnetometer: bool = False  # True: 9D fusion and joint angles when every sensor streams a
    #   magnetometer (a warning and 6D otherwise); False: 6D (heading from the hinge constraint)
    calibration: str = "auto"  # "auto": still pose + the exercise itself (reps re-counted from
    #   the start once calibrated); "guided": still pose + separate calibration movements (not
    #   counted); "none": sensor frames are segment frames
    pose: str | None = None  # still pose. None = the session protocol (docs/session-protocol.md):
    #   stand still with the legs straight (0°), then take the exercise position; the start is
    #   checked and a start already in the exercise's posture falls back to that posture's
    #   nominal angle, with a warning. "standing" | "seated" | "supine": the still pose is that
    #   posture (no detection)
    pose_flexion_deg: float | None = None  # deg; joint flexion measured (goniometer) in the
    #   still pose used for the calibration (the given `pose`, or the detected one), within
    #   -20..170; None = the pose's nominal value (0 standing/supine, 90 seated)
    still_s: float = 1.0  # s; shortest still pose accepted for the calibration
    calibration_motion_s: float = 12.0  # s of data after the still pose before the first
    #   calibration attempt
    calibration_retry_s: float = 5.0  # s of further data between attempts
    min_confidence: float = 0.6  # calibrations below this are retried (until the timeout)
    max_calibration_s: float = 90.0  # s; after this the best attempt is used, or it fails
    max_interp_s: float = 0.25  # s; gaps up to this are bridged by interpolation, longer ones
    #   are gaps (no orientation, no angle)
    pair_timeout_s: float = 0.6  # s; live only: how long the reference sensor's samples wait for
    #   a silent partner before its angles are given up as unknown
    max_gap_s: float = 6.0  # s; the rep counter bridges data gaps up to this (reconnects)
    side: str = "right"  # "right" | "left"
    zero_at: float | None = None  # s, session time; generic hinge: the angle is 0° there
    #   (default: the first still moment, else the first row; motiontrack.conventions)
    hinge_sign: int = 1  # generic hinge: +1 = right-hand rule about the hinge axis oriented
    #   along the proximal sensor's nearest axis (motiontrack.conventions), -1 = the opposite

    def __post_init__(self) -> None:
        if self.calibration not in ("auto", "guided", "none"):
            raise ConfigurationError(
                f"calibration must be 'auto', 'guided' or 'none', got {self.calibration!r}"
            )
        if self.pose not in (None, "standing", "seated", "supine"):
            raise ConfigurationError(f"pose must be standing, seated or supine, got {self.pose!r}")
        if self.pose_flexion_deg is not None:
            v = self.pose_flexion_deg
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigurationError(f"pose_flexion_deg must be a finite number, got {v!r}")
            if not -20.0 <= v <= 170.0:
                raise ConfigurationError(
                    f"pose_flexion_deg must be a joint flexion within -20..170°, got {v:g}"
                )
        for name in _POSITIVE:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigurationError(f"{name} must be a positive number, got {v!r}")
            if v <= 0:
                raise ConfigurationError(f"{name} must be a positive number, got {v!r}")
        if not 0 <= self.min_confidence <= 1:
            raise ConfigurationError("min_confidence must be in [0, 1]")
        if self.side not in ("right", "left"):
            raise ConfigurationError(f"side must be 'right' or 'left', got {self.side!r}")
        if self.zero_at is not None and (
            isinstance(self.zero_at, bool)
            or not isinstance(self.zero_at, (int, float))
            or not math.isfinite(self.zero_at)
        ):
            raise ConfigurationError(f"zero_at must be a session time in s, got {self.zero_at!r}")
        if self.hinge_sign not in (1, -1) or isinstance(self.hinge_sign, bool):
            raise ConfigurationError(f"hinge_sign must be 1 or -1, got {self.hinge_sign!r}")
        if not isinstance(self.magnetometer, bool):
            raise ConfigurationError(
                f"magnetometer must be True or False, got {self.magnetometer!r}"
            )
