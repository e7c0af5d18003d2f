"""The VQF kernel's layouts (state, coefficients, extras) and its dt-dependent gains.

The state, coefficient and per-sample extras arrays of the VQF-class filter
(:mod:`motiontrack._kernels.vqf`) are flat float64 arrays; the names below are their
offsets (``S_*`` state, ``F_*`` second-order low-pass blocks inside the state, ``C_*``
coefficients, ``E_*`` extras). The gains that depend on the sample period (Butterworth taps,
exponential gains, bias-filter variances) are computed by the helpers here, both when the
coefficients are set up for the nominal period (``motiontrack.fusion.vqf.vqf_coefficients``,
as plain Python) and per sample when a sample's period differs (``vqf_step.step``).
"""

from __future__ import annotations

import math

from ._jit import inline
from .fusion_common import exact

# ---------------------------------------------------------------------------------------
# state layout (float64); state[0:4] is the output (9D, or 6D without magnetometer)
S_Q = 0  # 0..3  q9 output
S_QGYR = 4  # 4..7  q_gyr = q_{I_i S}
S_QACC = 8  # 8..11 q_acc = q_{E_i I_i}
S_DELTA = 12  # heading offset delta, rad
S_REST = 13  # 1.0 while rest is detected
S_MAGDIST = 14  # 1.0 while a magnetic disturbance is detected
S_STARTED = 15  # 1.0 once an accelerometer sample was used
S_BIAS = 16  # 16..18 gyroscope bias estimate, rad/s
S_P = 19  # 19..27 bias covariance, 3x3 row-major, units (0.01 deg/s)^2
S_KMAGINIT = 28  # 1/N gain of the heading fast start (0 = off)
S_REST_T = 29  # time the rest conditions have held, s
S_GYR_LP = 30  # 30..32 low-passed gyroscope of rest detection, rad/s
S_MAG_REF_NORM = 33  # accepted field norm (0 = none yet)
S_MAG_REF_DIP = 34  # accepted dip angle, rad
S_MAG_UNDIST_T = 35  # time the field has matched the reference, s
S_MAG_REJECT_T = 36  # rejection time budget used, s
S_MAG_CAND_NORM = 37  # candidate norm (-1 = none)
S_MAG_CAND_DIP = 38  # candidate dip, rad
S_MAG_CAND_T = 39  # time the candidate has held while moving, s
S_MAG_REST_T = 40  # time the candidate has held at rest before any reference, s (extension)
# second-order low-pass filter blocks: [mode, time, count, s0[k], s1[k]]
# mode 0: averaging start (output = running mean for tau seconds, then steady state)
# mode 1: running; mode 2 (acc filter only): prime with the current estimate's gravity
LP_MODE, LP_T, LP_N, LP_S = 0, 1, 2, 3
F_ACC = 41  # k=3: acc in I_i, tau_acc            (§ inclination)
F_R = F_ACC + 3 + 6  # k=9: R(q6), tau_acc        (§ bias, motion)
F_BR = F_R + 3 + 18  # k=2: (R b)_xy, tau_acc     (§ bias, motion)
F_RG = F_BR + 3 + 4  # k=3: gyr, rest_filter_tau  (§ rest)
F_RA = F_RG + 3 + 6  # k=3: acc, rest_filter_tau  (§ rest)
F_MND = F_RA + 3 + 6  # k=2: field norm and dip, mag_current_tau (§ magdist)
S_CARRY = F_MND + 3 + 4  # time of skipped gyroscope samples to integrate next, s (-1: gap too long)
S_HEAD = S_CARRY + 1  # cos(delta / 2), sin(delta / 2): the output's heading rotation, kept with delta
S_BIAS_SETTLED = S_HEAD + 2  # 1.0 once trace(P) fell to 3 (bias_sigma_motion)^2 (rest bias gate)
STATE_SIZE = S_BIAS_SETTLED + 1

# ---------------------------------------------------------------------------------------
# coefficient layout
C_DT = 0  # nominal sample period, s
C_TAU_ACC, C_TAU_MAG, C_REST_TAU, C_MAG_CUR_TAU, C_MAG_REF_TAU = 1, 2, 3, 4, 5
C_ACC_LP = 6  # 6..10 b0 b1 b2 a1 a2 at the nominal dt
C_REST_LP = 11  # 11..15
C_MND_LP = 16  # 16..20
C_KMAG, C_KMAGREF = 21, 22
C_BIAS_P0, C_BIAS_V, C_BIAS_WM, C_BIAS_WV, C_BIAS_WR = 23, 24, 25, 26, 27
C_BIAS_PM, C_BIAS_PR, C_BIAS_FORGET, C_BIAS_VFF = 28, 29, 30, 31
C_BIAS_CLIP = 32  # rad/s
C_REST_TH_GYR2, C_REST_TH_ACC2, C_REST_MIN_T = 33, 34, 35  # (rad/s)^2, (m/s^2)^2, s
C_MAG_NORM_TH, C_MAG_DIP_TH, C_MAG_NEW_T, C_MAG_NEW_FIRST_T = 36, 37, 38, 39
C_MAG_NEW_MIN_GYR, C_MAG_MIN_UNDIST_T, C_MAG_MAX_REJ_T, C_MAG_REJ_FACTOR = 40, 41, 42, 43
C_MOTION_BIAS, C_REST_BIAS, C_MAG_REJECTION = 44, 45, 46  # 1.0 = enabled
C_ACC_RANGE, C_GYR_RANGE = 47, 48
C_MAG_REST_REF = 49  # 1.0: a field steady at rest becomes the first reference (extension)
C_REST_BIAS_GATE = 50  # distance beyond which a rest update is down-weighted (0 = off; extension)
COEFF_SIZE = 51

# extra per-sample outputs
E_Q6 = 0  # 0..3 6D quaternion
E_BIAS = 4  # 4..6 gyroscope bias, rad/s
E_BIAS_SIGMA = 7  # bias uncertainty (worst direction), rad/s
E_REST = 8
E_MAGDIST = 9
E_DELTA = 10  # heading offset 9D vs 6D, rad
EXTRA_SIZE = 11
# optional, when extra_out has EXTRA_SIZE_COV columns (the offline mode's passes):
E_P = 11  # 11..19 bias covariance P after the sample, (0.01 deg/s)^2, row-major
EXTRA_SIZE_COV = 20


# ---------------------------------------------------------------------------------------
# dt-dependent gains (plain Python-callable too, for the coefficient set-up)


@inline
def butter2(tau, ts):
    """Second-order Butterworth low-pass taps (b0, b1, b2, a1, a2) for time constant ``tau``.

    The cutoff is f_c = sqrt(2) / (2 pi tau) (paper § inclination: the acc low-pass is
    parametrised by the time constant of its non-oscillating step-response part), by the
    bilinear transform with pre-warping. When tau < ts/2 (f_c above ~90 % of Nyquist) the
    filter degenerates to a pass-through to stay stable.
    """
    if not (tau >= 0.5 * ts):
        return 1.0, 0.0, 0.0, 0.0, 0.0
    fc = math.sqrt(2.0) / (2.0 * math.pi * tau)
    w = math.tan(math.pi * fc * ts)
    den = w * w + math.sqrt(2.0) * w + 1.0
    b0 = w * w / den
    a1 = 2.0 * (w * w - 1.0) / den
    a2 = (w * w - math.sqrt(2.0) * w + 1.0) / den
    return b0, 2.0 * b0, b0, a1, a2


@inline
def exp_gain(tau, ts):
    """First-order low-pass gain k = 1 - exp(-ts/tau); tau < 0 disables (0), tau = 0 passes (1)."""
    if tau < 0.0:
        return 0.0
    if tau == 0.0:
        return 1.0
    return 1.0 - math.exp(-ts / tau)


@inline
def bias_noise(ts, forget_time):
    """Process noise V of the bias random walk per sample, (0.01 deg/s)^2 (§ bias).

    The variance grows from 0 to (0.1 deg/s)^2 in ``forget_time`` seconds.
    """
    return (0.1 * 100.0) ** 2 * ts / forget_time


@inline
def bias_meas_var(p, v):
    """Measurement variance W making p the steady-state covariance of P <- P + V, update (§ bias).

    For a scalar Kalman filter with random-walk noise V, P_ss = p requires W = p^2 / V + p.
    """
    return p * p / v + p


# the arithmetic rounds the same in every kernel that calls it (fusion_common.exact)
exact(butter2, exp_gain, bias_noise, bias_meas_var)
