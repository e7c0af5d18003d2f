"""The result and settings of the sensor-to-segment calibration, and its JSON file.

:class:`SegmentCalibration` (the two mountings, hinge axes, biases, confidence; versioned
JSON), :class:`CalibrationSettings` (the thresholds of
:func:`~motiontrack.kinematics.calibration.calibrate_joint`), :class:`HingeAxes` (result of
:func:`~motiontrack.kinematics.calibration.relative_hinge_axes`), the still poses
(:data:`POSES`) and :class:`PoseMismatchError`. How the calibration works:
:mod:`motiontrack.kinematics.calibration`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from .. import quaternion as mq
from ..errors import CalibrationError, ConfigurationError, InputError
from ._calib_math import _inclination_deg

Pose = Literal["standing", "supine", "seated"]

#: still poses: (up axis of the proximal segment, of the distal segment, flexion at the pose, deg)
POSES: dict[str, tuple[int, int, float]] = {
    "standing": (1, 1, 0.0),  # legs straight, long axes vertical
    "supine": (0, 0, 0.0),  # lying on the back, legs straight: anterior faces up
    "seated": (0, 1, 90.0),  # thigh horizontal (anterior up), shank hanging vertically
}

CALIBRATION_FORMAT = "motiontrack.segment_calibration"
CALIBRATION_VERSION = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class CalibrationSettings:
    """Thresholds of :func:`calibrate_joint` (units in comments)."""

    still_max_gyr_std: float = 0.05  # rad/s; gyroscope spread allowed in the still pose
    still_max_gyr_mean: float = 0.1  # rad/s; |mean rate| above this is motion, not bias
    still_max_acc_std: float = 0.4  # m/s²; accelerometer spread allowed in the still pose
    still_acc_tolerance: float = 1.5  # m/s²; | |acc| - 9.81 | allowed in the still pose
    min_rate: float = 0.15  # rad/s; samples slower than this (both sensors) are not used
    min_moving_fraction: float = 0.05  # of the motion window that must be moving
    min_rom_deg: float = 15.0  # deg; less hinge motion than this is "no flexion" (error)
    warn_rom_deg: float = 30.0  # deg; less than this gives a CalibrationWarning
    warn_axis_std_deg: float = 3.0  # deg; distal hinge-axis std above this warns
    max_axis_tilt_deg: float = 25.0  # deg; hinge axis vs horizontal in the still pose
    hyperextension_deg: float = 10.0  # deg; anatomical rule 1
    max_flexion_deg: float = 160.0  # deg; anatomical rule 1
    max_samples: int = 6000  # motion samples used by the axis fit (evenly thinned)
    swap_lever_m: float = (
        0.04  # m; joint centre this far on the wrong side of both sensors = swapped
    )
    min_proximal_pitch_deg: float = 10.0  # 6D: a proximal segment that turned less than
    #   this about the hinge against gravity (pitch range over the motion) leaves its axis's
    #   direction about the vertical unobservable: reported with std 90° and an ambiguous
    #   heading (confidence x 0.8)
    branch_contrast: float = 1.5  # joint-centre residual ratio that decides the 6D heading branch
    max_pose_deviation_deg: float = 45.0  # deg; distal long axis vs the declared pose's, still pose
    quiet_proximal: bool | None = None  # the proximal segment should rotate less than the
    #   distal one (else: swapped sensors?). None: checked in the seated pose (a seated
    #   extension); True: in any pose (a standing knee bend); False: never (a sit-to-stand
    #   moves the thigh most)
    track_6d_heading: bool = True  # 9D, a nearly still proximal segment: take the 6D
    #   rate-tracked relative heading where the motion seems to determine it. False: keep
    #   the shared magnetic heading (a standing knee bend: the vertical thigh rotates only
    #   about the hinge, the 6D heading is unobservable, and its fit can be 20-70° off with a
    #   contrast of 3-9 that looks determined)

    def __post_init__(self) -> None:
        for name in (
            "still_max_gyr_std",
            "still_max_gyr_mean",
            "still_max_acc_std",
            "still_acc_tolerance",
            "min_rate",
            "min_rom_deg",
            "warn_rom_deg",
            "warn_axis_std_deg",
            "max_axis_tilt_deg",
            "max_flexion_deg",
            "swap_lever_m",
            "branch_contrast",
            "min_proximal_pitch_deg",
            "max_pose_deviation_deg",
        ):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ConfigurationError(f"{name} must be > 0, got {v!r}")
        if not (0 <= self.min_moving_fraction < 1):
            raise ConfigurationError("min_moving_fraction must be in [0, 1)")
        if not (self.hyperextension_deg >= 0):
            raise ConfigurationError("hyperextension_deg must be >= 0")
        if self.max_samples < 100:
            raise ConfigurationError("max_samples must be >= 100")


@dataclass(frozen=True)
class HingeAxes:
    """Result of :func:`relative_hinge_axes`.

    Attributes
    ----------
    proximal, distal : ndarray, shape (3,)
        Unit hinge direction in each sensor frame; the two point the same physical way,
        the overall sign is not yet anatomical.
    std_deg : ndarray, shape (2,)
        1-sigma angular uncertainty of each axis, degrees (Gauss-Newton covariance); large
        means the motion did not determine that axis.
    residual : float
        Robust RMS of the constraint residual, rad/s.
    n_used : int
        Moving samples used.
    """

    proximal: np.ndarray
    distal: np.ndarray
    std_deg: np.ndarray
    residual: float
    n_used: int


@dataclass(frozen=True)
class SegmentCalibration:
    """Sensor-to-segment mounting of the two sensors of a joint.

    Attributes
    ----------
    joint : str
    q_segment_sensor_proximal, q_segment_sensor_distal : ndarray, shape (4,)
        Mounting: rotates sensor-frame vectors into the segment frame (x anterior,
        y superior, z right).
    hinge_axis_proximal, hinge_axis_distal : ndarray, shape (3,)
        Segment z (the flexion axis) in each sensor frame, unit.
    hinge_axis_std_deg : ndarray, shape (2,)
        1-sigma uncertainty of the two axes, degrees (see module notes for the proximal one).
    gyr_bias_proximal, gyr_bias_distal : ndarray, shape (3,)
        Gyroscope bias seen in the still pose, rad/s (zeros without a pose).
    confidence : float
        0..1; product of the motion-range, axis-uncertainty and residual factors.
    pose : str
    rom_deg : float
        Hinge-angle range seen during the calibration motion, degrees.
    notes : tuple of str
        Why the confidence is reduced, in words.
    joint_centre_proximal, joint_centre_distal : ndarray, shape (3,)
        Joint centre seen from each sensor, m, sensor frames (Seel et al. 2014 §3.2; the
        component along the hinge is arbitrary); zeros when not estimated.
    """

    joint: str
    q_segment_sensor_proximal: np.ndarray
    q_segment_sensor_distal: np.ndarray
    hinge_axis_proximal: np.ndarray
    hinge_axis_distal: np.ndarray
    hinge_axis_std_deg: np.ndarray
    gyr_bias_proximal: np.ndarray
    gyr_bias_distal: np.ndarray
    confidence: float
    pose: str
    rom_deg: float
    notes: tuple[str, ...] = field(default=())
    joint_centre_proximal: np.ndarray = field(default_factory=lambda: np.zeros(3))
    joint_centre_distal: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @classmethod
    def from_mounting(
        cls,
        q_segment_sensor_proximal: npt.ArrayLike,
        q_segment_sensor_distal: npt.ArrayLike,
        *,
        joint: str = "knee",
    ) -> SegmentCalibration:
        """A calibration from known mountings (e.g. a fixture, or a simulator's truth).

        Parameters
        ----------
        q_segment_sensor_proximal, q_segment_sensor_distal : array_like, shape (4,)
            Rotate sensor-frame vectors into the segment frame (w, x, y, z).
        """
        qs = []
        for name, q in (
            ("proximal", q_segment_sensor_proximal),
            ("distal", q_segment_sensor_distal),
        ):
            a = np.asarray(q, dtype=np.float64)
            if a.shape != (4,) or not np.all(np.isfinite(a)) or not np.linalg.norm(a) > 0:
                raise InputError(
                    f"q_segment_sensor_{name} must be a finite quaternion of shape (4,)"
                )
            qs.append(a / np.linalg.norm(a))
        conj = np.array([1.0, -1.0, -1.0, -1.0])
        axes = [mq.rotate(q * conj, np.array([0.0, 0.0, 1.0])) for q in qs]
        return cls(
            joint=joint,
            q_segment_sensor_proximal=qs[0],
            q_segment_sensor_distal=qs[1],
            hinge_axis_proximal=axes[0],
            hinge_axis_distal=axes[1],
            hinge_axis_std_deg=np.zeros(2),
            gyr_bias_proximal=np.zeros(3),
            gyr_bias_distal=np.zeros(3),
            confidence=1.0,
            pose="given",
            rom_deg=0.0,
        )

    def to_json(self) -> str:
        """Versioned JSON (quaternions w, x, y, z; bias rad/s; angles degrees)."""
        d = {
            "format": CALIBRATION_FORMAT,
            "version": CALIBRATION_VERSION,
            "units": {
                "gyr_bias": "rad/s",
                "angles": "deg",
                "quaternion": "w,x,y,z segment<-sensor",
            },
        }
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            d[k] = (
                v.tolist()
                if isinstance(v, np.ndarray)
                else (list(v) if isinstance(v, tuple) else v)
            )
        return json.dumps(d, indent=2)

    @classmethod
    def from_json(cls, text: str) -> SegmentCalibration:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CalibrationError(f"not a calibration file: {exc}") from None
        if d.get("format") != CALIBRATION_FORMAT or d.get("version") != CALIBRATION_VERSION:
            raise CalibrationError(
                f"unsupported calibration format {d.get('format')!r} version {d.get('version')!r}"
            )
        # a motion-calibrated generic hinge carries its angle filter's start
        target = HingeCalibration if "start_angle_deg" in d else cls
        kw = {}
        for k in target.__dataclass_fields__:
            v = d[k]
            kw[k] = np.asarray(v, dtype=np.float64) if isinstance(v, list) and k != "notes" else v
        kw["notes"] = tuple(d["notes"])
        return target(**kw)


@dataclass(frozen=True)
class HingeCalibration(SegmentCalibration):
    """A :class:`SegmentCalibration` of the generic hinge found from motion alone
    (:func:`~.hinge_motion.calibrate_hinge_motion`), with the state its angle filter starts
    from at the first sample of the data it was calibrated on.

    Attributes
    ----------
    start_angle_deg : float
        Hinge angle at that first sample, deg, in the calibrated frames (0 at the zero sample).
    start_bias_dps : float
        Bias of the rate about the hinge (distal minus proximal), deg/s.
    start_heading_deg : float or None
        6D relative heading at that sample, deg (seeds the off-axis angles' heading).
    """

    start_angle_deg: float = 0.0
    start_bias_dps: float = 0.0
    start_heading_deg: float | None = None


class PoseMismatchError(CalibrationError):
    """The still pose was not the declared posture (see :func:`calibrate_joint`).

    Carries what the motion revealed, so a caller can look for a still period that is in the
    declared posture (:meth:`matches`) instead of giving up.
    """

    def __init__(
        self,
        message: str,
        *,
        distal_long_axis: np.ndarray,
        hinge_axis_distal: np.ndarray,
        expected_inclination_deg: float,
        max_deviation_deg: float,
    ) -> None:
        super().__init__(message)
        self.distal_long_axis = distal_long_axis  # (3,) unit, distal sensor frame, towards the joint
        self.hinge_axis_distal = hinge_axis_distal  # (3,) unit, distal sensor frame
        self.expected_inclination_deg = expected_inclination_deg
        self.max_deviation_deg = max_deviation_deg

    def matches(self, acc_distal_mean: npt.ArrayLike) -> bool:
        """Whether a still period with this mean distal accelerometer reading (m/s², sensor
        frame) has the distal segment at the declared pose's inclination."""
        a = np.asarray(acc_distal_mean, dtype=np.float64)
        measured = _inclination_deg(self.distal_long_axis, self.hinge_axis_distal, a, min_fraction=0.3)
        # NaN (hinge near vertical: the inclination is not defined) compares False
        return abs(measured - self.expected_inclination_deg) <= 0.8 * self.max_deviation_deg


@dataclass(frozen=True)
class _Cand:
    """A candidate calibration: only the two mountings, what :class:`JointAngleEstimator`
    reads from a :class:`SegmentCalibration`."""

    q_segment_sensor_proximal: np.ndarray
    q_segment_sensor_distal: np.ndarray
