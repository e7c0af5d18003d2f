"""Conventions: frames, units and quaternion order, stated once.

Every other module links here instead of re-explaining.

Quaternions
    float64 arrays of shape ``(..., 4)``, scalar first ``(w, x, y, z)``, unit norm,
    Hamilton product (``i*j = k``). An orientation ``q_earth_sensor`` rotates
    sensor-frame vectors into the earth frame: ``v_earth = q ⊗ v_sensor ⊗ q*``.
    ``q`` and ``-q`` are the same rotation; compare rotations, not components.
    SciPy's :class:`~scipy.spatial.transform.Rotation` is scalar *last*: convert with
    :func:`to_scipy` / :func:`from_scipy`, visibly, at the boundary.

Earth frame
    ENU: x east, y north, z up. With a magnetometer (9D) north is *magnetic* north.
    Without one (6D) the heading is arbitrary (it starts at zero and drifts with the
    gyroscope bias), but z is still up. Peers that output NED (``ahrs``) or NWU are
    converted here, by one fixed quaternion product (:func:`enu_from_ned`), never by
    branching inside kernels.

Units (inside motiontrack)
    ========================  =====================================================
    angular rate (``gyr``)    rad/s, sensor frame
    specific force (``acc``)  m/s², sensor frame; +9.81 along the *up* axis at rest
    magnetic field (``mag``)  µT, sensor frame
    time, sample period       s (device clock ticks are converted in ``protocol``)
    rates                     Hz
    angles in kernels         rad
    angles at the API edge    degrees, and the name says so: ``flexion_deg``, ``rom_deg``
    ========================  =====================================================

    Raw counts exist only in :mod:`motiontrack.protocol`; scaling to SI happens
    there, once.

Joints
    Knee: Grood & Suntay (1983) joint coordinate system; flexion positive, 0° = straight
    leg. Other joints follow the ISB recommendations (Wu et al. 2002, 2005). Each joint
    documents its axis order and signs in :mod:`motiontrack.kinematics`. Angles are
    continuous (no ±180° wrap); the anatomical range of each joint is :data:`JOINT_RANGE_DEG`.

Generic hinge (``joint="hinge"``, calibrated from motion, no pose)
    ``flexion_deg`` is the rotation of the distal segment relative to the proximal one about
    the hinge. Sign: right-hand rule about the hinge axis oriented along the proximal
    sensor's axis nearest to it (the axis's largest component in the proximal sensor frame
    is positive), so the same mounting gives the same sign in every session;
    ``hinge_sign=-1`` (``--hinge-sign -1``) flips it. Zero: at ``zero_at`` (``--zero-at S``,
    session time of a reference pose) when given, else in the middle of the first still
    period (both segments still for ``still_s``), else at the first sample. The axis and the
    zero time used are reported (a ``hinge_zero`` session warning).

Body regions (:mod:`motiontrack.exercise.regions`)
    Segment frames as for the joints: x anterior, y superior (long axis, pointing
    proximally), z to the right; ISB axis names and signs (Wu et al. 2002: spine, hip; 2005:
    shoulder, elbow), right side (a left limb is mirrored: abduction and axial rotation
    negated). :data:`REGION_ANGLES` lists each region's angles with their clinical name, axis
    and positive direction; zero is the region's calibration pose (upright standing or
    sitting, arms at the sides; the exercise's own pose for cat-cow, clamshell, bridge,
    supine raises: angles are then changes from that pose). Flexion-type angles (about z)
    and abduction / lateral flexion (about x) are tilts of the segment about a body-fixed
    axis horizontal in the calibration pose, read against gravity (an inclinometer; exact in
    6D); rotation (about y, the segment's long axis: the vertical in the pose) is the
    gyroscope's rate about that body-fixed axis, integrated with the still pose's bias removed
    (6D and 9D alike; it drifts with the residual bias); shoulder elevation is
    the angle of the humerus from its hanging direction and the plane of elevation the
    direction of that tilt (0° abduction plane, 90° flexion plane). With two sensors the
    distal segment's angle minus the proximal one's about the same axis (the clinical
    dual-inclinometer method), equal to the ISB joint angle for motion in one plane.
    Because a sensor may sit at any orientation on its segment, the anterior direction is
    not observable from a still pose: each exercise's first movement sets the axis of its
    primary angle and makes it positive (the prompt names that movement).

Glossary of kernel notation
    ``acc`` accelerometer, ``gyr`` gyroscope, ``mag`` magnetometer, ``q`` orientation
    quaternion (``q_earth_sensor``), ``dt`` sample period (s), ``fs`` sample rate (Hz),
    ``tau`` time constant (s), ``k`` gain.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Standard gravity, m/s². Only used where a nominal magnitude is needed
#: (saturation thresholds, simulator); filters normalise the measured vector.
GRAVITY = 9.80665

#: Joints of a two-sensor session (the ``--joint`` choices; :mod:`motiontrack.exercise`).
JOINT_CHOICES = ("knee", "elbow", "hip", "shoulder", "hinge")

#: Anatomical range of each joint's primary angle (``PRIMARY_ANGLE`` of
#: :mod:`motiontrack.exercise`), degrees: normal adult ranges of motion (AAOS tables; Soucie
#: et al. 2011, Haemophilia 17(3):500) widened by 10-20° for measurement error and
#: hypermobility. A value outside is implausible (a failed calibration or heading, not a
#: joint): it is flagged, and a rep reaching outside it is flagged and warned about.
#: ``None``: no limit (the generic hinge, any mechanism).
JOINT_RANGE_DEG: dict[str, tuple[float, float] | None] = {
    "knee": (-20.0, 170.0),  # hyperextension .. full flexion (kneeling)
    "elbow": (-20.0, 165.0),
    "hip": (-40.0, 150.0),  # extension .. flexion
    "shoulder": (-70.0, 200.0),  # elevation
    "hinge": None,
}

#: Extension beyond which a joint's *rest between reps* is suspect, degrees: few joints rest
#: in more hyperextension than this (knee recurvatum over 10° is rare), while a calibration
#: pose held bent shifts every angle down by the bend. Said, never corrected silently.
REST_EXTENSION_SUSPECT_DEG: dict[str, float] = {"knee": -10.0, "elbow": -15.0}

#: Sensor names that say which segment a sensor sits on, for each joint: (proximal names,
#: distal names). Without ``proximal=``/``distal=`` a two-sensor session takes its roles from
#: these names (case-insensitive), and only falls back to the order of the sensors when the
#: names say nothing.
SEGMENT_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "knee": (("thigh", "femur", "upper_leg"), ("shank", "shin", "tibia", "lower_leg")),
    "hip": (("pelvis", "sacrum", "hip"), ("thigh", "femur", "upper_leg")),
    "elbow": (("upper_arm", "humerus", "arm"), ("forearm", "lower_arm", "wrist")),
    "shoulder": (("chest", "trunk", "thorax", "sternum"), ("upper_arm", "humerus", "arm")),
    "hinge": ((), ()),
}

#: Segments of each body region: (distal, proximal) - the distal segment's sensor is required,
#: the proximal one's makes the angles relative (:mod:`motiontrack.exercise.regions`).
REGION_SEGMENTS: dict[str, tuple[str, str]] = {
    "trunk": ("chest", "pelvis"),
    "neck": ("head", "chest"),
    "shoulder": ("upper_arm", "chest"),
    "hip": ("thigh", "pelvis"),
    "elbow": ("forearm", "upper_arm"),
}

#: Names a sensor may carry for each segment (case-insensitive) besides the segment's own.
SEGMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "chest": ("trunk", "thorax", "sternum", "torso"),
    "pelvis": ("sacrum", "hip", "lower_back", "lumbar"),
    "head": ("headband", "earbud", "neck"),
    "upper_arm": ("humerus", "arm"),
    "forearm": ("wrist", "lower_arm"),
    "thigh": ("femur", "upper_leg"),
    "shank": ("shin", "tibia", "lower_leg"),
}

#: Angles of each body region: column -> (axis, sign, clinical name, anatomical range deg).
#: ``axis``: ``"z"`` (mediolateral) or ``"x"`` (anteroposterior): tilts; ``"y"``: rotation
#: about the long axis (vertical in the calibration pose); ``"elevation"`` / ``"plane"``:
#: the shoulder's elevation and plane of elevation. ``sign``: the right-hand rotation about
#: +axis that is positive (right side). Ranges: normal adult ROM (AAOS; Soucie et al. 2011)
#: widened by 10-20° as :data:`JOINT_RANGE_DEG`.
REGION_ANGLES: dict[str, dict[str, tuple[str, float, str, tuple[float, float]]]] = {
    "trunk": {
        "flexion_deg": ("z", -1.0, "trunk flexion (+) / extension (-)", (-50.0, 130.0)),
        "lateral_flexion_deg": ("x", 1.0, "lateral flexion, right (+) / left (-)", (-60.0, 60.0)),
        "rotation_deg": ("y", 1.0, "trunk rotation, left (+) / right (-)", (-80.0, 80.0)),
    },
    "neck": {
        "flexion_deg": ("z", -1.0, "cervical flexion (+) / extension (-)", (-90.0, 80.0)),
        "lateral_flexion_deg": ("x", 1.0, "cervical lateral flexion, right (+)", (-60.0, 60.0)),
        "rotation_deg": ("y", 1.0, "cervical rotation, left (+) / right (-)", (-100.0, 100.0)),
    },
    "shoulder": {
        "flexion_deg": ("z", 1.0, "shoulder flexion (+) / extension (-)", (-70.0, 200.0)),
        "abduction_deg": ("x", -1.0, "shoulder abduction (+) / adduction (-)", (-50.0, 200.0)),
        "elevation_deg": ("elevation", 1.0, "shoulder elevation (-: behind the hanging line)",
                          (-70.0, 200.0)),
        "plane_of_elevation_deg": ("plane", 1.0, "plane of elevation (0 abduction, 90 flexion)",
                                   (-90.0, 180.0)),
        "external_rotation_deg": ("y", -1.0, "shoulder external (+) / internal (-) rotation",
                                  (-100.0, 110.0)),
    },
    "hip": {
        "flexion_deg": ("z", 1.0, "hip flexion (+) / extension (-)", (-40.0, 150.0)),
        "extension_deg": ("z", -1.0, "hip extension (+) / flexion (-)", (-150.0, 40.0)),
        "abduction_deg": ("x", -1.0, "hip abduction (+) / adduction (-)", (-40.0, 70.0)),
        "rotation_deg": ("y", 1.0, "hip internal (+) / external (-) rotation", (-60.0, 60.0)),
    },
    "elbow": {
        "flexion_deg": ("z", 1.0, "elbow flexion (+) / extension (-)", (-20.0, 165.0)),
        "pronation_deg": ("y", 1.0, "forearm pronation (+) / supination (-)", (-100.0, 100.0)),
    },
}

#: Index of the scalar part in a motiontrack quaternion.
W, X, Y, Z = 0, 1, 2, 3

# q_ENU_NED: rotates NED vectors into ENU. ENU x = NED y (east), ENU y = NED x (north),
# ENU z = -NED z. As a rotation: 180° about the axis (1, 1, 0)/sqrt(2).
_S = np.sqrt(0.5)
Q_ENU_NED = np.array([0.0, _S, _S, 0.0])
# q_ENU_NWU: NWU north (x) -> ENU y, NWU west (y) -> ENU -x, up stays: +90° about z.
Q_ENU_NWU = np.array([_S, 0.0, 0.0, _S])


def _left_multiply(p: np.ndarray, q: npt.ArrayLike) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    w0, x0, y0, z0 = p
    w1, x1, y1, z1 = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            w0 * w1 - x0 * x1 - y0 * y1 - z0 * z1,
            w0 * x1 + x0 * w1 + y0 * z1 - z0 * y1,
            w0 * y1 - x0 * z1 + y0 * w1 + z0 * x1,
            w0 * z1 + x0 * y1 - y0 * x1 + z0 * w1,
        ],
        axis=-1,
    )


def enu_from_ned(q_ned_sensor: npt.ArrayLike) -> np.ndarray:
    """Convert ``q_NED_sensor`` (w, x, y, z) to ``q_ENU_sensor``: ``q_ENU_NED ⊗ q``."""
    return _left_multiply(Q_ENU_NED, q_ned_sensor)


def ned_from_enu(q_enu_sensor: npt.ArrayLike) -> np.ndarray:
    """Convert ``q_ENU_sensor`` (w, x, y, z) to ``q_NED_sensor`` (the inverse of the above)."""
    conj = Q_ENU_NED * np.array([1.0, -1.0, -1.0, -1.0])
    return _left_multiply(conj, q_enu_sensor)


def enu_from_nwu(q_nwu_sensor: npt.ArrayLike) -> np.ndarray:
    """Convert ``q_NWU_sensor`` (w, x, y, z) to ``q_ENU_sensor``."""
    return _left_multiply(Q_ENU_NWU, q_nwu_sensor)


def to_scipy(q: npt.ArrayLike) -> np.ndarray:
    """Reorder motiontrack ``(w, x, y, z)`` to SciPy's scalar-last ``(x, y, z, w)``."""
    return np.roll(np.asarray(q, dtype=np.float64), -1, axis=-1)


def from_scipy(q_xyzw: npt.ArrayLike) -> np.ndarray:
    """Reorder SciPy's scalar-last ``(x, y, z, w)`` to motiontrack ``(w, x, y, z)``."""
    return np.roll(np.asarray(q_xyzw, dtype=np.float64), 1, axis=-1)


__all__ = [
    "GRAVITY",
    "JOINT_CHOICES",
    "JOINT_RANGE_DEG",
    "Q_ENU_NED",
    "Q_ENU_NWU",
    "REGION_ANGLES",
    "REGION_SEGMENTS",
    "SEGMENT_ALIASES",
    "SEGMENT_NAMES",
    "W",
    "X",
    "Y",
    "Z",
    "enu_from_ned",
    "enu_from_nwu",
    "from_scipy",
    "ned_from_enu",
    "to_scipy",
]
