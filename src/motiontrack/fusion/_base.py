"""The machinery every orientation filter shares: settings, validation, kernel calls.

A filter class declares its ``Settings`` dataclass, its kernel module's ``run`` and how
settings become coefficients and an initial state; :class:`OrientationFilter` does the
rest (input checks, dt handling, the streaming ``update``, ``state`` get/set, ``reset``,
diagnostics). See ``_kernels/fusion_common.py`` for the kernel contract.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._kernels import fusion_common as _fc
from .._kernels._jit import entry_point, interpreted, use_interpreted
from ..errors import ConfigurationError, InputError

FloatArray = npt.NDArray[np.float64]


class FusionFlag(enum.IntFlag):
    """Per-sample flags a filter reports (``FusionResult.flags``, ``filter.flags``)."""

    ACC_GAP = _fc.ACC_GAP  #: accelerometer not finite: tilt correction skipped
    GYR_GAP = _fc.GYR_GAP  #: gyroscope not finite (or absurd, > 10^4 rad/s): orientation held
    MAG_GAP = _fc.MAG_GAP  #: magnetometer not finite: heading correction skipped
    DT_INVALID = _fc.DT_INVALID  #: sample period not finite, <= 0 or > 1 h: sample skipped
    GYR_SATURATED = _fc.GYR_SATURATED  #: gyroscope at >= 98 % of its full-scale range
    ACC_SATURATED = _fc.ACC_SATURATED  #: accelerometer at >= 98 % of its full-scale range
    REST = _fc.REST  #: rest detected
    MAG_DISTURBED = _fc.MAG_DISTURBED  #: magnetic disturbance: heading correction rejected
    ACC_REJECTED = _fc.ACC_REJECTED  #: linear acceleration too large: tilt correction rejected
    INITIALIZING = _fc.INITIALIZING  #: no usable accelerometer sample yet to initialise from


_FLAG_NAMES = [f.name.lower() for f in FusionFlag]  # bit order == counts order


@dataclass(frozen=True, kw_only=True, slots=True)
class FilterSettings:
    """Settings common to every filter.

    Attributes
    ----------
    acc_range : float
        Accelerometer full-scale range, m/s² (e.g. 16 g = 156.9). Samples at >= 98 % of it
        are flagged ``ACC_SATURATED``. 0 = unknown, never flagged.
    gyr_range : float
        Gyroscope full-scale range, rad/s (e.g. 2000 °/s = 34.9). Samples at >= 98 % are
        flagged ``GYR_SATURATED``. 0 = unknown, never flagged.
    initialize : bool
        Initialise the orientation from the first usable accelerometer (and magnetometer)
        sample. False starts from the identity (or from an assigned ``state``).
    """

    acc_range: float = 0.0
    gyr_range: float = 0.0
    initialize: bool = True

    def __post_init__(self) -> None:
        for name in ("acc_range", "gyr_range"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ConfigurationError(f"{name} must be a finite number >= 0, got {v!r}")

    def _check_positive(self, *names: str, allow_zero: bool = False) -> None:
        for name in names:
            v = getattr(self, name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v >= 0 if allow_zero else v > 0)
            if not ok:
                bound = ">= 0" if allow_zero else "> 0"
                raise ConfigurationError(f"{name} must be a finite number {bound}, got {v!r}")


@dataclass(frozen=True, slots=True)
class FusionDiagnostics:
    """How many samples a filter has seen and how many carried each flag."""

    samples: int
    counts: Mapping[str, int]

    def __str__(self) -> str:
        flagged = ", ".join(f"{k}={v}" for k, v in self.counts.items() if v)
        return f"{self.samples} samples" + (f" ({flagged})" if flagged else "")


@dataclass(frozen=True, slots=True)
class FusionResult:
    """Batch output of :func:`motiontrack.fusion.fuse` with ``full_output=True``.

    Attributes
    ----------
    quaternion : ndarray, shape (N, 4)
        q_earth_sensor, w x y z (9D when a magnetometer was given, else 6D).
    flags : ndarray of uint16, shape (N,)
        :class:`FusionFlag` bits per sample.
    diagnostics : FusionDiagnostics
        Sample and flag counts.
    extras : dict
        Method-specific outputs (e.g. ``quaternion_6d``, ``gyr_bias`` for the VQF-class filter).
    """

    quaternion: FloatArray
    flags: npt.NDArray[np.uint16]
    diagnostics: FusionDiagnostics
    extras: dict[str, np.ndarray] = field(default_factory=dict)


_F64 = np.dtype(np.float64)
_ND = np.ndarray
_ST2 = (24, 8)  # strides of a C-contiguous float64 (n, 3) array


def _as_samples(x: Any, name: str) -> np.ndarray:
    """(3,) or (n, 3) float64, C-contiguous; raises InputError otherwise."""
    if type(x) is _ND and x.dtype is _F64 and x.strides == _ST2 and x.shape[1] == 3:
        return x  # the common case, checked cheaply: native float64 (n, 3), C-contiguous
    if type(x) is np.ndarray and x.dtype == np.float64 and x.flags.c_contiguous:
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise InputError(f"{name} is not an array of numbers: {exc}") from None
        if arr.dtype.kind not in "iuf":
            raise InputError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 3:
        return arr.reshape(1, 3)
    if arr.ndim == 2 and arr.shape[1] == 3:
        return arr
    raise InputError(f"{name} must have shape (3,) or (n, 3), got {arr.shape}")


def check_rate(fs: Any) -> float:
    """``fs`` as a float sample rate in Hz; raises InputError unless it is a real number > 0."""
    if isinstance(fs, (bool, np.bool_)) or not isinstance(fs, (int, float, np.integer, np.floating)):
        raise InputError(f"fs must be a sample rate in Hz (a real number), got {fs!r}")
    try:
        v = float(fs)
    except OverflowError:
        v = math.inf
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"fs must be a finite sample rate > 0 Hz, got {fs!r}")
    if 1.0 / v > _fc.DT_MAX:
        raise InputError(f"fs must be at least {1.0 / _fc.DT_MAX:.3g} Hz (one sample per hour), got {fs!r}")
    return v


def as_periods(x: Any, name: str) -> np.ndarray:
    """A real-valued float64 array (periods or timestamps, s); raises InputError otherwise."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged sequences and the like
        raise InputError(f"{name} is not an array of numbers: {exc}") from None
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{name} must hold real numbers (s), got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


_NO_MAG = np.empty((0, 3))
_EP: dict[type, Callable[..., None]] = {}  # compiled batch entries by filter class
_EPF: dict[tuple[type, str], Callable[..., bool]] = {}  # compiled fast entries by (class, kind)
_BLOCK = _fc.BLOCK  # blocks up to this size take the block entry ``runb``
_empty = np.empty


def _fast_entry(cls: type, kind: str) -> Callable[..., bool]:
    """The compiled fast entry ``kind`` of filter class ``cls`` (compiled or loaded once)."""
    ep = _EPF.get((cls, kind))
    if ep is None:
        one = np.zeros(6)[::2]  # (3,) of any layout ('A'), so strided views work too
        blk = np.zeros((2, 6))[:, ::2]  # (n, 3) of any layout
        buf = np.zeros(4)
        q = (np.zeros(4),) if getattr(cls._kernel, "ONE_OUT", False) else ()  # one-sample output
        if kind == "e1":
            ep = entry_point(cls._kernel.run1, one, one, buf, *q)
        elif kind == "e1m":
            ep = entry_point(cls._kernel.run1m, one, one, one, buf, *q)
        elif kind == "eb":
            ep = entry_point(cls._kernel.runb, blk, blk, one, buf, np.zeros((2, 4)))
        else:
            ep = entry_point(cls._kernel.runbm, blk, blk, blk, one, buf, np.zeros((2, 4)))
        _EPF[(cls, kind)] = ep
    return ep


_KINDS = {"e1": "run1", "e1m": "run1m", "eb": "runb", "ebm": "runbm"}


def _first_call(obj: Any, kind: str, *args: Any) -> bool:
    """A fast entry of ``obj`` before its compiled entry is kept: resolve the compiled entry,
    keep it on ``obj``, call it. While numba is not loaded yet (a few samples) or the kernel
    module compiles in the background (``_jit.use_interpreted``), this call runs the same
    kernel as Python instead and keeps nothing, so that a later call switches to the compiled
    entry: the state lives in the filter's buffer, so the stream goes on where it was."""
    cls = type(obj)
    ep = _EPF.get((cls, kind))
    if ep is None:
        kernel = getattr(cls._kernel, _KINDS[kind])
        if use_interpreted(kernel, len(args[0]) if kind[1] == "b" else 1):
            return interpreted(kernel)(*args)
        ep = _fast_entry(cls, kind)
    setattr(obj, "_" + kind, ep)
    return ep(*args)


def load_entries(cls: type) -> None:
    """Compile (or load from the cache) the fast entries of filter class ``cls``."""
    for kind in _KINDS:
        _fast_entry(cls, kind)


class OrientationFilter:
    """Base class of the streaming filters. Subclasses set the class attributes below."""

    #: method name used by :func:`fuse`
    method: ClassVar[str]
    #: settings dataclass (a subclass of FilterSettings)
    Settings: ClassVar[type[FilterSettings]]
    #: the kernel's ``run`` (see ``_kernels/fusion_common.py``)
    _run: ClassVar[Callable[..., None]]
    #: extra per-sample outputs the kernel writes into ``extra_out`` columns, by name
    extra_layout: ClassVar[Mapping[str, slice]] = {}

    def __init__(self, settings: FilterSettings | None = None, *, fs: float, **overrides: Any) -> None:
        self.fs = check_rate(fs)
        self.settings = make_settings(self.Settings, settings, overrides)
        coeffs = np.ascontiguousarray(self._coefficients(self.settings, 1.0 / self.fs), dtype=np.float64)
        state = np.ascontiguousarray(self._initial_state(), dtype=np.float64)
        self._n_extra = max((sl.stop for sl in self.extra_layout.values()), default=0)
        # One flat work buffer (the layout the fast entries run1/runb expect; see
        # _kernels/fusion_common.py): I/O header, state, coefficients, block flags, block extras.
        s0 = _fc.IO_STATE
        c0 = s0 + state.size
        f0 = c0 + coeffs.size
        x0 = f0 + _BLOCK
        e0 = x0 + _BLOCK * self._n_extra
        # (a kernel may use more of the buffer after the block extras: BUF_EXTRA values)
        self._buf = np.zeros(e0 + getattr(self._kernel, "BUF_EXTRA", 0))
        self._buf[_fc.IO_DT] = 1.0 / self.fs
        self._buf[_fc.IO_LAST] = -1.0
        self._state = self._buf[s0:c0]
        self._state[:] = state
        self._coeffs = self._buf[c0:f0]
        self._coeffs[:] = coeffs
        self._q1 = self._buf[_fc.IO_Q : _fc.IO_Q + 4]
        self._bflags = self._buf[f0:x0]
        self._bextra = self._buf[x0:e0].reshape(_BLOCK, self._n_extra)
        # flag counts of the general path (the fast entries count into the buffer)
        self._counts = np.zeros(_fc.N_FLAGS, dtype=np.int64)
        self._samples = 0  # samples of the general path
        # (flags, extras) of the last general-path call (used when buf[IO_LAST] == -1)
        self._last: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.uint16), np.empty((0, self._n_extra)))
        self._dtn = np.full(_BLOCK, 1.0 / self.fs)
        # (nominal periods, output shape) of a block of n rows
        self._blocks = [(self._dtn[:n], (n, 4)) for n in range(_BLOCK + 1)]
        # the fast entries: resolved (compiled or loaded from the cache) on first use
        cls = type(self)
        # one-sample entries with an output argument (ONE_OUT) or writing to the buffer
        self._out1 = bool(getattr(self._kernel, "ONE_OUT", False))
        for kind in ("e1", "e1m", "eb", "ebm"):
            ep = _EPF.get((cls, kind))
            setattr(self, "_" + kind, ep if ep is not None else functools.partial(_first_call, self, kind))

    # -- provided by subclasses ---------------------------------------------------------
    #: the kernel module, for the default layout below (``STATE_SIZE``, ``COEFF_SIZE`` and
    #: the common ``C_ACC_RANGE``, ``C_GYR_RANGE``, ``C_INIT`` coefficient indices)
    _kernel: ClassVar[Any] = None

    def _coefficients(self, settings: Any, dt: float) -> np.ndarray:
        """Coefficients from settings and the nominal period: the common ones, then the method's."""
        k = self._kernel
        c = np.zeros(k.COEFF_SIZE)
        c[k.C_ACC_RANGE] = settings.acc_range
        c[k.C_GYR_RANGE] = settings.gyr_range
        c[k.C_INIT] = 1.0 if settings.initialize else 0.0
        self._method_coefficients(c, settings, dt)
        return c

    def _method_coefficients(self, c: np.ndarray, settings: Any, dt: float) -> None:
        """Fill the method's own coefficients into ``c`` (in place)."""

    def _initial_state(self) -> np.ndarray:
        """The identity orientation, not yet initialised, everything else zero."""
        s = np.zeros(self._kernel.STATE_SIZE)
        s[0] = 1.0  # state[0:4] is the output quaternion
        return s

    # -- public API --------------------------------------------------------------------
    def update(
        self,
        acc: npt.ArrayLike,
        gyr: npt.ArrayLike,
        mag: npt.ArrayLike | None = None,
        dt: float | npt.ArrayLike | None = None,
    ) -> FloatArray:
        """Advance the filter by one sample or a block.

        Parameters
        ----------
        acc : array_like, shape (3,) or (n, 3)
            Specific force, m/s², sensor frame.
        gyr : array_like, shape (3,) or (n, 3)
            Angular rate, rad/s, sensor frame.
        mag : array_like, shape (3,) or (n, 3), optional
            Magnetic field, µT, sensor frame. None: 6D (no heading correction).
        dt : float or array_like of shape (n,), optional
            Sample period(s), s. Default ``1 / fs``. A non-finite or non-positive entry (a
            clock jump backwards) skips that sample and flags it ``DT_INVALID``.

        Returns
        -------
        ndarray, shape (4,) or (n, 4)
            q_earth_sensor after each sample. Per-sample flags are in :attr:`flags`.

        Notes
        -----
        A NaN/inf row skips the part of the update that needs it (see :class:`FusionFlag`);
        it is counted in :attr:`diagnostics` and never reaches the state. One-by-one, batch
        and any split of batches give identical output.
        """
        # Fast paths of the common streaming calls: native float64 arrays (any strides); one
        # (3,) sample at the nominal period, or an (n, 3) block of n <= 64 at the nominal period
        # or with an (n,) float64 array of periods. The compiled entries trust
        # ndim and dtype (see _jit.entry_point), which are checked here; they refuse objects
        # that are not ndarrays (TypeError, before anything runs) and check the sizes
        # themselves (False: nothing done). Everything else takes the general path.
        # (``dt`` is not keyword-only: CPython 3.11 does not specialise calls of functions with
        # keyword-only parameters, ~15 ns per call. A kernel with ``ONE_OUT`` writes a one-sample
        # output straight into a fresh array, see _kernels/fusion_common.py.)
        try:
            nd = acc.ndim  # (not an array: AttributeError, general path)
            if nd == gyr.ndim and acc.dtype is _F64 is gyr.dtype:
                if nd == 1:
                    if dt is None:
                        if self._out1:
                            q = _empty(4)
                            if mag is None:
                                if self._e1(acc, gyr, self._buf, q):
                                    return q
                            elif mag.ndim == 1 and mag.dtype is _F64 and self._e1m(acc, gyr, mag, self._buf, q):
                                return q
                        elif mag is None:
                            if self._e1(acc, gyr, self._buf):
                                return self._q1.copy()
                        elif mag.ndim == 1 and mag.dtype is _F64 and self._e1m(acc, gyr, mag, self._buf):
                            return self._q1.copy()
                elif nd == 2:
                    d, shape = self._blocks[len(acc)]  # (IndexError above BLOCK rows: general path)
                    if dt is not None:
                        # per-sample periods (the entry checks the length)
                        d = dt if type(dt) is _ND and dt.ndim == 1 and dt.dtype is _F64 else None
                    if d is not None:
                        q = _empty(shape)
                        if mag is None:
                            if self._eb(acc, gyr, d, self._buf, q):
                                return q
                        elif mag.ndim == 2 and mag.dtype is _F64 and self._ebm(acc, gyr, mag, d, self._buf, q):
                            return q
        except (AttributeError, TypeError, IndexError):
            # not numpy arrays: an array-like with shape and dtype but no ndarray fails in the
            # entry's argument unboxing (TypeError), before anything runs
            pass
        return self._update(acc, gyr, mag, dt)

    def _update(self, acc: Any, gyr: Any, mag: Any, dt: Any) -> FloatArray:
        """The general path of :meth:`update`: any input, checked and converted."""
        a = _as_samples(acc, "acc")
        g = _as_samples(gyr, "gyr")
        n = a.shape[0]
        if g.shape[0] != n:
            raise InputError(f"acc has {n} samples but gyr has {g.shape[0]}")
        if mag is None:
            m = _NO_MAG
        else:
            m = _as_samples(mag, "mag")
            if m.shape[0] != n:
                raise InputError(f"acc has {n} samples but mag has {m.shape[0]}")
        q = np.empty((n, 4))
        d = self._dt(dt, n)
        fl, ex = np.empty(n, dtype=np.uint16), np.empty((n, self._n_extra))
        run = _EP.get(type(self))
        if run is None:  # first block of this filter class: resolve the compiled entry once
            if use_interpreted(type(self)._run, n):  # (see _first_call)
                run = interpreted(type(self)._run)
            else:
                run = _EP[type(self)] = entry_point(type(self)._run, self._state, self._coeffs, a, g, m, d, q,
                                                    fl, self._counts, ex)
        # every argument is now a native float64 C-contiguous array of the canonical ndim
        run(self._state, self._coeffs, a, g, m, d, q, fl, self._counts, ex)
        self._samples += n
        self._last = (fl, ex)
        self._buf[_fc.IO_LAST] = -1.0
        return q[0] if n == 1 and a is not acc and np.ndim(acc) == 1 else q

    def _dt(self, dt: Any, n: int) -> np.ndarray:
        if dt is None:
            if n <= _BLOCK:
                return self._dtn[:n]
            return np.full(n, 1.0 / self.fs)
        arr = as_periods(dt, "dt")
        if arr.ndim == 0:
            v = float(arr)
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"dt must be a finite period > 0 s, got {dt!r}")
            return np.full(n, v)
        if arr.shape != (n,):
            raise InputError(f"dt must be a scalar or have shape ({n},), got {arr.shape}")
        return np.ascontiguousarray(arr)

    @property
    def quaternion(self) -> FloatArray:
        """Current q_earth_sensor, shape (4,)."""
        return self._state[0:4].copy()

    def _last_outputs(self) -> tuple[np.ndarray, np.ndarray]:
        """(flags (n,), extras (n, E)) of the last ``update`` call, wherever they are kept."""
        last = self._buf[_fc.IO_LAST]
        if last < 0.0:  # the general path keeps its own arrays
            return self._last
        if last == 0.0:  # one sample of the fast entry
            return (np.array([self._buf[_fc.IO_FLAG]]).astype(np.uint16), self._extras1())
        n = int(last) - 1
        return self._bflags[:n].astype(np.uint16), self._block_extras(n)

    def _block_extras(self, n: int) -> np.ndarray:
        """The extras rows (n, E) of the last block of the fast block entry."""
        return self._bextra[:n]

    def _extras1(self) -> np.ndarray:
        """The extras row (1, E) of the last one-sample fast call."""
        return self._bextra[:1]

    @property
    def flags(self) -> npt.NDArray[np.uint16]:
        """:class:`FusionFlag` bits of each sample of the last ``update`` call."""
        return self._last_outputs()[0].copy()

    @property
    def extras(self) -> dict[str, np.ndarray]:
        """Method-specific per-sample outputs of the last ``update`` call (see ``extra_layout``)."""
        extra = self._last_outputs()[1]
        return {k: extra[:, sl].copy() for k, sl in self.extra_layout.items()}

    @property
    def diagnostics(self) -> FusionDiagnostics:
        """Samples seen since construction or :meth:`reset`, and how many carried each flag."""
        b = self._buf
        c = (self._counts + b[_fc.IO_COUNTS : _fc.IO_COUNTS + _fc.N_FLAGS].astype(np.int64)).tolist()
        return FusionDiagnostics(self._samples + int(b[_fc.IO_SAMPLES]), dict(zip(_FLAG_NAMES, c, strict=True)))

    def _freeze_last(self) -> None:
        """Keep the last call's flags and extras as they are before the state changes."""
        if self._buf[_fc.IO_LAST] >= 0.0:
            fl, ex = self._last_outputs()
            self._last = (fl.copy(), ex.copy())
            self._buf[_fc.IO_LAST] = -1.0

    @property
    def state(self) -> FloatArray:
        """A copy of the full filter state (float64 array); assign it back to restore."""
        return self._state.copy()

    @state.setter
    def state(self, value: npt.ArrayLike) -> None:
        try:
            arr = np.asarray(value)
        except Exception as exc:
            raise InputError(f"state is not an array of numbers: {exc}") from None
        if arr.dtype.kind not in "iuf":
            raise InputError(f"state must hold real numbers, got dtype {arr.dtype}")
        if arr.shape != self._state.shape:
            raise InputError(f"state must have shape {self._state.shape}, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise InputError("state must be finite")
        self._freeze_last()
        self._state[:] = arr

    def reset(self) -> None:
        """Back to the initial state; diagnostics restart from zero."""
        self._state[:] = self._initial_state()
        self._counts[:] = 0
        self._samples = 0
        self._buf[_fc.IO_COUNTS : _fc.IO_SAMPLES + 1] = 0.0
        self._buf[_fc.IO_LAST] = -1.0
        self._last = (np.zeros(0, np.uint16), np.empty((0, self._n_extra)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fs={self.fs:g}, {self.settings})"


def make_settings(cls: type[FilterSettings], settings: FilterSettings | None, overrides: Mapping[str, Any]) -> Any:
    """Settings from an instance and/or keyword overrides; unknown names raise."""
    if settings is not None and not isinstance(settings, cls):
        raise ConfigurationError(f"settings must be a {cls.__name__}, got {type(settings).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigurationError(
            f"unknown setting(s) {', '.join(unknown)} for {cls.__name__}; known: {', '.join(sorted(known))}"
        )
    base = settings if settings is not None else cls()
    try:
        return dataclasses.replace(base, **overrides) if overrides else base
    except TypeError as exc:
        raise ConfigurationError(str(exc)) from None
