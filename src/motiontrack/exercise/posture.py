"""Postures of the session protocol, written once: the still poses and their nominal angles,
the prompts, rest and still detection, and how the start of a session is read
(docs/session-protocol.md).

The protocol: stand still with the legs straight for 2-3 s (this defines 0° of knee
flexion), then take the exercise position (sit down, lie down or stay standing), keep still
a second, and exercise. A session may also begin directly in the exercise's posture, or
mid-set; :func:`detect_start_pose` tells which from the data.
"""

from __future__ import annotations

import math

import numpy as np

from ..kinematics import detect_still

__all__ = [
    "EXERCISE_POSES",
    "NEEDS_STANDING",
    "NOMINAL_DEG",
    "START_TURN_DEG",
    "THIGH_STILL",
    "needs_magnetometer",
    "THROUGH_STANDING",
    "detect_start_pose",
    "find_still",
    "quiet_mask",
    "quiet_runs",
    "segment_start",
]

#: The still posture each exercise is done in (see motiontrack.kinematics.POSES).
EXERCISE_POSES = {
    "seated_knee_extension": "seated",
    "knee_extension": "seated",
    "squat": "standing",
    "heel_slide": "supine",
    "straight_leg_raise": "supine",
    "short_arc_quad": "supine",  # lying, a bolster under the knee (rests at 30-45°)
    "long_arc_quad": "seated",  # = seated_knee_extension
    "sit_to_stand": "seated",  # each rep rises from the chair and sits back
    "standing_knee_bend": "standing",
    "knee_wall_slide": "standing",  # back against a wall
    "biceps_curl": "standing",
}
#: Exercises whose every rep passes through the standing calibration pose (a sit-to-stand
#: rises to standing each time): their reps come back to the start orientation, so a start
#: pose is told from where the patient *rests* (the median of the quiet periods) alone.
THROUGH_STANDING = frozenset({"sit_to_stand"})
#: Exercises whose own posture has no nominal knee angle (a short-arc quad rests over a
#: bolster at 30-45°): a session must start with the standing pose (else a clear error).
NEEDS_STANDING = frozenset({"short_arc_quad"})
#: Exercises in which the thigh stays vertical and still (a standing knee bend): without
#: magnetometers the thigh sensor's heading, hence the knee axis on it, is unobservable, so
#: a two-sensor knee session of them needs the magnetometers (9D; else a clear error,
#: :func:`needs_magnetometer`; measured in 6D before the refusal, benchmarks/knee_presets.py
#: (now benchmarks/presets.py): all criteria in 10-11/20 sessions, extremes up to 15° low).
THIGH_STILL = frozenset({"standing_knee_bend"})


def needs_magnetometer(exercise: str) -> str:
    """Why a two-sensor knee session of ``exercise`` (in :data:`THIGH_STILL`) is refused in 6D."""
    return (f"{exercise} cannot be measured without magnetometers (6D): the thigh stays "
            "vertical and hardly turns, so the knee axis on the thigh sensor, and with it the "
            "knee flexion, is unobservable (simulated: up to ~15° low at 90°). Record it with "
            "the magnetometers (9D: ExerciseSettings(magnetometer=True), CLI --magnetometer) in "
            "a room without strong magnetic disturbance, or give a calibration (calibration=) "
            "from another exercise.")
#: Nominal knee flexion of each still pose, deg (motiontrack.kinematics.POSES).
NOMINAL_DEG = {"standing": 0.0, "seated": 90.0, "supine": 0.0}
#: Still-pose prompt of a given ``ExerciseSettings.pose`` (a start in that posture).
POSE_PROMPTS = {
    "standing": "Stand still with your legs straight",
    "seated": "Sit still with your thigh on the chair and the lower leg hanging",
    "supine": "Lie still on your back with your legs straight",
}
#: After the standing pose of the session protocol: how to take the exercise position.
POSITION_PROMPTS = {
    "seated": "Now sit down on the chair with the lower leg hanging",
    "supine": "Now lie down on your back with the legs straight",
    "standing": "Now take your exercise stance",
    None: "Now take your exercise position",
}

#: A start pose is taken as "standing" when the proximal sensor's gravity direction in the
#: exercise's quiet periods is this far from the one in the still period at the start, deg.
START_TURN_DEG = 45.0
QUIET_RATE = 0.1  # rad/s; every gyroscope below this (bias included) is "at rest"
QUIET_MIN_S = 0.5  # s; shortest rest used to read the posture
START_WITHIN_S = 1.0  # s; a still period beginning later than this is no still start
BACK_DEG = 20.0  # deg; a rest this close to the start orientation: no posture change
SETTLE_WAIT_S = 15.0  # s; one sensor: longest wait for two rests after the still pose
_G = 9.80665  # m/s²


def quiet_mask(*gyr: np.ndarray) -> np.ndarray:
    """True where every given gyroscope (N, 3), rad/s, reads below ``QUIET_RATE`` (bias
    included): the segments are at rest. NaN rows (gaps) are not at rest."""
    with np.errstate(invalid="ignore"):
        return np.logical_and.reduce([np.linalg.norm(g, axis=1) < QUIET_RATE for g in gyr])


def quiet_runs(mask: np.ndarray, n_min: int) -> list[tuple[int, int]]:
    """(start, stop) of the runs of True in ``mask`` at least ``n_min`` long."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(m))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= n_min]


def find_still(
    gyr_proximal: np.ndarray,
    gyr_distal: np.ndarray,
    fs: float,
    min_s: float,
    acc_proximal: np.ndarray | None = None,
    acc_distal: np.ndarray | None = None,
) -> slice | None:
    """The first stretch of at least ``min_s`` in which both segments are still
    (:func:`motiontrack.kinematics.detect_still`); a gap (NaN row) is never still. With the
    accelerometers, a stretch is also one posture: it ends where a sensor's gravity direction
    has turned by more than ``MAX_STILL_TILT_DEG`` (a change of posture slower than the
    gyroscope threshold)."""
    ok = np.isfinite(gyr_proximal).all(axis=1) & np.isfinite(gyr_distal).all(axis=1)
    if gyr_proximal.shape[0] < min_s * fs:
        return None
    gp = np.where(ok[:, None], gyr_proximal, 10.0)
    gd = np.where(ok[:, None], gyr_distal, 10.0)
    return detect_still(gp, gd, fs=fs, min_duration=min_s, acc_proximal=acc_proximal,
                        acc_distal=acc_distal)


def detect_start_pose(
    acc_proximal: np.ndarray,
    gyr_proximal: np.ndarray,
    gyr_distal: np.ndarray,
    fs: float,
    still: slice,
    exercise_pose: str | None,
    through_standing: bool = False,
    back_deg: float = BACK_DEG,
) -> tuple[str, int | None, float]:
    """Was the still period at the start the standing calibration pose or already the
    exercise's posture?

    The proximal sensor's gravity direction during the still period is compared with its
    median direction during the quiet periods after it (both gyroscopes below 0.1 rad/s for
    >= 0.5 s, e.g. the rests between reps): a seated or supine exercise after a standing
    start turns the thigh by ~90° (median above :data:`START_TURN_DEG`, and no rest back
    within 20° of the start orientation), an exercise started in its own posture by a few
    degrees (a thigh lift, a settle). A posture change happens once: a still period that was
    one of the exercise's own rests or holds (a session begun mid-set) comes back.

    Parameters
    ----------
    acc_proximal : ndarray, shape (N, 3)
        Proximal accelerometer, m/s² (NaN rows allowed).
    gyr_proximal, gyr_distal : ndarray, shape (N, 3)
        Gyroscopes, rad/s (NaN rows allowed).
    fs : float
        Hz.
    still : slice
        The still period at the start.
    exercise_pose : {"standing", "seated", "supine"} or None
        The exercise's own start posture; None if unknown (only ``settled`` is looked for).
    through_standing : bool
        The exercise's reps pass through standing (:data:`THROUGH_STANDING`): the holds at
        the top of each rep come back to a standing start's orientation by design, so the
        "comes back" rule is not applied; the median of the quiet periods (the rests between
        reps, seated) decides alone.
    back_deg : float
        A rest this close to the start orientation means no posture change (default
        :data:`BACK_DEG`; a standing exercise passes :data:`START_TURN_DEG`: leaning back on
        a wall for a wall slide tilts the thigh 15-30°, sitting or lying down ~90°).

    Returns
    -------
    pose : str
        ``"standing"`` or ``exercise_pose``.
    settled : int or None
        For a detected standing start: the first sample of the first rest in the new posture.
    turn_deg : float
        Median turn of the proximal gravity direction, degrees (NaN: no rest yet).
    """
    a0 = acc_proximal[still]
    a0 = a0[np.isfinite(a0).all(axis=1)]
    fallback = exercise_pose or "standing"
    if exercise_pose == "standing" or a0.shape[0] == 0:
        return fallback, None, math.nan
    up0 = a0.mean(axis=0)
    up0 = up0 / np.linalg.norm(up0)
    a = acc_proximal[still.stop :]
    norm_a = np.linalg.norm(a, axis=1)
    with np.errstate(invalid="ignore"):
        quiet = quiet_mask(gyr_proximal[still.stop :], gyr_distal[still.stop :]) & (
            np.abs(norm_a - _G) < 1.0
        )
    runs = quiet_runs(quiet, max(1, round(QUIET_MIN_S * fs)))
    if not runs:
        return fallback, None, math.nan
    sel = np.concatenate([np.arange(b, e) for b, e in runs])
    cosang = np.clip((a[sel] @ up0) / norm_a[sel], -1.0, 1.0)
    ang = np.degrees(np.arccos(cosang))
    turn = float(np.median(ang))
    per_run = [
        float(np.median(ang[np.searchsorted(sel, b) : np.searchsorted(sel, e)])) for b, e in runs
    ]
    if turn <= START_TURN_DEG or (min(per_run) <= back_deg and not through_standing):
        return fallback, None, turn
    settled = next(still.stop + b for (b, _), m in zip(runs, per_run) if m > START_TURN_DEG)
    return "standing", settled, turn


def segment_start(acc: np.ndarray, gyr: np.ndarray, fs: float, still_s: float) -> int | None:
    """One sensor: the first sample to count reps from, or None (not decided yet).

    After the protocol's standing pose, sitting or lying down turns the sensor once by ~90°:
    that is not a rep. The first still period must begin within 1 s (else the session did
    not start still: count from the start); once the sensor has rested (>= 0.5 s) twice after
    it, :func:`detect_start_pose` tells whether it turned into another posture (count from
    the first rest there) or not (count from the start). Two rests, because a hold at the
    far end of the first rep is a rest too, turned like a new posture: a posture change
    never comes back near the start orientation, a rep does. A session that never rests
    twice is decided :data:`SETTLE_WAIT_S` after the still pose.
    """
    n = gyr.shape[0]
    ok = np.isfinite(gyr).all(axis=1) & np.isfinite(acc).all(axis=1)
    g2 = np.where(ok[:, None], gyr, 10.0)
    still = detect_still(g2, g2, fs=fs, min_duration=still_s) if n >= still_s * fs else None
    late = round(START_WITHIN_S * fs)
    if still is None:
        return 0 if n > late + still_s * fs else None
    if still.start > late:
        return 0
    if still.stop >= n:
        return None  # still standing
    with np.errstate(invalid="ignore"):
        quiet = quiet_mask(g2[still.stop :]) & (
            np.abs(np.linalg.norm(acc[still.stop :], axis=1) - _G) < 1.0
        )
    runs = quiet_runs(quiet, max(1, round(QUIET_MIN_S * fs)))
    if runs and _came_back(acc, still, still.stop + runs[0][0], fs):
        return 0  # it went back near the start orientation after its first rest: reps
    if len(runs) < 2 and n - still.stop <= SETTLE_WAIT_S * fs:
        return None
    _, settled, _ = detect_start_pose(acc, g2, g2, fs, still, None)
    return int(settled) if settled is not None else 0


def _came_back(acc: np.ndarray, still: slice, since: int, fs: float) -> bool:
    """Whether the sensor's gravity direction (a 0.5 s mean of the accelerometer) came back
    within :data:`BACK_DEG` of its direction in the still period at some time after ``since``
    (a posture change never comes back; the hold at the far end of a rep does)."""
    a0 = acc[still]
    a0 = a0[np.isfinite(a0).all(axis=1)]
    a = acc[since:]
    w = max(1, round(0.5 * fs))
    if a0.shape[0] == 0 or a.shape[0] < w:
        return False
    ok = np.isfinite(a).all(axis=1)
    c = np.cumsum(np.where(ok[:, None], a, 0.0), axis=0)
    k = np.cumsum(ok)
    m = (c[w:] - c[:-w]) / np.maximum(k[w:] - k[:-w], 1)[:, None]
    up0 = a0.mean(axis=0) / np.linalg.norm(a0.mean(axis=0))
    with np.errstate(invalid="ignore"):
        cos = (m @ up0) / np.linalg.norm(m, axis=1)
    return bool(np.any(cos >= math.cos(math.radians(BACK_DEG))))
