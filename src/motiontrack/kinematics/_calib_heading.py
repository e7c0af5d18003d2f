"""How :func:`~motiontrack.kinematics.calibration.calibrate_joint` gets the hinge axes and
the relative heading of the motion window: which orientations to fit (the given ones or an
offline re-fusion), a magnetometer hint for an ambiguous 6D branch, the 6D relative-rate
heading tracked where the 9D headings are too coarse, and, in 6D, the branch and a constant
heading offset from the joint-centre accelerations. Method:
:mod:`motiontrack.kinematics.calibration`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .. import quaternion as mq
from ..errors import CalibrationError, MotionTrackError
from ..fusion import fuse
from ._calib_math import _fill_nan, _rows
from ._calib_model import CalibrationSettings, HingeAxes
from ._hinge_axes import _relative_hinge_axes_core
from ._joint_centre import _JointCentre


@dataclass(frozen=True)
class _Motion:
    """The motion window as the axis and joint-centre fits use it (sensor frames)."""

    acc_p: np.ndarray  # (M, 3) m/s²
    gyr_p: np.ndarray  # (M, 3) rad/s, still-pose bias removed
    acc_d: np.ndarray
    gyr_d: np.ndarray
    q_p: np.ndarray  # (M, 4) q_earth_sensor, given or re-fused offline
    q_d: np.ndarray
    fs: float
    min_rate: float  # rad/s

    def axes(self, **kw) -> tuple[HingeAxes, float, float, np.ndarray]:
        """:func:`~._hinge_axes._relative_hinge_axes_core` on this window (6D unless told)."""
        return _relative_hinge_axes_core(
            self.gyr_p, self.gyr_d, self.q_p, self.q_d, fs=self.fs, min_rate=self.min_rate, **kw
        )

    def joint_centre(self, delta_t: np.ndarray) -> _JointCentre:
        args = (self.acc_p, self.gyr_p, self.acc_d, self.gyr_d, self.q_p, self.q_d)
        return _JointCentre(*args, delta_t, self.fs, self.min_rate)


def _offline_orientations(
    ap: np.ndarray,
    gp: np.ndarray,
    ad: np.ndarray,
    gd: np.ndarray,
    qp: np.ndarray,
    qd: np.ndarray,
    fs: float,
    motion: slice,
) -> tuple[np.ndarray, np.ndarray] | None:
    """6D orientations of the motion window from the offline (forward-backward) VQF of
    :mod:`motiontrack.fusion`, gaps interpolated first; ``None`` if that fails. Rows that
    were gaps (or NaN in the given orientations) stay NaN."""
    out = []
    for acc, gyr, q in ((ap, gp, qp), (ad, gd, qd)):
        ok = np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1)
        if ok.sum() < 20:
            return None
        try:
            qo = np.asarray(
                fuse(_fill_nan(acc), _fill_nan(gyr), None, fs=fs, method="vqf-offline"),
                dtype=np.float64,
            )
        except MotionTrackError:  # keep the caller's orientations
            return None
        if qo.shape != q.shape or not np.all(np.isfinite(qo[ok])):
            return None
        qo = qo.copy()
        qo[~(ok & np.all(np.isfinite(q), axis=1))] = np.nan
        out.append(np.ascontiguousarray(qo[motion]))
    return out[0], out[1]


def _motion_orientations(
    ap: np.ndarray,
    gp: np.ndarray,
    ad: np.ndarray,
    gd: np.ndarray,
    qp: np.ndarray,
    qd: np.ndarray,
    *,
    fs: float,
    motion: slice,
    gpm: np.ndarray,
    gdm: np.ndarray,
    rms_p: float,
    rms_d: float,
    min_rate: float,
) -> tuple[np.ndarray, np.ndarray]:
    """6D: the orientations of the motion window to fit, the given or the re-fused ones.

    The heading and the joint-centre fit need tilt better than a real-time filter gives
    during motion (a 0.3-0.5° tilt error is a 0.05-0.09 m/s² horizontal error, as large as
    the knee's own acceleration that fixes the relative heading): re-fuse the calibration
    recording offline (forward-backward VQF, tilt ~0.05°). Only where the proximal segment
    rotates enough to make the heading observable at all (a seated extension's still thigh
    leaves it open: the given orientations are kept).
    """
    qpi, qdi = qp[motion], qd[motion]
    off = _offline_orientations(ap, gp, ad, gd, qp, qd, fs, motion)
    if off is not None:
        qpo, qdo = off
        _, _, c_off, _ = _relative_hinge_axes_core(gpm, gdm, qpo, qdo, fs=fs, min_rate=min_rate)
        if c_off >= 3.0 or rms_p >= 0.5 * rms_d:
            qpi, qdi = qpo, qdo
    return qpi, qdi


def _magnetic_hint(
    qpi: np.ndarray,
    qdi: np.ndarray,
    mag_proximal: npt.ArrayLike,
    mag_distal: npt.ArrayLike,
    motion: slice,
) -> float | None:
    """6D: the coarse relative heading (rad) the magnetometers see, or ``None``."""
    m1 = mq.rotate(qpi, _rows(mag_proximal, "mag_proximal")[motion])
    m2 = mq.rotate(qdi, _rows(mag_distal, "mag_distal")[motion])
    okm = np.all(np.isfinite(m1), axis=1) & np.all(np.isfinite(m2), axis=1)
    if okm.sum() > 10:
        d = np.arctan2(m1[okm, 1], m1[okm, 0]) - np.arctan2(m2[okm, 1], m2[okm, 0])
        return float(np.arctan2(np.mean(np.sin(d)), np.mean(np.cos(d))))
    return None


def _nine_d_tracked_axes(ax: HingeAxes, m: _Motion, rms_p: float, rms_d: float) -> HingeAxes:
    """9D with a nearly still proximal segment: the 6D tracked-heading axes when the motion
    determines the relative heading (within 45° of the shared magnetic one), else ``ax``.

    9D headings share magnetic north only to a degree or two (the filters' magnetic
    corrections are slow, and a segment that turned 90° needs seconds to settle). For a
    proximal segment that stays nearly still through the exercise (seated extensions: RMS
    rate 0.3-0.5 of the distal one, against 0.9-1.7 for squats, heel slides, straight-leg
    raises), that error goes straight into its axis about the vertical. When the motion
    itself determines the relative heading (the proximal segment rotated off the vertical
    somewhere, e.g. sitting down after a standing start), track it as in 6D and keep 9D only
    as the branch reference (within 45°). Elsewhere the shared heading is better: the 6D
    path's rate-based heading is biased by the knee's coupled rotations, which only the 6D
    joint-centre step corrects.
    """
    try:
        ax6, delta6, contrast6, _ = m.axes()
    except CalibrationError:
        contrast6 = 0.0
    if (
        contrast6 >= 3.0
        and abs(math.remainder(delta6, 2.0 * math.pi)) < math.radians(45.0)
        and rms_p < 0.6 * rms_d
    ):
        ax = HingeAxes(
            proximal=ax6.proximal * np.sign(ax6.proximal @ ax.proximal),
            distal=ax6.distal * np.sign(ax6.distal @ ax.distal),
            std_deg=ax6.std_deg,
            residual=ax6.residual,
            n_used=ax6.n_used,
        )
    return ax


def _joint_centre_heading(
    m: _Motion,
    s: CalibrationSettings,
    fit: tuple[HingeAxes, float, float, np.ndarray],
    hint: float | None,
    notes: list[str],
) -> tuple[HingeAxes, float, float, np.ndarray]:
    """6D: the heading branch, then a constant heading offset, from the joint centre.

    The rates alone cannot tell the relative heading from its 180° twin when both segments
    turn about parallel axes (straight-leg raise, squat): the joint centre's acceleration,
    the same seen from both sensors, can (Seel et al. 2014 §3.2). ``fit`` and the result:
    (axes, heading at the start, branch contrast, heading per sample).
    """
    ax, delta, contrast, delta_t = fit
    jc = m.joint_centre(delta_t)
    rms, rms_alt = jc.solve(0.0)[3], jc.solve(math.pi)[3]
    # when the rates left the branch open (and no magnetometer hint), any evidence counts
    need = 1.0 if (contrast < 3.0 and hint is None) else s.branch_contrast
    if rms_alt < rms / need:
        ax, delta, contrast, delta_t = m.axes(delta_near=delta + math.pi)
        contrast = np.inf
        notes.append("relative heading branch chosen by the joint-centre accelerations")
        jc = m.joint_centre(delta_t)
    elif rms < rms_alt / s.branch_contrast:
        contrast = np.inf  # the branch is confirmed
    off = _heading_offset(jc, contrast)
    if off is not None:
        ax, delta, _, delta_t = m.axes(delta_given=delta_t + off)
    return ax, delta, contrast, delta_t


def _heading_offset(jc: _JointCentre, contrast: float) -> float | None:
    """A constant correction (rad) of the tracked relative heading, or ``None``.

    The rate-based heading is biased by motion that is not about the hinge (axial rotation
    coupled to flexion, hip rotation); the joint-centre accelerations are not: refine a
    constant offset when they are informative.
    """
    offs = np.radians(np.arange(-24.0, 24.01, 2.0))
    ssr = np.array([jc.solve(float(o))[3] ** 2 for o in offs])
    n_eff = jc.n_eff if jc.valid else 0.0
    kb = int(np.argmin(ssr))
    # significant when the edges are worse than the optimum by > 2 sigma (chi-square)
    if (
        contrast >= 3.0  # only within a known branch (not for a still proximal segment)
        and 0 < kb < offs.size - 1
        and n_eff > 0
        and min(ssr[0], ssr[-1]) / ssr[kb] - 1.0 > 4.0 / n_eff
    ):
        y0, y1_, y2_ = ssr[kb - 1], ssr[kb], ssr[kb + 1]
        den = y0 - 2.0 * y1_ + y2_
        return offs[kb] + (0.5 * (y0 - y2_) / den * (offs[1] - offs[0]) if den > 0 else 0.0)
    return None
