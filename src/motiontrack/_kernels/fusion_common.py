"""Pieces every orientation-filter kernel shares: flag bits, counters, input screening.

Kernel contract (every filter):

``run(state, coeffs, acc, gyr, mag, dt, q_out, flags_out, counts, extra_out)``

* ``state``   float64 (S,), updated in place; ``state[0:4]`` is always the output q_earth_sensor.
* ``coeffs``  float64 (C,), derived once from settings and the nominal sample period.
* ``acc, gyr`` float64 (N, 3); ``mag`` float64 (N, 3), or (0, 3) when there is no magnetometer.
* ``dt``      float64 (N,) sample periods, s (a non-finite or non-positive dt skips the sample).
* ``q_out``   float64 (N, 4), ``flags_out`` uint16 (N,), ``counts`` int64 (N_FLAGS,) accumulated.
* ``extra_out`` float64 (N, E): method-specific outputs (E = 0 for most filters), columns named
  by the wrapper's ``extra_layout``.

The streaming ``update`` and the batch ``fuse`` call the same ``run`` (one sample is N = 1),
so one-by-one, batch and split-batch outputs are identical by construction.

Low-overhead streaming entries (per kernel module): ``run1(acc, gyr, buf)`` and
``run1m(acc, gyr, mag, buf)`` advance one 6D/9D sample given as (3,) arrays of any layout,
``runb(acc, gyr, dt, buf, q_out)`` and ``runbm(acc, gyr, mag, dt, buf, q_out)`` a small block
(n <= ``BLOCK``) of (n, 3) arrays with periods ``dt`` (n,) into ``q_out`` (n, 4). They check the
sizes themselves and return False (doing nothing) when they do not fit; the wrapper checks
ndim and dtype. A kernel module that sets ``ONE_OUT = True`` takes the one-sample output too,
``run1(acc, gyr, buf, q)`` and ``run1m(acc, gyr, mag, buf, q)`` with ``q`` (4,): the wrapper
passes a fresh ``np.empty(4)`` (~70 ns, and ~6 ns to unbox) instead of copying the buffer's
output afterwards (~100 ns), which a one-sample update returns.
Everything else travels in one flat float64 work buffer ``buf`` (layout ``IO_*`` below, then
the state, the coefficients, the block flags and the block extras; the wrapper's
``state``/``coeffs`` arrays are views into it): the nominal period, the one-sample output,
flags, flag counts and the number of samples the entries have seen. They call the same
per-sample ``step`` on scalars as ``run``, so their output equals ``run``'s bit for bit (the
helpers' flags are fixed, :func:`fixed_runtime`, :func:`exact`, so that every caller's copy of
``step`` rounds alike).

Why: a compiled call costs a fixed ~25 ns plus, per array argument, ~12 ns without numba's
reference-counting runtime (~35 ns with it) and ~30 ns more when it releases the GIL
(:func:`fast_entry` sets both off), so one packed buffer instead of ten arrays brings a
one-sample update to imufusion's per-call cost. Every kernel function is compiled for one
signature only (6D and 9D are two functions, ``has_mag`` a run-time bool), so that numba's
on-disk cache index never holds two specialisations of one entry.
"""

from __future__ import annotations

import math

from ._jit import inline
from .quaternion import qmul, qrot

# Flag bits (mirrored by motiontrack.fusion.FusionFlag; keep in sync, a test checks it).
ACC_GAP = 1  # accelerometer row not finite: tilt correction skipped
GYR_GAP = 2  # gyroscope row not finite: orientation held, no prediction
MAG_GAP = 4  # magnetometer row not finite while a magnetometer is used: heading correction skipped
DT_INVALID = 8  # sample period not finite or <= 0 (clock jump back): sample skipped entirely
GYR_SATURATED = 16  # a gyroscope axis at or beyond 98 % of the full-scale range
ACC_SATURATED = 32  # an accelerometer axis at or beyond 98 % of the full-scale range
REST = 64  # rest detected (filters that detect rest)
MAG_DISTURBED = 128  # magnetic disturbance detected: heading correction rejected/reduced
ACC_REJECTED = 256  # large linear acceleration: tilt correction rejected
INITIALIZING = 512  # orientation not yet initialised from acc (and mag)
N_FLAGS = 10

SATURATION_FRACTION = 0.98

#: Longest run of samples without a gyroscope reading (s) whose time is carried into the
#: next valid sample: a dropped sample's rotation is integrated with the next rate instead
#: of being lost. Longer gaps are real gaps: their time is discarded and the correction
#: steps bring the orientation back.
MAX_GAP_CARRY_S = 0.5

# Flat work-buffer layout of the fast entries ``run1``/``runb`` (see the module docstring).
IO_DT = 0  # nominal sample period, s
IO_Q = 1  # 1..4 q_earth_sensor after the last one-sample call
IO_FLAG = 5  # flags of the last one-sample call
IO_LAST = 6  # what the last call left in the buffer: -1 nothing, 0 one sample, n + 1 a block of n
IO_HAS_MAG = 7  # 1.0 when the last fast call had a magnetometer
IO_COUNTS = 8  # 8..17 flag counts of the fast entries (float64, exact below 2**53)
IO_SAMPLES = IO_COUNTS + N_FLAGS  # samples the fast entries have seen
IO_STATE = IO_SAMPLES + 1  # the state starts here; then coefficients, block flags, block extras
BLOCK = 64  # largest block of the block entry ``runb``


# Physically absurd values count as gaps, so that no later product can overflow to inf/NaN:
# no MEMS gyroscope reads 10^4 rad/s, and a sample period above an hour is a new recording.
GYR_ABSURD2 = 1e8  # (rad/s)², squared norm
DT_MAX = 3600.0  # s


@inline
def finite3(v, i):
    # one test instead of three: the squared norm is finite iff every component is and the
    # norm does not overflow (|v| > 1e154 is no sensor reading: it counts as a gap)
    return math.isfinite(v[i, 0] * v[i, 0] + v[i, 1] * v[i, 1] + v[i, 2] * v[i, 2])


@inline
def saturated3(v, i, full_scale):
    """True when any axis reaches 98 % of ``full_scale`` (0 = range unknown: never)."""
    if full_scale <= 0.0:
        return False
    lim = SATURATION_FRACTION * full_scale
    return abs(v[i, 0]) >= lim or abs(v[i, 1]) >= lim or abs(v[i, 2]) >= lim


@inline
def screen(acc, gyr, mag, i, dt_i, acc_range, gyr_range):
    """Input flags of sample ``i`` (gaps, bad dt, saturation)."""
    f = 0
    if not (dt_i > 0.0 and dt_i <= DT_MAX):  # also False for NaN
        f |= DT_INVALID
    if not finite3(acc, i):
        f |= ACC_GAP
    elif saturated3(acc, i, acc_range):
        f |= ACC_SATURATED
    if not (gyr[i, 0] * gyr[i, 0] + gyr[i, 1] * gyr[i, 1] + gyr[i, 2] * gyr[i, 2] <= GYR_ABSURD2):
        f |= GYR_GAP  # not finite (NaN compares False) or absurd
    elif saturated3(gyr, i, gyr_range):
        f |= GYR_SATURATED
    if mag.shape[0] > 0 and not finite3(mag, i):
        f |= MAG_GAP
    return f


@inline
def screen_values(ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, dt, acc_range, gyr_range):
    """:func:`screen` for one sample given as scalars (same flags, same tests)."""
    f = 0
    if not (dt > 0.0 and dt <= DT_MAX):  # also False for NaN
        f |= DT_INVALID
    if not math.isfinite(ax * ax + ay * ay + az * az):
        f |= ACC_GAP
    elif acc_range > 0.0:
        lim = SATURATION_FRACTION * acc_range
        if abs(ax) >= lim or abs(ay) >= lim or abs(az) >= lim:
            f |= ACC_SATURATED
    if not (gx * gx + gy * gy + gz * gz <= GYR_ABSURD2):
        f |= GYR_GAP  # not finite (NaN compares False) or absurd
    elif gyr_range > 0.0:
        lim = SATURATION_FRACTION * gyr_range
        if abs(gx) >= lim or abs(gy) >= lim or abs(gz) >= lim:
            f |= GYR_SATURATED
    if has_mag and not math.isfinite(mx * mx + my * my + mz * mz):
        f |= MAG_GAP
    return f


@inline
def carry_gap(carry, f, h):
    """Carry after a sample: skipped time grows over a gyroscope gap, capped (-1 = too long)."""
    if (f & GYR_GAP) and not (f & DT_INVALID) and carry >= 0.0:
        c = carry + h
        return c if c <= MAX_GAP_CARRY_S else -1.0
    return carry


@inline
def with_carry(carry, h):
    """The period a valid gyroscope sample integrates over: its own plus the carried gap."""
    return h + carry if carry > 0.0 else h


@inline
def begin_step(state, s_init, s_carry, init_enabled, f, ax, ay, az, an2, mx, my, mz, has_mag, h):
    """What every classic filter step starts with: initialisation and the gap carry.

    The orientation (``state[0:4]``) is initialised from the first usable accelerometer
    (and magnetometer) sample when ``init_enabled``; until then the sample is flagged
    ``INITIALIZING``. A sample without gyroscope adds its period to the carry
    (``state[s_carry]``); the next valid one integrates over its own period plus the carry.

    Returns ``(f, fresh, integrate, h, qw, qx, qy, qz)``: the flags, whether the orientation
    was initialised by this sample, whether the filter should integrate it, the period to
    integrate over, and the orientation to start from.
    """
    qw, qx, qy, qz = state[0], state[1], state[2], state[3]
    fresh = False
    if state[s_init] == 0.0:
        if not init_enabled:
            state[s_init] = 1.0
        elif not (f & ACC_GAP) and an2 > 0.0:
            qw, qx, qy, qz = initial_quaternion_values(ax, ay, az, mx, my, mz, has_mag and not (f & MAG_GAP))
            state[s_init] = 1.0
            fresh = True
        else:
            f |= INITIALIZING
    integrate = False
    if state[s_init] != 0.0:
        carry = state[s_carry]
        if f & (DT_INVALID | GYR_GAP):
            state[s_carry] = carry_gap(carry, f, h)
        else:
            # a dropped sample's time is integrated with this rate (MAX_GAP_CARRY_S)
            h = with_carry(carry, h)
            state[s_carry] = 0.0
            integrate = True
    return f, fresh, integrate, h, qw, qx, qy, qz


def fast_entry(dispatcher=None, *, nrt=False):
    """Flags of a fast entry (``run1``/``runb``...), applied on top of the one ``jit`` decorator.

    * The GIL is kept: a ~0.1-2 µs call gains nothing from releasing it, and releasing and
      re-taking it costs ~30 ns per call.
    * Without ``nrt`` (numba's reference-counted runtime) the argument arrays are unboxed
      without allocating a reference-counting record each (~20 ns per array argument, half
      the cost of the call): the entry must not allocate arrays (it only indexes and slices
      its arguments). ``nrt=True`` keeps the runtime for entries that allocate scratch.

    Set before the first compile; under ``NUMBA_DISABLE_JIT=1`` the plain function is returned
    unchanged. Usage: ``@fast_entry`` or ``@fast_entry(nrt=True)`` above ``@jit``.
    """

    def apply(d):
        options = getattr(d, "targetoptions", None)
        if options is not None:
            options["nogil"] = False
            if not nrt:  # (dropped by _jit.activate for a numba without the option)
                options["_nrt"] = False
        return d

    return apply if dispatcher is None else apply(dispatcher)


def exact(*dispatchers):
    """Compile per-sample helpers with IEEE-exact arithmetic and fixed flags, whoever calls them.

    A helper is compiled into every kernel that calls it (``run``, the fast entries), and numba
    lets a helper inherit the caller's runtime flag; with fused multiply-adds or reciprocal
    rewriting allowed, LLVM may then round a helper's arithmetic differently in different
    callers (inlined or not, context), which breaks the bit-identity of streaming and batch
    output. Without ``contract``/``arcp`` every copy computes the same IEEE result; ``_nrt``
    is set explicitly (the helpers allocate nothing). Applied before the first compile; a
    no-op under ``NUMBA_DISABLE_JIT=1``.
    """
    for d in dispatchers:
        options = getattr(d, "targetoptions", None)
        if options is not None:
            options["fastmath"] = {"nsz"}
            options["_nrt"] = False


def always_inline(*dispatchers):
    """Have LLVM inline these helpers into every caller (numba's ``forceinline`` option).

    A large per-sample ``step`` exceeds LLVM's inlining threshold, so each entry called it as a
    function: ~25 arguments (two arrays as 7-word structs) pushed per sample, and no constant
    folding of the caller's run-time bools and buffer offsets into it. The attribute changes
    neither the arithmetic nor its flags (the helper keeps its own, see :func:`exact`), so the
    output is bit-identical; numba's IR-level ``inline="always"`` is not used (it would compile
    the helper with the caller's flags). Applied before the first compile; a no-op under
    ``NUMBA_DISABLE_JIT=1``.
    """
    for d in dispatchers:
        options = getattr(d, "targetoptions", None)
        if options is not None:
            options["forceinline"] = True


def fixed_runtime(*dispatchers):
    """Set the runtime flag of helpers with array arguments explicitly (they allocate nothing).

    numba lets a helper inherit it from whichever kernel compiles the helper first (``run``
    with the runtime, a fast entry without), so its machine code, and the rounding of fused
    multiply-adds in it, could depend on the order in which kernels were first compiled.
    """
    for d in dispatchers:
        options = getattr(d, "targetoptions", None)
        if options is not None:
            options["_nrt"] = False


@inline
def count_buf(buf, f):
    """Count the flags of one sample into the work buffer's counters."""
    buf[IO_SAMPLES] += 1.0
    if f:  # most samples carry no flag: skip the bit loop
        for b in range(N_FLAGS):
            if f & (1 << b):
                buf[IO_COUNTS + b] += 1.0


@inline
def end1(buf, state, f, has_mag):
    """After a one-sample ``step``: its output, flags and counts into the work buffer."""
    buf[IO_Q], buf[IO_Q + 1], buf[IO_Q + 2], buf[IO_Q + 3] = state[0], state[1], state[2], state[3]
    buf[IO_FLAG] = f
    buf[IO_LAST] = 0.0
    buf[IO_HAS_MAG] = 1.0 if has_mag else 0.0
    count_buf(buf, f)


@inline
def end_row(buf, state, f, q_out, i, fl0):
    """After sample ``i`` of a block entry: its output, flags (at ``buf[fl0 + i]``) and counts."""
    q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = state[0], state[1], state[2], state[3]
    buf[fl0 + i] = f
    count_buf(buf, f)


@inline
def endb(buf, n, has_mag):
    """After a block of ``n`` samples of the block entry ``runb``."""
    buf[IO_LAST] = n + 1.0
    buf[IO_HAS_MAG] = 1.0 if has_mag else 0.0


@inline
def count(counts, f):
    if f:  # most samples carry no flag: skip the bit loop
        for b in range(N_FLAGS):
            if f & (1 << b):
                counts[b] += 1


@inline
def tilt_quaternion(ax, ay, az):
    """q_earth_sensor with zero yaw (z-y'-x'') that maps the specific force ``a`` onto +z (up)."""
    roll = math.atan2(ay, az)
    pitch = math.atan2(-ax, math.sqrt(ay * ay + az * az))
    cr, sr = math.cos(0.5 * roll), math.sin(0.5 * roll)
    cp, sp = math.cos(0.5 * pitch), math.sin(0.5 * pitch)
    # q = qy(pitch) ⊗ qx(roll)
    return cp * cr, cp * sr, sp * cr, -sp * sr


@inline
def initial_quaternion_values(ax, ay, az, mx, my, mz, use_mag):
    """:func:`initial_quaternion` from scalars (``use_mag``: the magnetometer sample is finite)."""
    w, x, y, z = tilt_quaternion(ax, ay, az)
    if use_mag:
        hx, hy, _hz = qrot(w, x, y, z, mx, my, mz)
        if hx * hx + hy * hy > 0.0:
            half = 0.5 * math.atan2(hx, hy)
            return qmul(math.cos(half), 0.0, 0.0, math.sin(half), w, x, y, z)
    return w, x, y, z


@inline
def initial_quaternion(acc, mag, i):
    """Orientation from one accelerometer (and magnetometer, if finite) sample, ENU."""
    w, x, y, z = tilt_quaternion(acc[i, 0], acc[i, 1], acc[i, 2])
    if mag.shape[0] > 0 and finite3(mag, i):
        mx, my, _mz = qrot(w, x, y, z, mag[i, 0], mag[i, 1], mag[i, 2])
        if mx * mx + my * my > 0.0:
            # heading: turn about up so the horizontal field points to +y (magnetic north)
            half = 0.5 * math.atan2(mx, my)
            return qmul(math.cos(half), 0.0, 0.0, math.sin(half), w, x, y, z)
    return w, x, y, z


@inline
def acc_usable(acc, i):
    n2 = acc[i, 0] * acc[i, 0] + acc[i, 1] * acc[i, 1] + acc[i, 2] * acc[i, 2]
    return n2 > 0.0 and math.isfinite(n2)


fixed_runtime(
    finite3, saturated3, screen, begin_step, count, count_buf, end1, end_row, endb, initial_quaternion, acc_usable,
)
always_inline(end1, end_row, endb, count_buf)
