"""The calibration strategy of a joint that needs no pose: the generic hinge (``joint="hinge"``),
calibrated from motion alone (:func:`motiontrack.kinematics.calibrate_hinge_motion`).

Same interface as :class:`.calibrator.Calibrator` (``step``, ``finish``, ``phase``,
``accepted``, ``parts``, ``dropped``, ``attempts``), so the engine picks one or the other
(:data:`MOTION_JOINTS`) and does nothing else differently. No still period is waited for and
no posture is assumed:

============  =================================================  ==========================
phase         waits for                                          next
============  =================================================  ==========================
wait_motion   attempt times: the first row + :data:`FIRST_S`    done (accepted), failed
              (or ``calibration_motion_s`` if longer), then      (``max_calibration_s``
              every ``calibration_retry_s``                      without a calibration)
============  =================================================  ==========================

Each attempt sees exactly the rows up to its scheduled time (live and offline calibrate on
the same data); at the end of the data one last attempt uses everything there is.

Zero and sign (stated in :mod:`motiontrack.conventions`): 0° at ``ExerciseSettings.zero_at``
(session time) when given, else in the middle of the first still period (both segments still
for ``still_s``) before the attempt, else at the first row; positive = right-hand rotation of
the distal segment about the hinge axis oriented along the proximal sensor's axis nearest to
it, flipped by ``ExerciseSettings.hinge_sign = -1``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import events as ev
from ..errors import CalibrationError
from ..kinematics import calibrate_hinge_motion
from .calibrator import _FIELDS, Accepted, append_rows, due_attempts, history
from .pairing import Paired
from .posture import find_still
from .settings import ExerciseSettings

__all__ = ["FIRST_S", "MOTION_JOINTS", "MotionCalibrator"]

#: Joints calibrated from motion alone, with no pose (the engine's hook).
MOTION_JOINTS = ("hinge",)
#: s of data before the first attempt: the fused orientations converge during the first
#: ~20 s of a recording (unknown gyroscope bias), and the angle's start is carried back over
#: them by the gyroscopes from what follows.
FIRST_S = 20.0


class MotionCalibrator:
    """Paired rows in, the accepted motion calibration out (see the module docstring)."""

    def __init__(
        self,
        settings: ExerciseSettings,
        *,
        joint: str,
        fs: float,
        use_mag: bool,
        exercise: str | None = None,
        exercise_pose: str | None = None,
    ) -> None:
        self.s = settings
        self.joint = joint
        self.fs = fs
        self.use_mag = use_mag
        self.phase = "wait_motion"
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in _FIELDS}
        self.next_attempt = math.inf
        self.t_first: float | None = None
        self.dropped: list[np.ndarray] = []  # never filled: every row kept is calibrated
        self.attempts = 0
        self.best: Any = None  # (calibration, zero time)
        self.accepted: Accepted | None = None

    def step(self, rows: Paired) -> list[ev.SessionEvent]:
        out: list[ev.SessionEvent] = []
        if self.phase in ("done", "failed") or len(rows) == 0:
            return out
        append_rows(self.parts, rows)
        if self.t_first is None:
            self.t_first = float(rows.t[0])
            wait = max(FIRST_S, self.s.calibration_motion_s)
            self.next_attempt = self.t_first + wait
            out.append(
                ev.CalibrationPrompt(
                    t=self.t_first,
                    step="move",
                    message=(
                        "Move the joint through its range while turning the whole mechanism in "
                        f"different directions: calibration completes after about {wait:g} s of motion"
                    ),
                    duration_s=wait,
                )
            )
        h = self._history()
        assert self.t_first is not None
        return out + due_attempts(self, h, self.t_first)

    def finish(self) -> list[ev.SessionEvent]:
        """The data ended: a last attempt on everything."""
        if self.phase in ("done", "failed") or not self.parts["t"]:
            return []
        h = self._history()
        return self._attempt(h, float(h["t"][-1]), timed_out=True)

    def _history(self) -> dict[str, np.ndarray]:
        return history(self.parts)

    def _zero(self, h: dict[str, np.ndarray], final: bool) -> int | None:
        """Row of the zero (None: the given zero time is not reached yet)."""
        t = h["t"]
        if self.s.zero_at is not None:
            if self.s.zero_at > t[-1] and not final:
                return None
            return int(min(np.searchsorted(t, self.s.zero_at), t.size - 1))
        still = find_still(h["gp"], h["gd"], self.fs, self.s.still_s)
        return (still.start + still.stop) // 2 if still is not None else 0

    def _attempt(
        self, h: dict[str, np.ndarray], now: float, timed_out: bool
    ) -> list[ev.SessionEvent]:
        k0 = self._zero(h, timed_out)
        if k0 is None:
            return [
                ev.CalibrationFailed(
                    t=now, reason=f"waiting for the zero time {self.s.zero_at:g} s", will_retry=True
                )
            ]
        self.attempts += 1
        nine = self.use_mag and np.isfinite(h["mp"]).any() and np.isfinite(h["md"]).any()
        try:
            cal = calibrate_hinge_motion(
                gyr_proximal=h["gp"],
                gyr_distal=h["gd"],
                acc_proximal=h["ap"],
                acc_distal=h["ad"],
                q_proximal=h["qp"],
                q_distal=h["qd"],
                fs=self.fs,
                mode="9d" if nine else "6d",
                mag_proximal=h["mp"] if nine else None,
                mag_distal=h["md"] if nine else None,
                zero_index=k0,
                sign=float(self.s.hinge_sign),
                warn=False,
            )
        except CalibrationError as exc:
            if timed_out and self.best is not None:
                return self._accept(now)
            if timed_out:
                self.phase = "failed"
            return [ev.CalibrationFailed(t=now, reason=str(exc), will_retry=not timed_out)]
        if self.best is None or cal.confidence > self.best[0].confidence:
            self.best = (cal, float(h["t"][k0]))
        if cal.confidence >= self.s.min_confidence or timed_out:
            return self._accept(now)
        return [
            ev.CalibrationFailed(
                t=now,
                will_retry=True,
                reason=f"confidence {cal.confidence:.2f} < {self.s.min_confidence:.2f}: keep moving",
            )
        ]

    def _accept(self, now: float) -> list[ev.SessionEvent]:
        cal, t_zero = self.best
        self.phase = "done"
        self.accepted = Accepted(cal, "motion", None, self._history())
        j = cal.hinge_axis_proximal
        out: list[ev.SessionEvent] = [
            ev.SessionWarning(t=now, code="calibration", message=n) for n in cal.notes
        ]
        out.append(
            ev.SessionWarning(
                t=now,
                code="hinge_zero",
                message=(
                    f"hinge angle: 0° at {t_zero:.2f} s, positive = right-hand rotation about the hinge axis "
                    f"({j[0]:+.3f}, {j[1]:+.3f}, {j[2]:+.3f}) of the proximal sensor frame"
                ),
            )
        )
        if cal.confidence < 0.5:
            out.append(
                ev.SessionWarning(
                    t=now,
                    code="low_confidence",
                    message=f"low calibration confidence {cal.confidence:.2f}: "
                    + "; ".join(cal.notes),
                )
            )
        out.append(
            ev.CalibrationDone(
                t=now, calibration=cal, pose="motion", confidence=float(cal.confidence)
            )
        )
        return out
