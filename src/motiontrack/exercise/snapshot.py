"""Saving and restoring a counting engine (:meth:`ExerciseEngine.snapshot`), so a session
resumed after an app restart continues counting where it stopped.

The state is versioned JSON: every sensor's stream (fusion filter state, the resampler's last
sample, the clock fit), the rows waiting for their partner, the reps so far, and the counter's
own state (``kind``): for a two-sensor joint (``"joint"``: knee, generic hinge, ...) the
calibration, the angle estimator, the rep counter and the extremes refiner's window; for a body
region (``"region"``, one or two sensors) the region counter's pose, segment axes, rotation
integrators, tilt unwrapping, late-start flag, rep counter and refiner
(:meth:`.RegionCounter.state`); for one sensor's dominant rotation (``"segment"``) where
counting started and the IMU-mode rep counter with its learnt axis. Version 3 added ``kind`` and the regions; version 2 states
(joints only) are still read.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigurationError
from ..kinematics import SegmentCalibration
from .counting import rep_from_state, rep_state

if TYPE_CHECKING:  # pragma: no cover - the engine imports this module
    from .engine import ExerciseEngine

__all__ = ["SNAPSHOT_FORMAT", "SNAPSHOT_VERSION", "restore_engine", "snapshot_engine"]

SNAPSHOT_FORMAT = "motiontrack.engine_state"
SNAPSHOT_VERSION = 3
_READS = (2, 3)  # version 2: two-sensor joints only, no "kind"


def snapshot_engine(e: ExerciseEngine) -> str:
    """The state of a calibrated, counting engine (two-sensor joint, body region, one sensor)
    as JSON text."""
    if e.region is not None:
        if e.phase != "counting":
            raise ConfigurationError("only a calibrated, counting session can be saved")
        return json.dumps({
            "format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION, "kind": "region",
            "last_t": e.last_t,
            "streams": {n: st.state() for n, st in e.streams.items()},
            "pairing": e.pairing.state() if e.pairing is not None else None,
            "region": e.region.state(),
            "outside": e.outside,
            "reps": [rep_state(r) for r in e.reps],
            "interrupted": [rep_state(r) for r in e.interrupted],
        })
    if e.segment_counter is not None:
        if e.segment_counter.deciding:
            raise ConfigurationError("only a counting session can be saved (the one-sensor "
                                     "start is not decided yet)")
        return json.dumps({
            "format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION, "kind": "segment",
            "last_t": e.last_t,
            "streams": {n: st.state() for n, st in e.streams.items()},
            "segment": e.segment_counter.state(),
            "reps": [rep_state(r) for r in e.reps],
            "interrupted": [rep_state(r) for r in e.interrupted],
        })
    jc = e.joint_counter
    if e.phase != "counting" or jc is None or e.pairing is None:
        raise ConfigurationError("only a calibrated, counting two-sensor session can be saved")
    d: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "kind": "joint",
        "calibration": json.loads(e.calibration.to_json()) if e.calibration is not None else None,
        "pose": e.pose,
        "mode": jc.mode,
        "count_from_t": jc.count_from_t,
        "last_t": e.last_t,
        "streams": {n: st.state() for n, st in e.streams.items()},
        "pairing": e.pairing.state(),
        "estimator": jc.estimator.state.tolist(),
        "counter": None
        if jc.counter is None
        else {"state": jc.counter.state.tolist(), "t0": jc.counter_t0},
        "refiner": jc.refiner.state(),
        "last_primary": jc.last_primary if math.isfinite(jc.last_primary) else None,
        "outside": e.outside,
        "reps": [rep_state(r) for r in e.reps],
        "interrupted": [rep_state(r) for r in e.interrupted],
    }
    return json.dumps(d)


def restore_engine(e: ExerciseEngine, text: str) -> None:
    """Put ``e`` (built with the same sensors and options) in the saved state."""
    d = json.loads(text)
    if d.get("format") != SNAPSHOT_FORMAT or d.get("version") not in _READS:
        raise ConfigurationError(
            f"not a motiontrack engine state of version {' or '.join(map(str, _READS))}"
        )
    if set(d["streams"]) != set(e.streams):
        raise ConfigurationError(
            f"the state is of sensors {sorted(d['streams'])}, not {sorted(e.streams)}"
        )
    kind = d.get("kind", "joint")
    mine = "region" if e.region is not None else "joint" if e.pairing is not None else "segment"
    if kind != mine:
        raise ConfigurationError(f"the state is of a {kind} session, this engine counts a {mine}")
    if kind in ("region", "segment"):
        _restore_counter(e, d)
        return
    assert e.pairing is not None
    cal = SegmentCalibration.from_json(json.dumps(d["calibration"])) if d["calibration"] else None
    e.calibration, e.pose, e.last_t = cal, d["pose"], float(d["last_t"])
    for n, st in d["streams"].items():
        e.streams[n].restore(st)
    e.pairing.restore(d["pairing"])
    jc = e.start_counting(cal, d["count_from_t"])
    if jc.mode != d["mode"]:
        raise ConfigurationError(f"the state is of {d['mode']} angles, the settings give {jc.mode}")
    jc.estimator.state = np.asarray(d["estimator"], dtype=np.float64)
    if d["counter"] is not None:
        jc.start_counter(float(d["counter"]["t0"]))
        assert jc.counter is not None
        jc.counter.state = np.asarray(d["counter"]["state"], dtype=np.float64)
    jc.refiner.restore(d["refiner"])
    jc.last_primary = math.nan if d["last_primary"] is None else float(d["last_primary"])
    e.outside = bool(d["outside"])
    e.reps = [rep_from_state(r) for r in d["reps"]]
    e.interrupted = [rep_from_state(r) for r in d["interrupted"]]
    e.interrupted_seen = 0  # the restored counter starts with none of its own


def _restore_counter(e: ExerciseEngine, d: dict[str, Any]) -> None:
    """A body region's or one sensor's engine."""
    if e.region is not None:
        e.region.restore(d["region"])  # first: it checks the preset and the number of sensors
        e.outside = bool(d["outside"])
    else:
        assert e.segment_counter is not None
        e.segment_counter.restore(d["segment"])
    e.last_t, e.phase = float(d["last_t"]), "counting"
    for n, st in d["streams"].items():
        e.streams[n].restore(st)
    if e.pairing is not None:
        e.pairing.restore(d["pairing"])
    e.reps = [rep_from_state(r) for r in d["reps"]]
    e.interrupted = [rep_from_state(r) for r in d["interrupted"]]
    e.interrupted_seen = 0
