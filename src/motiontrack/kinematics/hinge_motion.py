"""The generic hinge calibrated from motion alone: no pose, no still period, any orientation.

:func:`calibrate_hinge_motion` takes two sensors on any two rigid segments joined by a hinge
(a mechanism, a goniometer arm, a prosthesis, a limb treated as a hinge) moved freely, and
returns the :class:`SegmentCalibration` of ``joint="hinge"``. Nothing about a posture is
assumed: the hinge may point any way, vertical included.

Method
------
* **Hinge axes** in both sensor frames: first :func:`~._hinge_axes.relative_hinge_axes` (the
  gyroscope kinematic constraint of Seel, Raisch & Schauer 2014, Sensors 14(4):6891, DOI
  10.3390/s140406891, §3.1, on the relative rate, with the 6D relative heading searched and
  tracked by the hinge constraint of Laidig et al. 2017, Curr Dir Biomed Eng 3(2):253, DOI
  10.1515/cdbme-2017-0070), which fixes signs and branch; then refined on the gyroscopes alone
  by the norm constraint ``|g1 x j1| = |g2 x j2|`` (Seel et al. 2014 eq. 1) with both
  gyroscope biases as unknowns (:func:`~._hinge_axes.refine_axes_norm_constraint`): no
  orientation error enters (0.02-0.3° in simulation instead of 1-3°). Its residual is also the
  "is it a hinge" test.
* **Joint centre** seen from each sensor (Seel et al. 2014 §3.2, :mod:`._joint_centre`), when
  accelerometers are given.
* **Hinge angle** (:mod:`._hinge_filter`, kernel :mod:`motiontrack._kernels.hinge_angle`): the
  integrated rate about the hinge, ``g2·j2 - g1·j1`` (eq. 5), with its bias and drift corrected
  by directions that turn about the hinge: the specific force at the joint centre (§3.3; the
  fused "up" of each sensor when no joint centre is known) and, in 9D, the magnetic field. No
  relative heading enters, so a hinge that is vertical for a while coasts on the gyroscopes.
* **Start**: the same filter run *backwards* from the end gives the angle and the rate bias at
  the first sample (a hinge vertical at the start, a filter not yet converged: it arrives there
  converged); the engine's filter starts from them (:class:`HingeCalibration`).
* **Zero**: the angle is 0 at sample ``zero_index`` (a reference pose time, or the first still
  moment, else the first sample: chosen by the caller,
  :mod:`motiontrack.exercise.motion_calibrator`); the distal frame is turned about the hinge
  by the backward pass's angle there.
* **Sign**: right-hand rule about the hinge axis oriented along the proximal sensor axis
  nearest to it (:func:`hinge_axis_sign`), times ``sign``; stated in
  :mod:`motiontrack.conventions`.
* Segment frames: z = hinge; proximal x = the proximal sensor axis most perpendicular to the
  hinge (made perpendicular). The off-axis angles (``off_axis_x_deg``, ``off_axis_y_deg``)
  come from the orientations with the 6D heading of the hinge constraint, seeded with the
  heading tracked backwards to the first sample: diagnostics, not calibrated angles.

Refused, never a silent number (:class:`~motiontrack.errors.CalibrationError`):

* too little motion: fewer than 20 moving samples, or less than ``min_rom_deg`` of rotation
  about the hinge, or a hinge axis the motion leaves undetermined (> 30°);
* not a hinge: the relative rotation has a second axis (the residual of the gyroscopes' norm
  constraint above ``max_off_axis`` of the rate about the hinge: a 2-DoF joint, a strap
  slipping, sensors not on neighbouring segments);
* 6D and the hinge (near) vertical all along: hinge rotation and heading drift cannot be told
  apart without a magnetometer (record 9D, or tilt the mechanism).

Weak results (fewer than 3 s of tilted hinge in 6D, an ambiguous heading, hinge axes that
disagree between the two halves of the data by more than ``warn_axis_std_deg``,
a small range, a norm-constraint residual above ``warn_off_axis``) lower ``confidence`` and say
why in ``notes``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from .. import quaternion as mq
from ..errors import CalibrationError, CalibrationWarning, ConfigurationError
from ._calib_math import _fill_nan, _frame, _lowpass, _rows
from ._calib_model import HingeAxes
from ._hinge_axes import (
    _relative_hinge_axes_core,
    _track_heading,
    refine_axes_norm_constraint,
)
from ._hinge_filter import SETTLE_S, HingeAngleFilter, HingeCalibration
from ._joint_centre import _JointCentre
from .calibration import _hinge_rom

__all__ = ["HingeMotionSettings", "calibrate_hinge_motion", "hinge_axis_sign"]

_CUTOFF_HZ = 2.5  # low-pass of the rates for the axis fit (as relative_hinge_axes)


@dataclass(frozen=True, kw_only=True, slots=True)
class HingeMotionSettings:
    """Thresholds of :func:`calibrate_hinge_motion` (units in comments)."""

    min_rate: float = 0.15  # rad/s; slower samples (both sensors) carry no axis information
    min_rom_deg: float = 15.0  # deg; less rotation about the hinge is refused
    warn_rom_deg: float = 30.0  # deg; less lowers the confidence
    max_off_axis: float = 0.1  # norm-constraint residual / RMS hinge rate above this: not a hinge
    warn_off_axis: float = 0.04  # above this: a note and lower confidence
    min_tilted_s: float = 1.0  # s; 6D: less time with a non-vertical hinge is refused
    warn_tilted_s: float = 3.0  # s; 6D: less lowers the confidence
    tilt_min_deg: float = 30.0  # deg; a hinge this far from vertical informs the 6D heading
    warn_axis_std_deg: float = 3.0  # deg; the data halves' axes differing more: lower confidence

    def __post_init__(self) -> None:
        for name in self.__slots__:  # type: ignore[attr-defined]
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigurationError(f"{name} must be > 0, got {v!r}")


def hinge_axis_sign(j1: npt.ArrayLike) -> float:
    """+1 or -1: the sign that makes the largest component of the proximal hinge axis ``j1``
    (proximal sensor frame) positive, the default orientation of the generic hinge's axis."""
    a = np.asarray(j1, dtype=np.float64)
    return 1.0 if a[int(np.argmax(np.abs(a)))] >= 0 else -1.0


def calibrate_hinge_motion(
    *,
    gyr_proximal: npt.ArrayLike,
    gyr_distal: npt.ArrayLike,
    q_proximal: npt.ArrayLike,
    q_distal: npt.ArrayLike,
    fs: float,
    mode: Literal["6d", "9d"] = "6d",
    mag_proximal: npt.ArrayLike | None = None,
    mag_distal: npt.ArrayLike | None = None,
    acc_proximal: npt.ArrayLike | None = None,
    acc_distal: npt.ArrayLike | None = None,
    zero_index: int = 0,
    sign: float = 1.0,
    settings: HingeMotionSettings | None = None,
    warn: bool = True,
) -> HingeCalibration:
    """Hinge calibration from motion alone (see the module docstring).

    Parameters
    ----------
    gyr_proximal, gyr_distal : array_like, shape (N, 3)
        Gyroscopes, rad/s, sensor frames, one time base of rate ``fs`` (NaN rows = gaps).
    q_proximal, q_distal : array_like, shape (N, 4)
        Fused ``q_earth_sensor`` (6D or 9D), the orientations the angles will be computed from.
    fs : float
        Hz.
    mode : {"6d", "9d"}
        How ``q_*`` were fused (``"9d"``: they share magnetic north).
    mag_proximal, mag_distal : array_like, shape (N, 3), optional
        9D only: the magnetometers (directions that turn about the hinge, and the estimator's
        clean-field check).
    acc_proximal, acc_distal : array_like, shape (N, 3), optional
        Accelerometers, m/s²: the joint centre seen from each sensor (Seel et al. 2014 §3.2,
        :mod:`._joint_centre`), so that the angle filter is corrected with the specific force
        at the joint centre instead of the fused up direction (biased by centripetal
        acceleration in brisk motion). Without them: the fused up direction.
    zero_index : int
        Sample at which the hinge angle is 0.
    sign : {1.0, -1.0}
        Multiplies the default axis orientation (:func:`hinge_axis_sign`).
    settings : HingeMotionSettings, optional
    warn : bool
        Emit a :class:`CalibrationWarning` when ``confidence`` < 0.5.

    Returns
    -------
    HingeCalibration
        ``joint="hinge"``, ``pose="motion"``; gyroscope biases from the norm constraint (their
        components along the hinge are not observable there: the angle filter estimates the
        rate bias about the hinge); the angle filter's start (angle, rate bias, 6D heading) at
        the first sample; the joint centre from each sensor (zeros without accelerometers).

    Raises
    ------
    CalibrationError
        Too little motion, not a hinge, or (6D) a hinge vertical all along.
    """
    s = settings or HingeMotionSettings()
    if mode not in ("6d", "9d"):
        raise ConfigurationError(f"mode must be '6d' or '9d', got {mode!r}")
    if sign not in (1, -1):
        raise ConfigurationError(f"sign must be +1 or -1, got {sign!r}")
    gp, gd = _rows(gyr_proximal, "gyr_proximal"), _rows(gyr_distal, "gyr_distal")
    qp, qd = _rows(q_proximal, "q_proximal", 4), _rows(q_distal, "q_distal", 4)
    n = qp.shape[0]
    if not 0 <= zero_index < n:
        raise ConfigurationError(f"zero_index {zero_index} outside the {n} samples")
    nine = mode == "9d"
    ax, _, contrast, delta_t = _relative_hinge_axes_core(
        gp, gd, qp, qd, fs=fs, shared_heading=nine, cutoff_hz=_CUTOFF_HZ, min_rate=s.min_rate
    )
    notes: list[str] = []
    j1, j2, b1, b2, resid = refine_axes_norm_constraint(
        gp, gd, ax.proximal, ax.distal, fs=fs, min_rate=s.min_rate
    )
    off = _off_axis_ratio(gp, gd, fs, j1, j2, b1, b2, resid)
    sgn = hinge_axis_sign(j1) * float(sign)
    j1, j2 = sgn * j1, sgn * j2
    rom = _hinge_rom(_fill_nan(gp), _fill_nan(gd), j1, j2, fs)
    _check_motion(ax, rom, off, s)
    tilted_s = _tilted_seconds(qp, j1, fs, s.tilt_min_deg)
    if not nine:
        _check_observable(tilted_s, s)
    heading0 = None if nine else _start_heading(qp, qd, j1, j2, fs, delta_t)
    cp = _frame(j1, np.eye(3)[int(np.argmin(np.abs(j1)))], np.array([1.0, 0.0, 0.0]))
    cd = _frame(j2, np.eye(3)[int(np.argmin(np.abs(j2)))], np.array([1.0, 0.0, 0.0]))
    base = HingeCalibration(
        joint="hinge",
        q_segment_sensor_proximal=cp,
        q_segment_sensor_distal=cd,
        hinge_axis_proximal=j1,
        hinge_axis_distal=j2,
        hinge_axis_std_deg=ax.std_deg.copy(),
        gyr_bias_proximal=b1,
        gyr_bias_distal=b2,
        confidence=0.0,
        pose="motion",
        rom_deg=rom,
    )
    mags = _head((mag_proximal, mag_distal), n) if nine else (None, None)
    accs: tuple = (None, None)
    if acc_proximal is not None and acc_distal is not None:
        accs = (_rows(acc_proximal, "acc_proximal"), _rows(acc_distal, "acc_distal"))
        jc = _JointCentre(accs[0], gp, accs[1], gd, qp, qd, delta_t, fs, s.min_rate)
        if jc.valid:
            o1, o2, _, _ = jc.solve()
            base = dataclasses.replace(base, joint_centre_proximal=o1, joint_centre_distal=o2)
    start, bias, a0 = _start_and_zero(qp, qd, gp, gd, accs, base, fs, mags, zero_index)
    # R_rel = Rz(a) for a hinge: the distal frame turned by a0 about its z reads a - a0
    cd = mq.multiply(np.array([math.cos(0.5 * a0), 0.0, 0.0, math.sin(0.5 * a0)]), cd)
    spread = _half_spread(gp, gd, j1, j2, fs, s.min_rate)
    confidence = _confidence(ax, spread, rom, off, tilted_s, contrast, nine, s, notes)
    cal = dataclasses.replace(
        base,
        q_segment_sensor_distal=cd,
        confidence=confidence,
        notes=tuple(notes),
        start_angle_deg=math.degrees(math.remainder(start - a0, 2.0 * math.pi)),
        start_bias_dps=math.degrees(bias),
        start_heading_deg=heading0,
    )
    if warn and confidence < 0.5:
        warnings.warn(
            f"weak hinge calibration (confidence {confidence:.2f}): " + "; ".join(notes),
            CalibrationWarning,
            stacklevel=2,
        )
    return cal


def _off_axis_ratio(
    gp: np.ndarray,
    gd: np.ndarray,
    fs: float,
    j1: np.ndarray,
    j2: np.ndarray,
    b1: np.ndarray,
    b2: np.ndarray,
    residual: float,
) -> float:
    """RMS residual of the norm constraint (rad/s, gyroscopes only) over the RMS rate about the
    hinge: <= 0.02 for a hinge in simulation (noise, 50 Hz brisk motion), 0.06-0.15 with a
    second axis turning 5°, 0.12-0.3 with 10°: the second axis's share of the relative rate."""
    g1 = _lowpass(_fill_nan(gp), fs, _CUTOFF_HZ) - b1
    g2 = _lowpass(_fill_nan(gd), fs, _CUTOFF_HZ) - b2
    rate = g2 @ j2 - g1 @ j1
    return float(residual / max(math.sqrt(float(np.mean(rate**2))), 1e-12))


def _check_motion(ax: HingeAxes, rom: float, off: float, s: HingeMotionSettings) -> None:
    if rom < s.min_rom_deg:
        raise CalibrationError(
            f"too little hinge motion: {rom:.1f}° about the axis (< {s.min_rom_deg:g}°); move the "
            "joint through its range a few times"
        )
    if off > s.max_off_axis:
        raise CalibrationError(
            f"not a hinge: the relative rotation has a second axis ({100 * off:.0f} % of the hinge "
            f"rate off the best axis, > {100 * s.max_off_axis:.0f} %): a 2-DoF joint, a sensor slipping "
            "on its segment, or two sensors not on neighbouring segments"
        )
    if ax.std_deg[1] > 30.0:
        raise CalibrationError(
            "too little hinge motion: the motion does not determine the hinge axis"
        )


def _tilted_seconds(qp: np.ndarray, j1: np.ndarray, fs: float, tilt_min_deg: float) -> float:
    """Seconds during which the hinge is at least ``tilt_min_deg`` away from vertical."""
    ok = np.all(np.isfinite(qp), axis=1)
    h = mq.rotate(qp[ok], np.broadcast_to(j1, (int(ok.sum()), 3)).copy())
    return float(np.sum(np.abs(h[:, 2]) < math.cos(math.radians(tilt_min_deg))) / fs)


def _check_observable(tilted_s: float, s: HingeMotionSettings) -> None:
    if tilted_s < s.min_tilted_s:
        raise CalibrationError(
            f"the hinge stayed near vertical (tilted {tilted_s:.1f} s in all): without a magnetometer "
            "its rotation cannot be told from heading drift; record with magnetometers (9D) or tilt "
            "the mechanism during the recording"
        )


def _start_heading(
    qp: np.ndarray, qd: np.ndarray, j1: np.ndarray, j2: np.ndarray, fs: float, delta_t: np.ndarray
) -> float:
    """6D relative heading at the first sample, deg: tracked backwards from the end."""
    ok = np.flatnonzero(np.all(np.isfinite(qp), axis=1) & np.all(np.isfinite(qd), axis=1))
    back = _track_heading(
        np.ascontiguousarray(qp[::-1]),
        np.ascontiguousarray(qd[::-1]),
        j1,
        j2,
        fs,
        float(delta_t[ok[-1]]),
    )
    return math.degrees(float(back[::-1][ok[0]]))


def _start_and_zero(
    qp: np.ndarray,
    qd: np.ndarray,
    gp: np.ndarray,
    gd: np.ndarray,
    accs: tuple,
    base: HingeCalibration,
    fs: float,
    mags: tuple,
    k0: int,
) -> tuple[float, float, float]:
    """(angle at the first sample, rate bias there, angle at the zero sample ``k0``), rad and
    rad/s, in the frames of ``base``: the angle filter (:class:`HingeAngleFilter`) run
    *backwards* from the end, so that where the start is poorly observed (a filter converging,
    a hinge vertical) it arrives converged, coasting on the gyroscopes with the bias it
    estimated."""
    rev = slice(None, None, -1)
    n = qp.shape[0]
    filt = HingeAngleFilter(base, fs=fs, use_mag=mags[0] is not None, seeded=False)
    m = [None if x is None else np.ascontiguousarray(x[rev]) for x in (*mags, *accs)]
    # gyr[k] is the mean rate over (t[k-1], t[k]]: going back from t[k+1] to t[k] uses gyr[k+1]
    gpn, gdn = _fill_nan(gp), _fill_nan(gd)
    gpb, gdb = np.vstack([gpn[1:], gpn[-1:]]), np.vstack([gdn[1:], gdn[-1:]])
    args = [qp[rev], qd[rev], -gpb[rev], -gdb[rev]]
    # the last SETTLE_S of the reversed run (the recording's start) coast on the gyroscopes
    cut = n - min(int(SETTLE_S * fs), n // 2)
    head = filt.update_batch(
        *(np.ascontiguousarray(a[:cut]) for a in args), *(None if x is None else x[:cut] for x in m)
    )
    filt.hold = n - cut
    tail = filt.update_batch(
        *(np.ascontiguousarray(a[cut:]) for a in args), *(None if x is None else x[cut:] for x in m)
    )
    out = np.vstack([head, tail])[rev]
    th = out[:, 0]
    fin = np.flatnonzero(np.isfinite(th))
    if fin.size == 0:
        raise CalibrationError(
            "the hinge angle was never observable (hinge along gravity throughout)"
        )
    first = int(fin[0])
    zero = int(fin[np.argmin(np.abs(fin - k0))])
    return float(th[first]), float(-out[first, 2]), float(th[zero])


def _half_spread(
    gp: np.ndarray, gd: np.ndarray, j1: np.ndarray, j2: np.ndarray, fs: float, min_rate: float
) -> float | None:
    """The hinge axes' own uncertainty, deg: the largest angle between the norm-constraint
    axes fitted on each half of the data and on all of it (gyroscopes only, no orientation).
    None when a half has too little motion to fit (fewer than 20 moving samples)."""
    n = gp.shape[0]
    worst = 0.0
    for sl in (slice(0, n // 2), slice(n // 2, n)):
        a = _lowpass(_fill_nan(gp[sl]), fs, _CUTOFF_HZ)
        b = _lowpass(_fill_nan(gd[sl]), fs, _CUTOFF_HZ)
        moving = (np.linalg.norm(a, axis=1) > min_rate) | (np.linalg.norm(b, axis=1) > min_rate)
        if int(moving.sum()) < 20:
            return None
        h1, h2, *_ = refine_axes_norm_constraint(gp[sl], gd[sl], j1, j2, fs=fs, min_rate=min_rate)
        for u, v in ((h1, j1), (h2, j2)):
            worst = max(worst, math.degrees(math.acos(min(1.0, abs(float(u @ v))))))
    return worst


def _head(mags: tuple, n: int) -> tuple:
    return tuple(None if m is None else np.asarray(m, dtype=np.float64)[:n] for m in mags)


def _confidence(
    ax: HingeAxes,
    spread: float | None,
    rom: float,
    off: float,
    tilted_s: float,
    contrast: float,
    nine: bool,
    s: HingeMotionSettings,
    notes: list[str],
) -> float:
    """0..1 from the hinge calibration's own evidence: the range about the hinge, the axes'
    agreement across the two halves of the data (``spread``, deg; the relative-rate search's
    spread ``ax.std_deg`` only when a half hardly moved), the norm constraint's residual (the
    off-axis share), and in 6D the observability of the heading (tilted time, contrast); says
    why in ``notes``."""
    unc = spread if spread is not None else float(np.max(ax.std_deg))
    f = min(1.0, rom / (2.0 * s.warn_rom_deg))
    f *= 1.0 / (1.0 + (unc / s.warn_axis_std_deg) ** 2)
    f *= 1.0 / (1.0 + (off / s.warn_off_axis) ** 4)
    if rom < s.warn_rom_deg:
        notes.append(f"small hinge motion: {rom:.0f}° (< {s.warn_rom_deg:g}°)")
    if unc > s.warn_axis_std_deg:
        notes.append(f"hinge axis uncertain: ±{unc:.1f}°"
                     + (" between the two halves of the motion" if spread is not None else ""))
    if off > s.warn_off_axis:
        notes.append(
            f"{100 * off:.0f} % of the relative rate is off the hinge axis (a loose or 2-DoF joint?)"
        )
    if not nine and tilted_s < s.warn_tilted_s:
        f *= 0.5
        notes.append(
            f"the hinge was tilted away from vertical for only {tilted_s:.1f} s (6D heading weakly observed)"
        )
    if not nine and contrast < 3.0:
        f *= 0.8
        notes.append(
            "relative heading ambiguous (the proximal segment hardly rotated off the hinge axis)"
        )
    return float(f)
