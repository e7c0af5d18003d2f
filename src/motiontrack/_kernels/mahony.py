"""Mahony's explicit complementary filter on SO(3) with gyroscope-bias integral (IMU and MARG).

R. Mahony, T. Hamel, J.-M. Pflimlin, "Nonlinear complementary filters on the special
orthogonal group", IEEE Trans. Automatic Control 53(5), 2008, doi:10.1109/TAC.2008.923738,
explicit complementary filter with bias correction, eq. (32) (vector measurements, eq. 48).
Written in the ENU earth frame: gravity reference +z (up), magnetic reference in the y-z
(north-up) plane, the same references the ``ahrs`` package's Mahony uses, so the output
matches it to round-off (seeded with the same initial orientation).
"""

from __future__ import annotations

import math

from ._jit import inline, jit
from .fusion_common import (
    ACC_GAP,
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
from .quaternion import qmul, qnormalize, qrot, qrot_inv

# state layout: q_earth_sensor, initialised?, integral (bias) estimate b (rad/s, eq. 32b)
S_QW, S_QX, S_QY, S_QZ, S_INIT, S_BX, S_BY, S_BZ, S_CARRY = 0, 1, 2, 3, 4, 5, 6, 7, 8
STATE_SIZE = 9
# coefficient layout
C_KP, C_KI, C_ACC_RANGE, C_GYR_RANGE, C_INIT = 0, 1, 2, 3, 4
COEFF_SIZE = 5
# the state and coefficients inside the fast entries' work buffer (fusion_common.IO_STATE)
BUF_C0 = IO_STATE + STATE_SIZE
BUF_C1 = BUF_C0 + COEFF_SIZE
N_EXTRA = 0


@inline
def step(state, coeffs, ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h):
    """Advance the state by one sample (in place); returns the sample's flags."""
    f = screen_values(ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h, coeffs[C_ACC_RANGE], coeffs[C_GYR_RANGE])
    an2 = ax * ax + ay * ay + az * az
    f, _, integrate, h, qw, qx, qy, qz = begin_step(
        state, S_INIT, S_CARRY, coeffs[C_INIT] != 0.0, f, ax, ay, az, an2, mx, my, mz, has_mag, h
    )
    if integrate:
        kp = coeffs[C_KP]
        ki = coeffs[C_KI]
        bx, by, bz = state[S_BX], state[S_BY], state[S_BZ]
        ox, oy, oz = gx - bx, gy - by, gz - bz
        if not (f & ACC_GAP) and an2 > 0.0:
            r = 1.0 / math.sqrt(an2)
            ax, ay, az = ax * r, ay * r, az * r
            # estimated gravity direction in the sensor frame: v = R^T e_z
            vx = 2.0 * (qx * qz - qw * qy)
            vy = 2.0 * (qw * qx + qy * qz)
            vz = qw * qw - qx * qx - qy * qy + qz * qz
            # correction omega_mes = sum_i v_i x v_hat_i (eq. 32c / 48a)
            ex = ay * vz - az * vy
            ey = az * vx - ax * vz
            ez = ax * vy - ay * vx
            if has_mag and not (f & MAG_GAP):
                mn2 = mx * mx + my * my + mz * mz
                if mn2 > 0.0:
                    r = 1.0 / math.sqrt(mn2)
                    mx, my, mz = mx * r, my * r, mz * r
                    # earth-frame field h = R m; reference b = (0, |h_xy|, h_z) (north = +y)
                    hx, hy, hz = qrot(qw, qx, qy, qz, mx, my, mz)
                    wx, wy, wz = qrot_inv(qw, qx, qy, qz, 0.0, math.sqrt(hx * hx + hy * hy), hz)
                    wn = math.sqrt(wx * wx + wy * wy + wz * wz)
                    if wn > 0.0:
                        r = 1.0 / wn
                        wx, wy, wz = wx * r, wy * r, wz * r
                        ex += my * wz - mz * wy
                        ey += mz * wx - mx * wz
                        ez += mx * wy - my * wx
            # integral term: b_dot = -k_I omega_mes (eq. 32b); Omega = gyr - b + k_P omega_mes (32a)
            bx -= ki * ex * h
            by -= ki * ey * h
            bz -= ki * ez * h
            state[S_BX], state[S_BY], state[S_BZ] = bx, by, bz
            ox, oy, oz = gx - bx + kp * ex, gy - by + kp * ey, gz - bz + kp * ez
        # q_dot = 1/2 q ⊗ (0, Omega), first-order integration and renormalisation
        dw, dx, dy, dz = qmul(qw, qx, qy, qz, 0.0, ox, oy, oz)
        hh = 0.5 * h
        qw, qx, qy, qz = qnormalize(qw + dw * hh, qx + dx * hh, qy + dy * hh, qz + dz * hh)
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
