"""Issue 17 (first run, live terminal view) and issue 13 (the demo judged on session time).

* The demo's length, reps and ground truth are a function of the data alone: an engine held
  up for seconds (as by compiling kernels on a first run) gives the same result as one that
  keeps up. The hold-up is real (the engine's thread sleeps), nothing is mocked.
* The terminal view prints its lines in session-time order and says what the angle waits for.
* The first-run notice and the compile plan: a fresh cache compiles, a warm one does not.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time

import numpy as np

from motiontrack import events as ev
from motiontrack.cli._live import LiveView
from motiontrack.demo import _before_end, run_demo, stop_time
from motiontrack.exercise import ExerciseEngine
from motiontrack.reps import Rep, RepFlags
from motiontrack.virtual.motion import KneeMotion


async def test_demo_result_does_not_depend_on_how_fast_the_engine_keeps_up(monkeypatch):
    kw = dict(seconds=6.0, exercise="squat", speed=4.0, seed=0)
    prompt: list[float] = []
    steady = await run_demo(**kw, on_event=lambda e: prompt.append(e.t))
    feed = ExerciseEngine.feed
    held = [False]

    def slow_feed(self, *args, **kwargs):  # the first block waits 4 s, as a cold compile does
        if not held[0]:
            held[0] = True
            time.sleep(4.0)
        return feed(self, *args, **kwargs)

    monkeypatch.setattr(ExerciseEngine, "feed", slow_feed)
    seen: list[ev.SessionEvent] = []
    late = await run_demo(**kw, on_event=seen.append)
    assert held[0]
    for res in (steady, late):  # the end: the first rest after --seconds and the calibration
        assert res.calibrated_s is not None and not res.timed_out
        # (a machine so busy that the virtual radio loses data makes real gaps: a rep cut by
        # one is reported as interrupted, not counted; the comparison below needs no gap)
        assert res.gaps > 0 or (res.count_ok and len(res.reps) >= 1), res.to_dict()
        assert max(6.0, res.calibrated_s) <= res.seconds <= max(6.0, res.calibrated_s) + 12.0
        assert abs(res.seconds / 0.05 - round(res.seconds / 0.05)) < 1e-6
        assert all(r.start_s < res.seconds for r in res.reps)
    # Two live runs are not bit-identical (the sensors' clocks are related through host
    # arrival times), and the engine's calibration attempt at 14 s or 19 s sometimes passes
    # and sometimes not on such near-identical data (see the report of issue 17); given the
    # same calibration, the delay changes neither the end nor the count.
    if abs(late.calibrated_s - steady.calibrated_s) < 0.05 and not (late.gaps or steady.gaps):
        assert late.seconds == steady.seconds and len(late.reps) == len(steady.reps)
        assert np.allclose([r.start_s for r in late.reps], [r.start_s for r in steady.reps],
                           atol=0.1)
    # what the view was shown ends with the demo
    shown = [e for e in seen if isinstance(e, ev.RepCompleted)]
    assert [e.rep.start_s for e in shown] == [r.start_s for r in late.reps]


def test_stop_time_is_a_rest_of_the_simulated_patient():
    knee = KneeMotion("squat", seed=0)
    offset = 1.234  # simulation time at session time 0
    for t_min in (5.0, 20.0, 33.3):
        t = stop_time(knee, lambda s: s + offset, t_min, 12.0)
        assert t_min <= t <= t_min + 12.0
        sim = knee.sim_time(np.array([t + offset]))[0]
        assert not any(r.start_s - 0.3 <= sim <= r.end_s + 0.4 for r in knee.session.truth.reps)
        assert abs(t / 0.05 - round(t / 0.05)) < 1e-6  # on the grid
        assert t == stop_time(knee, lambda s: s + offset, t_min, 12.0)


def _rep(start: float, end: float) -> Rep:
    return Rep(index=0, set_index=0, start_s=start, peak_s=(start + end) / 2, end_s=end,
               start_deg=0.0, peak_deg=90.0, end_deg=0.0, min_deg=0.0, max_deg=90.0,
               rom_deg=90.0, duration_s=end - start, hold_s=0.0, emitted_s=end + 0.3,
               flags=RepFlags(0))


def test_events_after_the_end_are_not_the_demos():
    late = ev.RepCompleted(t=40.0, rep=_rep(21.0, 24.0), count=4)
    after = ev.RepCompleted(t=40.0, rep=_rep(31.0, 34.0), count=5)
    assert _before_end(late, []) and _before_end(after, [])
    assert _before_end(late, [30.0]) and not _before_end(after, [30.0])
    # a rep the counter starts during the patient's last rest, before the end (its turning
    # point after it), is the next set's: counted only when a lagging engine finished it
    # before the session closed, it made the count depend on the machine's speed
    next_one = ev.RepCompleted(t=40.0, rep=_rep(29.5, 33.0), count=5)
    assert not _before_end(next_one, [30.0])
    assert not _before_end(ev.CalibrationFailed(t=31.0, reason="x", will_retry=True), [30.0])
    assert _before_end(ev.SessionEnded(t=50.0, rep_count=5, summary={}), [30.0])


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_live_view_prints_in_session_time_order_and_says_what_is_pending():
    out = _Tty()
    view = LiveView(stream=out, fps=1e9)
    nan = np.full((1, 1), np.nan)
    events = [  # as the engine sends them: reps made while calibrating come after CalibrationDone
        ev.SessionStarted(t=0.0, sensors=("thigh", "shank"), joint="knee", source="sim"),
        ev.CalibrationPrompt(t=0.0, step="still", message="Stand still", duration_s=2.0),
        ev.AngleUpdate(t=1.0, joint="knee", names=("flexion_deg",), angle_deg=float("nan"),
                       times=np.array([1.0]), values_deg=nan, final=False),
        ev.CalibrationPrompt(t=2.0, step="move", message="Exercise", duration_s=0.0),
        ev.CalibrationFailed(t=14.15, reason="keep moving", will_retry=True),
        ev.CalibrationDone(t=24.15, calibration=None, pose="standing", confidence=1.0),  # type: ignore[arg-type]
        ev.RepCompleted(t=7.09, rep=_rep(4.1, 7.0), count=1),
        ev.RepCompleted(t=21.5, rep=_rep(18.0, 21.4), count=2),
        ev.AngleUpdate(t=24.2, joint="knee", names=("flexion_deg",), angle_deg=45.0,
                       times=np.array([24.2]), values_deg=np.full((1, 1), 45.0)),
    ]
    pending = []
    for e in events:
        view(e)
        pending.append(out.getvalue().rsplit("\r\x1b[2K", 1)[-1])
    view.close()
    text = out.getvalue()
    times = [float(m) for m in re.findall(r"\[\s*([\d.]+) s\]", text)]
    assert times == sorted(times) and times[-1] == 24.15
    assert "rep  1 (4.1-7.0 s)" in text and "rep  2 (18.0-21.4 s)" in text
    assert "flexion pending: calibrating: hold still" in pending[2]
    assert "pending: calibrating: keep moving" in pending[4]
    assert "flexion   45.0°" in pending[-1] and "pending" not in pending[-1]


def test_a_first_run_says_so_at_once_and_a_warm_one_does_not(tmp_path):
    """The notice is decided without importing numba (the CLI prints it before any heavy
    import) from numba's index files in the cache folder: none there is a first run."""
    code = (
        "import sys; from motiontrack._kernels import _cache; "
        "print(*_cache.first_run_s('vqf'), 'numba' in sys.modules)"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))

    def ask() -> list[str]:
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        return run.stdout.split()

    fg, bg, numba = ask()
    assert float(fg) > 0 and float(bg) > float(fg) and numba == "False"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "vqf.runb-12.py311.nbi").write_bytes(b"")  # as numba names them
    fg2, bg2, _ = ask()
    assert float(fg2) == 0 and float(bg2) < float(bg)  # the filter's kernels are there
    for name in ("quaternion", "joint", "vqf_offline", "reps"):
        (tmp_path / "sub" / f"{name}.f-1.py311.nbi").write_bytes(b"")
    assert ask()[:2] == ["0.0", "0.0"]
