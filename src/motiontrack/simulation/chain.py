"""A mechanical chain of rigid segments joined by hinges, moved freely by hand, with one IMU
on each segment: readings and ground truth for the generic hinge (``joint="hinge"``).

Physics (frames and units of :mod:`motiontrack.conventions`):

* segment 0 (held in the hand) translates and rotates freely: its angular rate in its own
  frame and its position are smooth random sums of sinusoids; the rotation is integrated
  exactly sample by sample (``q[k+1] = q[k] ⊗ exp(w dt)``);
* hinge ``i`` joins segment ``i`` to segment ``i + 1`` at the point ``joint_i`` of segment
  ``i`` (the origin of segment ``i + 1``), about the unit axis ``a_i`` fixed in segment ``i``:
  ``R_{i+1} = R_i · Rot(a_i, θ_i) · B_i`` with a fixed twist ``B_i`` (a link's own frame), so
  the axis is ``B_iᵀ a_i`` in segment ``i + 1``; ``θ_i(t)`` is a smooth random sum of
  sinusoids;
* each IMU sits at a point of its segment (anywhere along it, off its axis) with an arbitrary
  mounting: its position follows the chain, and :func:`~.imu.synthesize_imu` turns orientation
  and position into gyroscope (exact mean rate), specific force (second derivative of the
  position: gravity, linear, centripetal and tangential terms all included) and magnetometer
  readings, with white noise and gyroscope bias (constant plus random walk).

The hinge angle a calibration reports (:mod:`motiontrack.exercise.motion_calibrator`) is
``sign · (θ_i(t) − θ_i(t_zero))``, sign by the rule of :mod:`motiontrack.conventions` (right
hand about the hinge axis oriented along the proximal sensor's axis nearest to it):
:meth:`SimulatedChain.expected_angle_deg` gives it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigurationError
from . import _rot
from .imu import ImuErrorModel, SimulatedImu, synthesize_imu

__all__ = ["ChainTruth", "SimulatedChain", "simulate_hinge_chain"]

_MOTIONS = {
    # (base angular rate amplitude rad/s, hinge amplitude rad, frequency range Hz, hand travel m)
    "slow": (0.4, 0.5, (0.05, 0.3), 0.08),
    "brisk": (1.0, 0.6, (0.1, 0.7), 0.15),
}


@dataclass(frozen=True)
class ChainTruth:
    """Ground truth of a simulated chain.

    Attributes
    ----------
    angles_rad : ndarray, shape (N, J)
        Hinge angle ``θ_i`` of each joint (right hand about ``a_i``), rad.
    axis_proximal, axis_distal : ndarray, shape (J, 3)
        Hinge axis ``a_i`` in the proximal and the distal sensor frame, unit.
    axis_earth : ndarray, shape (N, J, 3)
        Hinge axis in the earth frame (ENU).
    q_earth_segment : ndarray, shape (N, S, 4)
    origin_earth : ndarray, shape (N, S, 3)
        Origin of each segment (segment 0: the hand; segment i + 1: hinge i), m, ENU.
    sensor_point : ndarray, shape (S, 3)
        Where each sensor sits in its segment frame, m.
    """

    angles_rad: np.ndarray
    axis_proximal: np.ndarray
    axis_distal: np.ndarray
    axis_earth: np.ndarray
    q_earth_segment: np.ndarray
    origin_earth: np.ndarray
    sensor_point: np.ndarray


@dataclass(frozen=True)
class SimulatedChain:
    """Readings (one :class:`~.imu.SimulatedImu` per segment, named ``seg0``, ``seg1``, ...) and
    truth. ``joints[i]`` is the (proximal, distal) sensor pair of hinge ``i``."""

    t: np.ndarray
    sensors: dict[str, SimulatedImu]
    truth: ChainTruth
    joints: tuple[tuple[str, str], ...]
    fs: float
    motion: str

    def expected_angle_deg(
        self, joint: int, zero_index: int = 0, sign: float | None = None
    ) -> np.ndarray:
        """The hinge angle the calibration should report, deg: zero at ``zero_index``, sign by
        the documented rule (the hinge axis oriented along the proximal sensor axis nearest to
        it) unless ``sign`` (+1/-1, relative to that rule) is given."""
        a = self.truth.axis_proximal[joint]
        k = int(np.argmax(np.abs(a)))
        s = float(np.sign(a[k])) * (1.0 if sign is None else float(sign))
        th = self.truth.angles_rad[:, joint]
        return np.degrees(s * (th - th[zero_index]))


def _smooth(
    rng: np.random.Generator,
    t: np.ndarray,
    dims: int,
    amp: float,
    band: tuple[float, float],
    k: int = 5,
) -> np.ndarray:
    """A smooth random signal (N, dims): ``k`` sinusoids per dimension in ``band`` Hz, RMS ~amp."""
    f = rng.uniform(band[0], band[1], (k, dims))
    ph = rng.uniform(0.0, 2.0 * np.pi, (k, dims))
    a = rng.uniform(0.3, 1.0, (k, dims))
    a *= amp * np.sqrt(2.0 / np.sum(a**2, axis=0, keepdims=True))
    return np.sum(a[None] * np.sin(2.0 * np.pi * f[None] * t[:, None, None] + ph[None]), axis=1)


def _integrate(q0: np.ndarray, w_body: np.ndarray, dt: float) -> np.ndarray:
    """Orientations from body rates (rad/s), exact per sample (rate held over each period)."""
    steps = _rot.from_rotvec(w_body[:-1] * dt)
    q = np.empty((w_body.shape[0], 4))
    q[0] = q0
    for k in range(steps.shape[0]):
        q[k + 1] = _rot.qmul(q[k], steps[k])
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _axis_rotation(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return _rot.from_rotvec(angle[:, None] * axis[None, :])


def _random_unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _hinge_axes(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Axes in their proximal segment frame, each at least 45° from the previous one."""
    axes = [np.array([0.0, 0.0, 1.0])]
    while len(axes) < n:
        a = _random_unit(rng)
        if abs(a @ axes[-1]) < np.cos(np.radians(45.0)):
            axes.append(a)
    return axes


def simulate_hinge_chain(
    seed: int,
    *,
    n_segments: int = 4,
    duration_s: float = 60.0,
    fs: float = 100.0,
    motion: str = "brisk",
    gyr_bias_dps: float = 1.0,
    with_mag: bool = True,
    vertical_start: bool = True,
    errors: ImuErrorModel | None = None,
    hinge_scale: float = 1.0,
    second_axis_deg: float = 0.0,
) -> SimulatedChain:
    """Simulate a hand-held chain of ``n_segments`` rigid links and ``n_segments - 1`` hinges.

    Parameters
    ----------
    seed : int
        Everything random (geometry, mountings, motion, sensor errors) follows from it.
    n_segments : int
        >= 2.
    duration_s, fs : float
        Recording length, s, and sample rate, Hz.
    motion : {"slow", "brisk"}
        How fast the hand turns the chain and the hinges move.
    gyr_bias_dps : float
        Largest initial gyroscope bias per axis, deg/s (uniform in ±this; plus a random walk).
    with_mag : bool
        Simulate magnetometers (undisturbed earth field).
    vertical_start : bool
        Hinge 0 points straight up at t = 0, and the hand turns the chain only gently during the
        first 5 s (a vertical hinge: its angle is unobservable in 6D until the chain tilts).
    errors : ImuErrorModel, optional
        Noise model (default: the simulator's consumer-MEMS model); the bias is set here.
    hinge_scale : float
        Multiplies the hinge motion (0.05: a joint that barely moves).
    second_axis_deg : float
        Bad input: every joint also turns about a second axis perpendicular to its hinge by
        up to about this much (a 2-DoF joint, not a hinge); the truth angles stay those of the
        first axis.

    Returns
    -------
    SimulatedChain
    """
    if n_segments < 2:
        raise ConfigurationError("a chain needs at least 2 segments")
    if motion not in _MOTIONS:
        raise ConfigurationError(f"motion must be one of {sorted(_MOTIONS)}, got {motion!r}")
    rng = np.random.default_rng(seed)
    n = round(duration_s * fs)
    t = np.arange(n) / fs
    dt = 1.0 / fs
    w_amp, th_amp, band, travel = _MOTIONS[motion]
    nj = n_segments - 1

    # geometry: hinge axes, twists, lengths (joint points), sensor points, mountings
    axes = _hinge_axes(rng, nj)
    twists = [_rot.random_rotation(rng, np.pi) for _ in range(nj)]
    lengths = rng.uniform(0.15, 0.4, n_segments)
    joint_pt = [np.array([0.0, lengths[i], 0.0]) + rng.normal(0.0, 0.02, 3) for i in range(nj)]
    sensor_pt = [
        np.array([0.0, rng.uniform(0.1, 0.9) * lengths[i], 0.0]) + rng.uniform(-0.03, 0.03, 3)
        for i in range(n_segments)
    ]
    mounts = [_rot.random_rotation(rng, np.pi) for _ in range(n_segments)]

    # motion of segment 0: start so that hinge 0 (segment z) is vertical
    q0 = _rot.about_axis(2, np.array(rng.uniform(-np.pi, np.pi)))
    if not vertical_start:
        q0 = _rot.random_rotation(rng, np.pi)
    env = np.clip(t / 5.0, 0.15, 1.0) if vertical_start else np.ones(n)
    w0 = _smooth(rng, t, 3, w_amp, band) * env[:, None]
    q_seg = np.empty((n, n_segments, 4))
    q_seg[:, 0] = _integrate(q0, w0, dt)
    pos0 = _smooth(rng, t, 3, travel, band) + np.array([0.0, 0.0, 1.0])
    thetas = hinge_scale * np.stack(
        [_smooth(rng, t, 1, th_amp, band, k=4)[:, 0] + rng.uniform(-0.5, 0.5) for _ in range(nj)],
        axis=1,
    )
    second = [
        (
            np.cross(axes[i], _random_unit(rng)),
            _smooth(rng, t, 1, np.radians(second_axis_deg) / 1.5, band, k=4)[:, 0],
        )
        for i in range(nj)
    ]
    origins = np.empty((n, n_segments, 3))
    origins[:, 0] = pos0
    for i in range(nj):
        rel = _rot.qmul(_axis_rotation(axes[i], thetas[:, i]), twists[i])
        if second_axis_deg > 0:
            b = second[i][0] / np.linalg.norm(second[i][0])
            rel = _rot.qmul(
                _axis_rotation(axes[i], thetas[:, i]),
                _rot.qmul(_axis_rotation(b, second[i][1]), twists[i]),
            )
        q_seg[:, i + 1] = _rot.qmul(q_seg[:, i], rel)
        origins[:, i + 1] = origins[:, i] + _rot.qrot(q_seg[:, i], joint_pt[i])

    # sensors
    errs = dataclasses.replace(errors or ImuErrorModel(), gyr_bias_std=0.0)
    sensors: dict[str, SimulatedImu] = {}
    for i in range(n_segments):
        q_es = _rot.qmul(q_seg[:, i], mounts[i])
        pos = origins[:, i] + _rot.qrot(q_seg[:, i], sensor_pt[i])
        imu = synthesize_imu(
            t,
            q_es,
            pos,
            seed=rng,
            errors=errs,
            with_mag=with_mag,
            q_segment_sensor=mounts[i],
        )
        bias = rng.uniform(-1.0, 1.0, 3) * np.radians(gyr_bias_dps)
        sensors[f"seg{i}"] = _add_bias(imu, bias)
    ax_p = np.stack([_rot.qrot_inv(mounts[i], axes[i]) for i in range(nj)])
    ax_d = np.stack(
        [_rot.qrot_inv(mounts[i + 1], _rot.qrot_inv(twists[i], axes[i])) for i in range(nj)]
    )
    ax_e = np.stack([_rot.qrot(q_seg[:, i], axes[i]) for i in range(nj)], axis=1)
    truth = ChainTruth(thetas, ax_p, ax_d, ax_e, q_seg, origins, np.stack(sensor_pt))
    joints = tuple((f"seg{i}", f"seg{i + 1}") for i in range(nj))
    return SimulatedChain(t, sensors, truth, joints, float(fs), motion)


def _add_bias(imu: SimulatedImu, bias: np.ndarray) -> SimulatedImu:
    """``imu`` with a constant gyroscope bias (rad/s) added to its readings and its truth."""
    return dataclasses.replace(
        imu,
        gyr=imu.gyr + bias,
        gyr_bias=imu.gyr_bias + bias,
        gyr_bias_series=imu.gyr_bias_series + bias,
    )
