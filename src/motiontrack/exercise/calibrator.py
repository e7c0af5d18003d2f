"""The calibration step of the session protocol, written once: wait for the still pose, read
the start, run calibration attempts at fixed session times, fall back when the still pose was
not the declared posture, retry while the confidence is low.

States (``Calibrator.phase``):

============  =================================================  ==========================
phase         waits for                                          next
============  =================================================  ==========================
wait_still    both segments still for ``still_s``, then motion   wait_motion
wait_motion   attempt times: the still pose's end +              done (accepted), failed
              ``calibration_motion_s``, then every               (``max_calibration_s``
              ``calibration_retry_s``                            without a calibration)
done          -                                                  -
failed        -                                                  -
============  =================================================  ==========================

Each attempt sees exactly the rows up to its scheduled time, so live, replayed and offline
sessions calibrate on the same data. At the end of the data (:meth:`Calibrator.finish`) one
last attempt uses everything there is. Gaps stay gaps (NaN rows) all the way into
:func:`motiontrack.kinematics.calibrate_joint`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import events as ev
from ..errors import CalibrationError
from ..kinematics import CalibrationSettings, PoseMismatchError, calibrate_joint
from .pairing import Paired
from .posture import (
    BACK_DEG,
    NEEDS_STANDING,
    NOMINAL_DEG,
    POSE_PROMPTS,
    POSITION_PROMPTS,
    START_TURN_DEG,
    START_WITHIN_S,
    THIGH_STILL,
    THROUGH_STANDING,
    detect_start_pose,
    find_still,
    needs_magnetometer,
    quiet_mask,
    quiet_runs,
)
from .settings import ExerciseSettings

__all__ = ["Accepted", "Calibrator"]

AXIS_STD_DEG = 3.0  # deg; hinge axes this certain are determined (CalibrationSettings' warning)
_FIELDS = ("t", "qp", "ap", "gp", "mp", "qd", "ad", "gd", "md", "bridged")
_ROWS_1D = ("t", "bridged")


@dataclass(frozen=True, slots=True)
class Accepted:
    """An accepted calibration: what counting starts from."""

    calibration: Any  # SegmentCalibration
    pose: str
    count_from_t: float | None  # session time reps count from (None: from the first row)
    history: dict[str, np.ndarray]  # every row seen while calibrating


@dataclass(slots=True)
class _Best:
    key: tuple[int, float]  # (not anatomical, -confidence): smaller is better
    cal: Any
    pose: str
    count_from_t: float | None
    fallback: bool
    notes: list[str]


def append_rows(parts: dict[str, list[np.ndarray]], rows: Paired) -> None:
    """Keep a block of paired rows for the calibration attempts (absent magnetometers: NaN)."""
    for k in _FIELDS:
        v = getattr(rows, k)
        parts[k].append(v if v is not None else np.full((len(rows), 3), np.nan))


def _disagreement(a: Any, b: Any) -> tuple[float, str] | None:
    """The largest angle (deg) between two calibrations' hinge axes that exceeds three times
    their combined stated uncertainty (and AXIS_STD_DEG), with the segment; else None."""
    worst = None
    for i, (ja, jb, seg) in enumerate((
        (a.hinge_axis_proximal, b.hinge_axis_proximal, "proximal"),
        (a.hinge_axis_distal, b.hinge_axis_distal, "distal"),
    )):
        ang = math.degrees(math.acos(min(1.0, abs(float(np.dot(ja, jb))))))
        tol = max(AXIS_STD_DEG, 3.0 * math.hypot(a.hinge_axis_std_deg[i], b.hinge_axis_std_deg[i]))
        if ang > tol and (worst is None or ang > worst[0]):
            worst = (ang, seg)
    return worst


def due_attempts(c: Any, h: dict[str, np.ndarray], t0: float) -> list[ev.SessionEvent]:
    """Run the attempts of calibrator ``c`` (either strategy) that the rows ``h`` have reached,
    each on exactly the rows up to its time (so live and offline decide alike); an attempt
    more than ``max_calibration_s`` after ``t0`` is the last."""
    out: list[ev.SessionEvent] = []
    while c.phase == "wait_motion" and h["t"][-1] >= c.next_attempt:
        n = int(np.searchsorted(h["t"], c.next_attempt, side="right"))
        at = c.next_attempt
        c.next_attempt += c.s.calibration_retry_s
        timed_out = at - t0 > c.s.max_calibration_s
        out += c._attempt({k: v[:n] for k, v in h.items()}, at, timed_out)
    return out


def history(parts: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    """The rows kept, as arrays (kept as one block from then on: later appends stay cheap)."""
    h = {}
    for k in _FIELDS:
        v = np.concatenate(parts[k]) if k in _ROWS_1D else np.vstack(parts[k])
        parts[k] = [v]
        h[k] = v
    return h


class Calibrator:
    """Paired rows in, calibration prompts and the accepted calibration out."""

    def __init__(
        self,
        settings: ExerciseSettings,
        *,
        joint: str,
        exercise: str | None,
        exercise_pose: str | None,
        fs: float,
        use_mag: bool,
    ) -> None:
        self.s = settings
        self.joint = joint
        self.exercise = exercise
        self.exercise_pose = exercise_pose
        self.fs = fs
        self.use_mag = use_mag
        self.mode = "6d"  # of the last calibration attempt
        self.phase = "wait_still"
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in _FIELDS}
        self.still: slice | None = None
        self.next_attempt = math.inf
        self.t_start: float | None = None  # session time the calibration's time limit counts from
        self.t_first: float | None = None  # session time of the first row
        self.dropped: list[np.ndarray] = []  # times of rows given up while waiting for a still pose
        self.attempts = 0
        self.best: _Best | None = None
        self.accepted: Accepted | None = None
        self._prompted_move = False
        self._final = False  # the attempt under way is the last one
        self._hold_s = (
            max(2.0, settings.still_s) if settings.pose in (None, "standing") else settings.still_s
        )

    # ------------------------------------------------------------------ input
    def step(self, rows: Paired) -> list[ev.SessionEvent]:
        out: list[ev.SessionEvent] = []
        if self.phase in ("done", "failed") or len(rows) == 0:
            return out
        append_rows(self.parts, rows)
        if self.t_start is None:
            self.t_start = self.t_first = float(rows.t[0])
            out.append(self._still_prompt(self.t_start))
        h = self._history()
        if self.phase == "wait_still":
            out += self._wait_still(h)
            if self.phase == "wait_still":
                h = self._bound(h)
        assert self.t_start is not None
        return out + due_attempts(self, h, self.t_start)

    def finish(self) -> list[ev.SessionEvent]:
        """The data ended: a last attempt on everything (the best calibration is accepted)."""
        if self.phase in ("done", "failed") or not self.parts["t"]:
            return []
        h = self._history()
        now = float(h["t"][-1])
        if self.phase == "wait_still":
            self.still = find_still(h["gp"], h["gd"], self.fs, self.s.still_s, h["ap"], h["ad"])
            if self.still is None:
                self.phase = "failed"
                return [
                    ev.CalibrationFailed(
                        t=now,
                        reason=(
                            f"no still period of at least {self.s.still_s:g} s: start each session with "
                            "2-3 s without moving (standing with the legs straight)"
                        ),
                        will_retry=False,
                    )
                ]
            self.phase = "wait_motion"
        return self._attempt(h, now, timed_out=True)

    def _bound(self, h: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Waiting for the still pose keeps at most ``max_calibration_s`` of rows: older rows
        go (but the last 10 s, where a still period may be under way); the calibration's time
        limit then counts from the rows kept."""
        t = h["t"]
        if t[-1] - t[0] <= self.s.max_calibration_s:
            return h
        k = int(np.searchsorted(t, t[-1] - 10.0))
        self.dropped.append(t[:k])  # the engine reports them: no angle will ever be known there
        self.parts = {key: [v[k:]] for key, v in h.items()}
        self.t_start = float(t[k])
        return self._history()

    def _history(self) -> dict[str, np.ndarray]:
        return history(self.parts)

    # ------------------------------------------------------------------ prompts
    def _still_prompt(self, now: float) -> ev.CalibrationPrompt:
        pose = self.s.pose
        if pose in (None, "standing"):
            msg = (
                f"Stand still with your legs straight for {self._hold_s:g} s "
                "(this defines 0° of knee flexion)"
            )
        else:
            msg = POSE_PROMPTS[pose] + f" for {self._hold_s:g} s"
        return ev.CalibrationPrompt(t=now, step="still", message=msg, duration_s=self._hold_s)

    def _move_prompt(self, now: float) -> ev.CalibrationPrompt:
        auto = self.s.calibration == "auto"
        if self.s.pose in (None, "standing"):
            where = POSITION_PROMPTS.get(self.exercise_pose, POSITION_PROMPTS[None])
            msg = (
                where
                + ", keep still for a second, then "
                + (
                    "do your exercise: calibration completes after a few repetitions"
                    if auto
                    else "bend and straighten the joint slowly 3-5 times"
                )
            )
        else:
            msg = (
                "Now do your exercise: calibration completes after a few repetitions"
                if auto
                else "Now bend and straighten the joint slowly 3-5 times"
            )
        return ev.CalibrationPrompt(
            t=now, step="move", message=msg, duration_s=self.s.calibration_motion_s
        )

    def _wait_still(self, h: dict[str, np.ndarray]) -> list[ev.SessionEvent]:
        still = find_still(h["gp"], h["gd"], self.fs, self.s.still_s, h["ap"], h["ad"])
        if still is None:
            return []
        n = h["t"].size
        out: list[ev.SessionEvent] = []
        held = (still.stop - still.start) >= self._hold_s * self.fs - 0.5
        if not self._prompted_move and (held or still.stop < n):
            self._prompted_move = True
            out.append(self._move_prompt(float(h["t"][min(still.stop, n) - 1])))
        if still.stop < n:  # the still pose has ended: motion started
            self.still = still
            self.phase = "wait_motion"
            self.next_attempt = float(h["t"][still.stop]) + self.s.calibration_motion_s
            if h["t"][still.start] - (self.t_first or 0.0) > START_WITHIN_S:
                out.append(
                    ev.SessionWarning(
                        t=float(h["t"][still.stop]),
                        code="late_still",
                        message=(
                            f"the session does not start still: the still period used for the calibration "
                            f"begins {(h['t'][still.start] - (self.t_first or 0.0)):.1f} s in (session protocol: stand "
                            "still with the legs straight for 2-3 s first)"
                        ),
                    )
                )
        return out

    # ------------------------------------------------------------------ attempts
    def _start_pose(self, h: dict[str, np.ndarray]) -> tuple[str, float | None, bool, bool]:
        """(pose, count-from time, wait for a rest first, a posture change before a standing
        exercise) of this attempt."""
        s, still = self.s, self.still
        assert still is not None
        if s.pose is not None and s.pose != "standing":
            return s.pose, None, False, False
        expected = self.exercise_pose if s.pose is None else None
        detected, settled, turn = detect_start_pose(
            h["ap"], h["gp"], h["gd"], self.fs, still, None if expected == "standing" else expected,
            through_standing=self.exercise in THROUGH_STANDING,
            back_deg=START_TURN_DEG if expected == "standing" else BACK_DEG,
        )
        changed = expected == "standing" and settled is not None
        count_from = float(h["t"][settled]) if settled is not None else None
        if s.pose is not None or expected in (None, "standing"):
            return "standing", count_from, False, changed
        return detected, count_from, detected != "standing" and not math.isfinite(turn), changed

    def _run(self, h: dict[str, np.ndarray], pose: str, still: slice, motion_start: int) -> Any:
        mag = self.use_mag and np.isfinite(h["mp"]).any() and np.isfinite(h["md"]).any()
        self.mode = "9d" if mag else "6d"
        return calibrate_joint(
            acc_proximal=h["ap"],
            gyr_proximal=h["gp"],
            acc_distal=h["ad"],
            gyr_distal=h["gd"],
            q_proximal=h["qp"],
            q_distal=h["qd"],
            fs=self.fs,
            still=still,
            motion=slice(motion_start, h["t"].size),
            pose=pose,  # type: ignore[arg-type]
            pose_flexion_deg=self.s.pose_flexion_deg,
            joint=self.joint,  # type: ignore[arg-type]
            mode="9d" if mag else "6d",
            warn=False,
            # the "swapped sensors" rate rule (the thigh quieter than the shank, seated): a
            # sit-to-stand moves the thigh most; a standing knee bend keeps it still standing
            settings=CalibrationSettings(quiet_proximal=False) if self.exercise in THROUGH_STANDING
            # and keeps it vertical, turning about the hinge only: its 6D heading is unobservable
            else CalibrationSettings(quiet_proximal=True, track_6d_heading=False)
            if self.exercise in THIGH_STILL else None,
        )

    def _candidates(
        self, h: dict[str, np.ndarray], poses: list[str]
    ) -> tuple[list[_Best], list[str]]:
        """Calibrations of the candidate poses in order (the first anatomical one ends the
        search), then the still-period fallback of a pose mismatch."""
        assert self.still is not None
        found: list[_Best] = []
        errors: list[str] = []
        mismatch: tuple[str, PoseMismatchError] | None = None
        for p in poses:
            try:
                cal = self._run(h, p, self.still, self.still.stop)
            except PoseMismatchError as exc:
                if p == poses[0]:
                    mismatch = (p, exc)
                errors.append(f"{p}: {exc}" if len(poses) > 1 else str(exc))
                continue
            except CalibrationError as exc:
                errors.append(f"{p}: {exc}" if len(poses) > 1 else str(exc))
                continue
            anatomical = not any("anatomical" in n for n in cal.notes)
            found.append(
                _Best((0 if anatomical else 1, -float(cal.confidence)), cal, p, None, False, [])
            )
            if anatomical:
                break
        if not found and mismatch is not None:
            found += self._mismatch_fallback(h, *mismatch, errors)
        return found, errors

    def _mismatch_fallback(
        self, h: dict[str, np.ndarray], pose: str, exc: PoseMismatchError, errors: list[str]
    ) -> list[_Best]:
        """The still period was in no candidate posture (a session begun mid-set: an extension
        held at the top is as still as the rest): calibrate on the first still period in the
        declared posture that the motion revealed, and say so."""
        assert self.still is not None
        still, fs = self.still, self.fs
        for a, b in quiet_runs(quiet_mask(h["gp"], h["gd"]), max(10, round(1.0 * fs))):
            if a < still.stop and b > still.start:
                continue
            if not exc.matches(np.nanmean(h["ad"][a:b], axis=0)):
                continue
            if h["t"][-1] - h["t"][b - 1] < self.s.calibration_motion_s and not self._final:
                errors.append(
                    f"{pose}: waiting for {self.s.calibration_motion_s:g} s of motion after the "
                    f"still period at {h['t'][a]:.1f} s"
                )
                return []
            try:  # the motion: everything after the rejected still period
                cal = self._run(h, pose, slice(a, b), still.stop)
            except CalibrationError as exc2:
                errors.append(f"{pose} at {h['t'][a]:.1f} s: {exc2}")
                return []
            note = (
                f"the still period at {h['t'][still.start]:.1f}-{h['t'][still.stop - 1]:.1f} s is "
                f"not the {pose} pose ({exc}); calibrated on the still period at "
                f"{h['t'][a]:.1f}-{h['t'][b - 1]:.1f} s instead"
            )
            return [_Best((0, -float(cal.confidence)), cal, pose, None, False, [note])]
        return []

    def _exercise_only(self, h: dict[str, np.ndarray], best: _Best) -> _Best:
        """A lie-down spreads the distal axis estimate over the motion's chunks (confidence
        ~0.05 until the 3rd-5th heel slide, with angles as accurate). When the exercise alone
        moves both segments (not a seated extension: there the thigh hardly moves, and a
        calibration without the sit-down can be confident and mirrored) and determines both
        hinge axes within 3° with an anatomical sign, its own calibration is the confident one,
        if it agrees with the whole-motion one within their stated uncertainties (a thigh that
        hardly pitched through short arc quads leaves its axis undetermined in 6D: the
        calibration says so, std 90°). When the two disagree, neither is known to be right:
        the whole-motion one, whose motion turned every segment against gravity, is kept and
        a warning gives the disagreement."""
        if (
            best.cal.confidence >= self.s.min_confidence
            or best.count_from_t is None
            or self.exercise_pose == "seated"
            or self.still is None
        ):
            return best
        try:
            alt = self._run(
                h, best.pose, self.still, int(np.searchsorted(h["t"], best.count_from_t))
            )
        except CalibrationError:
            return best
        if not (
            alt.confidence > best.cal.confidence
            and float(np.max(alt.hinge_axis_std_deg)) <= AXIS_STD_DEG
            and not any("anatomical" in n or "branch" in n for n in alt.notes)
        ):
            return best
        off = _disagreement(alt, best.cal)
        if off is not None:  # one of the two states a wrong uncertainty: say so, keep the
            # calibration that saw the posture change (every segment turned against gravity)
            note = (
                f"the calibration on the exercise alone disagrees with the one on the whole motion "
                f"by {off[0]:.1f}° on the {off[1]} axis (more than their stated uncertainties): "
                "kept the whole-motion one; angles may be off by a few degrees"
            )
            return _Best(best.key, best.cal, best.pose, best.count_from_t, best.fallback,
                         [*best.notes, note])
        return _Best(best.key, alt, best.pose, best.count_from_t, best.fallback, best.notes)

    def _attempt(
        self, h: dict[str, np.ndarray], now: float, timed_out: bool
    ) -> list[ev.SessionEvent]:
        self._final = timed_out
        pose, count_from, wait, changed = self._start_pose(h)
        if wait and not timed_out:
            return [
                ev.CalibrationFailed(
                    t=now,
                    reason="no rest in the exercise position yet: "
                    "keep still for a second between repetitions",
                    will_retry=True,
                )
            ]
        if pose != "standing" and self.exercise in NEEDS_STANDING and self.s.pose is None:
            self.phase = "failed"
            return [ev.CalibrationFailed(t=now, will_retry=False, reason=(
                f"{self.exercise} did not start with the standing pose: its resting angle (the knee "
                "over a bolster, 30-45°) has no nominal value, so no angle can be given. Start "
                "standing still with the legs straight for 2-3 s, then lie down (docs/"
                "session-protocol.md), or give pose= with pose_flexion_deg= measured by goniometer."))]
        if self.exercise in THIGH_STILL and not (
            self.use_mag and np.isfinite(h["mp"]).any() and np.isfinite(h["md"]).any()
        ):  # magnetometer=True, but the magnetometers sent nothing: it would be 6D
            self.phase = "failed"
            reason = needs_magnetometer(self.exercise)
            return [ev.CalibrationFailed(t=now, will_retry=False, reason=reason)]
        self.attempts += 1
        # without a known exercise a start lying down cannot be told from a standing one by the
        # thigh alone: the calibration's posture check (the shank's inclination) refuses
        # standing, and supine is tried next
        poses = [pose] + (["supine"] if self.s.pose is None and self.exercise_pose is None else [])
        found, errors = self._candidates(h, poses)
        if found:
            cand = min(found, key=lambda b: b.key)
            cand.count_from_t = count_from
            cand.fallback = self.s.pose is None and cand.pose != "standing"
            cand = self._exercise_only(h, cand)
            if changed and cand.count_from_t is not None:
                cand.notes.append("changed")
            if self.best is None or cand.cal.confidence > self.best.cal.confidence:
                self.best = cand
            if cand.cal.confidence >= self.s.min_confidence or timed_out:
                return self._accept(now)
            return [
                ev.CalibrationFailed(
                    t=now,
                    will_retry=True,
                    reason=(
                        f"confidence {cand.cal.confidence:.2f} < {self.s.min_confidence:.2f}: keep moving"
                    ),
                )
            ]
        if timed_out and self.best is not None:
            return self._accept(now)
        reason = "; ".join(errors) or "no calibration"
        if timed_out:
            self.phase = "failed"
        return [ev.CalibrationFailed(t=now, reason=reason, will_retry=not timed_out)]

    def _accept(self, now: float) -> list[ev.SessionEvent]:
        b = self.best
        assert b is not None
        self.phase = "done"
        self.accepted = Accepted(b.cal, b.pose, b.count_from_t, self._history())
        out: list[ev.SessionEvent] = [
            ev.SessionWarning(t=now, code="calibration", message=n)
            for n in b.notes
            if n != "changed"
        ]
        warning = self._pose_warning(b, "changed" in b.notes)
        if warning:
            out.append(ev.CalibrationPrompt(t=now, step="warning", message=warning, duration_s=0.0))
        if b.cal.confidence < 0.5:
            out.append(
                ev.SessionWarning(
                    t=now,
                    code="low_confidence",
                    message=(
                        f"low calibration confidence {b.cal.confidence:.2f}: "
                        + "; ".join(b.cal.notes)
                    ),
                )
            )
        out.append(
            ev.CalibrationDone(
                t=now, calibration=b.cal, pose=b.pose, confidence=float(b.cal.confidence)
            )
        )
        if self.s.calibration == "guided":
            out.append(
                ev.CalibrationPrompt(
                    t=now,
                    step="exercise",
                    message="Calibration done: start the exercise",
                    duration_s=0.0,
                )
            )
        return out

    def _pose_warning(self, b: _Best, changed: bool) -> str | None:
        """The warning of a start that is not (known to be) the standing pose."""
        if b.fallback:
            nominal = NOMINAL_DEG[b.pose]
            return (
                f"No standing pose at the start: the session began {b.pose}, so angles assume the "
                f"nominal {nominal:g}° knee flexion of that posture"
                + (
                    " (a seated patient rests anywhere between 80° and 95°: angles may be ~10° off)"
                    if b.pose == "seated"
                    else ""
                )
                + ". For exact angles, start the next session standing still with the legs straight "
                f"for 2-3 s, or give pose='{b.pose}' with pose_flexion_deg measured by goniometer."
            )
        if changed:
            return (
                f"The patient changed posture after the standing pose (sat or lay down), but "
                f"{self.exercise} is done standing: reps are counted from the new posture. "
                "Check the exercise setting."
            )
        if (
            self.s.pose is None
            and self.exercise_pose is None
            and b.count_from_t is None
            and b.pose == "standing"
        ):
            return (
                "No exercise given and no change of posture after the still pose: it is taken as "
                "standing with the legs straight (0°). A session begun seated would read ~90° low: "
                "give exercise= (its posture is then checked) or pose=."
            )
        return None
