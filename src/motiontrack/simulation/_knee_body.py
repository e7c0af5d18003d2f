"""The simulated subject and the leg's kinematics: anthropometry, sensor placement and
mounting, the knee's coupled ab/adduction and rotation, soft tissue (:func:`_subject`); and
the segment and sensor orientations and positions at any times (:class:`_KneeKinematics`),
from the posture of each exercise and the schedule. The model:
:mod:`motiontrack.simulation.knee`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _rot
from ._knee_schedule import _Schedule
from ._knee_spec import _DEG, _EY, _Q_EARTH_BODY0, ALIASES, _Spec


def _subject(
    body_rng: np.random.Generator,
    *,
    lat: float,
    body_turns: bool,
    rest: float,
    peak_nom: float,
    max_mount_deg: float,
    fixed_mount: dict[str, np.ndarray],
) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """Subject, mounting and coupling parameters, the mountings (q_segment_sensor) and the
    soft-tissue parameters of both sensors, drawn from ``body_rng`` in a fixed order."""
    par: dict[str, Any] = {
        "thigh_length_m": body_rng.uniform(0.40, 0.46),
        "shank_length_m": body_rng.uniform(0.38, 0.44),
        "rest_deg": rest,
        "peak_nominal_deg": peak_nom,
        "abduction_offset_deg": body_rng.uniform(-1.0, 1.0),
        "abduction_coupling_deg": body_rng.uniform(-2.0, 2.0),  # × sin(flexion)
        "rotation_offset_deg": body_rng.uniform(-1.5, 1.5),
        "rotation_coupling_deg": body_rng.uniform(2.0, 4.0),  # × flexion / 90°
        "hip_abduction_deg": body_rng.uniform(-4.0, 4.0),
        "hip_rotation_deg": body_rng.uniform(-8.0, 8.0),
        "seat_tilt_deg": body_rng.uniform(-5.0, 5.0),
        "thigh_lift_deg": body_rng.uniform(0.0, 5.0),
        "shank_lean_ratio": body_rng.uniform(0.35, 0.5),
        "heel_drop_m": body_rng.uniform(-0.03, 0.0),
        "slr_knee_rest_deg": body_rng.uniform(1.0, 5.0),
        "slr_knee_change_deg": body_rng.uniform(-1.0, 3.0),
        "sway_deg": 1.0 if body_turns else 0.0,
        "sway_hz": body_rng.uniform(0.03, 0.08),
        "sway_phase": body_rng.uniform(0, 2 * np.pi),
    }
    par["thigh_sensor_offset_m"] = np.array(
        [body_rng.uniform(-0.02, 0.03), -body_rng.uniform(0.45, 0.65) * par["thigh_length_m"], 0.07 * lat]
    )
    par["shank_sensor_offset_m"] = np.array(
        [body_rng.uniform(-0.01, 0.02), -body_rng.uniform(0.25, 0.45) * par["shank_length_m"], 0.045 * lat]
    )
    mount = {name: _rot.random_rotation(body_rng, max_mount_deg * _DEG) for name in ("thigh", "shank")}
    mount.update(fixed_mount)
    wob: dict[str, dict[str, np.ndarray]] = {}
    for name, lf_rot, lf_pos, hf_rot, hf_pos in (("thigh", 1.5, 0.002, 0.4, 0.0005), ("shank", 1.0, 0.001, 0.25, 0.0003)):
        axis = body_rng.normal(size=3)
        wob[name] = {
            "lf_rot": axis / np.linalg.norm(axis) * body_rng.uniform(0.3, 1.0) * lf_rot * _DEG,
            "lf_pos": body_rng.normal(size=3) / np.sqrt(3) * lf_pos,
            "hf_rot": np.full(3, hf_rot * _DEG) * body_rng.uniform(0.5, 1.0, 3),
            "hf_pos": np.full(3, hf_pos) * body_rng.uniform(0.5, 1.0, 3),
            "freq": body_rng.uniform(8.0, 14.0, 3),
            "phase": body_rng.uniform(0, 2 * np.pi, 3),
            "freq_p": body_rng.uniform(8.0, 14.0, 3),
            "phase_p": body_rng.uniform(0, 2 * np.pi, 3),
        }
    # drawn last, so that the exercises that existed before them keep every random stream
    par.update({
        "bolster_press_deg": body_rng.uniform(0.0, 2.0),  # short-arc quad: thigh sinks into the bolster
        "sts_shank_lean_deg": body_rng.uniform(0.0, 12.0),  # sit-to-stand: shank lean when seated
        "sts_shank_bump_deg": body_rng.uniform(6.0, 14.0),  # ... extra lean as the knees go forward
        "sts_trunk_lean_deg": body_rng.uniform(25.0, 40.0),  # ... trunk lean at seat-off
        "knee_bend_hip_deg": body_rng.uniform(0.0, 8.0),  # standing knee bend: hip flexes along
        "wall_foot_m": body_rng.uniform(0.25, 0.40),  # wall slide: ankle in front of the hip joint
    })
    return par, mount, wob


class _KneeKinematics:
    """Closed-form kinematics of the leg: ``kin(tt)`` gives, at the times ``tt`` (s), the
    joint angles (rad), the segment and sensor orientations (q_earth_*) and the hip, knee,
    ankle and sensor positions (m, ENU)."""

    def __init__(
        self,
        *,
        exercise: str,
        spec: _Spec,
        sched: _Schedule,
        par: dict[str, Any],
        mount: dict[str, np.ndarray],
        wob: dict[str, dict[str, np.ndarray]],
        lat: float,
        soft_tissue: bool,
        standing: bool,
    ) -> None:
        # the movement model: an alias (long_arc_quad) moves like the exercise it names
        self.exercise, self.spec, self.sched = ALIASES.get(exercise, exercise), spec, sched
        self.par, self.mount, self.wob = par, mount, wob
        self.lat, self.soft_tissue, self.standing = lat, soft_tissue, standing
        if spec.anchor == "ankle":
            self.anchor = np.array([0.0, 0.0, 0.08])  # the ankle, above the floor
        elif self.exercise == "standing_knee_bend":  # the hip of a standing subject
            self.anchor = np.array([0.0, 0.0, 0.08 + par["thigh_length_m"] + par["shank_length_m"]])
        else:
            self.anchor = np.array([0.0, 0.0, 0.5])  # the hip on the seat or bed
        self.ankle_stand = np.zeros(3)  # where the foot stands before a standing start
        if standing and spec.anchor != "ankle":
            if spec.supine:
                # the foot on the floor below the hip's place on the bed
                self.ankle_stand = np.array([self.anchor[0], self.anchor[1], 0.0])
            else:
                # the foot stays where it will be when seated: under the knee of the seated posture
                end = self(np.array([sched.trans_t1]))
                self.ankle_stand = self.anchor - (end["p_hip"][0] - end["p_ankle"][0])

    def __call__(self, tt: np.ndarray) -> dict[str, np.ndarray]:
        flex, hip_flex, phi_t, progress, prim_rate, trans_rate, w_b = self._posture(tt)
        par, lat = self.par, self.lat
        abd = (par["abduction_offset_deg"] + par["abduction_coupling_deg"] * np.sin(flex) / 1.0) * _DEG
        rot = (par["rotation_offset_deg"] * _DEG + par["rotation_coupling_deg"] * flex / 90.0)
        heading, _ = self.sched.heading(tt)
        heading = (heading + par["sway_deg"] * np.sin(2 * np.pi * par["sway_hz"] * tt + par["sway_phase"])) * _DEG

        q_hip = _rot.qmul(_rot.about_axis(0, lat * par["hip_abduction_deg"] * _DEG),
                          _rot.about_axis(1, lat * par["hip_rotation_deg"] * _DEG))
        q_thigh = _rot.qmul(
            _rot.qmul(_rot.qmul(_rot.about_axis(2, heading), _Q_EARTH_BODY0), _rot.about_axis(2, -phi_t)),
            q_hip,
        )
        # Grood & Suntay, right leg: Rz(-flex) Rx(-abd) Ry(rot); the left leg is its mirror image
        q_ts = _rot.qmul(_rot.qmul(_rot.about_axis(2, -flex), _rot.about_axis(0, -lat * abd)),
                         _rot.about_axis(1, lat * rot))
        q_shank = _rot.qmul(q_thigh, q_ts)
        p_hip, p_knee, p_ankle = self._positions(tt, q_thigh, q_shank, w_b)
        env = np.minimum((np.abs(prim_rate * _DEG) + trans_rate) / 2.0, 1.5)[:, None]
        out = {
            "flex": flex, "abd": abd, "rot": rot, "hip": hip_flex, "heading": heading, "prim_rate": prim_rate,
            "q_thigh": q_thigh, "q_shank": q_shank, "p_hip": p_hip, "p_knee": p_knee, "p_ankle": p_ankle,
        }
        for name, q_seg, origin in (("thigh", q_thigh, p_hip), ("shank", q_shank, p_knee)):
            q_sensor, p_sensor = self._sensor(name, tt, q_seg, origin, progress, env)
            out[f"q_{name}_sensor"] = q_sensor
            out[f"p_{name}_sensor"] = p_sensor
        return out

    def _posture(self, tt: np.ndarray) -> tuple[np.ndarray, ...]:
        """Knee flexion, hip flexion and the thigh's sagittal angle ``phi`` (rad), the rep
        progress (0 at rest, 1 at the nominal peak), the primary angle's rate (deg/s), the
        start transition's speed (rad/s) and its blend weight (0 standing .. 1)."""
        spec, par, exercise = self.spec, self.par, self.exercise
        rest, span = self.sched.rest, self.sched.span
        prim, prim_rate = self.sched.primary(tt)
        prim_r = prim * _DEG
        if spec.primary == "hip_flexion":
            hip = prim_r
            progress = (prim - rest) / span
            flex = (par["slr_knee_rest_deg"] + par["slr_knee_change_deg"] * progress) * _DEG
        else:
            hip = np.zeros_like(prim_r)  # (unused: the knee exercises' hip follows the posture)
            flex = prim_r
            progress = (prim - rest) / span
        if exercise == "seated_knee_extension":
            phi_t = (-90.0 + par["seat_tilt_deg"] - par["thigh_lift_deg"] * progress) * _DEG
        elif exercise == "squat":
            phi_t = (par["shank_lean_ratio"] - 1.0) * flex
        elif exercise == "heel_slide":
            phi_t = -np.pi / 2 - self._thigh_elevation(flex, par["heel_drop_m"])
        else:
            phi_t = self._closed_or_other(flex, hip, progress)
        trunk = np.pi / 2 if spec.supine else 0.0  # trunk angle from upright
        if exercise == "sit_to_stand":  # the trunk leans forward to rise (seat-off)
            trunk = -par["sts_trunk_lean_deg"] * _DEG * np.sin(np.pi * flex / (rest * _DEG))
        trans_rate = np.zeros_like(tt)  # rad/s, speed of the start transition (soft tissue)
        w_b = None
        if self.standing:
            # blend the standing posture (knee straight, common lean) into the exercise's
            # start posture; the exercise profiles are at rest until the first rep
            w_b, w_rate = self.sched.blend(tt)
            k0, _ = self.sched.stand(tt)
            flex_st, phi_st = k0 * _DEG, np.full_like(tt, self.sched.lean_deg * _DEG)
            trans_rate = np.abs(w_rate) * (np.abs(flex - flex_st) + np.abs(phi_t - phi_st))
            flex = flex_st + w_b * (flex - flex_st)
            phi_t = phi_st + w_b * (phi_t - phi_st)
            trunk = trunk * w_b
        hip_flex = -phi_t - trunk
        return flex, hip_flex, phi_t, progress, prim_rate, trans_rate, w_b

    def _thigh_elevation(self, flex: np.ndarray, drop_m: float) -> np.ndarray:
        """Supine, hip on the bed: the thigh's elevation (rad, knee up) that puts the heel
        ``drop_m`` below the hip's height at knee flexion ``flex`` (rad)."""
        l1, l2 = self.par["thigh_length_m"], self.par["shank_length_m"]
        a = l1 + l2 * np.cos(flex)
        b = l2 * np.sin(flex)
        return np.arctan2(b, a) + np.arcsin(drop_m / np.hypot(a, b))

    def _closed_or_other(self, flex: np.ndarray, hip: np.ndarray, progress: np.ndarray) -> np.ndarray:
        """The thigh's sagittal angle ``phi`` (rad) of the exercises after the first three."""
        par, exercise, rest = self.par, self.exercise, self.sched.rest
        if exercise == "short_arc_quad":
            # the thigh lies on the bolster (its elevation at the resting angle, heel on the
            # bed) and sinks a little into it as the quadriceps straightens the knee
            elev = self._thigh_elevation(np.full(1, rest * _DEG), par["heel_drop_m"])[0]
            return -np.pi / 2 - (elev - par["bolster_press_deg"] * _DEG * progress)
        if exercise == "sit_to_stand":
            # the foot stays; the shank leans forward as the knees go over the toes, then
            # comes back upright; the thigh goes from about horizontal to vertical
            u = flex / (rest * _DEG)  # 0 standing, 1 seated (smooth: no clipping, no kinks)
            phi_s = (par["sts_shank_lean_deg"] * u + par["sts_shank_bump_deg"] * np.sin(np.pi * u)) * _DEG
            return phi_s - flex
        if exercise == "standing_knee_bend":
            # the thigh stays near vertical, the hip flexing a few degrees with the knee
            return -par["knee_bend_hip_deg"] * _DEG * progress
        if exercise == "knee_wall_slide":
            # hip against the wall, ankle `wall_foot_m` in front of it: the hip slides straight
            # down the wall, thigh and shank both tilt (thigh top back, shank top forward)
            l1, l2 = par["thigh_length_m"], par["shank_length_m"]
            a = l1 + l2 * np.cos(flex)
            b = l2 * np.sin(flex)
            return -(np.arctan2(b, a) + np.arcsin(par["wall_foot_m"] / np.hypot(a, b)))
        return -np.pi / 2 - hip  # straight-leg raise

    def _positions(
        self, tt: np.ndarray, q_thigh: np.ndarray, q_shank: np.ndarray, w_b: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hip, knee and ankle positions (m, ENU) from the anchor point that stays fixed."""
        par, anchor = self.par, self.anchor
        y_thigh = _rot.qrot(q_thigh, _EY)
        y_shank = _rot.qrot(q_shank, _EY)
        chain = par["shank_length_m"] * y_shank + par["thigh_length_m"] * y_thigh  # ankle -> hip
        if self.spec.anchor == "ankle":
            p_hip = anchor + chain
        elif self.standing:
            # standing on the foot at `ankle_stand`, then the hip moves smoothly to the seat/bed
            p_hip = (1.0 - w_b)[:, None] * (self.ankle_stand + chain) + w_b[:, None] * anchor
        else:
            p_hip = np.broadcast_to(anchor, tt.shape + (3,))
        p_knee = p_hip - par["thigh_length_m"] * y_thigh
        p_ankle = p_knee - par["shank_length_m"] * y_shank
        return p_hip, p_knee, p_ankle

    def _sensor(
        self,
        name: str,
        tt: np.ndarray,
        q_seg: np.ndarray,
        origin: np.ndarray,
        progress: np.ndarray,
        env: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Orientation (q_earth_sensor) and position (m, ENU) of one sensor, with soft tissue."""
        offset = np.broadcast_to(self.par[f"{name}_sensor_offset_m"], tt.shape + (3,))
        if self.soft_tissue:
            w = self.wob[name]
            rv = w["lf_rot"] * progress[:, None] + w["hf_rot"] * env * np.sin(2 * np.pi * w["freq"] * tt[:, None] + w["phase"])
            dp = w["lf_pos"] * progress[:, None] + w["hf_pos"] * env * np.sin(2 * np.pi * w["freq_p"] * tt[:, None] + w["phase_p"])
            q_w = _rot.from_rotvec(rv)
            offset = offset + dp
            q_sensor = _rot.qmul(_rot.qmul(q_seg, q_w), self.mount[name])
        else:
            q_sensor = _rot.qmul(q_seg, self.mount[name])
        return q_sensor, origin + _rot.qrot(q_seg, offset)
