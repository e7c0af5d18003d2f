"""One body region's session (:mod:`.regions`): the calibration pose, the first movement
that sets the primary angle's axis, the angles and the reps.

Phases (``RegionCounter.phase``): ``wait_still`` (rows kept until the segments have been
still for ``still_s``), ``wait_move`` (until the first movement has reached the preset's
``axis_deg`` and come back half-way), ``counting``, ``failed``. Every row kept while
calibrating is processed once the axis is known, so the first repetition counts. The
decisions are taken on whole blocks of rows as they arrive; live and offline feed the same
rows, in the same order, so they decide alike up to where a block ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import events as ev
from .. import quaternion as quat
from ..conventions import REGION_ANGLES
from ..errors import CalibrationError, ConfigurationError
from ..kinematics import relative_hinge_axes
from ..kinematics.inclination import (
    gyro_heading_deg,
    learn_axis,
    tilt_deg,
    twist_deg,
    up_in_sensor,
)
from ..reps import Rep, RepCounter, RepSettings
from .counting import ExtremesRefiner
from .posture import find_still, quiet_mask
from .regions import CALIBRATION_POSES, RHYTHM, RegionExercise
from .settings import ExerciseSettings

__all__ = ["RegionCounter", "SegmentAxes"]

PROXIMAL_MIN_DEG = 1.0  # deg; 6D: a proximal segment tilting less has its tilt left out
CONTRAST_MIN = 10.0  # relative_hinge_axes' branch contrast above which its heading is trusted
PLANARITY_MAX = 0.35
START_LATE_S = 3.0  # s; a still pose beginning later: the session began without it
EDGE_S = 0.5  # s; the end of the still pose left out of its mean  # second/first singular value of the tilt: above, not one plane
_LIMBS = ("shoulder", "hip", "elbow")


@dataclass(frozen=True)
class SegmentAxes:
    """One sensor's calibration: the up direction ``u0`` and orientation ``q0`` in the pose,
    the segment's x and z axes in the sensor frame (None where the first movement did not
    show them)."""

    u0: np.ndarray
    q0: np.ndarray
    x: np.ndarray | None
    z: np.ndarray | None
    h: np.ndarray | None  # the first movement's axis (positive direction)
    bias: np.ndarray  # rad/s, gyroscope mean in the still pose


def _axes_state(a: SegmentAxes | None) -> dict[str, list[float] | None] | None:
    if a is None:
        return None
    return {k: None if v is None else np.asarray(v, dtype=np.float64).tolist()
            for k, v in vars(a).items()}


def _axes_from(d: dict[str, list[float] | None] | None) -> SegmentAxes | None:
    if d is None:
        return None
    a = {k: None if v is None else np.asarray(v, dtype=np.float64) for k, v in d.items()}
    u0, q0, bias = a["u0"], a["q0"], a["bias"]
    assert u0 is not None and q0 is not None and bias is not None
    return SegmentAxes(u0, q0, a["x"], a["z"], a["h"], bias)


def _frame(u0: np.ndarray, h: np.ndarray | None, axis: str, sign: float) -> tuple:
    if h is None or axis not in ("x", "z"):
        return None, None
    a = sign * h
    if axis == "z":
        return np.cross(u0, a), a
    return a, np.cross(a, u0)


class RegionCounter:
    """Rows of the distal (and proximal) sensor in, calibration events, angles and reps out."""

    def __init__(
        self,
        ex: RegionExercise,
        *,
        fs: float,
        two: bool,
        settings: ExerciseSettings,
        rep_settings: RepSettings,
    ) -> None:
        self.ex = ex
        self.fs = fs
        self.two = two
        self.s = settings
        self.rep_settings = rep_settings
        self.table = REGION_ANGLES[ex.region]
        self.names = (ex.angle, *[n for n in self.table if n != ex.angle])
        self.phase = "wait_still"
        self.parts: list[dict[str, np.ndarray | None]] = []
        self.still: slice | None = None
        self.distal: SegmentAxes | None = None
        self.proximal: SegmentAxes | None = None
        self.counter: RepCounter | None = None
        self.refiner = ExtremesRefiner(fs)
        self.notes: list[str] = []
        self._prompted = False
        self._warned = False  # a movement of the wrong kind was reported
        self.late = False  # the session did not begin with the calibration pose
        self._psi = {"d": 0.0, "p": 0.0}  # headings integrated so far, deg
        self._last: dict[str, float] = {}  # last tilt of each segment angle, deg (unwrapping)
        self._psi_from: int | None = None  # row of the first batch where the headings are 0
        self.mags = False
        self.counter_t0 = math.nan  # session time of the rep counter's first row

    # ------------------------------------------------------------------ input
    def step(self, rows: dict[str, np.ndarray | None], final: bool = False
             ) -> tuple[list[ev.SessionEvent], np.ndarray, np.ndarray, list[Rep]]:
        """Rows (``t``, ``qd``, ``gd``, ``md`` and for two sensors ``qp``, ``gp``, ``mp``) ->
        (events, times, angles (n, k) deg, reps)."""
        out: list[ev.SessionEvent] = []
        empty = (np.empty(0), np.empty((0, len(self.names))))
        if self.phase == "counting":
            return (out, *self._count(rows), )  # type: ignore[return-value]
        if self.phase == "failed":
            return out, *empty, []
        if rows["t"] is not None and len(rows["t"]):
            self.parts.append(rows)
            if not self._prompted:
                self._prompted = True
                out.append(ev.CalibrationPrompt(
                    t=float(rows["t"][0]), step="still",
                    message=f"{CALIBRATION_POSES[self.ex.pose]} for 2 s", duration_s=2.0))
        if not self.parts:
            return out, *empty, []
        h = self._history()
        now = float(h["t"][-1])
        if self.phase == "wait_still":
            gp, ap = (h["gp"], h.get("ap")) if self.two else (h["gd"], h.get("ad"))
            self.still = find_still(h["gd"], gp, self.fs, self.s.still_s, h.get("ad"), ap)
            if self.still is not None and self.still.stop < len(h["t"]):
                self.phase = "wait_move"
                out.append(ev.CalibrationPrompt(
                    t=float(h["t"][self.still.stop]), step="move",
                    message=f"Now {self.ex.motion}: this first movement sets the angle's direction",
                    duration_s=0.0))
        if self.phase == "wait_move":
            assert self.still is not None
            end = self._movement_done(h, final)
            if end is None and not self._warned:
                out += self._other_motion(h)
            if end is not None:
                try:
                    out += self._calibrate(h, end)
                except CalibrationError as exc:
                    return out + self._fail(now, str(exc)), *empty, []
                self.phase = "counting"
                hist, self.parts = h, []
                return (out, *self._count(hist))  # type: ignore[return-value]
        if (self.phase != "counting" and final) or now - float(h["t"][0]) > self.s.max_calibration_s:
            why = ("no still period of at least "
                   f"{self.s.still_s:g} s: start with the calibration pose" if self.still is None else
                   f"no movement of at least {self.ex.axis_deg:g}° about the "
                   f"{self.ex.angle.removesuffix('_deg').replace('_', ' ')} axis after the "
                   "calibration pose: does the exercise match the preset?")
            return out + self._fail(now, why), *empty, []
        return out, *empty, []

    def _fail(self, now: float, reason: str) -> list[ev.SessionEvent]:
        self.phase = "failed"
        self.parts = []
        return [ev.CalibrationFailed(t=now, reason=reason, will_retry=False)]

    def _history(self) -> dict[str, np.ndarray]:
        keys = [k for k in self.parts[0] if self.parts[0][k] is not None]
        h = {k: np.concatenate([p[k] for p in self.parts]) for k in keys}  # type: ignore[misc]
        self.parts = [h]  # type: ignore[list-item]
        return h

    # ------------------------------------------------------------------ calibration
    def _primary_measure(self, h: dict[str, np.ndarray], u0: np.ndarray, q0: np.ndarray,
                         k0: int) -> np.ndarray:
        if self.ex.axis == "y":
            return np.abs(twist_deg(h["qd"][k0:], q0))
        u = up_in_sensor(h["qd"][k0:])
        return np.degrees(np.arccos(np.clip(u @ u0, -1.0, 1.0)))

    def _pose(self, q: np.ndarray, a: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Up direction (sensor frame) and orientation at the end of the still pose.

        The up direction is the mean accelerometer direction over the pose's last 0.5 s when
        the rows carry it: at rest the accelerometer reads gravity alone, whereas the fused
        tilt may not have settled yet (the filter learns the gyroscope's bias over its first
        seconds of rest; 6D and 9D alike) and would put its transient error into the zero.
        """
        assert self.still is not None
        stop = self._settled_stop()
        k = max(self.still.start, stop - round(0.5 * self.fs))
        seg = q[k:stop]
        fin = np.isfinite(seg).all(axis=1)
        u = up_in_sensor(seg[fin]).mean(axis=0)
        if a is not None:
            acc = a[k:stop]
            acc = acc[np.isfinite(acc).all(axis=1)]
            if acc.shape[0]:
                u = acc.mean(axis=0)
        return u / np.linalg.norm(u), seg[fin][-1]

    def _bias(self, g: np.ndarray) -> np.ndarray:
        """The gyroscope's bias: its mean over the still pose, rad/s."""
        assert self.still is not None
        return np.nanmean(g[self.still.start : self._settled_stop()], axis=0)

    def _settled_stop(self) -> int:
        """End of the still pose without its last ``EDGE_S`` (a slow first movement may have
        begun there, below the still detector's threshold)."""
        assert self.still is not None
        cut = round(EDGE_S * self.fs)
        n = self.still.stop - self.still.start
        return self.still.stop - min(cut, n // 2)

    def _movement_done(self, h: dict[str, np.ndarray], final: bool) -> int | None:
        """Index after the first movement (reached ``axis_deg``, then came back half-way or
        6 s passed), or None while it goes on."""
        assert self.still is not None
        u0, q0 = self._pose(h["qd"], h.get("ad"))
        k0 = self.still.stop
        m = self._primary_measure(h, u0, q0, k0)
        over = np.flatnonzero(np.nan_to_num(m) >= self.ex.axis_deg)
        if over.size == 0:
            return None
        i = int(over[0])
        peak = np.fmax.accumulate(np.nan_to_num(m[i:]))
        back = np.flatnonzero(np.nan_to_num(m[i:]) < 0.5 * peak)
        if back.size:
            return k0 + i + int(back[0])
        if m.size - i > 6.0 * self.fs or final:
            return len(h["t"])
        return None

    def _other_motion(self, h: dict[str, np.ndarray]) -> list[ev.SessionEvent]:
        """While waiting for the first movement: a large movement of the other kind (a tilt
        for a rotation preset, a rotation about the vertical for a tilt preset) is reported."""
        assert self.still is not None
        u0, q0 = self._pose(h["qd"], h.get("ad"))
        k0 = self.still.stop
        u = up_in_sensor(h["qd"][k0:])
        tilt = float(np.nanmax(np.degrees(np.arccos(np.clip(u @ u0, -1.0, 1.0))), initial=0.0))
        turn = float(np.nanmax(np.abs(twist_deg(h["qd"][k0:], q0)), initial=0.0))
        other, kind, want = (tilt, "tilted", "a rotation about the segment's long axis") \
            if self.ex.axis == "y" else (turn, "turned about the vertical", "a tilt")
        if other < max(15.0, 1.5 * self.ex.axis_deg):
            return []
        self._warned = True
        return [ev.SessionWarning(
            t=float(h["t"][-1]), code="motion_mismatch",
            message=f"the {self.ex.segments[0]} {kind} by {other:.0f}° but {self.ex.name} is {want} "
                    f"({self.ex.motion}): does the exercise match the preset?")]

    def _calibrate(self, h: dict[str, np.ndarray], end: int) -> list[ev.SessionEvent]:
        assert self.still is not None
        ex, k0 = self.ex, self.still.stop
        axis, sign = self.table[ex.angle][0], self.table[ex.angle][1]
        u0, q0 = self._pose(h["qd"], h.get("ad"))
        u = up_in_sensor(h["qd"][k0:end])
        tilt = np.degrees(np.arccos(np.clip(u @ u0, -1.0, 1.0)))
        turn = np.abs(twist_deg(h["qd"][k0:end], q0))
        warn: list[str] = []
        hd = None
        if axis == "y":
            if np.nanmax(tilt) > max(15.0, 1.5 * np.nanmax(turn)):
                warn.append(f"the first movement tilted the {ex.segments[0]} by {np.nanmax(tilt):.0f}° "
                            f"and turned it by {np.nanmax(turn):.0f}°: {ex.name} is a rotation about "
                            "the long axis; does the exercise match the preset?")
        else:
            hd, planarity, peak = learn_axis(u, u0, ex.axis_deg)
            if np.nanmax(turn) > max(15.0, 1.5 * peak):
                warn.append(f"the first movement turned the {ex.segments[0]} by {np.nanmax(turn):.0f}° "
                            f"about the vertical and tilted it by {peak:.0f}°: {ex.name} is a tilt; does "
                            "the exercise match the preset?")
            elif planarity > PLANARITY_MAX:
                warn.append(f"the first movement was not in one plane (planarity {planarity:.2f}): "
                            f"{ex.name} moves in one plane; does the exercise match the preset?")
        x, z = _frame(u0, hd, axis, sign)
        self.distal = SegmentAxes(u0, q0, x, z, hd, self._bias(h["gd"]))
        self._psi = {"d": 0.0, "p": 0.0}  # headings integrated so far, deg
        self._psi_from = self.still.stop - 1
        moved = self._moved_before(h, u0, q0)
        if self.still.start > round(START_LATE_S * self.fs) or moved >= ex.axis_deg:
            self.late = True
            self.notes.append(
                f"the session did not begin with the calibration pose: calibrated on the first "
                f"still period, at {float(h['t'][self.still.start]):.1f} s, after the "
                f"{ex.segments[0]} had moved by {moved:.0f}°; the angles' zero is that pose (reps "
                "before it are counted from the same zero). It may be a hold at a rep's far end, "
                "not the rest: which way a rep goes from the rest is learnt for each set")
            warn.append(self.notes.pop())
        n0 = len(self.notes)
        if self.two:
            self.proximal = self._proximal(h, end, axis, sign)
        t = float(h["t"][end - 1])
        out = [ev.SessionWarning(t=t, code="late_calibration" if w.startswith("the session did not")
                                 else "motion_mismatch", message=w) for w in warn]
        out += [ev.SessionWarning(t=t, code="proximal_tilt", message=w) for w in self.notes[n0:]]
        self.notes += warn
        return out

    def _moved_before(self, h: dict[str, np.ndarray], u0: np.ndarray, q0: np.ndarray) -> float:
        """The largest movement of the distal segment away from the still pose before it, deg
        (its tilt; for a rotation preset its turn about the vertical): the exercise's own
        movement before the pose means the session began mid-set."""
        assert self.still is not None
        q = h["qd"][: self.still.start]
        if q.shape[0] == 0:
            return 0.0
        if self.ex.axis == "y":
            m = np.abs(twist_deg(q, q0))
        else:
            m = np.degrees(np.arccos(np.clip(up_in_sensor(q) @ u0, -1.0, 1.0)))
        return float(np.nanmax(m, initial=0.0))

    def _proximal(self, h: dict[str, np.ndarray], end: int, axis: str, sign: float) -> SegmentAxes:
        assert self.still is not None and self.distal is not None
        up0, qp0 = self._pose(h["qp"], h.get("ap"))
        bp = self._bias(h["gp"])
        hd = self.distal.h
        if hd is None:
            return SegmentAxes(up0, qp0, None, None, None, bp)
        self.mags = bool(self.s.magnetometer and h.get("md") is not None and h.get("mp") is not None
                         and np.isfinite(h["md"]).any() and np.isfinite(h["mp"]).any())
        if self.mags:  # one magnetic heading: the axis moves across through the earth frame
            hp = quat.rotate(qp0, quat.rotate(self.distal.q0, hd), inverse=True)
        else:  # 6D: the hinge-like relative rate of the first movement gives the axis
            k0 = self.still.stop
            up = up_in_sensor(h["qp"][k0:end])
            tilt = np.degrees(np.arccos(np.clip(up @ up0, -1.0, 1.0)))
            if not np.nanmax(tilt, initial=0.0) >= PROXIMAL_MIN_DEG:
                self.notes.append(f"the {self.ex.segments[1]} tilted less than {PROXIMAL_MIN_DEG:g}° "
                                  "during the first movement: its tilt is left out (6D)")
                return SegmentAxes(up0, qp0, None, None, None, bp)
            sl = slice(self.still.start, end)
            try:
                axes, _, contrast = relative_hinge_axes(
                    h["gp"][sl] - bp, h["gd"][sl] - self.distal.bias, h["qp"][sl], h["qd"][sl],
                    fs=self.fs)
            except CalibrationError:  # too slow or small a movement for the rate search
                axes, contrast = None, 0.0
            if axes is not None and contrast >= CONTRAST_MIN:
                hp = axes.proximal if axes.distal @ hd >= 0 else -axes.proximal
            else:  # the relative heading is not observable in this motion: assume the rhythm
                hp, _, _ = learn_axis(up, up0, PROXIMAL_MIN_DEG)
                # its sign: the proximal tilt that grows with the distal's first movement
                # (not the first sample past 1°, which may be sway), then the rhythm's
                ud = up_in_sensor(h["qd"][k0:end])
                dist = tilt_deg(ud, self.distal.u0, hd)
                prox = tilt_deg(up, up0, hp)
                ok = np.isfinite(dist) & np.isfinite(prox)
                if ok.sum() > 2 and float(np.dot(dist[ok] - dist[ok].mean(),
                                                 prox[ok] - prox[ok].mean())) < 0:
                    hp = -hp
                hp = RHYTHM[self.ex.region] * hp
                self.notes.append(
                    f"6D: the {self.ex.segments[1]}'s tilt direction relative to the "
                    f"{self.ex.segments[0]} is not observable in this movement; taken as the usual "
                    f"{'same' if RHYTHM[self.ex.region] > 0 else 'opposite'}-direction rhythm "
                    "(use magnetometers, 9D, to measure it)")
        hp = hp - (hp @ up0) * up0
        hp /= np.linalg.norm(hp)
        x, z = _frame(up0, hp, axis, sign)
        return SegmentAxes(up0, qp0, x, z, hp, bp)

    # ------------------------------------------------------------------ angles and reps
    def _segment_angles(self, q: np.ndarray, g: np.ndarray, a: SegmentAxes, key: str
                        ) -> dict[str, np.ndarray]:
        u = up_in_sensor(q)
        out: dict[str, np.ndarray] = {}
        nan = np.full(q.shape[0], np.nan)
        # rotation about the segment's long axis (body-fixed: its up direction in the pose)
        psi = gyro_heading_deg(np.broadcast_to(a.u0, u.shape), g, a.bias, self.fs, self._psi[key])
        if self._psi_from is not None and self._psi_from < psi.size:  # zero at the pose's end
            psi = psi - np.nan_to_num(psi[self._psi_from])
        fin = np.flatnonzero(np.isfinite(psi))
        if fin.size:
            self._psi[key] = float(psi[fin[-1]])
        for name, (axis, sign, _, _) in self.table.items():
            if axis == "y":
                out[name] = sign * psi
            elif axis in ("x", "z"):
                h = a.x if axis == "x" else a.z
                out[name] = self._unwrap(key + name, sign * tilt_deg(u, a.u0, h)) \
                    if h is not None else nan
            elif axis == "elevation":  # signed by the side of the first movement's plane
                el = np.degrees(np.arccos(np.clip(u @ a.u0, -1.0, 1.0)))
                out[name] = el if a.h is None else np.where(tilt_deg(u, a.u0, a.h) < 0, -el, el)
        return out

    def _unwrap(self, key: str, v: np.ndarray) -> np.ndarray:
        """A tilt continuous across ±180° and across blocks (a raised arm over a trunk that
        leans forward passes 180° against gravity); NaN rows stay NaN."""
        ok = np.isfinite(v)
        if not ok.any():
            return v
        prev = self._last.get(key)
        x = np.unwrap(v[ok] if prev is None else np.concatenate([[prev], v[ok]]), period=360.0)
        out = v.copy()
        out[ok] = x if prev is None else x[1:]
        self._last[key] = float(out[ok][-1])
        return out

    def angles(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        """Angles (n, k) of rows, columns :attr:`names`, deg."""
        assert self.distal is not None
        d = self._segment_angles(rows["qd"], rows["gd"], self.distal, "d")
        if self.two and self.proximal is not None:
            self._subtract_proximal(d, rows)
        self._psi_from = None
        if "plane_of_elevation_deg" in self.table:
            f, b = d.get("flexion_deg"), d.get("abduction_deg")
            with np.errstate(invalid="ignore"):
                plane = np.degrees(np.arctan2(f, b))
                d["plane_of_elevation_deg"] = np.where(d["elevation_deg"] > 10.0, plane, np.nan)
        if self.s.side == "left" and self.ex.region in _LIMBS:
            for name, (axis, _, _, _) in self.table.items():
                if axis in ("x", "y") and not (name == self.ex.angle and axis != "y"):
                    d[name] = -d[name]
        return np.column_stack([d[n] for n in self.names])

    def _subtract_proximal(self, d: dict[str, np.ndarray], rows: dict[str, np.ndarray]) -> None:
        """Distal minus proximal about the same axes (the dual-inclinometer method)."""
        pa = self.proximal
        assert pa is not None
        p = self._segment_angles(rows["qp"], rows["gp"], pa, "p")
        for name, (axis, _, _, _) in self.table.items():
            if axis == "elevation":  # the humerus's elevation over the thorax's tilt in its plane
                if pa.h is not None:
                    d[name] = d[name] - tilt_deg(up_in_sensor(rows["qp"]), pa.u0, pa.h)
            elif axis == "y":
                d[name] = d[name] - p[name]
            elif axis in ("x", "z") and pa.h is not None:
                d[name] = d[name] - p[name]

    def _count(self, rows: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[Rep]]:
        t = rows["t"]
        if t is None or len(t) == 0:
            return np.empty(0), np.empty((0, len(self.names))), []
        vals = self.angles(rows)
        prim = vals[:, 0]
        k0 = 0
        if self.counter is None:  # every row from the first (a session begun mid-set too)
            # begun mid-set, the still pose may be a rep's far end (a hold) and the sets may
            # rest elsewhere: the counter learns each set's direction from its rest
            settings = self.rep_settings.replace(direction=0) if self.late else self.rep_settings
            self.counter_t0 = float(t[k0])
            self.counter = RepCounter(fs=self.fs, settings=settings, mode="angle",
                                      t0=self.counter_t0)
        g = [rows["gd"][k0:]] + ([rows["gp"][k0:]] if self.two else [])
        self.refiner.add_rows(t[k0:], prim[k0:], quiet_mask(*g))
        reps = list(self.counter.update(prim[k0:]))
        for r in reps:
            self.refiner.add_rep(r)
        self.refiner.trim()
        return t, vals, reps

    def flush(self) -> list[Rep]:
        reps = list(self.counter.flush()) if self.counter is not None else []
        for r in reps:
            self.refiner.add_rep(r)
        self.refiner.finish()
        return reps

    @property
    def mid_rep(self) -> bool:
        return self.counter is not None and self.counter.diagnostics.phase in ("out", "back")

    # ------------------------------------------------------------------ snapshot
    def state(self) -> dict[str, Any]:
        """Everything that carries over from one block of rows to the next, once counting
        (:mod:`.snapshot`): the pose, the segments' axes, the rotation integrators, the tilts'
        unwrapping, the rep counter and the extremes refiner."""
        if self.phase != "counting" or self.counter is None:
            raise ConfigurationError("only a calibrated, counting session can be saved")
        return {
            "exercise": self.ex.name, "two": self.two, "late": self.late, "mags": self.mags,
            "still": [self.still.start, self.still.stop] if self.still is not None else None,
            "distal": _axes_state(self.distal), "proximal": _axes_state(self.proximal),
            "psi": dict(self._psi), "psi_from": self._psi_from, "last": dict(self._last),
            "warned": self._warned, "notes": list(self.notes),
            "counter": {"state": self.counter.state.tolist(), "t0": self.counter_t0,
                        "direction": self.counter.settings.direction},
            "refiner": self.refiner.state(),
        }

    def restore(self, d: dict[str, Any]) -> None:
        """Continue counting from :meth:`state` (a counter built for the same preset)."""
        if d["exercise"] != self.ex.name or bool(d["two"]) != self.two:
            n = lambda two: "two sensors" if two else "one sensor"  # noqa: E731
            raise ConfigurationError(
                f"the state is of {d['exercise']!r} with {n(d['two'])}, not {self.ex.name!r} "
                f"with {n(self.two)}")
        self.phase, self._prompted = "counting", True
        self.late, self.mags, self._warned = bool(d["late"]), bool(d["mags"]), bool(d["warned"])
        self.still = slice(*d["still"]) if d["still"] is not None else None
        self.distal, self.proximal = _axes_from(d["distal"]), _axes_from(d["proximal"])
        self._psi = {k: float(v) for k, v in d["psi"].items()}
        self._psi_from = None if d["psi_from"] is None else int(d["psi_from"])
        self._last = {k: float(v) for k, v in d["last"].items()}
        self.notes = list(d["notes"])
        c = d["counter"]
        self.counter_t0 = float(c["t0"])
        self.counter = RepCounter(fs=self.fs, mode="angle", t0=self.counter_t0,
                                  settings=self.rep_settings.replace(direction=c["direction"]))
        self.counter.state = np.asarray(c["state"], dtype=np.float64)
        self.refiner.restore(d["refiner"])

