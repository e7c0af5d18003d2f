"""The two simulated IMUs of a knee session, from the leg's kinematics (accelerations
differentiated on the closed-form trajectory, then the sensor error model of
:mod:`motiontrack.simulation.imu`), and the session's ground truth, with the knee's
functional hinge axis in each sensor frame. The model: :mod:`motiontrack.simulation.knee`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rot
from ._knee_spec import _DEG, _EZ, KneeTruth, TrueRep
from .imu import ImuErrorModel, SimulatedImu, _replace, _synthesize, earth_field
from .profiles import Knots

#: central-difference step for the sensors' linear acceleration, s
_H = 5e-4


def _eval_times(t: np.ndarray, fs: float) -> np.ndarray:
    """Times at which the kinematics are evaluated: one sample before ``t``, ``t`` itself,
    and ``t`` -/+ the difference step (see :func:`_sensors` for the slices)."""
    return np.concatenate([[t[0] - 1.0 / fs], t, t - _H, t + _H])


def _slices(n: int) -> tuple[slice, slice, slice, slice]:
    """Previous sample, samples, minus step, plus step: rows of :func:`_eval_times`."""
    return slice(0, 1), slice(1, n + 1), slice(n + 1, 2 * n + 1), slice(2 * n + 1, 3 * n + 1)


def _sensors(
    t: np.ndarray,
    ev: dict[str, np.ndarray],
    mount: dict[str, np.ndarray],
    sensor_seeds: np.ndarray,
    *,
    errors: ImuErrorModel | None,
    noise: bool,
    gyr_bias: bool,
    with_mag: bool,
    mag_disturbance: bool,
    drop_rate: float,
    saturation: bool,
) -> dict[str, SimulatedImu]:
    """The thigh and shank IMUs from the kinematics ``ev`` at :func:`_eval_times`."""
    n = t.size
    h = _H
    sl_prev, sl_now, sl_m, sl_p = _slices(n)
    base = errors if errors is not None else ImuErrorModel()
    if not noise:
        base = _replace(base, gyr_noise=0.0, acc_noise=0.0, mag_noise=0.0)
    if not gyr_bias:
        base = _replace(base, gyr_bias_std=0.0, gyr_bias_walk=0.0)
    field_vec = earth_field()

    sensors: dict[str, SimulatedImu] = {}
    for k, name in enumerate(("thigh", "shank")):
        srng = np.random.default_rng(sensor_seeds[k])
        q_all = ev[f"q_{name}_sensor"]
        p_all = ev[f"p_{name}_sensor"]
        pos = p_all[sl_now]
        acc_lin = (p_all[sl_p] - 2.0 * pos + p_all[sl_m]) / (h * h)
        dist = _mag_disturbance(srng, t) if (with_mag and mag_disturbance) else None
        sensors[name] = _synthesize(
            t,
            q_all[sl_now],
            q_all[sl_prev][0],
            acc_lin,
            rng=srng,
            errors=base,
            with_mag=with_mag,
            mag_field=field_vec,
            mag_disturbance=dist,
            drop_rate=drop_rate,
            saturation=saturation,
            q_segment_sensor=mount[name],
            pos=pos,
        )
    return sensors


def _truth(
    ev: dict[str, np.ndarray],
    n: int,
    mount: dict[str, np.ndarray],
    primary: str,
    true_reps: list[TrueRep],
    par: dict[str, Any],
) -> KneeTruth:
    """Ground truth on the ``n`` sample times from the kinematics ``ev`` at :func:`_eval_times`."""
    sl_now = _slices(n)[1]
    # truth hinge axes: the functional (mean helical) axis of the knee in each segment, i.e. the
    # principal direction of the relative angular velocity of the bones, then in sensor frames
    q_ts_ext = _rot.qmul(_rot.qconj(ev["q_thigh"][: n + 1]), ev["q_shank"][: n + 1])
    step_shank = _rot.to_rotvec(_rot.qmul(_rot.qconj(q_ts_ext[:-1]), q_ts_ext[1:]))  # shank frame
    step_thigh = _rot.qrot(q_ts_ext[:-1], step_shank)  # the same increments in the thigh frame
    axis_thigh_seg = _principal_axis(step_thigh)
    axis_shank_seg = _principal_axis(step_shank)
    hinge_thigh = _rot.qrot_inv(mount["thigh"], axis_thigh_seg)
    hinge_shank = _rot.qrot_inv(mount["shank"], axis_shank_seg)
    flexion_axis_thigh = _rot.qrot_inv(mount["thigh"], _EZ)

    return KneeTruth(
        flexion_deg=ev["flex"][sl_now] / _DEG,
        abduction_deg=ev["abd"][sl_now] / _DEG,
        rotation_deg=ev["rot"][sl_now] / _DEG,
        hip_flexion_deg=ev["hip"][sl_now] / _DEG,
        heading_deg=ev["heading"][sl_now] / _DEG,
        primary=primary,
        reps=true_reps,
        hinge_axis_thigh_sensor=hinge_thigh,
        hinge_axis_shank_sensor=hinge_shank,
        flexion_axis_thigh_sensor=flexion_axis_thigh,
        q_earth_thigh=ev["q_thigh"][sl_now],
        q_earth_shank=ev["q_shank"][sl_now],
        positions={"hip": ev["p_hip"][sl_now].copy(), "knee": ev["p_knee"][sl_now], "ankle": ev["p_ankle"][sl_now].copy()},
        parameters=par,
    )


def _mag_disturbance(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Episodes of 5-20 µT extra field (ENU), 3-10 s long with 0.5 s smooth ramps."""
    out = np.zeros((t.size, 3))
    duration = t[-1] - t[0]
    for _ in range(1 + int(duration // 60.0)):
        length = rng.uniform(3.0, 10.0)
        start = t[0] + rng.uniform(0.0, max(duration - length, 0.1))
        vec = rng.normal(size=3)
        vec *= rng.uniform(5.0, 20.0) / np.linalg.norm(vec)
        ramp = Knots.from_lists([start, start + 0.5, start + length - 0.5, start + length], [0, 1, 1, 0])
        out += ramp(t)[0][:, None] * vec
    return out


def _principal_axis(steps: np.ndarray) -> np.ndarray:
    """Unit principal direction of rotation increments (N, 3), signed towards +z (thigh z)."""
    m = steps.T @ steps
    if not np.any(m):
        return _EZ.copy()
    axis = np.linalg.eigh(m)[1][:, -1]
    return axis if axis[2] >= 0 else -axis
