"""A complementary orientation filter: gyroscope integration with decoupled tilt and heading
corrections, each a first-order low-pass with its own time constant (ENU earth frame).

Per sample (sample period ``dt``):

1. strapdown integration of the gyroscope, ``q <- q ⊗ exp(gyr dt / 2)`` (exact for a
   constant rate over the sample);
2. tilt correction: the accelerometer is rotated into the earth frame, ``a_e = q a q*``,
   and ``q`` is turned about the horizontal axis ``a_e × e_z`` by the fraction
   ``k_a = 1 - exp(-dt / tau_acc)`` of the angle between ``a_e`` and up;
3. heading correction (9D): the magnetometer is rotated into the earth frame and ``q`` is
   turned about up by ``k_m = 1 - exp(-dt / tau_mag)`` of the azimuth of its horizontal
   part from north (+y). A rotation about the vertical leaves the inclination untouched, so
   the magnetometer never tilts the estimate (the decoupling of Laidig & Seel, "VQF",
   Information Fusion 2023, doi:10.1016/j.inffus.2022.10.014, section 3).

Both corrections are a fixed-gain complementary filter in the sense of Mahony et al. 2008
(doi:10.1109/TAC.2008.923738) without bias estimation; ``tau = 0`` switches a correction off.
"""

from __future__ import annotations

import math

from ._jit import inline, jit
from .fusion_common import (
    ACC_GAP,
    ACC_REJECTED,
    BLOCK,
    IO_DT,
    IO_STATE,
    MAG_GAP,
    begin_step,
    count,
    end1,
    end_row,
    endb,
    fast_entry,
    fixed_runtime,
    screen_values,
)
from .quaternion import qexp_rotvec, qmul, qnormalize, qrot

# state layout
S_QW, S_QX, S_QY, S_QZ, S_INIT, S_CARRY = 0, 1, 2, 3, 4, 5
STATE_SIZE = 6
# coefficient layout: time constants (s, 0 = off), nominal dt and gains at it, rejection
C_TAU_ACC, C_TAU_MAG, C_DT, C_K_ACC, C_K_MAG, C_ACC_REJ, C_GRAVITY = 0, 1, 2, 3, 4, 5, 6
C_ACC_RANGE, C_GYR_RANGE, C_INIT = 7, 8, 9
COEFF_SIZE = 10
# the state and coefficients inside the fast entries' work buffer (fusion_common.IO_STATE)
BUF_C0 = IO_STATE + STATE_SIZE
BUF_C1 = BUF_C0 + COEFF_SIZE
N_EXTRA = 0


@inline
def gain(tau, dt, dt_nominal, k_nominal):
    """First-order low-pass gain 1 - exp(-dt/tau) (0 when tau = 0), cached for the nominal dt."""
    if tau <= 0.0:
        return 0.0
    if dt == dt_nominal:
        return k_nominal
    return -math.expm1(-dt / tau)


@inline
def step(state, coeffs, ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h):
    """Advance the state by one sample (in place); returns the sample's flags."""
    f = screen_values(ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h, coeffs[C_ACC_RANGE], coeffs[C_GYR_RANGE])
    an2 = ax * ax + ay * ay + az * az
    f, _, integrate, h, qw, qx, qy, qz = begin_step(
        state, S_INIT, S_CARRY, coeffs[C_INIT] != 0.0, f, ax, ay, az, an2, mx, my, mz, has_mag, h
    )
    if integrate:
        # 1. strapdown integration
        rw, rx, ry, rz = qexp_rotvec(gx * h, gy * h, gz * h)
        qw, qx, qy, qz = qmul(qw, qx, qy, qz, rw, rx, ry, rz)
        # 2. tilt correction about the horizontal axis a_e x e_z
        ka = gain(coeffs[C_TAU_ACC], h, coeffs[C_DT], coeffs[C_K_ACC])
        if ka > 0.0 and not (f & ACC_GAP) and an2 > 0.0:
            an = math.sqrt(an2)
            rej = coeffs[C_ACC_REJ]
            if rej > 0.0 and abs(an - coeffs[C_GRAVITY]) > rej:
                f |= ACC_REJECTED
            else:
                ex, ey, ez = qrot(qw, qx, qy, qz, ax, ay, az)
                hn = math.sqrt(ex * ex + ey * ey)
                angle = math.atan2(hn, ez)  # inclination error, rad
                if hn > 1e-12 * an:
                    ux, uy = ey / hn, -ex / hn
                else:
                    ux, uy = 1.0, 0.0  # exactly up (angle 0) or exactly down (angle pi)
                half = 0.5 * ka * angle
                s = math.sin(half)
                qw, qx, qy, qz = qmul(math.cos(half), ux * s, uy * s, 0.0, qw, qx, qy, qz)
        # 3. heading correction about up (changes no inclination)
        km = gain(coeffs[C_TAU_MAG], h, coeffs[C_DT], coeffs[C_K_MAG])
        if km > 0.0 and has_mag and not (f & MAG_GAP):
            hx, hy, _ = qrot(qw, qx, qy, qz, mx, my, mz)
            if hx * hx + hy * hy > 0.0:
                half = 0.5 * km * math.atan2(hx, hy)  # azimuth of the field from north (+y)
                qw, qx, qy, qz = qmul(math.cos(half), 0.0, 0.0, math.sin(half), qw, qx, qy, qz)
        qw, qx, qy, qz = qnormalize(qw, qx, qy, qz)
    state[S_QW], state[S_QX], state[S_QY], state[S_QZ] = qw, qx, qy, qz
    return f


fixed_runtime(step)  # (fusion_common.fixed_runtime)


@jit
def run(state, coeffs, acc, gyr, mag, dt, q_out, flags_out, counts, extra_out):
    has_mag = mag.shape[0] > 0
    mx = my = mz = 0.0
    for i in range(acc.shape[0]):
        if has_mag:
            mx, my, mz = mag[i, 0], mag[i, 1], mag[i, 2]
        f = step(state, coeffs, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2],
                 mx, my, mz, has_mag, dt[i])
        q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = state[S_QW], state[S_QX], state[S_QY], state[S_QZ]
        flags_out[i] = f
        count(counts, f)


@fast_entry
@jit
def run1(acc, gyr, buf):
    """One 6D sample (3,): the same ``step`` as :func:`run` (``fusion_common``).

    Returns False, doing nothing, unless both inputs hold 3 values.
    """
    if acc.shape[0] != 3 or gyr.shape[0] != 3:
        return False  # not one sample: the wrapper's general path reports it
    has_mag = gyr.shape[0] == 0  # False, typed as a run-time bool: ``step`` has one signature
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    f = step(state, coeffs, acc[0], acc[1], acc[2], gyr[0], gyr[1], gyr[2], 0.0, 0.0, 0.0, has_mag, buf[IO_DT])
    end1(buf, state, f, has_mag)
    return True


@fast_entry
@jit
def run1m(acc, gyr, mag, buf):
    """One 9D sample (3,): as :func:`run1`, with the magnetometer."""
    if acc.shape[0] != 3 or gyr.shape[0] != 3 or mag.shape[0] != 3:
        return False
    has_mag = mag.shape[0] == 3
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    f = step(state, coeffs, acc[0], acc[1], acc[2], gyr[0], gyr[1], gyr[2], mag[0], mag[1], mag[2], has_mag,
             buf[IO_DT])
    end1(buf, state, f, has_mag)
    return True


@fast_entry
@jit
def runb(acc, gyr, dt, buf, q_out):
    """A 6D block of n <= BLOCK samples (n, 3) with periods ``dt`` (n,), s (``fusion_common``).

    Returns False, doing nothing, unless the inputs are such a block.
    """
    n = acc.shape[0]
    if acc.shape[1] != 3 or gyr.shape != acc.shape or dt.shape[0] != n or n > BLOCK:
        return False  # not a small block of samples: the wrapper's general path handles it
    has_mag = gyr.shape[1] == 0  # False, typed as a run-time bool: ``step`` has one signature
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    fl0 = IO_STATE + STATE_SIZE + COEFF_SIZE
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
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    fl0 = IO_STATE + STATE_SIZE + COEFF_SIZE
    for i in range(n):
        f = step(state, coeffs, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2],
                 mag[i, 0], mag[i, 1], mag[i, 2], has_mag, dt[i])
        end_row(buf, state, f, q_out, i, fl0)
    endb(buf, n, has_mag)
    return True
