"""Memory of a long live session (found by the 30-minute soak, issue 8).

The session pipeline keeps the whole angle trace (``Pipeline.angle_trace()``, used by
``final_reps``) as a list of per-block arrays: each block keeps a *view* of the joint
angle block (``primary = vals[:, 0]`` keeps the whole (n, 3) ``values_deg`` array alive)
plus the grid, each a separate numpy object (~100 B of overhead per 10-sample block).
Measured: ~68 bytes per 200 Hz sample, i.e. ~24 MB per session per 30 minutes, growing
linearly; the soak's RSS grows with it. A contiguous growable buffer of (t, angle)
float64 pairs needs 16 bytes per sample. This test fails until the trace is compact.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from motiontrack.session import Pipeline
from motiontrack.virtual import KneeMotion

FS = 200.0
MAX_BYTES_PER_SAMPLE = 24.0  # a (t, angle) float64 trace is 16 B; a little room for the rest


@pytest.mark.timeout(120)
def test_session_trace_memory_per_sample_is_compact():
    knee = KneeMotion("squat", seed=0)
    t = np.arange(0.0, 90.0, 1.0 / FS)
    th = knee.segment("thigh").sample(t)
    sh = knee.segment("shank").sample(t)
    pipe = Pipeline({"thigh": FS, "shank": FS}, exercise="squat", use_host_time=False)
    marks: dict[str, tuple[int, int]] = {}
    tracemalloc.start()
    try:
        for i in range(0, t.size, 10):
            pipe.feed("thigh", t[i : i + 10], th[0][i : i + 10], th[1][i : i + 10])
            pipe.feed("shank", t[i : i + 10], sh[0][i : i + 10], sh[1][i : i + 10])
            if i in (int(45 * FS), t.size - 10):  # after calibration and warm-up; the end
                gc.collect()
                marks[str(i)] = (tracemalloc.get_traced_memory()[0], i)
    finally:
        tracemalloc.stop()
    assert pipe.cal_state == "done"
    (m0, i0), (m1, i1) = marks.values()
    per_sample = (m1 - m0) / (i1 - i0)
    assert per_sample < MAX_BYTES_PER_SAMPLE, f"{per_sample:.1f} bytes retained per {FS:g} Hz sample"
