"""Joint kinematics kernels: relative segment rotation, JCS angle decomposition, the
hinge-constraint relative-heading estimator (6D) and the functional hinge-axis fit.

Notation (see :mod:`motiontrack.conventions`): ``q_p``/``q_d`` proximal/distal
``q_earth_sensor``; ``c_p``/``c_d`` mounting ``q_sensor_segment`` (segment -> sensor);
``gyr`` rad/s; angles rad; ``delta`` relative heading (rad) applied to the distal
sensor's earth frame as a rotation about the vertical (earth z).

Angle decompositions (R = R_prox^T R_dist, columns = distal segment axes in the
proximal segment frame, x anterior, y superior, z right):

* ``SEQ_ZXY``: R = Rz(a) Rx(b) Ry(c) -- the Grood & Suntay (1983, J Biomech Eng 105:136,
  DOI 10.1115/1.3138397) joint coordinate system: e1 = proximal z (flexion axis), e3 =
  distal y (long axis), e2 = e3 x e1 floating axis. Used for knee, hip, elbow, hinge
  (Wu et al. 2002, DOI 10.1016/S0021-9290(01)00222-6; 2005, DOI 10.1016/j.jbiomech.2004.05.042).
* ``SEQ_YXY``: R = Ry(a) Rx(b) Ry(c) with b <= 0 -- the ISB humerus-thorax sequence
  (Wu 2005 §3.3: plane of elevation, elevation, axial rotation).

``mirror`` reflects the relative rotation through the sagittal plane (M R M,
M = diag(1, 1, -1)) so that left-side joints use the right-side sign table.

Relative heading (6D): Laidig, Müller, Seel 2017, "Automatic anatomical calibration for
IMU-based elbow angle measurement in disturbed magnetic fields", Curr Dir Biomed Eng 3(2),
DOI 10.1515/cdbme-2017-0096, and Laidig et al. 2017 "Exploiting kinematic constraints to
compensate magnetic disturbances when calculating joint angles of approximate hinge joints"
(Curr Dir Biomed Eng 3(2):253, DOI 10.1515/cdbme-2017-0070): the hinge axis expressed in
the earth frame must be the same for both segments, so the angle between the horizontal
projections of the two hinge directions measures the heading offset; it is averaged over
time with a weight that vanishes when the hinge is vertical or the two elevations disagree.
Our formulation: an exponentially weighted mean of unit phasors exp(i delta_k).

``hinge_rate``: the relative angular rate about the hinge, g2·j2 - g1·j1 (Seel, Raisch,
Schauer 2014, DOI 10.3390/s140406891, eq. 5, the gyroscope-based joint angle rate).
"""

from __future__ import annotations

import math

from ._jit import inline, jit
from .quaternion import qmul, qnormalize, qrot

SEQ_ZXY = 0
SEQ_YXY = 1

MODE_RAW = 0  # no heading correction (orientations share a heading)
MODE_6D = 1  # heading offset from the hinge constraint only
MODE_9D = 2  # heading shared while the field is clean; constraint while disturbed

# flag bits per output sample
FLAG_CONSTRAINT = 1  # heading offset came from the hinge constraint this sample
FLAG_MAG_DISTURBED = 2  # 9D: the two magnetometers disagree (fell back to the constraint)
FLAG_UNINFORMED = 4  # no informative sample seen yet: heading offset still the default 0
FLAG_GAP = 8  # non-finite input: angles are NaN, state untouched

# coefficient layout
C_RATE = 0  # 1 - exp(-dt / tau_heading): EMA rate of the heading phasor
C_INIT_W = 1  # weight above which the first sample initialises the heading directly
C_SEQ = 2
C_MIRROR = 3
C_MODE = 4
C_MAG_NORM_TOL = 5  # relative norm difference of the two magnetometers
C_MAG_DIP_TOL = 6  # rad, dip-angle difference of the two magnetometers
C_MAG_RATE = 7  # EMA rate of the magnetometer disagreement metrics
C_CLEAN_HOLD = 8  # samples the field must stay clean before the heading is trusted again
C_ELEV_SIGMA = 9  # scale of the elevation-disagreement weight (unit-vector z difference)
N_COEFFS = 10

# state layout
S_PX = 0  # heading phasor (EMA of w * exp(i delta))
S_PY = 1
S_INIT = 2  # 1 once an informative sample was seen
S_DNORM = 3  # EMA of relative magnetometer norm difference
S_DDIP = 4  # EMA of dip difference, rad
S_CLEAN = 5  # consecutive clean magnetometer samples
S_MAGINIT = 6
N_STATE = 7


@inline
def qz(delta):
    """Quaternion of a rotation by delta (rad) about the earth vertical."""
    return math.cos(0.5 * delta), 0.0, 0.0, math.sin(0.5 * delta)


@inline
def decompose(w, x, y, z, seq, mirror):
    """Angles (a, b, c) in rad of the relative rotation q (see module docstring)."""
    r00 = 1.0 - 2.0 * (y * y + z * z)
    r01 = 2.0 * (x * y - w * z)
    r02 = 2.0 * (x * z + w * y)
    r10 = 2.0 * (x * y + w * z)
    r11 = 1.0 - 2.0 * (x * x + z * z)
    r12 = 2.0 * (y * z - w * x)
    r20 = 2.0 * (x * z - w * y)
    r21 = 2.0 * (y * z + w * x)
    r22 = 1.0 - 2.0 * (x * x + y * y)
    if mirror:
        # M R M with M = diag(1, 1, -1): flips the elements coupling z with x, y
        r02, r12, r20, r21 = -r02, -r12, -r20, -r21
    if seq == SEQ_ZXY:
        # R = Rz(a) Rx(b) Ry(c): R21 = sin b, R20 = -cos b sin c, R22 = cos b cos c,
        # R01 = -sin a cos b, R11 = cos a cos b
        b = math.asin(max(-1.0, min(1.0, r21)))
        c = math.atan2(-r20, r22)
        a = math.atan2(-r01, r11)
        return a, b, c
    # SEQ_YXY, branch b <= 0 (ISB: negative rotation about the floating x = elevation):
    # R11 = cos b, R10 = sin b sin c, R12 = -sin b cos c, R01 = sin a sin b, R21 = cos a sin b
    b = -math.acos(max(-1.0, min(1.0, r11)))
    if -b < 1e-6:
        # arm along the thorax axis: plane of elevation undefined, put all into c
        return 0.0, b, math.atan2(r02, r00)
    c = math.atan2(-r10, r12)
    a = math.atan2(-r01, -r21)
    return a, b, c


@inline
def _finite4(q):
    return (
        math.isfinite(q[0]) and math.isfinite(q[1]) and math.isfinite(q[2]) and math.isfinite(q[3])
    )


@jit
def step(state, coeffs, q_p, q_d, c_p, c_d, mag_p, mag_d, out_angles, out_info):
    """Advance one sample in place.

    ``out_angles`` (3,) receives (a, b, c) rad; ``out_info`` (2,) receives the heading
    offset delta (rad) applied to the distal sensor and the flag bits (as float).
    """
    if not (_finite4(q_p) and _finite4(q_d)):
        out_angles[0] = math.nan
        out_angles[1] = math.nan
        out_angles[2] = math.nan
        out_info[0] = math.atan2(state[S_PY], state[S_PX]) if state[S_INIT] > 0.0 else 0.0
        out_info[1] = FLAG_GAP
        return
    mode = int(coeffs[C_MODE])
    flags = 0
    # segment orientations in each sensor's own earth frame: q_earth_segment = q ⊗ c
    pw, px, py, pz = qmul(q_p[0], q_p[1], q_p[2], q_p[3], c_p[0], c_p[1], c_p[2], c_p[3])
    p = qnormalize(pw, px, py, pz)
    dw, dx, dy, dz = qmul(q_d[0], q_d[1], q_d[2], q_d[3], c_d[0], c_d[1], c_d[2], c_d[3])
    d = qnormalize(dw, dx, dy, dz)

    if mode != MODE_RAW:
        # hinge (segment z) in earth, per sensor
        h1 = qrot(p[0], p[1], p[2], p[3], 0.0, 0.0, 1.0)
        h2 = qrot(d[0], d[1], d[2], d[3], 0.0, 0.0, 1.0)
        n1 = math.sqrt(h1[0] * h1[0] + h1[1] * h1[1])
        n2 = math.sqrt(h2[0] * h2[0] + h2[1] * h2[1])
        de = (h1[2] - h2[2]) / coeffs[C_ELEV_SIGMA]
        # informativeness: horizontal hinge in both, same elevation (Laidig 2017 §2)
        w = n1 * n2 * math.exp(-de * de)
        mx = 0.0
        my = 0.0
        if n1 > 1e-9 and n2 > 1e-9:
            # exp(i delta_k) = h1_xy * conj(h2_xy) / (|h1_xy||h2_xy|): rotate h2 onto h1
            mx = (h1[0] * h2[0] + h1[1] * h2[1]) / (n1 * n2)
            my = (h1[1] * h2[0] - h1[0] * h2[1]) / (n1 * n2)
        use_constraint = mode == MODE_6D
        if mode == MODE_9D:
            clean = False
            if math.isfinite(mag_p[0] + mag_p[1] + mag_p[2]) and math.isfinite(
                mag_d[0] + mag_d[1] + mag_d[2]
            ):
                m1 = qrot(q_p[0], q_p[1], q_p[2], q_p[3], mag_p[0], mag_p[1], mag_p[2])
                m2 = qrot(q_d[0], q_d[1], q_d[2], q_d[3], mag_d[0], mag_d[1], mag_d[2])
                a1 = math.sqrt(m1[0] * m1[0] + m1[1] * m1[1] + m1[2] * m1[2])
                a2 = math.sqrt(m2[0] * m2[0] + m2[1] * m2[1] + m2[2] * m2[2])
                if a1 > 0.0 and a2 > 0.0:
                    dn = abs(a1 - a2) / (0.5 * (a1 + a2))
                    dd = abs(
                        math.asin(max(-1.0, min(1.0, m1[2] / a1)))
                        - math.asin(max(-1.0, min(1.0, m2[2] / a2)))
                    )
                    if state[S_MAGINIT] == 0.0:
                        state[S_DNORM] = dn
                        state[S_DDIP] = dd
                        state[S_MAGINIT] = 1.0
                    else:
                        k = coeffs[C_MAG_RATE]
                        state[S_DNORM] += k * (dn - state[S_DNORM])
                        state[S_DDIP] += k * (dd - state[S_DDIP])
                    clean = (
                        state[S_DNORM] < coeffs[C_MAG_NORM_TOL]
                        and state[S_DDIP] < coeffs[C_MAG_DIP_TOL]
                    )
            if clean:
                state[S_CLEAN] += 1.0
            else:
                state[S_CLEAN] = 0.0
                flags |= FLAG_MAG_DISTURBED
            if state[S_CLEAN] >= coeffs[C_CLEAN_HOLD]:
                # shared magnetic heading: the measured offset is zero, fully informative
                mx, my, w = 1.0, 0.0, 1.0
            else:
                use_constraint = True
        if use_constraint:
            flags |= FLAG_CONSTRAINT
        k = coeffs[C_RATE] * w
        if state[S_INIT] == 0.0:
            if w >= coeffs[C_INIT_W]:
                state[S_PX] = mx
                state[S_PY] = my
                state[S_INIT] = 1.0
        else:
            state[S_PX] += k * (mx - state[S_PX])
            state[S_PY] += k * (my - state[S_PY])
        if state[S_INIT] == 0.0:
            flags |= FLAG_UNINFORMED
            delta = 0.0
        else:
            delta = math.atan2(state[S_PY], state[S_PX])
        # distal segment in the proximal sensor's earth frame
        hz = qz(delta)
        d = qmul(hz[0], hz[1], hz[2], hz[3], d[0], d[1], d[2], d[3])
    else:
        delta = 0.0
    # q_prox_dist = p* ⊗ d
    r = qmul(p[0], -p[1], -p[2], -p[3], d[0], d[1], d[2], d[3])
    a, b, c = decompose(r[0], r[1], r[2], r[3], int(coeffs[C_SEQ]), coeffs[C_MIRROR] != 0.0)
    out_angles[0] = a
    out_angles[1] = b
    out_angles[2] = c
    out_info[0] = delta
    out_info[1] = flags


@jit
def run(state, coeffs, q_p, q_d, c_p, c_d, mag_p, mag_d, out_angles, out_info):
    """``step`` over N rows (``q_p``, ``q_d`` (N, 4); ``mag_*`` (N, 3), NaN when absent)."""
    for i in range(q_p.shape[0]):
        step(
            state, coeffs, q_p[i], q_d[i], c_p, c_d, mag_p[i], mag_d[i], out_angles[i], out_info[i]
        )


@jit
def hinge_rate(gyr_p, gyr_d, j1, j2, out):
    """Relative angular rate about the hinge, g2·j2 - g1·j1 (rad/s), per row."""
    for i in range(gyr_p.shape[0]):
        out[i] = (
            gyr_d[i, 0] * j2[0]
            + gyr_d[i, 1] * j2[1]
            + gyr_d[i, 2] * j2[2]
            - (gyr_p[i, 0] * j1[0] + gyr_p[i, 1] * j1[1] + gyr_p[i, 2] * j1[2])
        )
