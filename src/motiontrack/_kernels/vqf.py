"""VQF-class orientation filter: 6D and 9D at once, rest detection, gyro bias, magnetic rejection.

D. Laidig, T. Seel, "VQF: Highly accurate IMU orientation estimation with bias estimation
and magnetic disturbance rejection", Information Fusion 91 (2023) 187-204,
doi:10.1016/j.inffus.2022.10.014 (accepted manuscript arXiv:2203.17024).

This module holds the kernel's entries; the algorithm is in

* :mod:`.vqf_step`: one sample (strapdown, inclination, the frames, gaps, variable periods);
* :mod:`.vqf_bias`: rest detection and the gyroscope-bias Kalman filter;
* :mod:`.vqf_mag`: magnetic disturbance detection and the heading correction;
* :mod:`.vqf_math`: low-pass filter blocks, 3x3 matrices, small-angle series;
* :mod:`.vqf_layout`: the state, coefficient and extras layouts and the dt-dependent gains.

``run`` (batch), the one-sample entries ``run1``/``run1m`` and the block entries
``runb``/``runbm`` (``fusion_common``) all call the same ``vqf_step.step`` on scalars, so
their outputs are identical by construction; ``step`` is inlined into every entry with its
arithmetic flags unchanged (``fusion_common.exact``, ``fusion_common.always_inline``).

The streaming entries write no extras: ``fill_extras1`` computes them from the state, and
``fill_block_extras`` by running ``step`` again over the inputs and the state that the block
entries keep in the work buffer, when (and if) the wrapper is asked for them.

The implementation is ours; parameter names and defaults follow the paper's tuning
parameters so results can be compared with the reference implementation. Two extensions,
each switched off by one coefficient (both off: the filter is the paper's algorithm):
``C_MAG_REST_REF`` (:mod:`.vqf_mag`): a field steady at rest may become the first magnetic
reference; ``C_REST_BIAS_GATE`` (:mod:`.vqf_bias`): a rest update whose innovation is
improbable under the bias covariance P gets a proportionally larger measurement variance
(slow rotation passes the rest thresholds of § rest and would be learnt as bias).
"""

from __future__ import annotations

from ._jit import inline, jit
from .fusion_common import (
    BLOCK,
    IO_DT,
    IO_HAS_MAG,
    IO_LAST,
    IO_STATE,
    count,
    end1,
    end_row,
    endb,
    fast_entry,
)
from .vqf_layout import COEFF_SIZE, E_P, EXTRA_SIZE, EXTRA_SIZE_COV, S_P, S_Q, STATE_SIZE
from .vqf_step import extras_values, step

# the state and coefficients inside the fast entries' work buffer (fusion_common.IO_STATE)
BUF_C0 = IO_STATE + STATE_SIZE
BUF_C1 = BUF_C0 + COEFF_SIZE

# after the block flags and extras (fusion_common layout), what the block entries keep so that
# the extras of a block are computed only when asked for (fill_block_extras): the state before
# the block, a scratch state, the block's inputs (acc, gyr, mag, dt: 10 per row) and whether the extras are filled
BUF_FL = BUF_C1  # block flags
BUF_EX = BUF_FL + BLOCK  # block extras, EXTRA_SIZE per row
BUF_SNAP = BUF_EX + BLOCK * EXTRA_SIZE
BUF_SCRATCH = BUF_SNAP + STATE_SIZE
BUF_IN = BUF_SCRATCH + STATE_SIZE
BUF_READY = BUF_IN + 10 * BLOCK
BUF_EXTRA = 2 * STATE_SIZE + 10 * BLOCK + 1  # values the wrapper adds to the common layout
#: the one-sample entries write their output into a fresh (4,) array the wrapper passes
#: (``fusion_common``: cheaper than copying it out of the work buffer)
ONE_OUT = True


@jit
def run(state, coeffs, acc, gyr, mag, dt, q_out, flags_out, counts, extra_out):
    """Advance over N samples (kernel contract of ``fusion_common``)."""
    has_mag = mag.shape[0] > 0
    n_extra = extra_out.shape[1]
    mx = my = mz = 0.0
    for i in range(acc.shape[0]):
        if has_mag:
            mx, my, mz = mag[i, 0], mag[i, 1], mag[i, 2]
        f = step(state, coeffs, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2],
                 mx, my, mz, has_mag, dt[i])  # fmt: skip
        q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = state[S_Q], state[S_Q + 1], state[S_Q + 2], state[S_Q + 3]
        if n_extra >= EXTRA_SIZE:
            e = extras_values(state, coeffs, has_mag)
            for j in range(EXTRA_SIZE):
                extra_out[i, j] = e[j]
            if n_extra >= EXTRA_SIZE_COV:
                for j in range(9):
                    extra_out[i, E_P + j] = state[S_P + j]
        flags_out[i] = f
        count(counts, f)


@fast_entry
@jit
def run1(acc, gyr, buf, q):
    """One 6D sample (3,) into ``q`` (4,): the same ``step`` as :func:`run` (``fusion_common``).

    Returns False, doing nothing, unless both inputs hold 3 values and ``q`` 4. The wrapper
    passes a fresh ``q`` (``ONE_OUT``): cheaper than copying the work buffer's output.

    The extras are not written: they are a function of the state (:func:`extras_values`), and
    :func:`fill_extras1` writes them when the wrapper is asked for them.
    """
    if acc.shape[0] != 3 or gyr.shape[0] != 3 or q.shape[0] != 4:
        return False  # not one sample: the wrapper's general path reports it
    has_mag = gyr.shape[0] == 0  # False, typed as a run-time bool: ``step`` has one signature
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    f = step(state, coeffs, acc[0], acc[1], acc[2], gyr[0], gyr[1], gyr[2], 0.0, 0.0, 0.0, has_mag, buf[IO_DT])
    end1(buf, state, f, has_mag)
    q[0], q[1], q[2], q[3] = state[0], state[1], state[2], state[3]
    return True


@fast_entry
@jit
def run1m(acc, gyr, mag, buf, q):
    """One 9D sample (3,) into ``q`` (4,): as :func:`run1`, with the magnetometer."""
    if acc.shape[0] != 3 or gyr.shape[0] != 3 or mag.shape[0] != 3 or q.shape[0] != 4:
        return False
    has_mag = mag.shape[0] == 3
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    f = step(state, coeffs, acc[0], acc[1], acc[2], gyr[0], gyr[1], gyr[2], mag[0], mag[1], mag[2], has_mag,
             buf[IO_DT])
    end1(buf, state, f, has_mag)
    q[0], q[1], q[2], q[3] = state[0], state[1], state[2], state[3]
    return True


@inline
def begin_block(buf, acc, gyr, mag, dt, n, has_mag):
    """Keep the state before a block and the block's inputs, for :func:`fill_block_extras`."""
    for j in range(STATE_SIZE):
        buf[BUF_SNAP + j] = buf[IO_STATE + j]
    for i in range(n):
        r = BUF_IN + 10 * i
        buf[r + 9] = dt[i]
        buf[r], buf[r + 1], buf[r + 2] = acc[i, 0], acc[i, 1], acc[i, 2]
        buf[r + 3], buf[r + 4], buf[r + 5] = gyr[i, 0], gyr[i, 1], gyr[i, 2]
        if has_mag:
            buf[r + 6], buf[r + 7], buf[r + 8] = mag[i, 0], mag[i, 1], mag[i, 2]
    buf[BUF_READY] = 0.0


@fast_entry
@jit
def runb(acc, gyr, dt, buf, q_out):
    """A 6D block of n <= BLOCK samples (n, 3) with periods ``dt`` (n,), s (``fusion_common``).

    Returns False, doing nothing, unless the inputs are such a block. The extras are computed
    when asked for (:func:`fill_block_extras`).
    """
    n = acc.shape[0]
    if acc.shape[1] != 3 or gyr.shape != acc.shape or dt.shape[0] != n or n > BLOCK:
        return False  # not a small block of samples: the wrapper's general path handles it
    has_mag = gyr.shape[1] == 0  # False, typed as a run-time bool: ``step`` has one signature
    begin_block(buf, acc, gyr, gyr, dt, n, has_mag)
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    fl0 = IO_STATE + STATE_SIZE + COEFF_SIZE  # = BUF_FL (computed: end_row keeps one signature)
    for i in range(n):
        f = step(state, coeffs, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2], 0.0, 0.0, 0.0,
                 has_mag, dt[i])
        end_row(buf, state, f, q_out, i, fl0)
    endb(buf, n, has_mag)
    return True


@fast_entry
@jit
def runbm(acc, gyr, mag, dt, buf, q_out):
    """A 9D block: as :func:`runb`, with the magnetometer."""
    n = acc.shape[0]
    if acc.shape[1] != 3 or gyr.shape != acc.shape or mag.shape != acc.shape or dt.shape[0] != n or n > BLOCK:
        return False
    has_mag = mag.shape[1] == 3
    begin_block(buf, acc, gyr, mag, dt, n, has_mag)
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    fl0 = IO_STATE + STATE_SIZE + COEFF_SIZE  # = BUF_FL (computed: end_row keeps one signature)
    for i in range(n):
        f = step(state, coeffs, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2],
                 mag[i, 0], mag[i, 1], mag[i, 2], has_mag, dt[i])
        end_row(buf, state, f, q_out, i, fl0)
    endb(buf, n, has_mag)
    return True


@fast_entry
@jit
def fill_block_extras(buf):
    """The extras of the last block of ``runb``/``runbm``, rows 0..n-1 of the block extras.

    Runs the same ``step`` again over the kept inputs from the kept state (in a scratch state),
    so the rows are exactly those a per-sample computation would have written.
    """
    n = int(buf[IO_LAST]) - 1
    if buf[BUF_READY] != 0.0 or n < 1:
        return
    has_mag = buf[IO_HAS_MAG] != 0.0
    for j in range(STATE_SIZE):
        buf[BUF_SCRATCH + j] = buf[BUF_SNAP + j]
    state, coeffs = buf[BUF_SCRATCH : BUF_SCRATCH + STATE_SIZE], buf[BUF_C0:BUF_C1]
    for i in range(n):
        r = BUF_IN + 10 * i
        if has_mag:
            mx, my, mz = buf[r + 6], buf[r + 7], buf[r + 8]
        else:
            mx = my = mz = 0.0
        step(state, coeffs, buf[r], buf[r + 1], buf[r + 2], buf[r + 3], buf[r + 4], buf[r + 5], mx, my, mz,
             has_mag, buf[r + 9])
        e = extras_values(state, coeffs, has_mag)
        for j in range(EXTRA_SIZE):
            buf[BUF_EX + EXTRA_SIZE * i + j] = e[j]
    buf[BUF_READY] = 1.0


@fast_entry
@jit
def fill_extras1(buf):
    """The extras row of the current state into the work buffer's first extras row."""
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    e = extras_values(state, coeffs, buf[IO_HAS_MAG] != 0.0)
    for j in range(EXTRA_SIZE):
        buf[BUF_EX + j] = e[j]
