"""Streaming ``RepCounter`` and batch ``count_reps``: thin wrappers over ``_kernels.reps``."""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, overload

import numpy as np

from .._kernels import reps as _k
from ..errors import ConfigurationError, InputError
from ._settings import RepSettings, resolve_settings

#: largest sample rate accepted, Hz (wearable IMUs stream at <= a few kHz)
MAX_FS_HZ = 100_000.0
#: smallest sample rate accepted, Hz (a 2 s rep needs a handful of samples)
MIN_FS_HZ = 2.0
#: angles beyond this are not angles but corrupted data, deg
MAX_ABS_DEG = 1e6
#: angular rates beyond this are corrupted data, rad/s (gyros saturate far below)
MAX_ABS_GYR = 1e4
#: specific force beyond this is corrupted data, m/s^2
MAX_ABS_ACC = 1e5
#: kernel block: bounds the event buffer, results do not depend on it
_CHUNK = 1 << 15
_DEG = 180.0 / math.pi


class RepFlags(enum.IntFlag):
    """Quality flags of a repetition (several may be set)."""

    NONE = 0
    PARTIAL_SET = 1  #: ROM below ``partial_frac`` of this counter's full-rep ROM (an EMA of
    #: the reps not judged partial, kept across sets: one counter per exercise)
    PARTIAL_TARGET = 2  #: ROM below ``target_frac`` of the prescribed ``target_rom_deg``
    TOO_FAST = 4  #: duration below ``fast_s``, or below ``fast_frac`` of the normal tempo (an
    #: EMA of the durations of the counter's reps not judged fast)
    TOO_SLOW = 8  #: duration above ``slow_s``
    IMPLAUSIBLE = 16  #: reaches outside the joint's anatomical range
    #: (:data:`motiontrack.conventions.JOINT_RANGE_DEG`): set by the session engine
    INTERRUPTED = 32  #: cut by missing samples (a gap longer than the bridge): what was seen
    #: of a rep, never counted (``index`` is -1; :attr:`RepCounter.interrupted`)


class RejectReason(enum.IntEnum):
    """Why a candidate excursion was not counted."""

    NONE = _k.REJ_NONE
    TOO_SMALL = _k.REJ_SMALL  #: below ``min_rom_deg``
    SMALL_FOR_SET = _k.REJ_SMALL_REL  #: below ``reject_frac`` of the set's running ROM
    TOO_SHORT = _k.REJ_SHORT  #: below ``min_duration_s``
    TOO_LONG = _k.REJ_LONG  #: above ``max_duration_s``
    GAP = _k.REJ_GAP  #: interrupted by a data gap longer than ``max_gap_s``
    NO_RETURN = _k.REJ_NO_RETURN  #: never came back to rest within ``max_hold_s``


_PHASES = {_k.PH_SEEK: "seek", _k.PH_IDLE: "rest", _k.PH_OUT: "out", _k.PH_BACK: "back"}


@dataclass(frozen=True, slots=True)
class Rep:
    """One counted repetition. Times in s (stream time), angles in degrees.

    ``peak_s``/``peak_deg`` is the turning point of the rep (the smallest angle when a rep
    decreases the angle, e.g. a knee extension measured as flexion).
    """

    index: int  #: 0-based count since the counter started; -1 for an interrupted rep
    set_index: int  #: 0-based set (a new set starts after a pause at rest)
    start_s: float
    peak_s: float
    end_s: float
    start_deg: float
    peak_deg: float
    end_deg: float
    min_deg: float
    max_deg: float
    rom_deg: float  #: max_deg - min_deg
    duration_s: float  #: end_s - start_s
    #: (motion times: the onset is seen without delay; the smoothing's group delay is
    #: removed from peak and end)
    hold_s: float  #: time spent within 10 % of the ROM from the turning point
    emitted_s: float  #: stream time of the sample at which the rep was reported
    flags: RepFlags

    @property
    def partial(self) -> bool:
        return bool(self.flags & (RepFlags.PARTIAL_SET | RepFlags.PARTIAL_TARGET))

    @property
    def too_fast(self) -> bool:
        return bool(self.flags & RepFlags.TOO_FAST)

    @property
    def too_slow(self) -> bool:
        return bool(self.flags & RepFlags.TOO_SLOW)

    @property
    def interrupted(self) -> bool:
        """Cut by a data gap: not counted, its extremes are only what was seen."""
        return bool(self.flags & RepFlags.INTERRUPTED)

    def as_dict(self) -> dict[str, object]:
        """All fields as they are (``flags`` as a list of names)."""
        out: dict[str, object] = {name: getattr(self, name) for name in self.__slots__}
        out["flags"] = [f.name for f in RepFlags if f and f in self.flags]
        return out

    def to_dict(self) -> dict[str, object]:
        """The rep of ``motiontrack analyze --json`` and of recorded events: plain JSON values,
        times in s and angles in degrees rounded to what they mean, flags in lower case."""
        return {
            "index": int(self.index),
            "set_index": int(self.set_index),
            "start_s": round(float(self.start_s), 4),
            "peak_s": round(float(self.peak_s), 4),
            "end_s": round(float(self.end_s), 4),
            "min_deg": round(float(self.min_deg), 2),
            "max_deg": round(float(self.max_deg), 2),
            "rom_deg": round(float(self.rom_deg), 2),
            "duration_s": round(float(self.duration_s), 4),
            "hold_s": round(float(self.hold_s), 4),
            "flags": [str(f.name).lower() for f in RepFlags if f and f in self.flags],
            "partial": self.partial,
            "too_fast": self.too_fast,
        }


@dataclass(frozen=True, slots=True)
class RejectedCandidate:
    """An excursion that was examined and not counted (diagnostics)."""

    reason: RejectReason
    start_s: float
    peak_s: float
    end_s: float
    rom_deg: float


@dataclass(frozen=True, slots=True)
class RepDiagnostics:
    """Read-only view of the counter's internals."""

    phase: str  #: "seek" (direction unknown), "rest", "out", "back"
    direction: int  #: +1 / -1 once known in this set, 0 before
    set_index: int
    reps_in_set: int
    reference_rom_deg: float  #: running ROM of the set that thresholds scale with
    hysteresis_deg: float  #: current reversal threshold
    last_peak_s: float  #: NaN before the first candidate
    last_peak_deg: float
    last_rejection: RejectReason
    n_rejected: int
    missing_samples: int  #: NaN (dropped) samples seen
    last_valid_s: float  #: time of the last sample that was not missing (NaN before any)
    long_gaps: int  #: gaps longer than ``max_gap_s`` (each abandoned its candidate, ended the set)
    axis: np.ndarray | None  #: single-sensor mode: dominant axis (3,), sensor frame
    gravity_weight: float  #: single-sensor mode: trust in gravity's inclination (0..1)


@dataclass(frozen=True, slots=True)
class RepResult:
    """Full output of :func:`count_reps`."""

    reps: list[Rep]
    rejected: list[RejectedCandidate]
    signal_deg: np.ndarray  #: (N,) the counted signal (angle, or dominant-axis angle), deg
    interrupted: list[Rep] = field(default_factory=list)  #: reps cut by gaps, not counted


def _check_fs(fs: float) -> float:
    if isinstance(fs, bool) or not isinstance(fs, (int, float, np.integer, np.floating)):
        raise InputError(f"fs must be a number in Hz, got {type(fs).__name__}")
    fs = float(fs)
    if not math.isfinite(fs) or not MIN_FS_HZ <= fs <= MAX_FS_HZ:
        raise InputError(f"fs must be within [{MIN_FS_HZ:g}, {MAX_FS_HZ:g}] Hz, got {fs!r}")
    return fs


def _as_float(a: object, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:  # ragged lists and other non-array input
        raise InputError(f"{name} is not an array of numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _clean(arr: np.ndarray, limit: float, name: str) -> np.ndarray:
    """Non-finite entries become NaN (gaps); absurd magnitudes are an error."""
    finite = np.isfinite(arr)
    if np.any(np.abs(arr[finite]) > limit):
        raise InputError(f"{name} has values beyond ±{limit:g}: corrupted data or wrong unit")
    if not finite.all():
        arr = np.where(finite, arr, np.nan)
    return arr


class RepCounter:
    """Count repetitions live from a joint angle or from one IMU.

    Parameters
    ----------
    fs : float
        Sample rate, Hz. Samples are taken as equally spaced; a dropped sample is a NaN.
    settings : RepSettings, optional
        Or ``preset``: a name in :data:`motiontrack.reps.PRESETS` (not both).
    mode : {"angle", "imu"}
        ``"angle"``: :meth:`update` takes angles in degrees (scalar or (n,)).
        ``"imu"``: :meth:`update` takes a gyroscope sample (3,) or block (n, 3) in rad/s and
        optionally the accelerometer (same shape, m/s^2); the angle about the sensor's dominant
        rotation axis is counted (single-sensor mode: one wearable is enough).
    t0 : float
        Stream time of the first sample, s.

    Notes
    -----
    Feeding samples one by one, in blocks of any size, or all at once through
    :func:`count_reps` gives the same reps (one kernel, ``motiontrack._kernels.reps``;
    ``count_reps`` also calls :meth:`flush` at the end of the recording).
    A rep is returned by the :meth:`update` call that contains the sample at which its
    back stroke returned or settled (``Rep.emitted_s``), at most ``settle_s`` after motion
    stopped.
    """

    def __init__(self, *, fs: float, settings: RepSettings | None = None, preset: str | None = None,
                 mode: Literal["angle", "imu"] = "angle", t0: float = 0.0) -> None:
        self._fs = _check_fs(fs)
        self._settings = resolve_settings(settings, preset)
        if mode not in ("angle", "imu"):
            raise ConfigurationError(f"mode must be 'angle' or 'imu', got {mode!r}")
        if isinstance(t0, bool) or not isinstance(t0, (int, float)) or not math.isfinite(t0):
            raise ConfigurationError(f"t0 must be a finite number of seconds, got {t0!r}")
        self._mode = mode
        s = self._settings
        dt = 1.0 / self._fs
        self._rep_coeffs = np.zeros(_k.RK_SIZE)
        c = self._rep_coeffs
        c[_k.RK_DT] = dt
        c[_k.RK_T0] = float(t0)
        c[_k.RK_DELTA_FLOOR] = s.hysteresis_deg
        c[_k.RK_DELTA_FRAC] = s.hysteresis_frac
        c[_k.RK_MIN_ROM] = s.min_rom_deg
        c[_k.RK_REJECT_FRAC] = s.reject_frac
        c[_k.RK_MIN_DUR] = s.min_duration_s
        c[_k.RK_MAX_DUR] = s.max_duration_s
        c[_k.RK_RETURN_FRAC] = s.return_frac
        c[_k.RK_SETTLE_FRAC] = s.settle_frac
        c[_k.RK_SETTLE_S] = s.settle_s
        c[_k.RK_PAUSE_S] = s.pause_s
        c[_k.RK_MAX_HOLD_S] = s.max_hold_s
        c[_k.RK_MAX_GAP_S] = s.max_gap_s
        c[_k.RK_BRIDGE_S] = s.bridge_s
        c[_k.RK_POL] = float(s.direction) if mode == "angle" else 0.0
        c[_k.RK_EMA] = s.ref_weight
        c[_k.RK_KREST] = min(dt / s.rest_tau_s, 1.0)
        c[_k.RK_KSMOOTH] = 1.0 - math.exp(-dt / s.smoothing_s) if s.smoothing_s > 0 else 1.0
        # group delay of the median (one sample) and the two low-pass stages, removed from the
        # reported peak and end times
        alpha = c[_k.RK_KSMOOTH]
        self._delay_s = (1.0 + 2.0 * (1.0 - alpha) / alpha) * dt
        c[_k.RK_KNOISE] = min(dt / 5.0, 1.0)
        # thresholds act on the smoothed signal: scale the raw-noise sigma by the noise gain
        # of the two low-pass stages (root of the sum of the squared impulse response)
        a_s = c[_k.RK_KSMOOTH]
        h = a_s * a_s * (np.arange(4096) + 1.0) * (1.0 - a_s) ** np.arange(4096)
        c[_k.RK_NOISE_MULT] = s.noise_mult * float(np.sqrt(np.sum(h * h)))
        c[_k.RK_PARTIAL_FRAC] = s.partial_frac
        c[_k.RK_FAST_FRAC] = s.fast_frac
        self._axis_coeffs = np.zeros(_k.AK_SIZE)
        a = self._axis_coeffs
        a[_k.AK_LAM] = min(dt / s.axis_tau_s, 1.0)
        a[_k.AK_KACC] = min(dt / s.tilt_tau_s, 1.0)
        a[_k.AK_KLEAK] = min(dt / s.leak_tau_s, 1.0)
        a[_k.AK_DT] = dt
        a[_k.AK_G] = 9.81
        a[_k.AK_SEED_RATE] = 0.2
        a[_k.AK_KGM] = min(dt / s.reference_tau_s, 1.0) if s.reference_tau_s > 0 else 0.0
        a[_k.AK_KGL] = min(dt / 0.5, 1.0)
        a[_k.AK_VWEIGHT] = s.vertical_weight
        self._rep_state = np.zeros(_k.R_SIZE)
        self._axis_state = np.zeros(_k.A_SIZE)
        self._rejected: deque[RejectedCandidate] = deque(maxlen=100)
        self._interrupted: list[Rep] = []
        self._n_reps = 0
        self.reset()

    # -- state ---------------------------------------------------------------------------
    @property
    def settings(self) -> RepSettings:
        return self._settings

    @property
    def fs(self) -> float:
        return self._fs

    @property
    def mode(self) -> str:
        return self._mode

    def reset(self) -> None:
        """Forget everything: as freshly constructed."""
        _k.rep_init(self._rep_state, self._rep_coeffs)
        _k.axis_init(self._axis_state)
        self._rejected.clear()
        self._interrupted.clear()
        self._n_reps = 0

    @property
    def state(self) -> np.ndarray:
        """Copy of the full state (float64, 1-D); assign it back to restore."""
        return np.concatenate([self._rep_state, self._axis_state, [float(self._n_reps)]])

    @state.setter
    def state(self, value: np.ndarray) -> None:
        v = np.asarray(value, dtype=np.float64)
        if v.shape != (_k.R_SIZE + _k.A_SIZE + 1,):
            raise InputError(f"state must have shape ({_k.R_SIZE + _k.A_SIZE + 1},), got {v.shape}")
        self._rep_state[:] = v[: _k.R_SIZE]
        self._axis_state[:] = v[_k.R_SIZE : _k.R_SIZE + _k.A_SIZE]
        self._n_reps = int(v[-1])

    @property
    def rep_count(self) -> int:
        return self._n_reps

    @property
    def interrupted(self) -> list[Rep]:
        """Every rep cut by missing samples so far (:attr:`RepFlags.INTERRUPTED`, ``index``
        -1), oldest first: not counted and not returned by :meth:`update`; their times and
        extremes are what was seen around the gap."""
        return list(self._interrupted)

    @property
    def rejected(self) -> list[RejectedCandidate]:
        """The last 100 rejected candidates, oldest first."""
        return list(self._rejected)

    @property
    def diagnostics(self) -> RepDiagnostics:
        st = self._rep_state
        s = self._settings
        ref = float(st[_k.R_REF])
        return RepDiagnostics(
            phase=_PHASES[int(st[_k.R_PHASE])],
            direction=int(st[_k.R_POL]),
            set_index=int(st[_k.R_SET]),
            reps_in_set=int(st[_k.R_SET_REPS]),
            reference_rom_deg=ref,
            hysteresis_deg=max(s.hysteresis_deg, s.hysteresis_frac * ref),
            last_peak_s=float(st[_k.R_LAST_PEAK_T]),
            last_peak_deg=float(st[_k.R_LAST_PEAK_X]),
            last_rejection=RejectReason(int(st[_k.R_LAST_REJECT])),
            n_rejected=int(st[_k.R_N_REJECT]),
            missing_samples=int(st[_k.R_N_MISSING]),
            last_valid_s=float(st[_k.R_T_LAST]) if st[_k.R_LAST_VALID_N] >= 0 else math.nan,
            long_gaps=int(st[_k.R_N_LONG_GAPS]),
            axis=self._axis_state[_k.A_AX : _k.A_AZ + 1].copy() if self._mode == "imu" else None,
            gravity_weight=float(self._axis_state[_k.A_GWEIGHT]) if self._mode == "imu" else 0.0,
        )

    # -- processing ----------------------------------------------------------------------
    @overload
    def update(self, values: object, accelerometer: object | None = ..., *, return_signal: Literal[False] = ...) -> list[Rep]: ...

    @overload
    def update(
        self, values: object, accelerometer: object | None = ..., *, return_signal: Literal[True]
    ) -> tuple[list[Rep], np.ndarray]: ...

    def update(
        self, values: object, accelerometer: object | None = None, *, return_signal: bool = False
    ) -> list[Rep] | tuple[list[Rep], np.ndarray]:
        """Feed samples; return the reps completed by them (often empty).

        Parameters
        ----------
        values : float or ndarray
            Angle mode: angle in degrees, scalar or shape (n,). IMU mode: gyroscope, rad/s,
            sensor frame, shape (3,) or (n, 3). NaN (or inf) marks a dropped sample.
        accelerometer : ndarray, optional
            IMU mode only: specific force, m/s^2, same shape as the gyroscope. Without it the
            angle is a high-passed gyroscope integral.
        return_signal : bool
            Also return the signal the counter counted, degrees, shape (n,): the angle
            itself in angle mode, the angle about the dominant axis in IMU mode (for a live
            plot of a single-sensor session).

        Returns
        -------
        list of Rep, or (list of Rep, ndarray) with ``return_signal``
        """
        reps, signal = self._process(values, accelerometer)
        return (reps, signal) if return_signal else reps

    def flush(self) -> list[Rep]:
        """End of the stream: count a rep whose return is at least ``settle_frac`` home
        but has not yet been seen to settle (the recording stopped right after it).

        :func:`count_reps` calls this after the last sample. Feeding more samples afterwards
        is allowed (the counter continues from rest).
        """
        ev = np.empty((1, _k.E_SIZE))
        k = _k.rep_flush(self._rep_state, self._rep_coeffs, ev)
        reps = [r for r in (self._to_rep(row) for row in ev[:k]) if r is not None]
        return reps

    def _process(self, values: object, accelerometer: object | None) -> tuple[list[Rep], np.ndarray]:
        """Validate, run the kernel in blocks, convert events; also return the counted signal."""
        if self._mode == "angle":
            if accelerometer is not None:
                raise InputError("accelerometer is only used in mode='imu'")
            x = _as_float(values, "angle")
            if x.ndim > 1:
                raise InputError(f"angle must be a scalar or shape (n,), got {x.shape}")
            x = _clean(np.atleast_1d(x), MAX_ABS_DEG, "angle")
            signal = x
            evs = []
            for i in range(0, x.shape[0], _CHUNK):
                xi = x[i : i + _CHUNK]
                ev = np.empty((xi.shape[0] + 2, _k.E_SIZE))  # at most one event per sample
                k = _k.run_angle(self._rep_state, self._rep_coeffs, xi, ev)
                evs.append(ev[:k])
        else:
            gyr = _as_float(values, "gyroscope")
            if gyr.ndim == 1:
                gyr = gyr[None, :]
            if gyr.ndim != 2 or gyr.shape[1] != 3:
                raise InputError(f"gyroscope must have shape (3,) or (n, 3), got {gyr.shape}")
            gyr = _clean(gyr, MAX_ABS_GYR, "gyroscope")
            if accelerometer is None:
                acc = np.full(gyr.shape, np.nan)
            else:
                acc = _as_float(accelerometer, "accelerometer")
                if acc.ndim == 1:
                    acc = acc[None, :]
                if acc.shape != gyr.shape:
                    raise InputError(f"accelerometer shape {acc.shape} != gyroscope shape {gyr.shape}")
                acc = _clean(acc, MAX_ABS_ACC, "accelerometer")
            signal = np.empty(gyr.shape[0])
            evs = []
            for i in range(0, gyr.shape[0], _CHUNK):
                gi = gyr[i : i + _CHUNK]
                ev = np.empty((gi.shape[0] + 2, _k.E_SIZE))  # at most one event per sample
                k = _k.run_imu(self._axis_state, self._axis_coeffs, self._rep_state, self._rep_coeffs,
                               gi, acc[i : i + _CHUNK], _DEG, signal[i : i + _CHUNK], ev)
                evs.append(ev[:k])
        reps: list[Rep] = []
        for ev in evs:
            for row in ev:
                rep = self._to_rep(row)
                if rep is not None:
                    reps.append(rep)
        return reps, signal

    def _to_rep(self, row: np.ndarray) -> Rep | None:
        xs = (row[_k.E_START_X], row[_k.E_PEAK_X], row[_k.E_END_X])
        lo, hi = float(min(xs)), float(max(xs))
        if row[_k.E_INTERRUPTED] == 1.0:
            self._interrupted.append(self._make_rep(row, -1, RepFlags.INTERRUPTED))
            return None
        if row[_k.E_ACCEPTED] == 0.0:
            start_s = float(row[_k.E_START_T])
            peak_s = max(float(row[_k.E_PEAK_T]) - self._delay_s, start_s)
            self._rejected.append(RejectedCandidate(
                reason=RejectReason(int(row[_k.E_REASON])), start_s=start_s, peak_s=peak_s,
                end_s=max(float(row[_k.E_END_T]) - self._delay_s, peak_s), rom_deg=hi - lo))
            return None
        rep = self._make_rep(row, self._n_reps, RepFlags.NONE)
        self._n_reps += 1
        return rep

    def _quality(self, row: np.ndarray, rom: float, dur: float) -> RepFlags:
        s = self._settings
        flags = RepFlags.NONE
        setref = max(float(row[_k.E_SETREF]), rom)
        if rom < s.partial_frac * setref:
            flags |= RepFlags.PARTIAL_SET
        if s.target_rom_deg > 0 and rom < s.target_frac * s.target_rom_deg:
            flags |= RepFlags.PARTIAL_TARGET
        tempo = float(row[_k.E_TEMPO])
        if (s.fast_s > 0 and dur < s.fast_s) or (tempo > 0 and dur < s.fast_frac * tempo):
            flags |= RepFlags.TOO_FAST
        if s.slow_s > 0 and dur > s.slow_s:
            flags |= RepFlags.TOO_SLOW
        return flags

    def _make_rep(self, row: np.ndarray, index: int, flags: RepFlags) -> Rep:
        xs = (row[_k.E_START_X], row[_k.E_PEAK_X], row[_k.E_END_X])
        lo, hi = float(min(xs)), float(max(xs))
        rom = hi - lo
        dur = max(float(row[_k.E_END_T]) - self._delay_s, float(row[_k.E_START_T])) - float(
            row[_k.E_START_T])
        if not flags & RepFlags.INTERRUPTED:  # no quality verdict on part of a rep
            flags |= self._quality(row, rom, dur)
        start_s = float(row[_k.E_START_T])
        peak_s = max(float(row[_k.E_PEAK_T]) - self._delay_s, start_s)
        end_s = max(float(row[_k.E_END_T]) - self._delay_s, peak_s)
        return Rep(
            index=index, set_index=int(row[_k.E_SET]),
            start_s=start_s, peak_s=peak_s, end_s=end_s, start_deg=float(xs[0]), peak_deg=float(xs[1]),
            end_deg=float(xs[2]), min_deg=lo, max_deg=hi, rom_deg=rom, duration_s=dur,
            hold_s=float(row[_k.E_HOLD_S]), emitted_s=float(row[_k.E_EMIT_T]), flags=flags,
        )


def count_reps(angle_deg: object = None, *, fs: float, gyroscope: object = None,
               accelerometer: object = None, settings: RepSettings | None = None,
               preset: str | None = None, t0: float = 0.0,
               full_output: bool = False) -> list[Rep] | RepResult:
    """Count repetitions in a whole recording (same kernel as :class:`RepCounter`).

    Parameters
    ----------
    angle_deg : ndarray, shape (N,), optional
        Joint angle, degrees (NaN = dropped sample). Give this *or* ``gyroscope``.
    fs : float
        Sample rate, Hz.
    gyroscope : ndarray, shape (N, 3), optional
        One sensor's angular rate, rad/s (single-sensor mode: dominant rotation axis).
    accelerometer : ndarray, shape (N, 3), optional
        The same sensor's specific force, m/s^2 (makes the single-sensor angle drift-free
        and absolute whenever the rotation axis is not vertical).
    settings, preset
        See :class:`RepCounter`.
    full_output : bool
        Return a :class:`RepResult` (reps, rejected candidates, counted signal).

    Returns
    -------
    list[Rep] or RepResult
    """
    if (angle_deg is None) == (gyroscope is None):
        raise InputError("give exactly one of angle_deg or gyroscope")
    mode: Literal["angle", "imu"] = "angle" if angle_deg is not None else "imu"
    counter = RepCounter(fs=fs, settings=settings, preset=preset, mode=mode, t0=t0)
    if mode == "angle":
        x = _as_float(angle_deg, "angle_deg")
        if x.ndim != 1:
            raise InputError(f"angle_deg must have shape (N,), got {x.shape}")
        reps, signal = counter._process(x, None)
    else:
        reps, signal = counter._process(gyroscope, accelerometer)
    reps += counter.flush()
    if full_output:
        return RepResult(reps=reps, rejected=counter.rejected, signal_deg=signal,
                         interrupted=counter.interrupted)
    return reps
