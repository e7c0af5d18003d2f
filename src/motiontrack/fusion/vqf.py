"""motiontrack's VQF-class filter: the default orientation filter (method ``"vqf"``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._kernels import fusion_common as _fc
from .._kernels import vqf as _k
from .._kernels._jit import entry_point, interpreted, use_interpreted
from ..errors import ConfigurationError, InputError
from ..quaternion import multiply
from ._base import _BLOCK, FilterSettings, OrientationFilter, _as_samples

_ND = np.ndarray
_NO_MAG = np.empty((0, 3))
_RUN: list[Callable[..., None]] = []  # the compiled batch entry, resolved on first use
_FILL: list[Callable[..., None]] = []  # the compiled fill_extras1 and fill_block_extras entries

_DEG = math.pi / 180.0


def _py(f: Any) -> Any:
    """The plain Python function behind a kernel helper (itself under NUMBA_DISABLE_JIT=1)."""
    return getattr(f, "py_func", f)


@dataclass(frozen=True, kw_only=True, slots=True)
class VQFSettings(FilterSettings):
    """Settings of :class:`VQF` (defaults: the paper's recommended values).

    Attributes
    ----------
    tau_acc : float
        s; time constant of the accelerometer low-pass in the almost-inertial frame. Larger
        trusts the gyroscope longer (less disturbance by linear acceleration, slower tilt
        correction).
    tau_mag : float
        s; time constant of the heading correction from the magnetometer.
    motion_bias_estimation : bool
        Estimate the gyroscope bias while moving (from the inclination corrections).
    rest_bias_estimation : bool
        Estimate the gyroscope bias at rest (directly from the low-passed gyroscope).
    mag_disturbance_rejection : bool
        Detect magnetic disturbances (field norm / dip off the reference) and pause the
        heading correction during them.
    bias_sigma_init_deg_s : float
        °/s; initial standard deviation of the bias estimate (also its upper bound).
    bias_forgetting_time : float
        s; time in which the bias uncertainty grows by 0.1 °/s without information.
    bias_clip_deg_s : float
        °/s; bound of the bias estimate and of each bias innovation; rest is detected only
        while the low-passed gyroscope is within it on every axis (§ rest). 5, not the
        paper's 2: the turn-on bias of an uncalibrated consumer MEMS gyroscope is often
        beyond 2 °/s (Bosch BMI160 datasheet: zero-rate offset ±3 °/s), and with a bias
        past the clip on one axis rest is never detected and the estimate cannot reach the
        bias, so the orientation drifts all session (simulated knee sessions with a bias
        uniform in ±2 °/s per axis plus its walk, ``benchmarks/presets.py``: all
        criteria 266 -> 310 of 320). 5 °/s is also the calibration's bound of a plausible
        bias (``motiontrack.calibration.estimate_gyro_bias``). ``bias_clip_deg_s=2`` is the
        paper's value (the ``vqf`` package's ``biasClip``).
    bias_sigma_motion_deg_s : float
        °/s; steady-state bias uncertainty reached during motion.
    bias_vertical_forgetting_factor : float
        Relative weight of the unobservable vertical bias component in motion (small:
        barely updated).
    bias_sigma_rest_deg_s : float
        °/s; steady-state bias uncertainty reached at rest.
    rest_min_time : float
        s; how long the rest conditions must hold before rest is detected.
    rest_filter_tau : float
        s; time constant of the low-pass filters of rest detection.
    rest_threshold_gyr_deg_s : float
        °/s; maximum deviation of the gyroscope from its low-passed value at rest.
    rest_threshold_acc : float
        m/s²; maximum deviation of the accelerometer from its low-passed value at rest.
    mag_current_tau : float
        s; low-pass of the field norm and dip used for disturbance detection (0 = none).
    mag_ref_tau : float
        s; time constant with which the reference norm/dip follow an undisturbed field.
    mag_norm_threshold : float
        Relative norm deviation from the reference that counts as disturbed (0.1 = 10 %).
    mag_dip_threshold_deg : float
        °; dip deviation from the reference that counts as disturbed.
    mag_new_time : float
        s; a new, consistent field is accepted as reference after this much rotation time.
    mag_new_first_time : float
        s; the same for the very first reference.
    mag_new_min_gyr_deg_s : float
        °/s; minimum (low-passed) rotation rate for that time to count.
    mag_min_undisturbed_time : float
        s; how long the field must match the reference before it is trusted again.
    mag_max_rejection_time : float
        s; maximum continuous time the heading correction is paused; after it, the
        correction continues with a gain reduced by ``mag_rejection_factor``.
    mag_rejection_factor : float
        Gain reduction after the rejection time, and how fast the rejection budget refills.
    mag_rest_reference : bool
        Extension of the paper's algorithm: before any field reference exists, a field that
        stays consistent for ``mag_new_first_time`` while at rest becomes the first reference
        (the paper accepts one only during rotation). A magnet that approaches before the
        first rotation is then detected and rejected. False reproduces the paper exactly.
    rest_bias_gate : float
        Extension of the paper's algorithm (0 = off, the paper's rest update): the bias
        update at rest is down-weighted when its innovation e (low-passed gyroscope minus
        bias estimate) is improbable under the estimate's own uncertainty, i.e. when the
        Mahalanobis distance d = sqrt(e^T (P + sigma_rest² I)^-1 e) exceeds this (P the bias
        covariance, sigma_rest = ``bias_sigma_rest_deg_s``): its measurement variance is
        scaled by (d / gate)², so such a sample moves the estimate as a gate-sigma one would
        (a robust Kalman update). Slow rotation (a segment swaying at 1-2 °/s during a
        pause) passes the rest thresholds and would otherwise be learnt as bias by a settled
        estimate; an unsettled estimate (before trace(P) first falls to
        3 ``bias_sigma_motion_deg_s``²) learns at full speed. 5, not the usual 3: P is the
        filter's nominal steady state (in motion it settles at ``bias_sigma_motion_deg_s`` by
        construction), not a calibrated uncertainty; after a short first rest a real error of
        2-3 such sigmas is common (3 slowed its correction at a later rest in a simulated
        knee session, RMSE 0.32° -> 0.91°). The price: a genuine bias jump at rest is learnt
        more slowly (a 1 °/s step of a settled estimate: 0.60 °/s left after 20 s instead
        of 0.11, 0.02 after 50 s; 0.3 °/s: 0.038 instead of 0.037 after 20 s); motion
        updates are not gated.
    """

    tau_acc: float = 3.0
    tau_mag: float = 9.0
    motion_bias_estimation: bool = True
    rest_bias_estimation: bool = True
    mag_disturbance_rejection: bool = True
    bias_sigma_init_deg_s: float = 0.5
    bias_forgetting_time: float = 100.0
    bias_clip_deg_s: float = 5.0
    bias_sigma_motion_deg_s: float = 0.1
    bias_vertical_forgetting_factor: float = 0.0001
    bias_sigma_rest_deg_s: float = 0.03
    rest_min_time: float = 1.5
    rest_filter_tau: float = 0.5
    rest_threshold_gyr_deg_s: float = 2.0
    rest_threshold_acc: float = 0.5
    mag_current_tau: float = 0.05
    mag_ref_tau: float = 20.0
    mag_norm_threshold: float = 0.1
    mag_dip_threshold_deg: float = 10.0
    mag_new_time: float = 20.0
    mag_new_first_time: float = 5.0
    mag_new_min_gyr_deg_s: float = 20.0
    mag_min_undisturbed_time: float = 0.5
    mag_max_rejection_time: float = 60.0
    mag_rejection_factor: float = 2.0
    mag_rest_reference: bool = True
    rest_bias_gate: float = 5.0

    def __post_init__(self) -> None:
        FilterSettings.__post_init__(self)
        self._check_positive(
            "tau_acc", "tau_mag", "bias_sigma_init_deg_s", "bias_forgetting_time", "bias_clip_deg_s",
            "bias_sigma_motion_deg_s", "bias_vertical_forgetting_factor", "bias_sigma_rest_deg_s",
            "rest_filter_tau", "rest_threshold_gyr_deg_s", "rest_threshold_acc", "mag_norm_threshold",
            "mag_dip_threshold_deg", "mag_rejection_factor",
        )  # fmt: skip
        self._check_positive(
            "rest_min_time", "rest_bias_gate", "mag_current_tau", "mag_ref_tau", "mag_new_time",
            "mag_new_first_time", "mag_new_min_gyr_deg_s", "mag_min_undisturbed_time",
            "mag_max_rejection_time", allow_zero=True,
        )  # fmt: skip
        for name in (
            "motion_bias_estimation", "rest_bias_estimation", "mag_disturbance_rejection", "mag_rest_reference",
            "initialize",
        ):  # fmt: skip
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(
                    f"{name} must be True or False, got {getattr(self, name)!r}"
                )


def vqf_coefficients(s: VQFSettings, dt: float) -> np.ndarray:
    """Kernel coefficients for settings ``s`` at the nominal sample period ``dt`` (s)."""
    c = np.zeros(_k.COEFF_SIZE)
    c[_k.C_DT] = dt
    c[_k.C_TAU_ACC] = s.tau_acc
    c[_k.C_TAU_MAG] = s.tau_mag
    c[_k.C_REST_TAU] = s.rest_filter_tau
    c[_k.C_MAG_CUR_TAU] = s.mag_current_tau
    c[_k.C_MAG_REF_TAU] = s.mag_ref_tau
    c[_k.C_ACC_LP : _k.C_ACC_LP + 5] = _py(_k.butter2)(s.tau_acc, dt)
    c[_k.C_REST_LP : _k.C_REST_LP + 5] = _py(_k.butter2)(s.rest_filter_tau, dt)
    c[_k.C_MND_LP : _k.C_MND_LP + 5] = _py(_k.butter2)(s.mag_current_tau, dt)
    c[_k.C_KMAG] = _py(_k.exp_gain)(s.tau_mag, dt)
    c[_k.C_KMAGREF] = _py(_k.exp_gain)(s.mag_ref_tau, dt)
    # bias filter variances in (0.01 °/s)^2 (paper § bias)
    c[_k.C_BIAS_P0] = (s.bias_sigma_init_deg_s * 100.0) ** 2
    v = _py(_k.bias_noise)(dt, s.bias_forgetting_time)
    pm = (s.bias_sigma_motion_deg_s * 100.0) ** 2
    pr = (s.bias_sigma_rest_deg_s * 100.0) ** 2
    c[_k.C_BIAS_V] = v
    c[_k.C_BIAS_WM] = _py(_k.bias_meas_var)(pm, v)
    c[_k.C_BIAS_WV] = c[_k.C_BIAS_WM] / max(s.bias_vertical_forgetting_factor, 1e-10)
    c[_k.C_BIAS_WR] = _py(_k.bias_meas_var)(pr, v)
    c[_k.C_BIAS_PM] = pm
    c[_k.C_BIAS_PR] = pr
    c[_k.C_BIAS_FORGET] = s.bias_forgetting_time
    c[_k.C_BIAS_VFF] = s.bias_vertical_forgetting_factor
    c[_k.C_BIAS_CLIP] = s.bias_clip_deg_s * _DEG
    c[_k.C_REST_TH_GYR2] = (s.rest_threshold_gyr_deg_s * _DEG) ** 2
    c[_k.C_REST_TH_ACC2] = s.rest_threshold_acc**2
    c[_k.C_REST_MIN_T] = s.rest_min_time
    c[_k.C_MAG_NORM_TH] = s.mag_norm_threshold
    c[_k.C_MAG_DIP_TH] = s.mag_dip_threshold_deg * _DEG
    c[_k.C_MAG_NEW_T] = s.mag_new_time
    c[_k.C_MAG_NEW_FIRST_T] = s.mag_new_first_time
    c[_k.C_MAG_NEW_MIN_GYR] = s.mag_new_min_gyr_deg_s * _DEG
    c[_k.C_MAG_MIN_UNDIST_T] = s.mag_min_undisturbed_time
    c[_k.C_MAG_MAX_REJ_T] = s.mag_max_rejection_time
    c[_k.C_MAG_REJ_FACTOR] = s.mag_rejection_factor
    c[_k.C_MOTION_BIAS] = float(s.motion_bias_estimation)
    c[_k.C_REST_BIAS] = float(s.rest_bias_estimation)
    c[_k.C_MAG_REJECTION] = float(s.mag_disturbance_rejection)
    c[_k.C_ACC_RANGE] = s.acc_range
    c[_k.C_GYR_RANGE] = s.gyr_range
    c[_k.C_MAG_REST_REF] = float(s.mag_rest_reference)
    c[_k.C_REST_BIAS_GATE] = s.rest_bias_gate
    return c


def vqf_initial_state(s: VQFSettings) -> np.ndarray:
    """The state before the first sample."""
    st = np.zeros(_k.STATE_SIZE)
    st[_k.S_Q] = st[_k.S_QGYR] = st[_k.S_QACC] = 1.0
    st[_k.S_HEAD] = 1.0  # cos(delta / 2) of delta = 0
    st[_k.S_MAGDIST] = 1.0  # no field reference yet
    p0 = (s.bias_sigma_init_deg_s * 100.0) ** 2
    st[_k.S_P] = st[_k.S_P + 4] = st[_k.S_P + 8] = p0
    st[_k.S_MAG_REJECT_T] = s.mag_max_rejection_time
    st[_k.S_MAG_CAND_NORM] = -1.0
    if s.initialize:
        st[_k.S_KMAGINIT] = 1.0  # heading: running mean of the first tau_mag seconds
    else:
        st[_k.F_ACC + _k.LP_MODE] = 2.0  # tilt: converge from the current state with tau_acc
    return st


class VQF(OrientationFilter):
    """VQF-class orientation filter (6D and 9D at once), motiontrack's default.

    Gyroscope strapdown integration; accelerometer low-pass in the almost-inertial frame
    and inclination correction; heading-only correction from the magnetometer; rest
    detection; gyroscope bias estimation at rest and in motion; magnetic disturbance
    detection and rejection.

    Parameters
    ----------
    settings : VQFSettings, optional
    fs : float
        Nominal sample rate, Hz.
    **overrides
        Any :class:`VQFSettings` field by name (unknown names raise).

    Notes
    -----
    ``quaternion`` / the output of ``update`` is the 9D orientation (ENU, y = magnetic
    north) when a magnetometer is given, else the 6D one. :attr:`extras` carries per sample
    ``quaternion_6d`` (N, 4), ``gyr_bias`` (N, 3, rad/s), ``gyr_bias_sigma`` (N, 1, rad/s),
    ``rest`` and ``mag_disturbed`` (N, 1; 1.0 = true) and ``delta`` (N, 1, rad: heading of
    the 9D against the 6D earth frame). Flags ``REST`` and ``MAG_DISTURBED`` mirror them.
    The extras are computed when first read: after a one-sample call from the state, after a
    block of up to 64 samples from the inputs the filter kept, after a larger block by running
    the kernel again (see :meth:`update`); ``fuse(..., full_output=False)`` and streaming code
    that never reads them do not compute them at all.

    A NaN gyroscope row (a dropped sample) holds the orientation for that sample; its
    period is carried into the next valid sample, which integrates over both (up to 0.5 s
    of consecutive gaps, ``MAX_GAP_CARRY_S``; a longer gap is a real gap and its time is
    dropped), so dropped samples lose no rotation.

    D. Laidig, T. Seel, Information Fusion 91 (2023) 187-204,
    doi:10.1016/j.inffus.2022.10.014. Our own implementation (``_kernels/vqf.py``); its
    parameters and defaults follow the paper but the bias clip (``bias_clip_deg_s`` 5 °/s,
    not 2: a consumer gyroscope's turn-on bias often exceeds 2 °/s), plus one extension,
    ``mag_rest_reference``
    (on by default): a magnetic field that is steady at rest becomes the first field
    reference, so a disturbance that arrives before the first rotation is rejected (on the
    shared BROAD trials: mean 9D RMSE 1.54° instead of 2.07°; 6D unchanged), and
    ``rest_bias_gate`` (5 by default): a rest bias update far outside the estimate's own
    uncertainty is down-weighted, so slow sway during a pause is not learnt as bias (on the
    shared BROAD trials it never acts: the output is unchanged). With
    ``mag_rest_reference=False, rest_bias_gate=0, bias_clip_deg_s=2`` (the bias clip is 5 °/s
    by default, the paper's 2 °/s) the output equals the ``vqf`` package's to ~1e-10°.

    Examples
    --------
    >>> f = VQF(fs=100.0)
    >>> f.update([0.0, 0.0, 9.81], [0.0, 0.0, 0.0]).round(6)
    array([1., 0., 0., 0.])
    """

    method = "vqf"
    Settings = VQFSettings
    _run = _k.run
    _kernel = _k
    extra_layout: ClassVar[Mapping[str, slice]] = {
        "quaternion_6d": slice(_k.E_Q6, _k.E_Q6 + 4),
        "gyr_bias": slice(_k.E_BIAS, _k.E_BIAS + 3),
        "gyr_bias_sigma": slice(_k.E_BIAS_SIGMA, _k.E_BIAS_SIGMA + 1),
        "rest": slice(_k.E_REST, _k.E_REST + 1),
        "mag_disturbed": slice(_k.E_MAGDIST, _k.E_MAGDIST + 1),
        "delta": slice(_k.E_DELTA, _k.E_DELTA + 1),
    }

    def _coefficients(self, settings: VQFSettings, dt: float) -> np.ndarray:
        return vqf_coefficients(settings, dt)

    # -- large blocks: extras on demand ------------------------------------------------
    def _update(self, acc: Any, gyr: Any, mag: Any, dt: Any) -> np.ndarray:
        """The general path of :meth:`update`, with extras on demand for large blocks.

        A block of more than 64 samples given as an (n, 3) array (every
        :func:`~motiontrack.fusion.fuse` call) runs the kernel without its per-sample extras;
        :attr:`extras` computes them when first read, by running the same kernel again from
        the state saved before the block. Batch fusion that never reads them (``fuse`` with
        ``full_output=False``) does not pay for 11 values per sample and their memory.
        """
        if type(acc) is not _ND or acc.ndim != 2 or acc.shape[0] <= _BLOCK:
            return OrientationFilter._update(self, acc, gyr, mag, dt)
        a = _as_samples(acc, "acc")
        g = _as_samples(gyr, "gyr")
        n = a.shape[0]
        if g.shape[0] != n:
            raise InputError(f"acc has {n} samples but gyr has {g.shape[0]}")
        m = _NO_MAG
        if mag is not None:
            m = _as_samples(mag, "mag")
            if m.shape[0] != n:
                raise InputError(f"acc has {n} samples but mag has {m.shape[0]}")
        d = self._dt(dt, n)
        q = np.empty((n, 4))
        fl = np.empty(n, dtype=np.uint16)
        ex = np.empty((n, 0))
        if _RUN:
            run = _RUN[0]
        elif use_interpreted(_k.run, n):  # (see _base._first_call)
            run = interpreted(_k.run)
        else:
            run = entry_point(_k.run, self._state, self._coeffs, a, g, m, d, q, fl, self._counts, ex)
            _RUN.append(run)
        before = self._state.copy()
        run(self._state, self._coeffs, a, g, m, d, q, fl, self._counts, ex)
        self._samples += n
        self._last = (fl, ex)
        self._buf[_fc.IO_LAST] = -1.0
        self._pending = _BlockExtras(self.extra_layout, (before, self._coeffs.copy(), a, g, m, d, q), run)
        return q

    def _extras1(self) -> np.ndarray:
        # the one-sample entries do not write the extras (a function of the state): now
        _fill(0, self._buf, 1)
        return self._bextra[:1]

    def _block_extras(self, n: int) -> np.ndarray:
        # the block entries keep their inputs and computes the extras when asked for, once
        _fill(1, self._buf, n)
        return self._bextra[:n]

    def reset(self) -> None:
        """Back to the initial state; diagnostics restart from zero."""
        OrientationFilter.reset(self)
        self._pending = None  # drop the references to the last large block's inputs

    @property
    def extras(self) -> Mapping[str, np.ndarray]:
        """Per-sample outputs of the last ``update`` call (see the class notes), by name.

        They are computed when first read (after a one-sample call from the state, after a
        block of up to 64 samples from the inputs kept in the filter's buffer). After a block
        of more than 64 samples they are computed when first read (the kernel
        runs again over that block from the state saved before it; the result is checked to
        reproduce the block's quaternions exactly, so inputs changed in place since raise
        :class:`~motiontrack.errors.InputError` instead of giving other extras).
        """
        last = self._last
        if self._buf[_fc.IO_LAST] < 0.0 and last[1].shape[1] == 0 and last[1].shape[0] > 0:
            assert self._pending is not None  # set by every large block
            return self._pending
        return OrientationFilter.extras.fget(self)  # type: ignore[attr-defined]

    def _initial_state(self) -> np.ndarray:
        return vqf_initial_state(self.settings)

    @property
    def gyr_bias(self) -> np.ndarray:
        """Current gyroscope bias estimate, rad/s, sensor frame, shape (3,)."""
        return self._state[_k.S_BIAS : _k.S_BIAS + 3].copy()

    @property
    def quaternion_6d(self) -> np.ndarray:
        """Current 6D (magnetometer-free) q_earth_sensor, heading arbitrary, shape (4,)."""
        return multiply(
            self._state[_k.S_QACC : _k.S_QACC + 4], self._state[_k.S_QGYR : _k.S_QGYR + 4]
        )

    @property
    def rest(self) -> bool:
        """True while rest is detected."""
        return bool(self._state[_k.S_REST])

    @property
    def mag_disturbed(self) -> bool:
        """True while a magnetic disturbance is detected (or no field reference exists yet)."""
        return bool(self._state[_k.S_MAGDIST])


def _fill(which: int, buf: np.ndarray, n: int) -> None:
    """fill_extras1 (0) or fill_block_extras (1) on ``buf``: compiled, or as Python while
    ``_jit.use_interpreted`` says so (see ``_base._first_call``)."""
    if not _FILL:
        kernel = (_k.fill_extras1, _k.fill_block_extras)[which]
        if use_interpreted(kernel, n):
            interpreted(kernel)(buf)
            return
        load_fill_entries(buf)
    _FILL[which](buf)


def load_fill_entries(buf: np.ndarray | None = None) -> None:
    """Compile (or load from the cache) the extras entries."""
    if not _FILL:
        b = np.zeros(8) if buf is None else buf
        _FILL.extend((entry_point(_k.fill_extras1, b), entry_point(_k.fill_block_extras, b)))


class _BlockExtras(Mapping[str, np.ndarray]):
    """The extras of one large block, computed on first access (see :meth:`VQF.update`)."""

    __slots__ = ("_data", "_layout", "_run", "_src")

    def __init__(self, layout: Mapping[str, slice], src: tuple[np.ndarray, ...], run: Callable[..., None]) -> None:
        self._layout = layout
        self._run = run  # the kernel the block ran with (compiled or interpreted): the same again
        self._src: tuple[np.ndarray, ...] | None = src
        self._data: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._data is None:
            assert self._src is not None
            before, coeffs, a, g, m, d, q = self._src
            n = a.shape[0]
            ex = np.empty((n, _k.EXTRA_SIZE))
            q2 = np.empty((n, 4))
            counts = np.zeros(_fc.N_FLAGS + 1, dtype=np.int64)
            self._run(before.copy(), coeffs, a, g, m, d, q2, np.empty(n, dtype=np.uint16), counts, ex)
            if not np.array_equal(q2, q):
                raise InputError(
                    "the inputs or quaternions of the update call these extras belong to were "
                    "changed in place since; read extras before changing them"
                )
            self._data = {k: ex[:, sl] for k, sl in self._layout.items()}
            self._src = None
        return self._data

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._layout:
            raise KeyError(key)
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._layout)

    def __len__(self) -> int:
        return len(self._layout)

    def __repr__(self) -> str:
        return repr(dict(self.items()))
