"""Madgwick's gradient-descent orientation filter (IMU and MARG), ENU earth frame.

S. O. H. Madgwick, A. J. L. Harrison, R. Vaidyanathan, "Estimation of IMU and MARG
orientation using a gradient descent algorithm", IEEE ICORR 2011,
doi:10.1109/ICORR.2011.5975346. Equation numbers below refer to Madgwick's 2010 report
as the ``ahrs`` package cites it. The classic algorithm is written for an
earth frame with north along x (NWU); the kernel works in ENU and evaluates the magnetic
step in NWU coordinates, so its output equals the classic filter's after the fixed
frame change ``q_ENU = q_ENU_NWU ⊗ q_NWU``.
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
from .quaternion import qmul, qnormalize, qrot

_C = math.sqrt(0.5)  # q_ENU_NWU = (_C, 0, 0, _C): +90° about up

# state layout
S_QW, S_QX, S_QY, S_QZ, S_INIT, S_CARRY = 0, 1, 2, 3, 4, 5
STATE_SIZE = 6
# coefficient layout
C_BETA, C_ACC_RANGE, C_GYR_RANGE, C_INIT = 0, 1, 2, 3
COEFF_SIZE = 4
# the state and coefficients inside the fast entries' work buffer (fusion_common.IO_STATE)
BUF_C0 = IO_STATE + STATE_SIZE
BUF_C1 = BUF_C0 + COEFF_SIZE
N_EXTRA = 0


@inline
def step(state, coeffs, ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h):
    """Advance the state by one sample (in place); returns the sample's flags."""
    f = screen_values(ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h, coeffs[C_ACC_RANGE], coeffs[C_GYR_RANGE])
    f, _, integrate, h, qw, qx, qy, qz = begin_step(
        state, S_INIT, S_CARRY, coeffs[C_INIT] != 0.0, f, ax, ay, az, ax * ax + ay * ay + az * az, mx, my, mz, has_mag, h
    )
    if integrate:
        beta = coeffs[C_BETA]
        # rate of change from the gyroscope (eq. 12)
        dw, dx, dy, dz = qmul(qw, qx, qy, qz, 0.0, gx, gy, gz)
        dw, dx, dy, dz = 0.5 * dw, 0.5 * dx, 0.5 * dy, 0.5 * dz
        an2 = ax * ax + ay * ay + az * az
        if not (f & ACC_GAP) and an2 > 0.0:
            r = 1.0 / math.sqrt(an2)
            ax, ay, az = ax * r, ay * r, az * r
            # gravity objective f_g = R^T (0,0,1) - a (eq. 25) and its gradient J^T f (eq. 34)
            f0 = 2.0 * (qx * qz - qw * qy) - ax
            f1 = 2.0 * (qw * qx + qy * qz) - ay
            f2 = 2.0 * (0.5 - qx * qx - qy * qy) - az
            gw = -2.0 * qy * f0 + 2.0 * qx * f1
            gxx = 2.0 * qz * f0 + 2.0 * qw * f1 - 4.0 * qx * f2
            gyy = -2.0 * qw * f0 + 2.0 * qz * f1 - 4.0 * qy * f2
            gzz = 2.0 * qx * f0 + 2.0 * qy * f1
            if has_mag and not (f & MAG_GAP):
                mn = math.sqrt(mx * mx + my * my + mz * mz)
                if mn > 0.0:
                    r = 1.0 / mn
                    mx, my, mz = mx * r, my * r, mz * r
                    # Madgwick's magnetic step is written for a north-along-x frame (NWU). Its
                    # gradient off the unit sphere depends on that polynomial form, so evaluate
                    # it on q_NWU = q_NWU_ENU ⊗ q and rotate the gradient back: this keeps the
                    # classic algorithm's step exactly, in ENU.
                    nw, nx, ny, nz = qmul(_C, 0.0, 0.0, -_C, qw, qx, qy, qz)
                    hx, hy, hz = qrot(nw, nx, ny, nz, mx, my, mz)  # earth-frame field (eq. 45)
                    bx = math.sqrt(hx * hx + hy * hy)  # reference (b_x, 0, b_z) (eq. 46)
                    bz = hz
                    # f_b = R^T b - m (eq. 31) and J_b^T f_b (eqs. 32, 34)
                    e0 = 2.0 * bx * (0.5 - ny * ny - nz * nz) + 2.0 * bz * (nx * nz - nw * ny) - mx
                    e1 = 2.0 * bx * (nx * ny - nw * nz) + 2.0 * bz * (nw * nx + ny * nz) - my
                    e2 = 2.0 * bx * (nw * ny + nx * nz) + 2.0 * bz * (0.5 - nx * nx - ny * ny) - mz
                    hw = -2.0 * bz * ny * e0 + (-2.0 * bx * nz + 2.0 * bz * nx) * e1 + 2.0 * bx * ny * e2
                    hx = 2.0 * bz * nz * e0 + (2.0 * bx * ny + 2.0 * bz * nw) * e1
                    hx += (2.0 * bx * nz - 4.0 * bz * nx) * e2
                    hy = (-4.0 * bx * ny - 2.0 * bz * nw) * e0 + (2.0 * bx * nx + 2.0 * bz * nz) * e1
                    hy += (2.0 * bx * nw - 4.0 * bz * ny) * e2
                    hz = (-4.0 * bx * nz + 2.0 * bz * nx) * e0 + (-2.0 * bx * nw + 2.0 * bz * ny) * e1
                    hz += 2.0 * bx * nx * e2
                    hw, hx, hy, hz = qmul(_C, 0.0, 0.0, _C, hw, hx, hy, hz)
                    gw += hw
                    gxx += hx
                    gyy += hy
                    gzz += hz
            gn = math.sqrt(gw * gw + gxx * gxx + gyy * gyy + gzz * gzz)
            if gn > 0.0:
                # normalised gradient step (eq. 33)
                r = beta / gn
                dw -= r * gw
                dx -= r * gxx
                dy -= r * gyy
                dz -= r * gzz
        # integrate (eq. 13) and renormalise
        qw, qx, qy, qz = qnormalize(qw + dw * h, qx + dx * h, qy + dy * h, qz + dz * h)
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
