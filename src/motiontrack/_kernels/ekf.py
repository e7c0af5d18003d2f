"""A multiplicative (error-state) extended Kalman filter: orientation + gyroscope bias.

State: the orientation q_earth_sensor (kept as a unit quaternion outside the filter) and the
gyroscope bias b (rad/s, sensor frame). The filter estimates the 6-vector error
``x = (dtheta, db)`` with ``q_true = q ⊗ Exp(dtheta)`` (``Exp`` maps a rotation vector, here
in the sensor frame, to its unit quaternion) and ``b_true = b + db``, covariance ``P`` (6×6).
This is the multiplicative EKF of F. L. Markley, "Attitude error representations for Kalman filtering", J. Guidance, Control,
and Dynamics 26(2), 2003, doi:10.2514/2.5102, in J. Solà's notation ("Quaternion kinematics
for the error-state Kalman filter", arXiv:1711.02508: error-state kinematics with a local
angular error).

Prediction over dt with w = gyr - b (local angular error, exact rotation over the sample):
    q <- q ⊗ Exp(w dt),  F = [[C(w dt)^T, -dt I], [0, I]],  P <- F P F^T + Q,
    Q = diag(sigma_g² dt I, sigma_b² dt I)   (angle random walk, bias random walk).
Accelerometer update (3 scalar rows, processed sequentially, identical to the joint update
for a diagonal R): z = a/|a|, h = C(q)^T e_z (predicted up direction in the sensor frame),
    dh/dtheta = [h]×   (since C(q ⊗ dq)^T e_z = (I - [dtheta]×) h),
    R = (sigma_a² + (|a| - g)²) / |a|² I   (linear acceleration inflates the noise).
Magnetometer update (9D): one scalar row, the heading of the earth-frame field
m_e = C(q) m, psi = atan2(m_e,x, m_e,y) (azimuth from north = +y), measured value 0,
    dpsi/dtheta = m × u  with  u = C(q)^T (m_e,y, -m_e,x, 0) / (m_e,x² + m_e,y²),
    R = sigma_m² / (m_e,x² + m_e,y²);
so only the field's horizontal direction enters: a wrong dip (or a vertical disturbance) does
not bias the estimate, and the small tilt sensitivity of this row is outweighed by the
accelerometer's much tighter tilt information.
After each update the error is folded into q and b and reset to zero.
"""

from __future__ import annotations

import math

import numpy as np

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
from .quaternion import qexp_rotvec, qmul, qnormalize, qrot, qrot_inv

# state layout: q, initialised?, bias (rad/s), covariance P (6×6 row-major)
S_QW, S_QX, S_QY, S_QZ, S_INIT, S_BX, S_BY, S_BZ, S_P = 0, 1, 2, 3, 4, 5, 6, 7, 8
S_CARRY = S_P + 36  # gyroscope-gap time carried into the next valid sample, s
STATE_SIZE = S_P + 37
# coefficient layout
C_VAR_GYR, C_VAR_BIAS, C_VAR_ACC, C_VAR_MAG, C_VAR_ATT0, C_VAR_BIAS0 = 0, 1, 2, 3, 4, 5
C_ACC_REJ, C_GRAVITY, C_ACC_RANGE, C_GYR_RANGE, C_INIT = 6, 7, 8, 9, 10
COEFF_SIZE = 11
# the state and coefficients inside the fast entries' work buffer (fusion_common.IO_STATE)
BUF_C0 = IO_STATE + STATE_SIZE
BUF_C1 = BUF_C0 + COEFF_SIZE
N_EXTRA = 3  # gyroscope-bias estimate after each sample, rad/s
# scratch layout (one allocation per run call, none per sample)
W_F, W_M, W_PH, W_DX = 0, 36, 72, 78
W_SIZE = 84
BUF_W = BUF_C1 + BLOCK + BLOCK * N_EXTRA  # the fast entries' scratch, after the block flags and extras
BUF_EXTRA = W_SIZE  # values the wrapper adds to the common layout


@inline
def reset_covariance(state, var_att, var_bias):
    for k in range(36):
        state[S_P + k] = 0.0
    for k in range(3):
        state[S_P + 7 * k] = var_att
        state[S_P + 7 * (k + 3)] = var_bias


@inline
def predict_covariance(state, w, r00, r01, r02, r10, r11, r12, r20, r21, r22, dt, q_att, q_bias):
    """P <- F P F^T + Q with F = [[A, -dt I], [0, I]], A = (r_ij)."""
    for k in range(36):
        w[W_F + k] = 0.0
    w[W_F + 0], w[W_F + 1], w[W_F + 2] = r00, r01, r02
    w[W_F + 6], w[W_F + 7], w[W_F + 8] = r10, r11, r12
    w[W_F + 12], w[W_F + 13], w[W_F + 14] = r20, r21, r22
    for k in range(3):
        w[W_F + 6 * k + 3 + k] = -dt
        w[W_F + 6 * (k + 3) + 3 + k] = 1.0
    # M = F P
    for r in range(6):
        for c in range(6):
            acc = 0.0
            for k in range(6):
                acc += w[W_F + 6 * r + k] * state[S_P + 6 * k + c]
            w[W_M + 6 * r + c] = acc
    # P = M F^T + Q, symmetrised
    for r in range(6):
        for c in range(r, 6):
            acc = 0.0
            for k in range(6):
                acc += w[W_M + 6 * r + k] * w[W_F + 6 * c + k]
            w[W_F + 6 * r + c] = acc  # row r of F is no longer needed once rows < r are done
    for r in range(6):
        for c in range(r, 6):
            v = w[W_F + 6 * r + c]
            if r == c:
                v += q_att if r < 3 else q_bias
            state[S_P + 6 * r + c] = v
            state[S_P + 6 * c + r] = v


@inline
def scalar_update(state, w, h0, h1, h2, innovation, var):
    """Kalman update with one measurement row H = (h0, h1, h2, 0, 0, 0), accumulating into dx.

    Returns False (and changes nothing) when the innovation variance is not positive.
    """
    s = var
    for r in range(6):
        ph = state[S_P + 6 * r] * h0 + state[S_P + 6 * r + 1] * h1 + state[S_P + 6 * r + 2] * h2
        w[W_PH + r] = ph
    s += h0 * w[W_PH] + h1 * w[W_PH + 1] + h2 * w[W_PH + 2]
    if not (s > 0.0):
        return False
    # innovation of the row at the current error estimate (sequential processing)
    y = innovation - (h0 * w[W_DX] + h1 * w[W_DX + 1] + h2 * w[W_DX + 2])
    inv = 1.0 / s
    for r in range(6):
        w[W_DX + r] += w[W_PH + r] * inv * y
    for r in range(6):
        kr = w[W_PH + r] * inv
        for c in range(6):
            state[S_P + 6 * r + c] -= kr * w[W_PH + c]
    return True


@inline
def apply_error(state, w, qw, qx, qy, qz):
    """Fold dx into q (q ⊗ Exp(dtheta)) and b, reset dx; returns the new q."""
    dw, dx, dy, dz = qexp_rotvec(w[W_DX], w[W_DX + 1], w[W_DX + 2])
    for k in range(3):
        state[S_BX + k] += w[W_DX + 3 + k]
    for k in range(6):
        w[W_DX + k] = 0.0
    nw, nx, ny, nz = qmul(qw, qx, qy, qz, dw, dx, dy, dz)
    return qnormalize(nw, nx, ny, nz)


@inline
def step(state, coeffs, w, ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h):
    """Advance the state by one sample (in place, scratch ``w``); returns the sample's flags."""
    f = screen_values(ax, ay, az, gx, gy, gz, mx, my, mz, has_mag, h, coeffs[C_ACC_RANGE], coeffs[C_GYR_RANGE])
    an2 = ax * ax + ay * ay + az * az
    f, fresh, integrate, h, qw, qx, qy, qz = begin_step(
        state, S_INIT, S_CARRY, coeffs[C_INIT] != 0.0, f, ax, ay, az, an2, mx, my, mz, has_mag, h
    )
    if fresh:
        reset_covariance(state, coeffs[C_VAR_ATT0], coeffs[C_VAR_BIAS0])
    if integrate:
        # --- prediction
        ox = (gx - state[S_BX]) * h
        oy = (gy - state[S_BY]) * h
        oz = (gz - state[S_BZ]) * h
        rw, rx, ry, rz = qexp_rotvec(ox, oy, oz)
        qw, qx, qy, qz = qmul(qw, qx, qy, qz, rw, rx, ry, rz)
        # A = C(w dt)^T: rows of C^T are the columns of C
        c00 = 1.0 - 2.0 * (ry * ry + rz * rz)
        c01 = 2.0 * (rx * ry - rw * rz)
        c02 = 2.0 * (rx * rz + rw * ry)
        c10 = 2.0 * (rx * ry + rw * rz)
        c11 = 1.0 - 2.0 * (rx * rx + rz * rz)
        c12 = 2.0 * (ry * rz - rw * rx)
        c20 = 2.0 * (rx * rz - rw * ry)
        c21 = 2.0 * (ry * rz + rw * rx)
        c22 = 1.0 - 2.0 * (rx * rx + ry * ry)
        predict_covariance(
            state, w, c00, c10, c20, c01, c11, c21, c02, c12, c22, h,
            coeffs[C_VAR_GYR] * h, coeffs[C_VAR_BIAS] * h,
        )
        # --- accelerometer update
        if not (f & ACC_GAP) and an2 > 0.0:
            an = math.sqrt(an2)
            g0 = coeffs[C_GRAVITY]
            rej = coeffs[C_ACC_REJ]
            if rej > 0.0 and abs(an - g0) > rej:
                f |= ACC_REJECTED
            else:
                r = 1.0 / an
                zx, zy, zz = ax * r, ay * r, az * r
                hx, hy, hz = qrot_inv(qw, qx, qy, qz, 0.0, 0.0, 1.0)
                var = (coeffs[C_VAR_ACC] + (an - g0) ** 2) * r * r
                # rows of [h]x
                scalar_update(state, w, 0.0, -hz, hy, zx - hx, var)
                scalar_update(state, w, hz, 0.0, -hx, zy - hy, var)
                scalar_update(state, w, -hy, hx, 0.0, zz - hz, var)
                qw, qx, qy, qz = apply_error(state, w, qw, qx, qy, qz)
        # --- magnetometer (heading) update
        if has_mag and not (f & MAG_GAP):
            ex, ey, _ = qrot(qw, qx, qy, qz, mx, my, mz)
            hn2 = ex * ex + ey * ey
            if hn2 > 0.0:
                psi = math.atan2(ex, ey)
                ux, uy, uz = qrot_inv(qw, qx, qy, qz, ey / hn2, -ex / hn2, 0.0)
                # dpsi/dtheta = m x u
                if scalar_update(state, w, my * uz - mz * uy, mz * ux - mx * uz, mx * uy - my * ux, -psi,
                                 coeffs[C_VAR_MAG] / hn2):
                    qw, qx, qy, qz = apply_error(state, w, qw, qx, qy, qz)
    state[S_QW], state[S_QX], state[S_QY], state[S_QZ] = qw, qx, qy, qz
    return f


fixed_runtime(reset_covariance, predict_covariance, scalar_update, apply_error, step)  # (fusion_common.fixed_runtime)


@jit
def run(state, coeffs, acc, gyr, mag, dt, q_out, flags_out, counts, extra_out):
    w = np.zeros(W_SIZE)  # scratch: one allocation per call, none per sample
    has_mag = mag.shape[0] > 0
    mx = my = mz = 0.0
    for i in range(acc.shape[0]):
        if has_mag:
            mx, my, mz = mag[i, 0], mag[i, 1], mag[i, 2]
        f = step(state, coeffs, w, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2],
                 mx, my, mz, has_mag, dt[i])
        q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = state[S_QW], state[S_QX], state[S_QY], state[S_QZ]
        for k in range(extra_out.shape[1]):
            extra_out[i, k] = state[S_BX + k]
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
    w = buf[BUF_W : BUF_W + W_SIZE]  # scratch in the work buffer (dx is zero between samples)
    f = step(state, coeffs, w, acc[0], acc[1], acc[2], gyr[0], gyr[1], gyr[2], 0.0, 0.0, 0.0, has_mag, buf[IO_DT])
    end1(buf, state, f, has_mag)
    ex0 = IO_STATE + STATE_SIZE + COEFF_SIZE + BLOCK
    for k in range(N_EXTRA):
        buf[ex0 + k] = state[S_BX + k]
    return True


@fast_entry
@jit
def run1m(acc, gyr, mag, buf):
    """One 9D sample (3,): as :func:`run1`, with the magnetometer."""
    if acc.shape[0] != 3 or gyr.shape[0] != 3 or mag.shape[0] != 3:
        return False
    has_mag = mag.shape[0] == 3
    state, coeffs = buf[IO_STATE:BUF_C0], buf[BUF_C0:BUF_C1]  # (fusion_common layout)
    w = buf[BUF_W : BUF_W + W_SIZE]  # scratch in the work buffer (dx is zero between samples)
    f = step(state, coeffs, w, acc[0], acc[1], acc[2], gyr[0], gyr[1], gyr[2], mag[0], mag[1], mag[2], has_mag,
             buf[IO_DT])
    end1(buf, state, f, has_mag)
    ex0 = IO_STATE + STATE_SIZE + COEFF_SIZE + BLOCK
    for k in range(N_EXTRA):
        buf[ex0 + k] = state[S_BX + k]
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
    w = buf[BUF_W : BUF_W + W_SIZE]  # scratch in the work buffer (dx is zero between samples)
    fl0 = IO_STATE + STATE_SIZE + COEFF_SIZE
    for i in range(n):
        f = step(state, coeffs, w, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2], 0.0, 0.0, 0.0,
                 has_mag, dt[i])
        end_row(buf, state, f, q_out, i, fl0)
        for k in range(N_EXTRA):
            buf[fl0 + BLOCK + N_EXTRA * i + k] = state[S_BX + k]
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
    w = buf[BUF_W : BUF_W + W_SIZE]  # scratch in the work buffer (dx is zero between samples)
    fl0 = IO_STATE + STATE_SIZE + COEFF_SIZE
    for i in range(n):
        f = step(state, coeffs, w, acc[i, 0], acc[i, 1], acc[i, 2], gyr[i, 0], gyr[i, 1], gyr[i, 2],
                 mag[i, 0], mag[i, 1], mag[i, 2], has_mag, dt[i])
        end_row(buf, state, f, q_out, i, fl0)
        for k in range(N_EXTRA):
            buf[fl0 + BLOCK + N_EXTRA * i + k] = state[S_BX + k]
    endb(buf, n, has_mag)
    return True
