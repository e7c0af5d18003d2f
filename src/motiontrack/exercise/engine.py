"""The exercise-session engine: samples of one or two sensors in, session events out.

One object, fed the same way live (:class:`motiontrack.Session`, block by block as the
notifications arrive), in replays and offline (:func:`motiontrack.analyze`, the whole
recording): its output does not depend on how the samples were cut into blocks or how the
sensors' blocks were interleaved, so a rep counted live is the rep read later.

Phases (``ExerciseEngine.phase``):

============  ===========================================================================
calibrating   two sensors, no calibration yet: rows are kept (at most
              ``max_calibration_s``), angles are NaN (:class:`.calibrator.Calibrator`)
counting      angles and reps; after a calibration, every row seen while calibrating is
              processed first (no rep is lost)
starting      one sensor: where counting starts is not decided yet
failed        the calibration failed for good: angles stay unknown
============  ===========================================================================
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import events as ev
from ..conventions import JOINT_RANGE_DEG
from ..errors import ConfigurationError
from ..kinematics import SegmentCalibration
from ..reps import PRESETS, Rep, RepFlags
from .calibrator import Calibrator
from .counting import JointCounter, SegmentCounter
from .motion_calibrator import MOTION_JOINTS, MotionCalibrator
from .pairing import Paired, Pairing
from .posture import EXERCISE_POSES, THIGH_STILL, needs_magnetometer
from .region_counter import RegionCounter
from .regions import REGION_EXERCISES, check_placement
from .roles import resolve_roles
from .settings import HINGE_JOINTS, PRIMARY_ANGLE, SEGMENT_ANGLE, ExerciseSettings
from .snapshot import restore_engine, snapshot_engine
from .streams import GapReport, Rows, SensorStream
from .verdicts import clip_warnings, rest_warning, tilt_warnings

__all__ = ["ExerciseEngine", "exercise_names"]


def exercise_names() -> tuple[str, ...]:
    """Every name ``exercise=`` accepts, sorted: the rep-counter presets
    (:data:`motiontrack.reps.PRESETS`), the exercises with a posture (:data:`EXERCISE_POSES`)
    and the body-region presets (:data:`~.regions.REGION_EXERCISES`)."""
    return tuple(sorted(set(PRESETS) | set(EXERCISE_POSES) | set(REGION_EXERCISES)))

_KNEE_NAMES = ("flexion_deg", "abduction_deg", "rotation_deg")  # names before a calibration


def _region_rows(rows: Rows | None, p: Paired | None) -> dict[str, Any]:
    """The rows of a body region: the distal sensor's (``d``) and the proximal one's (``p``)."""
    if p is not None:  # the reference is the distal sensor
        return {"t": p.t, "qd": p.qp, "ad": p.ap, "gd": p.gp, "md": p.mp,
                "qp": p.qd, "ap": p.ad, "gp": p.gd, "mp": p.md}
    assert rows is not None
    return {"t": rows.t, "qd": rows.q, "ad": rows.acc, "gd": rows.gyr, "md": rows.mag}


class ExerciseEngine:
    """Samples in, :mod:`motiontrack.events` out; see the module docstring.

    Parameters
    ----------
    sensors : mapping name -> nominal sample rate, Hz
    joint : str or None
        Two-sensor joint between ``proximal`` and ``distal`` (default: the two sensors in order).
    segment : str, optional
        Count reps from this one sensor instead.
    exercise : str, optional
        Rep-counter preset and the exercise's posture.
    calibration : SegmentCalibration, optional
        A known sensor-to-segment calibration: no calibration step.
    settings : ExerciseSettings, optional
    sensor_calibration : mapping name -> SensorCalibration, optional
        Applied to every sample first.
    orientations : bool
        Also emit :class:`~motiontrack.events.OrientationUpdate` events.
    """

    def __init__(
        self,
        sensors: Mapping[str, float],
        *,
        joint: str | None = "knee",
        proximal: str | None = None,
        distal: str | None = None,
        segment: str | None = None,
        exercise: str | None = None,
        calibration: SegmentCalibration | None = None,
        settings: ExerciseSettings | None = None,
        sensor_calibration: Mapping[str, Any] | None = None,
        orientations: bool = False,
        placement: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = s = settings or ExerciseSettings()
        if exercise is not None and exercise not in exercise_names():
            raise ConfigurationError(
                f"unknown exercise {exercise!r}; known: {', '.join(exercise_names())}")
        self.exercise = exercise
        self.exercise_pose = EXERCISE_POSES.get(exercise or "")
        region = REGION_EXERCISES.get(exercise or "") if segment is None else None
        if region is not None:  # a body region: the roles come from the placement
            self.ref, self.partner = check_placement(region.name, list(sensors), placement)
        else:
            self.ref, self.partner = resolve_roles(list(sensors), joint, proximal, distal, segment)
        self.joint = joint if self.partner is not None else None
        self.joint = region.region if region is not None else self.joint
        knee_6d = self.joint == "knee" and calibration is None and not s.magnetometer
        if exercise in THIGH_STILL and knee_6d:
            raise ConfigurationError(needs_magnetometer(exercise))
        self.orientations = orientations
        cals = dict(sensor_calibration or {})
        used = [n for n in (self.ref, self.partner) if n is not None]
        self.streams = {
            n: SensorStream(
                n,
                float(sensors[n]),
                method=s.fusion_method,
                use_mag=s.magnetometer,
                calibration=cals.get(n),
                bridge_s=s.max_interp_s,
            )
            for n in used
        }
        self.fs = self.streams[self.ref].fs
        preset = region.rep if region is not None else PRESETS.get(exercise or "", PRESETS["generic"])
        # the streams bridged the short holes already: any hole left in the angle cuts a rep
        self.rep_settings = dataclasses.replace(
            preset, max_gap_s=max(preset.max_gap_s, s.max_gap_s), bridge_s=0.0
        )
        self.pairing = Pairing() if self.partner is not None else None
        self.calibrator: Calibrator | MotionCalibrator | None = None
        self.joint_counter: JointCounter | None = None
        self.segment_counter: SegmentCounter | None = None
        self.calibration = calibration
        self.pose: str | None = getattr(calibration, "pose", None)
        self.reps: list[Rep] = []
        self.interrupted: list[Rep] = []  # reps cut by gaps: seen, not counted
        self.interrupted_seen = 0  # of the rep counter's interrupted reps (not kept in a snapshot)
        self.last_t = 0.0
        self._causes: dict[str, str] = {}
        self._notes: list[ev.SessionEvent] = []
        self._mode = "6d"
        self._range = JOINT_RANGE_DEG.get(self.joint or "") if self.partner is not None else None
        self.outside = False  # the primary angle is outside the anatomical range now
        self.region: RegionCounter | None = None
        if region is not None:
            self.region = RegionCounter(region, fs=self.fs, two=self.partner is not None,
                                        settings=s, rep_settings=self.rep_settings)
            self._range = self.region.table[region.angle][3]
            self.phase = "calibrating"
        elif self.partner is None:
            protocol = s.pose in (None, "standing")
            self.segment_counter = SegmentCounter(
                fs=self.fs, rep_settings=self.rep_settings, still_s=s.still_s, protocol=protocol
            )
            self.phase = "starting" if protocol else "counting"
        elif calibration is not None or s.calibration == "none" or self.joint not in HINGE_JOINTS:
            if calibration is None and self.joint not in HINGE_JOINTS and s.calibration != "none":
                self._notes.append(
                    ev.SessionWarning(
                        t=0.0,
                        code="no_calibration",
                        message=(
                            f"{self.joint}: no automatic sensor-to-segment calibration for this joint yet; "
                            "angles are between the sensor frames as mounted"
                        ),
                    )
                )
            self.phase = "counting"
            # the counter is made with the first rows (9D needs to know the magnetometers came)
        else:
            self.phase = "calibrating"
            # a joint that needs no pose (the generic hinge) calibrates from motion alone
            strategy = MotionCalibrator if self.joint in MOTION_JOINTS else Calibrator
            self.calibrator = strategy(
                s,
                joint=self.joint or "knee",
                exercise=exercise,
                exercise_pose=self.exercise_pose,
                fs=self.fs,
                use_mag=s.magnetometer,
            )

    # ------------------------------------------------------------------ input
    def feed(
        self,
        sensor: str,
        t: np.ndarray,
        acc: np.ndarray,
        gyr: np.ndarray,
        mag: np.ndarray | None = None,
        host: float | np.ndarray = math.nan,
    ) -> list[ev.SessionEvent]:
        """A block of samples of ``sensor``: device times ``t`` (s), SI units, host arrival
        time(s) ``host`` (s; NaN when the source has no host clock)."""
        out, self._notes = self._notes, []
        stream = self.streams.get(sensor)
        if stream is None or np.size(t) == 0:
            return out
        rows, gaps = stream.feed(t, acc, gyr, mag, np.asarray(host, dtype=np.float64))
        out += self._gap_events(gaps) + clip_warnings(sensor, stream, float(np.max(t)))
        out += tilt_warnings(sensor, stream, float(np.max(t)))
        if rows is None:
            return out
        if self.orientations and self.partner is None:
            out.append(ev.OrientationUpdate(t=float(rows.t[-1]), times=rows.t, q={sensor: rows.q}))
        if self.region is not None and self.pairing is None:
            return out + self._region_rows(_region_rows(rows, None))
        if self.pairing is None:
            return out + self._single(rows)
        self.pairing.add("ref" if sensor == self.ref else "partner", rows)
        return out + self._paired(self.pairing.pop())

    def note_gap_cause(self, sensor: str, cause: str) -> None:
        """The transport's reason for the next hole of ``sensor`` (e.g. ``"link_lost"``)."""
        self._causes[sensor] = cause

    def expire(self, host_now: float) -> list[ev.SessionEvent]:
        """Live only: stop waiting for a silent partner; reference rows that arrived more than
        ``pair_timeout_s`` before host time ``host_now`` get unknown partner data."""
        if self.pairing is None:
            return []
        return self._paired(self.pairing.pop(expire_host=host_now - self.settings.pair_timeout_s))

    def finish(self) -> list[ev.SessionEvent]:
        """End of the data: process what waits, a last calibration attempt, a last rep."""
        out, self._notes = self._notes, []
        if self.region is not None:
            if self.pairing is not None:
                out += self._paired(self.pairing.pop(finish=True))
            out += self._region_rows(None, final=True)
        elif self.pairing is not None:
            out += self._paired(self.pairing.pop(finish=True))
            if self.calibrator is not None and self.phase == "calibrating":
                out += self._calibrated(self.calibrator.finish())
            if self.joint_counter is not None:
                out += self._rep_events(self.joint_counter.flush())
                self.joint_counter.refiner.finish()
        elif self.segment_counter is not None:
            times, sig, reps = self.segment_counter.finish()
            if self.phase == "starting":
                self.phase = "counting"
            out += self._segment_angles(times, sig) + self._rep_events(reps)
        out += rest_warning(self.joint, self.reps, self.last_t)
        if self.mid_rep:
            c = self.region or self.joint_counter or self.segment_counter
            assert c is not None and c.counter is not None
            end = c.counter.diagnostics.last_valid_s
            out.append(ev.SessionWarning(
                t=self.last_t, code="ended_mid_rep",
                message=(f"the counted angle ends during a movement ({end:.1f} s): the "
                         "repetition under way there is not counted"),
            ))
        return out

    # ------------------------------------------------------------------ two sensors
    def _paired(self, p: Paired | None) -> list[ev.SessionEvent]:
        if p is None or len(p) == 0:
            return []
        self.last_t = max(self.last_t, float(p.t[-1]))
        out: list[ev.SessionEvent] = []
        if self.orientations:
            out.append(
                ev.OrientationUpdate(
                    t=float(p.t[-1]), times=p.t, q={self.ref: p.qp, self.partner or "": p.qd}
                )
            )
        if self.region is not None:
            return out + self._region_rows(_region_rows(None, p))
        if self.phase == "calibrating":
            assert self.calibrator is not None
            out += self._calibrated(self.calibrator.step(p))
            out += self._given_up(self.calibrator.dropped, len(_KNEE_NAMES))
            if self.phase == "calibrating":  # placeholders: the same rows come again, calibrated
                out += self._unknown([p.t], len(_KNEE_NAMES), final=False)
            return out
        if self.phase == "failed":  # no calibration: the angles stay unknown
            return out + self._unknown([p.t], len(_KNEE_NAMES))
        return out + self._angles(p)

    def _calibrated(self, events: list[ev.SessionEvent]) -> list[ev.SessionEvent]:
        """Calibration events; once accepted, every row kept meanwhile is processed."""
        c = self.calibrator
        assert c is not None
        if c.phase == "failed" and self.phase == "calibrating":
            self.phase = "failed"  # the rows kept meanwhile will never have angles
            if c.parts["t"]:
                c.dropped.append(np.concatenate(c.parts["t"]))
            c.parts = {k: [] for k in c.parts}
            return events + self._given_up(c.dropped, len(_KNEE_NAMES))
        if c.accepted is None or self.phase != "calibrating":
            return events
        acc = c.accepted
        self.calibration, self.pose = acc.calibration, acc.pose
        self.joint_counter = self._joint_counter(acc.calibration, acc.count_from_t)
        self.phase = "counting"
        h = acc.history
        c.parts = {k: [] for k in c.parts}  # free the kept rows
        p = Paired(**h)
        if self.settings.calibration == "guided":  # the calibration movements are no reps
            return events + self._angles(p, count=False)
        return events + self._angles(p)

    def start_counting(self, calibration: Any, count_from_t: float | None) -> JointCounter:
        """Counting with ``calibration`` from session time ``count_from_t`` (a restore)."""
        self.joint_counter = self._joint_counter(calibration, count_from_t)
        self.phase = "counting"
        self.calibrator = None
        return self.joint_counter

    def _joint_counter(self, calibration: Any, count_from_t: float | None) -> JointCounter:
        mags = self.settings.magnetometer and all(st.mag_seen for st in self.streams.values())
        if self.settings.magnetometer and not mags:
            missing = ", ".join(n for n, st in self.streams.items() if not st.mag_seen)
            self._notes.append(
                ev.SessionWarning(
                    t=self.last_t,
                    code="no_magnetometer",
                    message=(
                        f"magnetometer=True, but {missing} sent no magnetometer samples: angles are 6D "
                        "(heading from the hinge constraint)"
                    ),
                )
            )
        self._mode = "9d" if mags else "6d"
        return JointCounter(
            calibration,
            joint=self.joint or "knee",
            fs=self.fs,
            side=self.settings.side,
            mode=self._mode,
            rep_settings=self.rep_settings,
            count_from_t=count_from_t,
        )

    def _angles(self, p: Paired, count: bool = True) -> list[ev.SessionEvent]:
        if self.joint_counter is None:  # a calibration given up front (or none at all)
            self.joint_counter = self._joint_counter(self.calibration, None)
        jc = self.joint_counter
        assert jc is not None
        if count:
            vals, reps = jc.update(p)
        else:
            vals, reps = jc.angles(p), []
        out: list[ev.SessionEvent] = [
            ev.AngleUpdate(
                t=float(p.t[-1]),
                joint=self.joint,
                names=jc.names,
                angle_deg=float(vals[-1, 0]),
                times=p.t,
                values_deg=vals,
                bridged=p.bridged,
            )
        ]
        return out + self._range_warnings(p.t, vals[:, 0]) + self._rep_events(reps)

    # ------------------------------------------------------------------ body regions
    def _region_rows(self, rows: dict[str, Any] | None, final: bool = False) -> list[ev.SessionEvent]:
        rc = self.region
        assert rc is not None
        if rows is not None:
            self.last_t = max(self.last_t, float(rows["t"][-1]))
        out, t, vals, reps = rc.step(rows or {"t": None}, final=final)
        if final:
            reps = reps + rc.flush()
        if rc.phase == "counting":
            self.phase = "counting"
        elif rc.phase == "failed":
            self.phase = "failed"
        if t.size:
            out.append(ev.AngleUpdate(t=float(t[-1]), joint=self.joint, names=rc.names,
                                      angle_deg=float(vals[-1, 0]), times=t, values_deg=vals))
            out += self._range_warnings(t, vals[:, 0])
        return out + self._rep_events(reps)

    @property
    def primary_angle(self) -> str | None:
        """The counted angle's column (None: one sensor's dominant rotation)."""
        if self.region is not None:
            return self.region.ex.angle
        return PRIMARY_ANGLE.get(self.joint or "") if self.partner is not None else None

    # ------------------------------------------------------------------ one sensor
    def _single(self, rows: Rows) -> list[ev.SessionEvent]:
        sc = self.segment_counter
        assert sc is not None
        self.last_t = max(self.last_t, float(rows.t[-1]))
        times, sig, reps = sc.update(rows.t, rows.acc, rows.gyr)
        out: list[ev.SessionEvent] = self._given_up(sc.dropped, 1)
        if sc.deciding:
            out.append(
                ev.AngleUpdate(
                    t=float(rows.t[-1]),
                    joint=None,
                    names=(SEGMENT_ANGLE,),
                    angle_deg=math.nan,
                    times=rows.t,
                    values_deg=np.full((len(rows), 1), np.nan),
                    final=False,
                )
            )
            return out
        self.phase = "counting"
        return out + self._segment_angles(times, sig) + self._rep_events(reps)

    def _segment_angles(self, times: np.ndarray, sig: np.ndarray) -> list[ev.SessionEvent]:
        if times.size == 0:
            return []
        return [
            ev.AngleUpdate(
                t=float(times[-1]),
                joint=None,
                names=(SEGMENT_ANGLE,),
                angle_deg=float(sig[-1]),
                times=times,
                values_deg=sig[:, None],
            )
        ]

    def _given_up(self, dropped: list[np.ndarray], k: int) -> list[ev.SessionEvent]:
        """Final NaN angles for rows the protocol gave up while waiting (bounded memory)."""
        out = self._unknown(dropped, k)
        dropped.clear()
        return out

    def _unknown(
        self, times: list[np.ndarray], k: int, final: bool = True
    ) -> list[ev.SessionEvent]:
        """Angle updates of rows whose ``k`` angles are unknown (NaN)."""
        names = _KNEE_NAMES if self.partner is not None else (SEGMENT_ANGLE,)
        return [
            ev.AngleUpdate(
                t=float(t[-1]),
                joint=self.joint,
                names=names,
                angle_deg=math.nan,
                times=t,
                values_deg=np.full((t.size, k), np.nan),
                final=final,
            )
            for t in times
            if t.size
        ]

    # ------------------------------------------------------------------ events
    def _rep_events(self, reps: list[Rep]) -> list[ev.SessionEvent]:
        out = self._interrupted_events()
        for r in reps:
            r = self._judge(r)
            self.reps.append(r)
            out.append(ev.RepCompleted(t=float(r.emitted_s), rep=r, count=len(self.reps)))
            if r.flags & RepFlags.IMPLAUSIBLE:
                lo, hi = self._range or (-math.inf, math.inf)
                out.append(
                    ev.SessionWarning(
                        t=float(r.emitted_s),
                        code="implausible_rep",
                        message=(
                            f"rep {len(self.reps)} reaches {r.min_deg:.0f}..{r.max_deg:.0f}°, outside the "
                            f"{self.joint}'s anatomical range {lo:g}..{hi:g}°: the angles are not to be trusted "
                            "there (a sensor moved on its strap, or the calibration failed)"
                        ),
                    )
                )
        return out

    def _interrupted_events(self) -> list[ev.SessionEvent]:
        """Reps the counter saw cut by a gap since the last call (none counted)."""
        c = self.region or self.joint_counter or self.segment_counter
        counter = c.counter if c is not None else None
        if counter is None or len(counter.interrupted) == self.interrupted_seen:
            return []
        out: list[ev.SessionEvent] = []
        for r in counter.interrupted[self.interrupted_seen:]:
            self.interrupted_seen += 1
            self.interrupted.append(r)
            out.append(ev.RepInterrupted(t=float(r.emitted_s), rep=r,
                                         interrupted=len(self.interrupted)))
        return out

    def _judge(self, r: Rep) -> Rep:
        """A rep outside the joint's anatomical range is flagged ``IMPLAUSIBLE``."""
        if self._range is None or (self.partner is None and self.region is None):
            return r
        lo, hi = self._range
        if r.min_deg < lo or r.max_deg > hi:
            return dataclasses.replace(r, flags=r.flags | RepFlags.IMPLAUSIBLE)
        return r

    def _range_warnings(self, t: np.ndarray, x: np.ndarray) -> list[ev.SessionEvent]:
        """One warning each time the primary angle leaves the joint's anatomical range."""
        if self._range is None:
            return []
        lo, hi = self._range
        with np.errstate(invalid="ignore"):
            out_of = (x < lo) | (x > hi)
        starts = np.flatnonzero(out_of & ~np.concatenate([[self.outside], out_of[:-1]]))
        self.outside = bool(out_of[-1]) if x.size else self.outside
        name = self.joint or "joint"
        return [
            ev.SessionWarning(
                t=float(t[i]),
                code="out_of_range",
                message=(
                    f"{name} angle {x[i]:.0f}° at {t[i]:.1f} s is outside the anatomical range "
                    f"{lo:g}..{hi:g}°: flagged as implausible (not a joint position)"
                ),
            )
            for i in starts
        ]

    def _gap_events(self, gaps: list[GapReport]) -> list[ev.SessionEvent]:
        out: list[ev.SessionEvent] = []
        for g in gaps:
            cause = self._causes.pop(g.sensor, "missing_samples")
            out.append(
                ev.DataGap(
                    t=self.last_t,
                    sensor=g.sensor,
                    start_s=g.start_s,
                    end_s=g.end_s,
                    missing_samples=g.missing,
                    cause=cause,
                    bridged=g.bridged,
                )
            )
        return out

    # ------------------------------------------------------------------ results
    def final_reps(self) -> list[Rep]:
        """The reps so far with their extremes over the whole movement (after
        :meth:`finish`: final)."""
        if self.region is not None:
            return [self._judge(r) for r in self.region.refiner.reps()]
        if self.joint_counter is not None:
            return [self._judge(r) for r in self.joint_counter.refiner.reps()]
        return list(self.reps)

    @property
    def count_from_t(self) -> float | None:
        if self.region is not None and self.region.still is not None:
            return None
        if self.joint_counter is not None:
            return self.joint_counter.count_from_t
        return self.segment_counter.count_from_t if self.segment_counter is not None else None

    @property
    def mid_rep(self) -> bool:
        """True while a repetition is in progress."""
        c = self.region or self.joint_counter or self.segment_counter
        return bool(c is not None and c.mid_rep)

    def clock_offset(self) -> tuple[float, float] | None:
        """(shift s, relative drift ppm) of the partner's device clock against the reference's
        at the partner's first sample, from their host-clock fits; None without host times."""
        if self.partner is None:
            return None
        cr, cp = self.streams[self.ref].clock, self.streams[self.partner].clock
        if cr.fit is None or cp.fit is None or cp.t0 is None:
            return None
        (d0r, h0r, rr), (d0p, h0p, rp) = cr.fit, cp.fit
        host = h0p + (cp.t0 - d0p) * rp
        return d0r + (host - h0r) / rr - cp.t0, (rr / rp - 1.0) * 1e6

    @property
    def calibration_attempts(self) -> int:
        return self.calibrator.attempts if self.calibrator is not None else 0

    # ------------------------------------------------------------------ snapshot
    def snapshot(self) -> str:
        """The engine's state as versioned JSON, to resume a session after an app restart
        (:meth:`restore`; :mod:`.snapshot`): a counting two-sensor joint (knee, generic hinge,
        ...), body region (one or two sensors) or one-sensor engine. A session that restarts
        while calibrating (or, one sensor, deciding where counting starts) starts again."""
        return snapshot_engine(self)

    def restore(self, text: str) -> None:
        """Continue from :meth:`snapshot` (an engine built with the same sensors, exercise and
        options; another sensor set, body-region preset or kind of counter raises
        :class:`~motiontrack.errors.ConfigurationError`)."""
        restore_engine(self, text)
