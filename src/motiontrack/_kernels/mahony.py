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

from ._jit import jit
from .fusion_common import (
    ACC_GAP,
    DT_INVALID,
    GYR_GAP,
    INITIALIZING,
    MAG_GAP,
    N_FLAGS,
    acc_usable,
    count,
    initial_quaternion,
    screen,
    unpack1,
)
from .quaternion import qmul, qnormalize, qrot, qrot_inv

# state layout: q_earth_sensor, initialised?, integral (bias) estimate b (rad/s, eq. 32b)
S_QW, S_QX, S_QY, S_QZ, S_INIT, S_BX, S_BY, S_BZ = 0, 1, 2, 3, 4, 5, 6, 7
STATE_SIZE = 8
# coefficient layout
C_KP, C_KI, C_ACC_RANGE, C_GYR_RANGE, C_INIT = 0, 1, 2, 3, 4
COEFF_SIZE = 5
N_EXTRA = 0


@jit
def run(state, coeffs, acc, gyr, mag, dt, q_out, flags_out, counts, extra_out):
    kp = coeffs[C_KP]
    ki = coeffs[C_KI]
    has_mag = mag.shape[0] > 0
    for i in range(acc.shape[0]):
        f = screen(acc, gyr, mag, i, dt[i], coeffs[C_ACC_RANGE], coeffs[C_GYR_RANGE])
        qw, qx, qy, qz = state[S_QW], state[S_QX], state[S_QY], state[S_QZ]
        if state[S_INIT] == 0.0:
            if coeffs[C_INIT] != 0.0 and not (f & ACC_GAP) and acc_usable(acc, i):
                qw, qx, qy, qz = initial_quaternion(acc, mag if not (f & MAG_GAP) else mag[:0], i)
                state[S_INIT] = 1.0
            elif coeffs[C_INIT] == 0.0:
                state[S_INIT] = 1.0
            else:
                f |= INITIALIZING
        if state[S_INIT] != 0.0 and not (f & (DT_INVALID | GYR_GAP)):
            h = dt[i]
            bx, by, bz = state[S_BX], state[S_BY], state[S_BZ]
            ox, oy, oz = gyr[i, 0] - bx, gyr[i, 1] - by, gyr[i, 2] - bz
            if not (f & ACC_GAP) and acc_usable(acc, i):
                r = 1.0 / math.sqrt(acc[i, 0] ** 2 + acc[i, 1] ** 2 + acc[i, 2] ** 2)
                ax, ay, az = acc[i, 0] * r, acc[i, 1] * r, acc[i, 2] * r
                # estimated gravity direction in the sensor frame: v = R^T e_z
                vx = 2.0 * (qx * qz - qw * qy)
                vy = 2.0 * (qw * qx + qy * qz)
                vz = qw * qw - qx * qx - qy * qy + qz * qz
                # correction omega_mes = sum_i v_i x v_hat_i (eq. 32c / 48a)
                ex = ay * vz - az * vy
                ey = az * vx - ax * vz
                ez = ax * vy - ay * vx
                if has_mag and not (f & MAG_GAP):
                    mn2 = mag[i, 0] ** 2 + mag[i, 1] ** 2 + mag[i, 2] ** 2
                    if mn2 > 0.0:
                        r = 1.0 / math.sqrt(mn2)
                        mx, my, mz = mag[i, 0] * r, mag[i, 1] * r, mag[i, 2] * r
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
                ox, oy, oz = gyr[i, 0] - bx + kp * ex, gyr[i, 1] - by + kp * ey, gyr[i, 2] - bz + kp * ez
            # q_dot = 1/2 q ⊗ (0, Omega), first-order integration and renormalisation
            dw, dx, dy, dz = qmul(qw, qx, qy, qz, 0.0, ox, oy, oz)
            hh = 0.5 * h
            qw, qx, qy, qz = qnormalize(qw + dw * hh, qx + dx * hh, qy + dy * hh, qz + dz * hh)
        state[S_QW], state[S_QX], state[S_QY], state[S_QZ] = qw, qx, qy, qz
        q_out[i, 0], q_out[i, 1], q_out[i, 2], q_out[i, 3] = qw, qx, qy, qz
        flags_out[i] = f
        count(counts, f)


@jit
def run1(acc, gyr, mag, buf, flags_out, counts):
    """One sample through :func:`run`, arguments packed in ``buf`` (see ``fusion_common``)."""
    state, coeffs, a, g, m, dt, q_out, extra_out = unpack1(acc, gyr, mag, buf, STATE_SIZE, COEFF_SIZE, N_EXTRA)
    run(state, coeffs, a, g, m, dt, q_out, flags_out, counts, extra_out)
    counts[N_FLAGS] += 1
