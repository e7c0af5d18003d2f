"""Joint angles from two segment orientations: the joint table, batch and streaming.

Segment frames (every segment, both sides): x anterior, y superior (along the long axis,
pointing proximally), z to the right. For a *left* limb the relative rotation is
mirrored through the sagittal plane before decomposition, so the sign table below holds
for both sides (ISB recommendation: mirror left-side data).

=========  ========  ==========================  =================================================
joint      sequence  angle (column)              positive direction (right side), zero
=========  ========  ==========================  =================================================
knee       Z-X'-Y''  ``flexion_deg``             flexion (shank rotates posteriorly) = -a about
           (Grood &                              the femoral z (mediolateral) axis; 0 = straight
           Suntay)   ``abduction_deg``           abduction (valgus) = -b about the floating axis
                     ``rotation_deg``            internal rotation of the tibia = +c about the
                                                 tibial y (long) axis
hip        Z-X'-Y''  ``flexion_deg``             flexion = +a about the pelvic z axis
           (ISB      ``adduction_deg``           adduction = +b about the floating axis
           2002)     ``rotation_deg``            internal rotation = +c about the femoral y axis
elbow      Z-X'-Y''  ``flexion_deg``             flexion = +a about the humeral z axis
           (ISB      ``carrying_deg``            carrying angle (abduction of the forearm) = -b
           2005)     ``pronation_deg``           pronation = +c about the forearm y axis
shoulder   Y-X'-Y''  ``plane_of_elevation_deg``  +a about the thorax y axis; 0 = abduction plane,
           (ISB                                  90 = forward flexion plane
           2005)     ``elevation_deg``           elevation = -b >= 0 (arm raised away from the
                                                 thorax axis)
                     ``rotation_deg``            internal (axial) rotation = +c about humeral y
hinge      Z-X'-Y''  ``flexion_deg``             +a about the proximal z (the calibrated hinge)
                     ``off_axis_x_deg``          +b about the floating axis
                     ``off_axis_y_deg``          +c about the distal y axis
=========  ========  ==========================  =================================================

``a, b, c`` are the angles of R = R(a) R(b) R(c) of the distal segment relative to the
proximal segment. In Grood & Suntay's terms the knee's e1 is the femoral z axis, e3 the
tibial y axis and e2 = e3 x e1 the floating axis. The knee's flexion is *negated* against
the right-hand rule about +z (flexion moves the shank's distal end posteriorly, -x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from .._kernels import joint as _k
from ..errors import ConfigurationError, InputError
from ._hinge_filter import HingeAngleFilter, HingeCalibration

Joint = Literal["knee", "hip", "elbow", "shoulder", "hinge"]
Side = Literal["right", "left"]
Mode = Literal["6d", "9d", "raw"]


@dataclass(frozen=True)
class _JointSpec:
    seq: int
    names: tuple[str, str, str]
    signs: tuple[float, float, float]
    hinge_like: bool  # the 6D hinge constraint applies


JOINTS: dict[str, _JointSpec] = {
    "knee": _JointSpec(
        _k.SEQ_ZXY, ("flexion_deg", "abduction_deg", "rotation_deg"), (-1.0, -1.0, 1.0), True
    ),
    "hip": _JointSpec(
        _k.SEQ_ZXY, ("flexion_deg", "adduction_deg", "rotation_deg"), (1.0, 1.0, 1.0), False
    ),
    "elbow": _JointSpec(
        _k.SEQ_ZXY, ("flexion_deg", "carrying_deg", "pronation_deg"), (1.0, -1.0, 1.0), True
    ),
    "shoulder": _JointSpec(
        _k.SEQ_YXY,
        ("plane_of_elevation_deg", "elevation_deg", "rotation_deg"),
        (1.0, -1.0, 1.0),
        False,
    ),
    "hinge": _JointSpec(
        _k.SEQ_ZXY, ("flexion_deg", "off_axis_x_deg", "off_axis_y_deg"), (1.0, 1.0, 1.0), True
    ),
}

#: The sign of the hinge-axis rotation (about proximal +z) that counts as *flexion*.
FLEXION_SIGN: dict[str, float] = {k: v.signs[0] for k, v in JOINTS.items() if v.seq == _k.SEQ_ZXY}


@dataclass(frozen=True, kw_only=True, slots=True)
class JointSettings:
    """How relative heading between the two sensors is handled.

    mode
        ``"6d"``: orientations from 6D fusion (no magnetometer), each with its own drifting
        heading; the relative heading is estimated continuously from the hinge constraint
        (hinge-like joints only: knee, elbow, hinge). ``"9d"``: orientations from 9D fusion
        share magnetic north while both magnetometers agree (same field norm and dip
        angle); while they disagree the estimator falls back to the 6D constraint and flags
        the samples. ``"raw"``: no heading handling (orientations already share a heading).
    heading_tau
        s; time constant of the relative-heading average. Longer = smoother, slower to follow
        drift. Must be > 0.
    mag_norm_tolerance
        relative difference of the two field norms (0.08 = 8 %) above which the field is
        called disturbed (9D).
    mag_dip_tolerance_deg
        degrees; difference of the two dip angles above which the field is disturbed (9D).
    mag_tau
        s; smoothing of the two disagreement metrics (9D).
    mag_clean_hold
        s; the field must stay clean this long before the shared heading is trusted again.
    """

    mode: Mode = "6d"
    heading_tau: float = 4.0  # s
    mag_norm_tolerance: float = 0.08  # fraction of the field norm
    mag_dip_tolerance_deg: float = 4.0  # deg
    mag_tau: float = 0.5  # s
    mag_clean_hold: float = 2.0  # s

    def __post_init__(self) -> None:
        if self.mode not in ("6d", "9d", "raw"):
            raise ConfigurationError(f"mode must be '6d', '9d' or 'raw', got {self.mode!r}")
        for name in ("heading_tau", "mag_norm_tolerance", "mag_dip_tolerance_deg", "mag_tau"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigurationError(f"{name} must be a positive number, got {v!r}")
        if not (math.isfinite(self.mag_clean_hold) and self.mag_clean_hold >= 0):
            raise ConfigurationError(f"mag_clean_hold must be >= 0 s, got {self.mag_clean_hold!r}")


@dataclass(frozen=True)
class JointAngles:
    """Per-sample joint angles.

    Attributes
    ----------
    joint, side : str
    names : tuple of str
        Column names of ``values_deg`` (see the joint table in :mod:`motiontrack.kinematics`).
    values_deg : ndarray, shape (N, 3)
        Angles in degrees; NaN where an input sample was missing.
    heading_offset_deg : ndarray, shape (N,)
        Relative heading (degrees, about the earth vertical) applied to the distal sensor.
    flags : ndarray, shape (N,), uint8
        Bit 1 heading from the hinge constraint, 2 magnetic disturbance (9D fell back to 6D),
        4 heading not yet informed, 8 missing input. See ``FLAG_*`` in this module.

    Each name is also an attribute: ``res.flexion_deg`` is ``values_deg[:, 0]`` for the knee.
    """

    joint: str
    side: str
    names: tuple[str, ...]
    values_deg: npt.NDArray[np.float64]
    heading_offset_deg: npt.NDArray[np.float64] = field(repr=False)
    flags: npt.NDArray[np.uint8] = field(repr=False)

    def __getattr__(self, name: str) -> npt.NDArray[np.float64]:
        names = object.__getattribute__(self, "names")
        if name in names:
            return object.__getattribute__(self, "values_deg")[:, names.index(name)]
        raise AttributeError(name)

    def as_dict(self) -> dict[str, npt.NDArray[np.float64]]:
        """``{name: (N,) array}`` in column order (primary angle first)."""
        return {n: self.values_deg[:, i] for i, n in enumerate(self.names)}

    def __len__(self) -> int:
        return self.values_deg.shape[0]


FLAG_CONSTRAINT = _k.FLAG_CONSTRAINT
FLAG_MAG_DISTURBED = _k.FLAG_MAG_DISTURBED
FLAG_UNINFORMED = _k.FLAG_UNINFORMED
FLAG_GAP = _k.FLAG_GAP


def _spec(joint: str) -> _JointSpec:
    try:
        return JOINTS[joint]
    except KeyError:
        raise ConfigurationError(
            f"unknown joint {joint!r}; choose one of {sorted(JOINTS)}"
        ) from None


def _coeffs(spec: _JointSpec, side: str, settings: JointSettings, fs: float) -> np.ndarray:
    if side not in ("right", "left"):
        raise ConfigurationError(f"side must be 'right' or 'left', got {side!r}")
    mode = {"raw": _k.MODE_RAW, "6d": _k.MODE_6D, "9d": _k.MODE_9D}[settings.mode]
    if mode != _k.MODE_RAW and not spec.hinge_like and settings.mode == "6d":
        raise ConfigurationError(
            "the 6D heading correction needs a hinge-like joint (knee, elbow, hinge); "
            "use mode='9d' or 'raw' for hip and shoulder"
        )
    dt = 1.0 / fs
    c = np.zeros(_k.N_COEFFS)
    c[_k.C_RATE] = 1.0 - math.exp(-dt / settings.heading_tau)
    c[_k.C_INIT_W] = 0.5
    c[_k.C_SEQ] = spec.seq
    c[_k.C_MIRROR] = 1.0 if side == "left" else 0.0
    c[_k.C_MODE] = mode
    c[_k.C_MAG_NORM_TOL] = settings.mag_norm_tolerance
    c[_k.C_MAG_DIP_TOL] = math.radians(settings.mag_dip_tolerance_deg)
    c[_k.C_MAG_RATE] = 1.0 - math.exp(-dt / settings.mag_tau)
    c[_k.C_CLEAN_HOLD] = round(settings.mag_clean_hold * fs)
    c[_k.C_ELEV_SIGMA] = 0.15  # |z| difference of the two unit hinge vectors (~9°)
    return c


def _quat_rows(q: npt.ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(q, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InputError(f"{name} must have shape (N, 4) or (4,), got {np.shape(q)}")
    return np.ascontiguousarray(arr)


def _vec_rows(v: npt.ArrayLike | None, n: int, name: str) -> np.ndarray:
    if v is None:
        return np.full((n, 3), np.nan)
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.shape != (n, 3):
        raise InputError(f"{name} must have shape ({n}, 3), got {np.shape(v)}")
    return np.ascontiguousarray(arr)


def _mounting(calibration: object | None) -> tuple[np.ndarray, np.ndarray]:
    """(c_p, c_d) = q_sensor_segment of the proximal and distal sensors."""
    if calibration is None:
        ident = np.array([1.0, 0.0, 0.0, 0.0])
        return ident, ident.copy()
    try:
        qp = np.asarray(calibration.q_segment_sensor_proximal, dtype=np.float64)  # type: ignore[attr-defined]
        qd = np.asarray(calibration.q_segment_sensor_distal, dtype=np.float64)  # type: ignore[attr-defined]
    except AttributeError:
        raise InputError(
            "calibration must be a SegmentCalibration (or None for aligned sensors)"
        ) from None
    conj = np.array([1.0, -1.0, -1.0, -1.0])
    # q_sensor_segment = conj(q_segment_sensor)
    return np.ascontiguousarray(qp * conj), np.ascontiguousarray(qd * conj)


class JointAngleEstimator:
    """Streaming joint angles from two orientation streams (shares its kernel with
    :func:`joint_angles`).

    Parameters
    ----------
    calibration : SegmentCalibration or None
        Sensor-to-segment mounting of both sensors (:func:`calibrate_joint`); ``None``
        means each sensor frame already is its segment frame.
    joint : {"knee", "hip", "elbow", "shoulder", "hinge"}
    fs : float
        Sample rate, Hz (sets the heading and magnetometer time constants).
    side : {"right", "left"}
    settings : JointSettings

    Examples
    --------
    >>> import numpy as np
    >>> from motiontrack.kinematics import JointAngleEstimator
    >>> est = JointAngleEstimator(None, joint="knee", fs=100.0)
    >>> q = np.array([1.0, 0.0, 0.0, 0.0])
    >>> (est.update(q, q) + 0.0).round(6).tolist()  # + 0.0 turns -0.0 into 0.0
    [0.0, 0.0, 0.0]

    Notes
    -----
    One by one, one batch, or any split of batches with the state carried over give
    identical output.
    """

    def __init__(
        self,
        calibration: object | None = None,
        *,
        joint: Joint = "knee",
        fs: float,
        side: Side = "right",
        settings: JointSettings | None = None,
    ) -> None:
        if not (isinstance(fs, (int, float)) and math.isfinite(fs) and fs > 0):
            raise ConfigurationError(f"fs must be a positive sample rate in Hz, got {fs!r}")
        self.settings = settings or JointSettings()
        self._spec = _spec(joint)
        self.joint = joint
        self.side = side
        self.fs = float(fs)
        self._coeffs = _coeffs(self._spec, side, self.settings, self.fs)
        self._c_p, self._c_d = _mounting(calibration)
        self._state = np.zeros(_k.N_STATE)
        self._signs = np.array(self._spec.signs)
        self._hinge: HingeAngleFilter | None = None
        if joint == "hinge" and isinstance(calibration, HingeCalibration):
            self._hinge = HingeAngleFilter(calibration, fs=self.fs, use_mag=self.settings.mode == "9d")
            if self.settings.mode == "6d" and calibration.start_heading_deg is not None:
                self.seed_heading(calibration.start_heading_deg)

    @property
    def names(self) -> tuple[str, str, str]:
        return self._spec.names

    @property
    def state(self) -> np.ndarray:
        """A copy of the internal state (assignable, for snapshot/restore); a motion-calibrated
        hinge's angle filter state and the samples left of its settling hold follow the
        heading estimator's (a state without the hold, saved before it was kept, is accepted
        and leaves the hold as it is)."""
        if self._hinge is not None:
            return np.concatenate([self._state, self._hinge.state, [float(self._hinge.hold)]])
        return self._state.copy()

    @state.setter
    def state(self, value: npt.ArrayLike) -> None:
        v = np.asarray(value, dtype=np.float64)
        nh = self._hinge.state.size if self._hinge is not None else 0
        sizes = (_k.N_STATE + nh, _k.N_STATE + nh + 1) if nh else (_k.N_STATE,)
        if v.shape not in [(n,) for n in sizes]:
            raise InputError(f"state must have shape ({sizes[-1]},)")
        self._state[:] = v[: _k.N_STATE]
        if self._hinge is not None:
            self._hinge.state[:] = v[_k.N_STATE : _k.N_STATE + nh]
            if v.size > _k.N_STATE + nh:
                self._hinge.hold = int(v[-1])

    @property
    def heading_offset_deg(self) -> float:
        """Current relative heading estimate (degrees) applied to the distal sensor."""
        s = self._state
        return math.degrees(math.atan2(s[_k.S_PY], s[_k.S_PX])) if s[_k.S_INIT] else 0.0

    def reset(self) -> None:
        self._state[:] = 0.0
        if self._hinge is not None:
            self._hinge.state[:] = 0.0

    def seed_heading(self, delta_deg: float) -> None:
        """Start the relative-heading estimate at ``delta_deg`` (degrees, as
        :attr:`heading_offset_deg`) instead of waiting for the first informative sample: the
        samples before it (a hinge vertical at the start, 6D) then use it and are not flagged
        ``FLAG_UNINFORMED``. Informative samples update it as usual."""
        if not math.isfinite(delta_deg):
            raise InputError(f"delta_deg must be finite, got {delta_deg!r}")
        d = math.radians(delta_deg)
        self._state[_k.S_PX], self._state[_k.S_PY] = math.cos(d), math.sin(d)
        self._state[_k.S_INIT] = 1.0

    def update_batch(
        self,
        q_proximal: npt.ArrayLike,
        q_distal: npt.ArrayLike,
        mag_proximal: npt.ArrayLike | None = None,
        mag_distal: npt.ArrayLike | None = None,
        *,
        gyr_proximal: npt.ArrayLike | None = None,
        gyr_distal: npt.ArrayLike | None = None,
        acc_proximal: npt.ArrayLike | None = None,
        acc_distal: npt.ArrayLike | None = None,
    ) -> JointAngles:
        """Advance over N samples.

        Parameters
        ----------
        q_proximal, q_distal : array_like, shape (N, 4)
            ``q_earth_sensor`` of the proximal (e.g. thigh) and distal (e.g. shank) sensor.
            Non-finite rows give NaN angles and do not touch the state.
        mag_proximal, mag_distal : array_like, shape (N, 3), optional
            Magnetometer, sensor frame, any consistent unit (µT); used in ``"9d"`` mode only
            to decide whether the field is clean (and, for a motion-calibrated hinge, as
            directions that turn about the hinge).
        gyr_proximal, gyr_distal : array_like, shape (N, 3), optional
            Gyroscopes, rad/s. With a :class:`~._hinge_filter.HingeCalibration` (the generic
            hinge calibrated from motion) the primary angle is then the gyroscope rate about
            the hinge corrected by gravity (9D: and the field), :mod:`._hinge_filter`; without
            them it comes from the orientations alone, like every other joint.
        acc_proximal, acc_distal : array_like, shape (N, 3), optional
            Accelerometers, m/s² (motion-calibrated hinge: the specific force at the joint
            centre is the direction the angle is corrected with; without them, the fused up).

        Returns
        -------
        JointAngles
        """
        qp = _quat_rows(q_proximal, "q_proximal")
        qd = _quat_rows(q_distal, "q_distal")
        if qp.shape != qd.shape:
            raise InputError(f"q_proximal {qp.shape} and q_distal {qd.shape} differ in length")
        n = qp.shape[0]
        mp = _vec_rows(mag_proximal, n, "mag_proximal")
        md = _vec_rows(mag_distal, n, "mag_distal")
        out = np.empty((n, 3))
        info = np.empty((n, 2))
        _k.run(self._state, self._coeffs, qp, qd, self._c_p, self._c_d, mp, md, out, info)
        if self._hinge is not None and gyr_proximal is not None and gyr_distal is not None:
            mags = (mag_proximal, mag_distal) if self.settings.mode == "9d" else (None, None)
            out[:, 0] = self._hinge.update_batch(
                qp, qd, gyr_proximal, gyr_distal, *mags, acc_proximal, acc_distal
            )[:, 0]
        return JointAngles(
            joint=self.joint,
            side=self.side,
            names=self._spec.names,
            values_deg=np.degrees(out) * self._signs,
            heading_offset_deg=np.degrees(info[:, 0]),
            flags=info[:, 1].astype(np.uint8),
        )

    def update(
        self,
        q_proximal: npt.ArrayLike,
        q_distal: npt.ArrayLike,
        mag_proximal: npt.ArrayLike | None = None,
        mag_distal: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.float64]:
        """One sample ``(4,)`` -> angles ``(3,)`` in degrees, or a block ``(n, 4)`` -> ``(n, 3)``
        (columns in :attr:`names` order)."""
        single = np.ndim(q_proximal) == 1
        res = self.update_batch(q_proximal, q_distal, mag_proximal, mag_distal)
        return res.values_deg[0] if single else res.values_deg


def joint_angles(
    q_proximal: npt.ArrayLike,
    q_distal: npt.ArrayLike,
    *,
    joint: Joint = "knee",
    calibration: object | None = None,
    fs: float | None = None,
    side: Side = "right",
    mode: Mode | None = None,
    mag_proximal: npt.ArrayLike | None = None,
    mag_distal: npt.ArrayLike | None = None,
    settings: JointSettings | None = None,
) -> JointAngles:
    """Joint angles (degrees) of the distal segment relative to the proximal one.

    Parameters
    ----------
    q_proximal, q_distal : array_like, shape (N, 4)
        ``q_earth_sensor`` of the proximal and distal sensor (w, x, y, z).
    joint : {"knee", "hip", "elbow", "shoulder", "hinge"}
        Axis order and signs per the table in :mod:`motiontrack.kinematics`.
    calibration : SegmentCalibration or None
        From :func:`calibrate_joint`; ``None`` = sensor frames are segment frames.
    fs : float
        Sample rate, Hz; required unless ``mode="raw"``.
    side : {"right", "left"}
    mode : {"6d", "9d", "raw"}, optional
        Relative-heading handling (see :class:`JointSettings`); default ``settings.mode``,
        or ``"6d"`` for hinge-like joints and ``"raw"`` for hip and shoulder when neither is
        given.
    mag_proximal, mag_distal : array_like, shape (N, 3), optional
        Magnetometer samples for the ``"9d"`` clean-field check.
    settings : JointSettings, optional

    Returns
    -------
    JointAngles
        ``.flexion_deg`` etc. (N,), ``.values_deg`` (N, 3), ``.heading_offset_deg``, ``.flags``.

    Notes
    -----
    Same kernel as :class:`JointAngleEstimator` (one batch from a fresh state).
    """
    spec = _spec(joint)
    if settings is None:
        settings = JointSettings(mode=mode or ("6d" if spec.hinge_like else "raw"))
    elif mode is not None and mode != settings.mode:
        settings = JointSettings(
            mode=mode,
            heading_tau=settings.heading_tau,
            mag_norm_tolerance=settings.mag_norm_tolerance,
            mag_dip_tolerance_deg=settings.mag_dip_tolerance_deg,
            mag_tau=settings.mag_tau,
            mag_clean_hold=settings.mag_clean_hold,
        )
    if fs is None:
        if settings.mode != "raw":
            raise InputError(f"fs (Hz) is required for mode={settings.mode!r}")
        fs = 100.0  # unused by the raw mode
    est = JointAngleEstimator(calibration, joint=joint, fs=fs, side=side, settings=settings)
    return est.update_batch(q_proximal, q_distal, mag_proximal, mag_distal)
