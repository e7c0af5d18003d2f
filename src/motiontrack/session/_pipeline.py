"""The synchronous processing chain of a session: samples in, session events out.

decoding (done by the transport) -> per-sensor streaming fusion -> time alignment of the
two sensors -> sensor-to-segment calibration -> joint angles -> repetitions.
No asyncio here: the same object runs live, in replays and in tests.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import events as ev
from ..errors import CalibrationError, ConfigurationError

logger = logging.getLogger(__name__)

__all__ = ["Pipeline", "SessionSettings"]

#: Still-pose prompt of a given ``SessionSettings.pose`` (a start in that posture).
_POSE_PROMPTS = {
    "standing": "Stand still with your legs straight",
    "seated": "Sit still with your thigh on the chair and the lower leg hanging",
    "supine": "Lie still on your back with your legs straight",
}
#: After the standing pose of the session protocol: how to take the exercise position.
_POSITION_PROMPTS = {
    "seated": "Now sit down on the chair with the lower leg hanging",
    "supine": "Now lie down on your back with the legs straight",
    "standing": "Now take your exercise stance",
    None: "Now take your exercise position",
}
#: Nominal knee flexion of each still pose, deg (motiontrack.kinematics.POSES).
_NOMINAL_DEG = {"standing": 0.0, "seated": 90.0, "supine": 0.0}
_START_WITHIN_S = 1.0  # s; a still pose starting later than this is no standing start
_SETTLE_WAIT_S = 15.0  # s; single sensor: longest wait for a rest after the still pose
_AXIS_STD_DEG = 3.0  # deg; hinge axes this certain are determined (CalibrationSettings' warning)


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionSettings:
    """How a :class:`~motiontrack.session.Session` processes data."""

    fusion_method: str = "vqf"  # orientation filter (motiontrack.fusion.methods())
    calibration: str = "auto"  # "auto": still pose + the exercise itself (reps re-counted
    #   from the start once calibrated); "guided": still pose + separate calibration
    #   movements (not counted); "none": sensor frames are segment frames
    pose: str | None = None  # still pose. None = the session protocol (docs/session-protocol.md):
    #   stand still with the legs straight (0°), then take the exercise position; the start
    #   pose is checked (motiontrack.analysis.detect_start_pose) and a start already in the
    #   exercise's posture falls back to that posture's nominal angle, with a warning prompt.
    #   "standing" | "seated" | "supine": the still pose is that posture (no detection);
    #   e.g. pose="seated" for a patient who cannot stand (its nominal 90° is assumed)
    pose_flexion_deg: float | None = None  # deg; flexion in the given `pose` if measured
    #   (goniometer); needs `pose`. None = the pose's nominal value (0 standing/supine, 90 seated)
    still_s: float = 1.5  # s; still pose needed before the motion step
    calibration_motion_s: float = 12.0  # s of motion before the first calibration attempt
    calibration_retry_s: float = 5.0  # s of further motion between attempts
    min_confidence: float = 0.6  # calibrations below this are retried (until the timeout)
    max_calibration_s: float = 90.0  # s; after this the best attempt is used, or it fails
    max_interp_s: float = 0.25  # s; the distal sensor is interpolated over gaps up to this
    pair_timeout_s: float = 0.6  # s the proximal stream may run ahead of a silent distal one
    max_gap_s: float = 6.0  # s; the rep counter bridges data gaps up to this (reconnects)
    queue_size: int = 2048  # events buffered for a slow consumer before dropping
    max_pending_callbacks: int = 256  # async callbacks in flight before dropping
    side: str = "right"  # "right" | "left"

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
            if self.pose is None:
                raise ConfigurationError(
                    "pose_flexion_deg needs pose= (the posture it was measured in): with the "
                    "session protocol the still pose is standing with the legs straight (0°)"
                )
        for name in (
            "still_s",
            "calibration_motion_s",
            "calibration_retry_s",
            "max_calibration_s",
            "max_interp_s",
            "pair_timeout_s",
            "max_gap_s",
        ):
            v = getattr(self, name)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v <= 0
            ):
                raise ConfigurationError(f"{name} must be a positive number, got {v!r}")
        if not 0 <= self.min_confidence <= 1:
            raise ConfigurationError("min_confidence must be in [0, 1]")
        if self.queue_size < 8 or self.max_pending_callbacks < 1:
            raise ConfigurationError("queue_size must be >= 8 and max_pending_callbacks >= 1")
        if self.side not in ("right", "left"):
            raise ConfigurationError(f"side must be 'right' or 'left', got {self.side!r}")


class _Stream:
    """One sensor: streaming fusion and a short history on the session clock."""

    def __init__(self, name: str, fs: float, method: str) -> None:
        from .. import fusion

        self.name = name
        self.fs = float(fs)
        if method not in fusion.methods() or method not in fusion.FILTERS:
            method = "madgwick"
        self.filter = fusion.FILTERS[method](fs=self.fs)
        self.method = method
        self.offset: float | None = None  # host time - device time, s (min over blocks)
        self.last_t: float | None = None  # device time of the last sample
        # history on the session clock (for pairing / interpolation)
        self.t = np.empty(0)
        self.q = np.empty((0, 4))
        self.acc = np.empty((0, 3))
        self.gyr = np.empty((0, 3))

    def fill(
        self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, max_interp_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Short gaps (up to ``max_interp_s``) before or inside this block, filled by linear
        interpolation so the filter integrates the rotation made meanwhile."""
        per = 1.0 / self.fs
        if self.last_t is not None:
            tt = np.concatenate([[self.last_t], t])
            aa = np.vstack([self._last_acc, acc])
            gg = np.vstack([self._last_gyr, gyr])
        else:
            tt, aa, gg = t, acc, gyr
        d = np.diff(tt)
        holes = np.flatnonzero((d > 1.5 * per) & (d <= max_interp_s + 1e-9))
        if holes.size:
            parts_t, new_t = [tt], []
            for i in holes:
                m = round(d[i] * self.fs) - 1
                if m > 0:
                    new_t.append(tt[i] + (tt[i + 1] - tt[i]) * np.arange(1, m + 1) / (m + 1))
            if new_t:
                parts_t.extend(new_t)
                t_all = np.concatenate(parts_t)
                order = np.argsort(t_all, kind="stable")
                t_all = t_all[order]
                a_all = np.column_stack([np.interp(t_all, tt, aa[:, j]) for j in range(3)])
                g_all = np.column_stack([np.interp(t_all, tt, gg[:, j]) for j in range(3)])
                start = 1 if self.last_t is not None else 0
                t, acc, gyr = t_all[start:], a_all[start:], g_all[start:]
        self._last_acc, self._last_gyr = acc[-1].copy(), gyr[-1].copy()
        return t, acc, gyr

    def fuse(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
        dt = np.full(t.shape[0], 1.0 / self.fs)
        if self.last_t is not None:
            d = np.diff(np.concatenate([[self.last_t], t]))
            # after a long gap the filter did not propagate: restart from the nominal period
            # (integrating the first rate over the whole gap would be wrong)
            dt = np.where((d > 0) & (d < 1.5 / self.fs), d, 1.0 / self.fs)
        self.last_t = float(t[-1])
        return np.asarray(self.filter.update(acc, gyr, dt=dt)).reshape(-1, 4)

    def append(
        self, ts: np.ndarray, q: np.ndarray, acc: np.ndarray, gyr: np.ndarray, keep_s: float
    ) -> None:
        self.t = np.concatenate([self.t, ts])
        self.q = np.vstack([self.q, q])
        self.acc = np.vstack([self.acc, acc])
        self.gyr = np.vstack([self.gyr, gyr])
        if self.t.size and self.t[-1] - self.t[0] > 2 * keep_s:
            k = int(np.searchsorted(self.t, self.t[-1] - keep_s))
            self.t, self.q, self.acc, self.gyr = self.t[k:], self.q[k:], self.acc[k:], self.gyr[k:]


def _nlerp(q0: np.ndarray, q1: np.ndarray, w: np.ndarray) -> np.ndarray:
    q1 = np.where((np.sum(q0 * q1, axis=1) < 0)[:, None], -q1, q1)
    q = q0 * (1 - w)[:, None] + q1 * w[:, None]
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _count_imu(counter: Any, g: np.ndarray, a: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Reps and the counted signal (angle about the dominant axis, deg) of a block."""
    reps, signal = counter.update(g, a, return_signal=True)
    return list(reps), signal


class _Trace:
    """Times (s), primary angle (deg) and "at rest" flag of a whole session, 17 bytes a
    sample.

    Stored in fixed-size chunks filled in place, so a long session grows by the data
    itself (no per-block array objects, no views keeping whole angle blocks alive, no
    doubling copies).
    """

    CHUNK = 1024  # samples per chunk (16 KiB)

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._quiet: list[np.ndarray] = []
        self._fill = self.CHUNK

    def __len__(self) -> int:
        return 0 if not self._chunks else (len(self._chunks) - 1) * self.CHUNK + self._fill

    def append(self, t: np.ndarray, v: np.ndarray, quiet: np.ndarray) -> None:
        i, n = 0, len(t)
        while i < n:
            if self._fill == self.CHUNK:
                self._chunks.append(np.empty((2, self.CHUNK)))
                self._quiet.append(np.zeros(self.CHUNK, dtype=bool))
                self._fill = 0
            k = min(n - i, self.CHUNK - self._fill)
            chunk = self._chunks[-1]
            chunk[0, self._fill : self._fill + k] = t[i : i + k]
            chunk[1, self._fill : self._fill + k] = v[i : i + k]
            self._quiet[-1][self._fill : self._fill + k] = quiet[i : i + k]
            self._fill += k
            i += k

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._chunks:
            return np.empty(0), np.empty(0)
        both = np.concatenate(self._chunks, axis=1)[:, : len(self)]
        return both[0].copy(), both[1].copy()

    def quiet(self) -> np.ndarray:
        """True where both segments were at rest (gyroscopes below 0.1 rad/s)."""
        if not self._quiet:
            return np.zeros(0, dtype=bool)
        return np.concatenate(self._quiet)[: len(self)]


class Pipeline:
    """Samples of one or two sensors in, :mod:`motiontrack.events` out.

    Parameters
    ----------
    sensors : dict name -> sample rate (Hz)
    joint : str or None
        Two-sensor joint (``proximal``, ``distal`` name the sensors), or None with
        ``segment`` for single-sensor rep counting.
    exercise : str, optional
        Rep-counter preset and the exercise's posture
        (:data:`motiontrack.analysis.EXERCISE_POSES`).
    calibration : SegmentCalibration, optional
        Known calibration: skips the calibration step.

    Notes
    -----
    The calibration follows the session protocol (docs/session-protocol.md) unless
    ``settings.pose`` is given: the patient is prompted to stand still with the legs
    straight (this defines 0° of flexion), then to take the exercise position, keep still
    a second and exercise. The first still period of both sensors is the still pose;
    everything after it, the sit-down or lie-down included, is the calibration motion.
    At each attempt :func:`motiontrack.analysis.detect_start_pose` checks whether the
    still period was the standing pose (the thigh turned by more than 45° into the
    exercise's rests) or already the exercise's posture; the latter falls back to that
    posture's nominal angle with a ``CalibrationPrompt(step="warning")``. After a
    standing start, reps are counted from the first rest in the exercise posture: the
    transition into it is never a rep.
    """

    def __init__(
        self,
        sensors: dict[str, float],
        *,
        joint: str | None = "knee",
        proximal: str | None = None,
        distal: str | None = None,
        segment: str | None = None,
        exercise: str | None = None,
        calibration: Any = None,
        settings: SessionSettings | None = None,
        use_host_time: bool = True,
    ) -> None:
        from ..analysis import EXERCISE_POSES
        from ..reps import PRESETS

        self.settings = s = settings or SessionSettings()
        self.exercise = exercise
        self.joint = joint if segment is None else None
        names = list(sensors)
        if segment is not None:
            if segment not in sensors:
                raise ConfigurationError(f"no sensor {segment!r} (sensors: {', '.join(names)})")
            self.proximal, self.distal = segment, None
        else:
            if proximal is None or distal is None:
                if len(names) != 2:
                    raise ConfigurationError(
                        "a joint needs two sensors: name them with proximal= and distal="
                    )
                proximal = proximal or next(n for n in names if n != distal)
                distal = distal or next(n for n in names if n != proximal)
            for n in (proximal, distal):
                if n not in sensors:
                    raise ConfigurationError(f"no sensor {n!r} (sensors: {', '.join(names)})")
            self.proximal, self.distal = proximal, distal
        self.use_host_time = use_host_time
        self.streams = {n: _Stream(n, fs, s.fusion_method) for n, fs in sensors.items()}
        self.fs = self.streams[self.proximal].fs
        rep_settings = PRESETS.get(exercise or "", PRESETS["generic"])
        self.rep_settings = dataclasses.replace(
            rep_settings, max_gap_s=max(rep_settings.max_gap_s, s.max_gap_s)
        )
        #: the exercise's own posture (None: unknown exercise)
        self.exercise_pose: str | None = EXERCISE_POSES.get(exercise or "")
        #: the still pose: prompted, then the one the calibration used
        self.pose = s.pose or "standing"
        #: session time from which reps are counted (after a standing start: the first rest
        #: in the exercise posture); None = from the first angle
        self.count_from_t: float | None = None
        self._pose_warned = False
        self._unexpected_change = False  # a posture change before a standing exercise
        self._hold_s = s.still_s  # s; how long the still prompt asked to hold the pose
        self.calibration = calibration
        self.estimator: Any = None
        self.counter: Any = None
        self.reps: list[Any] = []
        self.names: tuple[str, ...] = ()
        self.next_t: float | None = None  # next proximal grid time (session clock)
        self.t0: float | None = None  # session time zero: proximal offset
        # calibration state
        self.cal_state = (
            "done"
            if (
                calibration is not None
                or s.calibration == "none"
                or self.joint is None
                or self.joint not in ("knee", "elbow", "hinge")
            )
            else "wait_still"
        )
        self._hist: dict[str, list[np.ndarray]] = {
            k: [] for k in ("t", "ap", "gp", "ad", "gd", "qp", "qd")
        }
        self._still: slice | None = None
        self._motion_start: int | None = None
        self._next_attempt: float = 0.0
        # best attempt: confidence, calibration, count_from_t, fallback (no standing start)
        self._best: tuple[float, Any, float | None, bool] | None = None
        self._cal_started: float | None = None
        self._prompted = False
        self._move_prompted = False
        self.calibration_attempts = 0
        self._trace = _Trace()
        # single sensor following the protocol: (grid, acc, gyr) blocks until the start is
        # decided (:meth:`_segment_start`); None once decided or without the protocol
        self._seg_hist: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] | None = (
            ([], [], []) if self.distal is None and s.pose in (None, "standing") else None
        )
        if self.cal_state == "done":
            self._start_counting()

    # ------------------------------------------------------------------ clock
    def session_time(
        self, name: str, t: np.ndarray, received_at: float | None, t_last: float | None = None
    ) -> np.ndarray:
        """Device times of ``name`` on the session clock (the proximal sensor's)."""
        st = self.streams[name]
        if self.use_host_time and received_at is not None:
            off = received_at - float(t[-1] if t_last is None else t_last)
            st.offset = off if st.offset is None else min(st.offset, off)
        else:
            st.offset = 0.0
        ref = self.streams[self.proximal].offset
        if ref is None:
            return t.copy() if name == self.proximal else t + 0.0
        return t + (st.offset - ref)

    # ------------------------------------------------------------------ input
    def feed(
        self,
        name: str,
        t: np.ndarray,
        acc: np.ndarray,
        gyr: np.ndarray,
        received_at: float | None = None,
    ) -> list[ev.SessionEvent]:
        """One block of samples of sensor ``name`` (device time ``t`` s, SI units)."""
        if name not in self.streams or t.size == 0:
            return []
        st = self.streams[name]
        ok = np.isfinite(t)
        if not ok.all():
            t, acc, gyr = t[ok], acc[ok], gyr[ok]
        if st.last_t is not None:
            new = t > st.last_t  # duplicates / reordering: keep only samples after the last one
            if not new.all():
                t, acc, gyr = t[new], acc[new], gyr[new]
            if t.size == 0:
                return []
        ts_raw = t
        t, acc, gyr = st.fill(t, acc, gyr, self.settings.max_interp_s)
        q = st.fuse(t, acc, gyr)
        ts = self.session_time(name, t, received_at, ts_raw[-1])
        st.append(ts, q, acc, gyr, keep_s=max(5.0, 4 * self.settings.pair_timeout_s))
        if self.distal is None:
            return self._single(ts, acc, gyr)
        return self._pair()

    # ------------------------------------------------------------------ single sensor
    def _single(self, ts: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[ev.SessionEvent]:
        from ..reps import RepCounter

        grid, idx = self._grid_for(ts)
        a = np.full((grid.size, 3), np.nan)
        g = np.full((grid.size, 3), np.nan)
        a[idx], g[idx] = acc, gyr
        if self._seg_hist is not None:
            # the start is not decided yet: was there a standing pose and a posture change?
            for lst, v in zip(self._seg_hist, (grid, a, g)):
                lst.append(v)
            k0 = self._segment_start()
            if k0 is None:
                return [
                    ev.AngleUpdate(
                        t=float(grid[-1]),
                        joint=None,
                        names=("segment_angle_deg",),
                        angle_deg=math.nan,
                        times=grid,
                        values_deg=np.full((grid.size, 1), np.nan),
                    )
                ]
            grid, a, g = (np.concatenate(x)[k0:] for x in self._seg_hist)
            self._seg_hist = None
            if k0 > 0:
                self.count_from_t = float(grid[0])
            if grid.size == 0:
                return []
        if self.counter is None:
            self.counter = RepCounter(
                fs=self.fs, settings=self.rep_settings, mode="imu", t0=float(grid[0])
            )
        # the counted signal (angle about the dominant axis) is only exposed by the counter's
        # batch path; RepCounter.update returns reps only
        reps, signal = _count_imu(self.counter, g, a)
        out: list[ev.SessionEvent] = [
            ev.AngleUpdate(
                t=float(grid[-1]),
                joint=None,
                names=("segment_angle_deg",),
                angle_deg=float(signal[-1]),
                times=grid,
                values_deg=np.asarray(signal)[:, None],
            )
        ]
        out.extend(self._reps(reps))
        return out

    def _segment_start(self) -> int | None:
        """Single sensor: the first history sample to count from, or None (undecided).

        After the session protocol's standing pose, sitting or lying down turns the sensor
        once by ~90°: that is not a rep. The first still period must begin within 1 s
        (else the session did not start still: count from the start); once the sensor has
        rested (>= 0.5 s) twice after it, :func:`motiontrack.analysis.detect_start_pose`
        tells whether it turned into another posture (count from the first rest there) or
        not (a squat stance, or a start in the exercise's posture: count from the start).
        Two rests, because a hold at the far end of the first rep is a rest too, turned
        like a new posture: a posture change never comes back near the start orientation,
        a rep does.
        """
        from ..analysis import detect_start_pose, quiet_mask, quiet_runs
        from ..kinematics import detect_still

        t, a, g = (np.concatenate(x) for x in self._seg_hist)  # type: ignore[union-attr]
        n, fs = t.size, self.fs
        ok = np.isfinite(g).all(axis=1) & np.isfinite(a).all(axis=1)
        g2 = np.where(ok[:, None], g, 10.0)
        still = detect_still(g2, g2, fs=fs, min_duration=self.settings.still_s)
        late = round(_START_WITHIN_S * fs)
        if still is None:
            return 0 if n > late + self.settings.still_s * fs else None
        if still.start > late:
            return 0
        if still.stop >= n:
            return None  # still standing
        with np.errstate(invalid="ignore"):
            quiet = quiet_mask(g2[still.stop :]) & (
                np.abs(np.linalg.norm(a[still.stop :], axis=1) - 9.80665) < 1.0
            )
        rests = len(quiet_runs(quiet, max(1, round(0.5 * fs))))
        if rests < 2 and n - still.stop <= _SETTLE_WAIT_S * fs:
            return None  # wait for the rests (a session that never rests: decided at the timeout)
        _, settled, _ = detect_start_pose(a, g2, g2, fs, still, None)
        return int(settled) if settled is not None else 0

    def _grid_for(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Proximal grid points covering ``ts`` (NaN rows for skipped grid points) and the
        grid index of each sample."""
        per = 1.0 / self.fs
        if self.next_t is None:
            self.next_t = float(ts[0])
        k = np.rint((ts - self.next_t) / per).astype(np.int64)
        k = np.maximum(k, 0)
        n = int(k[-1]) + 1
        grid = self.next_t + np.arange(n) * per
        self.next_t = float(grid[-1] + per)
        return grid, k

    # ------------------------------------------------------------------ pairing
    def _pair(self) -> list[ev.SessionEvent]:
        p, d = self.streams[self.proximal], self.streams[self.distal]  # type: ignore[index]
        if p.t.size == 0:
            return []
        per = 1.0 / self.fs
        if self.next_t is None:
            if d.t.size == 0:
                return []
            self.next_t = float(max(p.t[0], d.t[0]))
        p_last = float(p.t[-1])
        d_last = float(d.t[-1]) if d.t.size else -math.inf
        # process the proximal grid up to where the distal has data, or past the timeout
        horizon = max(min(p_last, d_last), p_last - self.settings.pair_timeout_s)
        if horizon < self.next_t - 1e-9:
            return []
        n = math.floor((horizon - self.next_t) / per + 1e-6) + 1
        grid = self.next_t + np.arange(n) * per
        self.next_t = float(grid[-1] + per)
        qp, ap, gp = self._at(p, grid, self.settings.max_interp_s)
        qd, ad, gd = self._at(d, grid, self.settings.max_interp_s)
        return self._joint(grid, qp, ap, gp, qd, ad, gd)

    @staticmethod
    def _at(
        s: _Stream, grid: np.ndarray, max_span: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``s`` interpolated at ``grid`` (NaN where the bracket is wider than ``max_span``)."""
        n = grid.size
        q = np.full((n, 4), np.nan)
        a = np.full((n, 3), np.nan)
        g = np.full((n, 3), np.nan)
        if s.t.size == 0:
            return q, a, g
        i = np.searchsorted(s.t, grid)
        hi = np.clip(i, 0, s.t.size - 1)
        lo = np.clip(i - 1, 0, s.t.size - 1)
        t_hi, t_lo = s.t[hi], s.t[lo]
        near_hi = np.abs(t_hi - grid) <= 1e-6
        span = t_hi - t_lo
        ok = near_hi | ((i > 0) & (i < s.t.size) & (span <= max_span + 1e-9))
        # a grid point a hair before the first sample or after the last: nearest sample
        edge = ~ok & (
            np.minimum(np.abs(t_hi - grid), np.abs(t_lo - grid))
            <= 0.55 * (max_span if max_span < 0.05 else 0.01)
        )
        w = np.where(span > 0, (grid - t_lo) / np.where(span > 0, span, 1.0), 0.0)
        w = np.clip(np.where(near_hi, 1.0, w), 0.0, 1.0)
        sel = ok
        if sel.any():
            q[sel] = _nlerp(s.q[lo[sel]], s.q[hi[sel]], w[sel])
            a[sel] = s.acc[lo[sel]] * (1 - w[sel])[:, None] + s.acc[hi[sel]] * w[sel][:, None]
            g[sel] = s.gyr[lo[sel]] * (1 - w[sel])[:, None] + s.gyr[hi[sel]] * w[sel][:, None]
        if edge.any():
            j = np.where(np.abs(t_hi - grid) <= np.abs(t_lo - grid), hi, lo)[edge]
            q[edge], a[edge], g[edge] = s.q[j], s.acc[j], s.gyr[j]
        return q, a, g

    # ------------------------------------------------------------------ joint
    def _joint(self, grid, qp, ap, gp, qd, ad, gd) -> list[ev.SessionEvent]:
        out: list[ev.SessionEvent] = []
        if self.cal_state != "done":
            for k, v in zip(
                ("t", "ap", "gp", "ad", "gd", "qp", "qd"), (grid, ap, gp, ad, gd, qp, qd)
            ):
                self._hist[k].append(v)
            out.extend(self._calibration_step(float(grid[-1]), gp, gd))
            if self.cal_state != "done":
                # keep the application informed that data flows: angles are NaN until calibrated
                names = self.names or ("flexion_deg",)
                out.append(
                    ev.AngleUpdate(
                        t=float(grid[-1]),
                        joint=self.joint,
                        names=names,
                        angle_deg=math.nan,
                        times=grid,
                        values_deg=np.full((grid.size, len(names)), np.nan),
                    )
                )
                return out
            if self.settings.calibration == "auto":
                # re-run the whole buffered session with the calibration: no rep is lost
                h = {k: np.concatenate(v) for k, v in self._hist.items()}
                out.extend(self._angles(h["t"], h["qp"], h["qd"], h["gp"], h["gd"]))
            self._hist = {k: [] for k in self._hist}
            return out
        out.extend(self._angles(grid, qp, qd, gp, gd))
        return out

    def _start_counting(self) -> None:
        from ..kinematics import JointAngleEstimator

        if self.distal is None:
            return  # the single-sensor counter is created at the first block (its t0)
        self.estimator = JointAngleEstimator(
            self.calibration, joint=self.joint or "knee", fs=self.fs, side=self.settings.side
        )  # type: ignore[arg-type]
        self.names = tuple(self.estimator.names)
        self.counter = None  # created at the first angle block (its t0)

    def _angles(
        self, grid: np.ndarray, qp: np.ndarray, qd: np.ndarray, gp: np.ndarray, gd: np.ndarray
    ) -> list[ev.SessionEvent]:
        from ..analysis import quiet_mask
        from ..reps import RepCounter

        if self.estimator is None:
            self._start_counting()
        vals = self.estimator.update_batch(qp, qd).values_deg
        primary = vals[:, 0]
        self._trace.append(grid, primary, quiet_mask(gp, gd))
        k0 = 0  # first sample counted (after a standing start: the exercise posture)
        if self.counter is None:
            if self.count_from_t is not None:
                k0 = int(np.searchsorted(grid, self.count_from_t - 1e-9))
            if k0 < grid.size:
                self.counter = RepCounter(
                    fs=self.fs, settings=self.rep_settings, mode="angle", t0=float(grid[k0])
                )
        out: list[ev.SessionEvent] = [
            ev.AngleUpdate(
                t=float(grid[-1]),
                joint=self.joint,
                names=self.names,
                angle_deg=float(primary[-1]),
                times=grid,
                values_deg=vals,
            )
        ]
        if self.counter is not None:
            out.extend(self._reps(self.counter.update(primary[k0:])))
        return out

    def _reps(self, reps: Sequence[Any]) -> list[ev.SessionEvent]:
        out: list[ev.SessionEvent] = []
        for r in reps:
            self.reps.append(r)
            out.append(ev.RepCompleted(t=float(r.emitted_s), rep=r, count=len(self.reps)))
        return out

    # ------------------------------------------------------------------ calibration
    def _calibration_step(
        self, now: float, gp: np.ndarray, gd: np.ndarray
    ) -> list[ev.SessionEvent]:
        s = self.settings
        out: list[ev.SessionEvent] = []
        if self._cal_started is None:
            self._cal_started = now
        if not self._prompted:
            self._prompted = True
            if s.pose in (None, "standing"):  # the protocol: 2-3 s standing straight define 0°
                hold = max(2.0, s.still_s)
                msg = (
                    f"Stand still with your legs straight for {hold:g} s "
                    "(this defines 0° of knee flexion)"
                )
            else:
                hold = s.still_s
                msg = _POSE_PROMPTS[self.pose] + f" for {hold:g} s"
            self._hold_s = hold
            out.append(ev.CalibrationPrompt(t=now, step="still", message=msg, duration_s=hold))
        if self.cal_state == "wait_still":
            still = self._find_still()
            if still is None:
                return out
            n_hist = sum(x.size for x in self._hist["t"])
            held = (still.stop - still.start) >= self._hold_s * self.fs - 0.5
            # the next step is prompted once the still pose was held as long as asked (or
            # the patient moved on earlier: a still period of ``still_s`` is enough)
            if not self._move_prompted and (held or still.stop < n_hist):
                self._move_prompted = True
                if s.pose in (None, "standing"):
                    where = _POSITION_PROMPTS.get(self.exercise_pose, _POSITION_PROMPTS[None])
                    msg = (
                        where
                        + ", keep still for a second, then "
                        + (
                            "do your exercise: calibration completes after a few repetitions"
                            if s.calibration == "auto"
                            else "bend and straighten the joint slowly 3-5 times"
                        )
                    )
                else:
                    msg = (
                        "Now do your exercise: calibration completes after a few repetitions"
                        if s.calibration == "auto"
                        else "Now bend and straighten the joint slowly 3-5 times"
                    )
                out.append(
                    ev.CalibrationPrompt(
                        t=now, step="move", message=msg, duration_s=s.calibration_motion_s
                    )
                )
            if still.stop < n_hist:  # the still pose has ended: motion started
                self._still = still
                self._motion_start = still.stop
                self.cal_state = "wait_motion"
                self._next_attempt = now + s.calibration_motion_s
            return out
        if self.cal_state == "wait_motion":
            if now < self._next_attempt:
                return out
            self._next_attempt = now + s.calibration_retry_s
            out.extend(self._attempt(now))
        return out

    def _find_still(self) -> slice | None:
        """The first still window of both sensors in the history
        (:func:`motiontrack.kinematics.detect_still`; gaps count as motion)."""
        from ..kinematics import detect_still

        s = self.settings
        gp = np.concatenate(self._hist["gp"])
        gd = np.concatenate(self._hist["gd"])
        if gp.shape[0] < s.still_s * self.fs:
            return None
        ok = np.isfinite(gp).all(axis=1) & np.isfinite(gd).all(axis=1)
        gp = np.where(ok[:, None], gp, 10.0)
        gd = np.where(ok[:, None], gd, 10.0)
        return detect_still(gp, gd, fs=self.fs, min_duration=s.still_s)

    def _start_pose(self, h: dict[str, np.ndarray]) -> tuple[str, float | None, bool]:
        """The still pose for this attempt, the session time reps are counted from, and
        whether the decision must wait (no rest after the still period yet).

        With ``settings.pose`` None (the session protocol), the still period is checked by
        :func:`motiontrack.analysis.detect_start_pose`: the standing pose (the thigh turned
        into the exercise's rests) or already the exercise's posture (the fallback).
        """
        from ..analysis import detect_start_pose

        s = self.settings
        assert self._still is not None
        if s.pose is not None and s.pose != "standing":
            return s.pose, None, False  # a start in the exercise posture, as declared
        # after a standing start, reps count from the first rest in the exercise posture;
        # with pose="standing" given, only that rest is looked for
        expected = self.exercise_pose if s.pose is None else None
        # a standing exercise expects no posture change; look for one all the same (the
        # patient sat down after all: the transition must not be counted)
        detected, settled, turn = detect_start_pose(
            h["ap"],
            h["gp"],
            h["gd"],
            self.fs,
            self._still,
            None if expected == "standing" else expected,
        )
        self._unexpected_change = expected == "standing" and settled is not None
        count_from = float(h["t"][settled]) if settled is not None else None
        if s.pose is not None or expected in (None, "standing"):
            return "standing", count_from, False
        # a seated or supine exercise: no rest after the still period yet, no decision yet
        return detected, count_from, detected != "standing" and not math.isfinite(turn)

    def _pose_warning(self, now: float, pose: str | None) -> list[ev.SessionEvent]:
        """The warning of a start pose that is not (known to be) the standing pose:
        ``pose`` the exercise posture fallen back to, or None (no exercise given and no
        posture change seen: the start is taken as standing), or "changed" (a standing
        exercise after a change of posture)."""
        if self._pose_warned:
            return []
        self._pose_warned = True
        if pose == "changed":
            msg = (
                f"The patient changed posture after the standing pose (sat or lay down), but "
                f"{self.exercise} is done standing: reps are counted from the new posture. "
                "Check the exercise setting."
            )
        elif pose is None:
            msg = (
                "No exercise given and no change of posture after the still pose: it is taken "
                "as standing with the legs straight (0°). A session begun seated would read "
                "~90° low: give exercise= (its posture is then checked) or pose=."
            )
        else:
            nominal = _NOMINAL_DEG[pose]
            msg = (
                f"No standing pose at the start: the session began {pose}, so angles assume "
                f"the nominal {nominal:g}° knee flexion of that posture"
                + (
                    " (a seated patient rests anywhere between 80° and 95°: angles may be ~10° off)"
                    if pose == "seated"
                    else ""
                )
                + ". For exact angles, start the next session standing still with the legs "
                f"straight for 2-3 s, or give pose='{pose}' with pose_flexion_deg measured by "
                "goniometer."
            )
        logger.info("%s", msg)
        return [ev.CalibrationPrompt(t=now, step="warning", message=msg, duration_s=0.0)]

    def _attempt(self, now: float) -> list[ev.SessionEvent]:
        from ..kinematics import calibrate_joint

        s = self.settings
        h = {k: np.concatenate(v) for k, v in self._hist.items()}
        fill = {
            k: (
                np.nan_to_num(v)
                if k[0] in "ag"
                else np.where(np.isfinite(v).all(axis=1)[:, None], v, [1.0, 0, 0, 0])
            )
            for k, v in h.items()
            if k != "t"
        }
        out: list[ev.SessionEvent] = []
        timed_out = now - (self._cal_started or now) > s.max_calibration_s
        pose, count_from, wait = self._start_pose(h)
        if wait and not timed_out:
            return [
                ev.CalibrationFailed(
                    t=now,
                    reason="no rest in the exercise position yet: keep still for a second "
                    "between repetitions",
                    will_retry=True,
                )
            ]
        self.calibration_attempts += 1
        # without a known exercise a start lying down cannot be told from a standing one
        # by the thigh alone: the calibration's posture check (the shank's inclination)
        # refuses standing, supine is tried next (as motiontrack.analysis does)
        poses = [pose] + (["supine"] if s.pose is None and self.exercise_pose is None else [])

        def run(p: str, motion_start: int) -> Any:
            return calibrate_joint(
                acc_proximal=fill["ap"],
                gyr_proximal=fill["gp"],
                acc_distal=fill["ad"],
                gyr_distal=fill["gd"],
                q_proximal=fill["qp"],
                q_distal=fill["qd"],
                fs=self.fs,
                still=self._still,
                motion=slice(motion_start, h["t"].size),
                pose=p,  # type: ignore[arg-type]
                pose_flexion_deg=s.pose_flexion_deg,
                joint=self.joint,  # type: ignore[arg-type]
                warn=False,  # confidence is judged below; warning filters are not thread-safe
            )

        cal = None
        errors: list[str] = []
        for p in poses:
            try:
                # the motion includes the sit-down / lie-down after a standing start: it
                # makes the thigh's hinge axis observable (seated, the thigh hardly moves)
                cal = run(p, self._motion_start)  # type: ignore[arg-type]
            except CalibrationError as exc:
                errors.append(f"{p}: {exc}" if len(poses) > 1 else str(exc))
                continue
            pose = p
            break
        if (
            cal is not None
            and cal.confidence < s.min_confidence
            and count_from is not None
            and self.exercise_pose != "seated"
        ):
            # The transition spreads the distal axis estimate over the motion's chunks (a
            # lie-down before a few heel slides: confidence ~0.05 until the 3rd-5th rep,
            # with angles as accurate). When the exercise alone moves both segments (not a
            # seated extension: there the thigh hardly moves, and a calibration without the
            # sit-down can be confident and mirrored) and determines both hinge axes within
            # 3° with an anatomical sign, its own calibration is the confident one.
            try:
                alt = run(pose, int(np.searchsorted(h["t"], count_from)))
            except CalibrationError:
                alt = None
            if (
                alt is not None
                and alt.confidence > cal.confidence
                and float(np.max(alt.hinge_axis_std_deg)) <= _AXIS_STD_DEG
                and not any("anatomical" in n or "branch" in n for n in alt.notes)
            ):
                cal = alt
        fallback = s.pose is None and pose != "standing"
        if cal is None:
            if timed_out and self._best is not None:
                return out + self._accept(now, *self._best[1:])
            reason = "; ".join(errors)
            out.append(ev.CalibrationFailed(t=now, reason=reason, will_retry=not timed_out))
            if timed_out:
                self.cal_state = "failed"
            return out
        if self._best is None or cal.confidence > self._best[0]:
            self._best = (float(cal.confidence), cal, count_from, fallback)
        if cal.confidence >= s.min_confidence or timed_out:
            return out + self._accept(now, *self._best[1:])
        out.append(
            ev.CalibrationFailed(
                t=now,
                reason=f"confidence {cal.confidence:.2f} < {s.min_confidence:.2f}: keep moving",
                will_retry=True,
            )
        )
        return out

    def _accept(
        self, now: float, cal: Any, count_from: float | None = None, fallback: bool = False
    ) -> list[ev.SessionEvent]:
        self.calibration = cal
        self.cal_state = "done"
        self.pose = str(getattr(cal, "pose", self.pose))
        self.count_from_t = count_from
        self._start_counting()
        out: list[ev.SessionEvent] = []
        if fallback:
            out += self._pose_warning(now, self.pose)
        elif self._unexpected_change and count_from is not None:
            out += self._pose_warning(now, "changed")
        elif (
            self.settings.pose is None
            and self.exercise_pose is None
            and count_from is None
            and self.pose == "standing"
        ):
            out += self._pose_warning(now, None)
        out.append(
            ev.CalibrationDone(
                t=now, calibration=cal, pose=self.pose, confidence=float(cal.confidence)
            )
        )
        if self.settings.calibration == "guided":
            out.append(
                ev.CalibrationPrompt(
                    t=now,
                    step="exercise",
                    message="Calibration done: start the exercise",
                    duration_s=0.0,
                )
            )
        return out

    # ------------------------------------------------------------------ end
    def final_reps(self) -> list[Any]:
        """The reps counted so far with their extremes taken over the whole movement
        (:func:`motiontrack.analysis.refine_extremes`): live events report a rep as soon as
        it has come back most of the way; after the fact the settled rest is known too."""
        from ..analysis import refine_extremes

        if not len(self._trace) or self.distal is None:
            return list(self.reps)
        t, a = self._trace.arrays()
        quiet = self._trace.quiet()
        if self.count_from_t is not None:
            # the transition into the exercise posture is no part of any rep
            k = int(np.searchsorted(t, self.count_from_t - 1e-9))
            t, a, quiet = t[k:], a[k:], quiet[k:]
        # ``quiet`` starts each rep's window at the rest before its movement (a squat
        # stance settling after the standing pose is not part of the first rep)
        return refine_extremes(self.reps, t, a, quiet=quiet)

    def angle_trace(self) -> tuple[np.ndarray, np.ndarray]:
        """Session times (s) and primary angle (deg) of everything processed so far."""
        return self._trace.arrays()

    def flush(self) -> list[ev.SessionEvent]:
        """At the end of the data: pair what is left (the distal stream will not catch up)
        and count a last rep that came back but was not yet seen to settle."""
        out = self._pair_rest()
        flush = getattr(self.counter, "flush", None)
        if flush is not None:
            out.extend(self._reps(flush()))
        return out

    def _pair_rest(self) -> list[ev.SessionEvent]:
        if self.distal is None or self.next_t is None:
            return []
        p = self.streams[self.proximal]
        if p.t.size == 0 or p.t[-1] < self.next_t - 1e-9:
            return []
        saved = self.settings
        self.settings = dataclasses.replace(saved, pair_timeout_s=1e-9)
        try:
            return self._pair()
        finally:
            self.settings = saved
