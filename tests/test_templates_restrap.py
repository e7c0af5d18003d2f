"""A re-strapped sensor (issue 15): ``frame="aligned"`` estimates each sensor's rotation
relative to the template and counts as if it had not moved.

Truth: a simulated session whose sensors are rotated by known rotations after the template
was cut from it (the same mounting, so the re-strap is exactly the rotation applied).
"""

from __future__ import annotations

import numpy as np
import pytest

from motiontrack.reps import TemplateCounter, TemplateSettings
from motiontrack.reps._restrap import REST_S, Mounting, alignment_window
from motiontrack.simulation import simulate_knee_session
from motiontrack.template_analysis import create_template, imu_grid

SEGMENTS = ["thigh", "shank"]
ALIGNED = TemplateSettings(frame="aligned")


def rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation matrix (unit quaternion from a normal sample)."""
    w, x, y, z = (q := rng.normal(size=4)) / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def angle_deg(R: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))


@pytest.fixture(scope="module")
def knee():
    s = simulate_knee_session("seated_knee_extension", reps=6, seed=3)
    rec = s.to_recording()
    r = s.truth.reps[1]
    tpl = create_template(rec, span=(r.start_s - 0.3, r.end_s + 0.3), segments=SEGMENTS,
                          label="knee_ext", settings=ALIGNED)
    t, fs, imu = imu_grid(rec, SEGMENTS)
    return tpl, fs, imu, len(s.truth.reps)


def count(tpl, fs, imu, block: int | None = None) -> tuple[int, TemplateCounter]:
    c = TemplateCounter([tpl], fs=fs, settings=ALIGNED)
    n = next(iter(imu.values()))[0].shape[0]
    step = block or n
    reps = []
    for i in range(0, n, step):
        reps += c.update(imu={k: (g[i:i + step], a[i:i + step]) for k, (g, a) in imu.items()})
    return len(reps + c.flush()), c


def test_restrapped_sensors_count_the_same_and_the_rotation_is_found(knee):
    tpl, fs, imu, n_true = knee
    n0, c0 = count(tpl, fs, imu)
    assert n0 == n_true
    # unrotated: the estimate is the identity
    assert all(angle_deg(R) < 5.0 for R in c0.mounting.rotations), c0.mounting.angles_deg()
    rng = np.random.default_rng(7)
    for _ in range(3):
        Rs = {k: rotation(rng) for k in imu}
        rot = {k: (g @ Rs[k].T, a @ Rs[k].T) for k, (g, a) in imu.items()}
        n, c = count(tpl, fs, rot)
        assert n == n_true
        m = c.mounting
        assert isinstance(m, Mounting) and m.exercise == "knee_ext"
        # session -> template is the inverse of the re-strap: R_est @ R_true = I within 5°
        # (fitted on the first rep alone: the window closes when it is back at rest)
        err = [angle_deg(m.rotations[i] @ Rs[k]) for i, k in enumerate(SEGMENTS)]
        assert max(err) < 5.0, err  # measured: 0.68° and 2.37°


def test_the_sensor_frame_alone_fails_when_restrapped(knee):
    """Why the estimate is needed: the same session, sensor-frame features, re-strapped."""
    tpl, fs, imu, n_true = knee
    R = rotation(np.random.default_rng(1))
    assert angle_deg(R) > 60
    rot = {k: (g @ R.T, a @ R.T) for k, (g, a) in imu.items()}
    st = TemplateSettings(frame="sensor")
    sensor_tpl = type(tpl)(label=tpl.label, source=tpl.source, examples=tpl.examples,
                           frame="sensor")
    c = TemplateCounter([sensor_tpl], fs=fs, settings=st)
    assert len(c.update(imu=rot) + c.flush()) < n_true


def test_streamed_in_blocks_gives_the_same_estimate_and_reps(knee):
    tpl, fs, imu, n_true = knee
    R = rotation(np.random.default_rng(2))
    rot = {k: (g @ R.T, a @ R.T) for k, (g, a) in imu.items()}
    n1, c1 = count(tpl, fs, rot)
    n2, c2 = count(tpl, fs, rot, block=37)
    assert n1 == n2 == n_true
    assert c1.mounting.window == c2.mounting.window
    np.testing.assert_allclose(c1.mounting.rotations, c2.mounting.rotations, atol=1e-9)


def test_window_waits_for_a_rest_and_the_examples():
    fr, tau = 25.0, 0.5
    F = np.zeros((200, 6))
    F[:, 2] = 1.0
    F[:20, 3] = 0.5 * tau  # moving (0.5 rad/s) for 0.8 s, then still from sample 20 on
    F[40:, 3] = 1.0 * tau  # moving again from sample 40: the rest ends there
    assert alignment_window(F[:39], 1, fr, tau, longest=20) is None  # the rest has not ended
    assert alignment_window(F[:60], 1, fr, tau, longest=20) is None  # 2.5 examples not yet in
    assert alignment_window(F, 1, fr, tau, longest=20) == (20, 40 + 50)  # the rest, then 50
    assert alignment_window(F[:60], 1, fr, tau, longest=20, final=True) == (20, 60)
    # a slow movement (below the rate threshold) that tilts "up" ends the rest: at 3° of tilt
    G = F.copy()
    G[20:, 3] = 0.0  # still by its rate from sample 20 on ...
    tilt = np.r_[np.zeros(30), np.linspace(0, 20, 170)]  # ... but tilting from sample 30 on
    G[:, 1], G[:, 2] = np.sin(np.radians(tilt)), np.cos(np.radians(tilt))
    end = int(np.flatnonzero(tilt > 3.0)[0])  # 56
    assert alignment_window(G, 1, fr, tau, longest=20) == (20, end + 50)
    # no rest at the start: the start is the rest, once the window is in
    H = F.copy()
    H[:, 3] = 1.0 * tau
    assert alignment_window(H[:50], 1, fr, tau, longest=20) is None
    assert alignment_window(H, 1, fr, tau, longest=20) == (0, round(REST_S * fr) + 50)


def test_live_the_first_rep_is_reported_as_promptly_as_the_others(knee):
    """Streamed in blocks of 10 samples: the estimate's window closes once the first rep is
    back at rest, so every rep, the first too, is reported within max_delay_s + slack_s + two
    feature samples of its end, and never before the block that completed it."""
    tpl, fs, imu, n_true = knee
    c = TemplateCounter([tpl], fs=fs, settings=ALIGNED)
    n = next(iter(imu.values()))[0].shape[0]
    reps, fed_until = [], []
    for i in range(0, n, 10):
        got = c.update(imu={k: (g[i:i + 10], a[i:i + 10]) for k, (g, a) in imu.items()})
        reps += got
        fed_until += [(min(i + 10, n) - 1) / fs] * len(got)
    assert len(reps) == n_true  # all reported live, none left for flush
    assert c.mounting.window[1] / ALIGNED.feature_rate_hz < reps[0].end_s + 0.5
    bound = ALIGNED.max_delay_s + ALIGNED.slack_s + 2 / ALIGNED.feature_rate_hz
    for r, t in zip(reps, fed_until):
        assert r.end_s <= r.emitted_s <= t + 1e-9
        assert r.emitted_s - r.end_s <= bound


def test_template_from_another_session_and_mounting():
    """The template's session and the test session strap the sensor differently (any
    orientation): aligned counts every rep and flags the two partial ones; the sensor frame
    alone does not count them."""
    from motiontrack.template_analysis import analyze_templates

    tpl_s = simulate_knee_session("seated_knee_extension", reps=3, seed=1)
    sess = simulate_knee_session("seated_knee_extension", reps=8, seed=2, partial_reps=2,
                                 drop_rate=0.01, max_mount_deg=180.0)
    r = tpl_s.truth.reps[1]
    counts = {}
    for frame in ("sensor", "aligned"):
        t = create_template(tpl_s.to_recording(), span=(r.start_s - 0.3, r.end_s + 0.3),
                            segments=["shank"], label="k", settings=TemplateSettings(frame=frame))
        res = analyze_templates(sess.to_recording(), [t])
        counts[frame] = res.rep_count
        if frame == "aligned":
            partial = [p.partial for p in sess.truth.reps]
            assert [x.amplitude_ratio < 0.7 for x in res.reps] == partial
    assert counts["aligned"] == 8 and counts["sensor"] < 8, counts
