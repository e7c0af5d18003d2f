"""The VQF-class filter over dropped gyroscope samples: their time is carried, not lost."""

from __future__ import annotations

import numpy as np
import pytest

from motiontrack._kernels.fusion_common import MAX_GAP_CARRY_S
from motiontrack._kernels.vqf_layout import S_CARRY
from motiontrack.fusion import VQF, FusionFlag, fuse
from motiontrack.quaternion import angle_between, from_rotvec, multiply, rotate

FS = 100.0
FIELD = np.array([0.0, 18.0, -42.0])  # µT, ENU


def _constant_rate(n: int, rate) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free acc/gyr/mag of a constant rotation rate (exact per-sample exponential)."""
    w = np.tile(np.asarray(rate, float), (n, 1))
    q = np.empty((n, 4))
    cur = np.array([1.0, 0.0, 0.0, 0.0])
    step = from_rotvec(np.asarray(rate, float) / FS)
    for i in range(n):
        cur = multiply(cur, step)
        q[i] = cur
    acc = rotate(q, np.array([0.0, 0.0, 9.81]), inverse=True)
    mag = rotate(q, FIELD, inverse=True)
    return acc, w, mag, q


@pytest.mark.parametrize("with_mag", [False, True])
def test_every_tenth_gyro_row_dropped_ends_at_the_same_orientation(with_mag):
    acc, gyr, mag, q_true = _constant_rate(2000, [0.3, -0.2, 0.6])
    m = mag if with_mag else None
    holes = gyr.copy()
    holes[5::10] = np.nan  # every 10th row, never the last
    full = fuse(acc, gyr, m, fs=FS)
    r = fuse(acc, holes, m, fs=FS, full_output=True)
    assert r.diagnostics.counts["gyr_gap"] == 200
    assert np.count_nonzero(r.flags & FusionFlag.GYR_GAP) == 200
    # the rotation of each dropped period is integrated with the next rate: no lag builds up
    assert angle_between(r.quaternion[-1], full[-1]) < 1e-9
    assert angle_between(r.quaternion[-1], q_true[-1]) < 1e-9
    # without the carry, 200 lost periods of 0.72 rad/s would be 1.4 rad behind
    lost = np.linalg.norm([0.3, -0.2, 0.6]) * 200 / FS
    assert lost > 1.0


def test_dropped_rows_equal_the_rows_absent_with_longer_periods():
    # a NaN gyroscope row within the carry limit behaves exactly like a timestamped stream in
    # which that row is missing (every dt-dependent gain uses the sample's full period)
    rng = np.random.default_rng(3)
    n = 1500
    acc, gyr, mag, _ = _constant_rate(n, [0.1, 0.4, -0.3])
    acc = acc + rng.normal(0, 0.05, acc.shape)
    gyr = gyr + rng.normal(0, 0.003, gyr.shape) + [0.01, -0.005, 0.0]
    mag = mag + rng.normal(0, 0.3, mag.shape)
    drop = np.zeros(n, bool)
    drop[rng.choice(np.arange(1, n - 1), 150, replace=False)] = True
    drop[700:703] = True  # a run of three
    holes = gyr.copy()
    holes[drop] = np.nan
    q_holes = VQF(fs=FS).update(acc, holes, mag)
    keep = ~drop
    # the period of each kept row: its own plus the dropped rows just before it, summed in
    # the kernel's order
    dt = np.empty(keep.sum())
    k, carry = 0, 0.0
    for i in range(n):
        if drop[i]:
            carry += 1.0 / FS
        else:
            dt[k] = 1.0 / FS + carry if carry > 0.0 else 1.0 / FS
            carry, k = 0.0, k + 1
    q_absent = VQF(fs=FS).update(acc[keep], gyr[keep], mag[keep], dt=dt)
    np.testing.assert_array_equal(q_holes[keep], q_absent)


def test_gap_longer_than_the_limit_is_not_carried():
    acc, gyr, _, _ = _constant_rate(300, [0.0, 0.0, 1.0])
    gyr[100:200] = np.nan  # 1 s > MAX_GAP_CARRY_S: a real gap, its time is dropped
    assert 100 / FS > MAX_GAP_CARRY_S
    f = VQF(fs=FS)
    q = f.update(acc, gyr)
    # only the 200 valid samples rotate the (6D, heading-free) estimate about vertical
    assert angle_between(q[-1], from_rotvec([0.0, 0.0, 200 / FS])) < 1e-6
    assert f.state[S_CARRY] == 0.0  # carry slot cleared by the next valid sample


def test_gap_carry_one_by_one_batch_split_and_state_are_identical():
    rng = np.random.default_rng(7)
    n = 400
    acc = rng.normal([0, 0, 9.81], 0.2, (n, 3))
    gyr = rng.normal(0, 0.5, (n, 3))
    mag = rng.normal([0, 18, -42], 1.0, (n, 3))
    gyr[rng.random(n) < 0.1] = np.nan
    gyr[199:201] = np.nan  # a gap across the split point: the carry travels in the state
    batch = VQF(fs=FS)
    q_batch = batch.update(acc, gyr, mag)
    one = VQF(fs=FS)
    q_one = np.array([one.update(acc[i], gyr[i], mag[i]) for i in range(n)])
    np.testing.assert_array_equal(q_one, q_batch)
    a = VQF(fs=FS)
    q_a = a.update(acc[:200], gyr[:200], mag[:200])
    assert a.state[S_CARRY] > 0.0  # a carried gap is part of the state
    b = VQF(fs=FS)
    b.state = a.state
    q_b = b.update(acc[200:], gyr[200:], mag[200:])
    np.testing.assert_array_equal(np.vstack([q_a, q_b]), q_batch)


# -- extras of large blocks are computed on demand ------------------------------------------


def test_lazy_block_extras_equal_one_by_one_extras():
    rng = np.random.default_rng(5)
    n = 300  # > 64: the block path computes the extras when first read
    acc, gyr, mag, _ = _constant_rate(n, [0.2, -0.1, 0.5])
    acc = acc + rng.normal(0, 0.05, acc.shape)
    gyr = gyr + rng.normal(0, 0.003, gyr.shape)
    gyr[rng.random(n) < 0.05] = np.nan
    batch = VQF(fs=FS)
    q = batch.update(acc, gyr, mag)
    ex = batch.extras
    assert set(ex) == set(VQF.extra_layout)
    single = VQF(fs=FS)
    rows = {k: [] for k in VQF.extra_layout}
    for i in range(n):
        np.testing.assert_array_equal(single.update(acc[i], gyr[i], mag[i]), q[i])
        for k, v in single.extras.items():
            rows[k].append(v[0])
    for k in VQF.extra_layout:
        np.testing.assert_array_equal(np.array(rows[k]), ex[k], err_msg=k)
    # and the same through fuse(full_output=True)
    r = fuse(acc, gyr, mag, fs=FS, full_output=True)
    np.testing.assert_array_equal(r.extras["gyr_bias"], ex["gyr_bias"])


def test_lazy_extras_refuse_inputs_changed_in_place():
    from motiontrack.errors import InputError

    acc, gyr, _, _ = _constant_rate(200, [0.0, 0.3, 0.4])
    f = VQF(fs=FS)
    f.update(acc, gyr)
    gyr[50:] = 0.0  # the caller reuses its buffer before reading the extras
    with pytest.raises(InputError, match="changed in place"):
        f.extras["gyr_bias"]
