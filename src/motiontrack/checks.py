"""Input checks in one place: units, time axes, non-finite rows.

Every entry point that takes sensor arrays from a user (:func:`motiontrack.fuse`, the
CSV reader, the ``.mtrec`` reader, hence ``motiontrack analyze``) runs these functions,
so the same mistake gives the same :class:`~motiontrack.errors.InputError` message
everywhere (a file reader puts ``<path>: sensor '<name>': `` in front of it). Each
message says what was seen, what physics expects, the likely unit and the fix.

The rules are physical and robust (medians and quantiles, so a few glitches, gaps or a
long still period do not decide), and they only fire when the data are *far* from the
SI range: valid data must never be rejected. Rows with a NaN or ±inf are gaps
(motiontrack counts gaps, it does not raise on them) and are left out of the statistics;
so are all-zero accelerometer rows (a documented "no tilt correction" input). Fewer than
:data:`MIN_ROWS` usable rows: no statistical check.

Thresholds and why
------------------
Accelerometer (:func:`check_accelerometer`), median of ``|acc|`` over the usable rows:
    a body-worn sensor reads gravity, 9.81 m/s², when still and oscillates around it
    when moving, so the median is ~9.81 (the project's simulated sessions: 9.81 ± 0.01).
    In g it is ~1, in mg ~1000. Accepted as m/s²: anything outside the g band
    [:data:`ACC_G_BAND`] and the mg band [:data:`ACC_MG_BAND`] (factors ~2.5 either side
    of 1 g), which leaves room for ±1 g of motion and ~1 g of sensor error.
Gyroscope (:func:`check_gyroscope`):
    the statistic is the median ``|gyr|`` of the fastest tenth of the samples (the
    moving part, whatever the share of rest). In rad/s it is 0.30-3.2 over 1232
    simulated knee sessions (every exercise, fast reps included) and up to 11.4 in the
    BROAD benchmark's fast hand-held rotations (the fastest valid data at hand); in
    deg/s it is 57.3x larger, so at least 17.5 for the slowest simulated thigh. Deg/s
    is reported above :data:`GYR_MOVING_MAX` = 15 rad/s (860 deg/s sustained, between
    the two), or when the 99th percentile of ``|gyr|`` exceeds :data:`GYR_PEAK_MAX` =
    35 rad/s (2000 deg/s, the largest common gyroscope range: a rad/s sensor cannot
    read more). Not caught: a recording that never moves (still in deg/s, 0.1-3 deg/s
    of noise and bias, looks like slow motion in rad/s; the still-pose calibration then
    fails, "not still"), and a sensor that moves less than ~15 deg/s over its fastest
    tenth (a very slow seated thigh; the shank of the same recording is caught). In the
    physical-therapy dataset in deg/s, about half of the 5 units per session (those on
    segments the exercise hardly moves) pass, and every session has a unit caught.
Magnetometer (:func:`check_magnetometer`), median of ``|mag|``:
    Earth's field is 25-65 µT; indoor disturbances and an uncalibrated hard-iron offset
    widen that to ~5-250 µT (:data:`MAG_UT_BAND`). Outside it, the unit that brings the
    median into 12-130 µT (Earth's range with a factor 2 margin) is named: nT reads
    ~50 000 (/1000), mG ~500 (/10), gauss ~0.5 (x100), tesla ~5e-5 (x1e6). A median
    that no unit explains is left to the filters' disturbance rejection.

Only a median that a wrong unit explains raises: data far from a body-worn sensor's but
in no known unit are not rejected here.
Timestamps (:func:`check_timestamps`), median positive period:
    with ``fs``, a period of ~1000/fs means ms, ~1e6/fs µs, ~1e9/fs ns (within a factor
    of 2). Without ``fs``, an implied rate below :data:`MIN_RATE_HZ` = 1 Hz (no body-worn
    IMU samples that slowly) that becomes 1 Hz-10 kHz once divided by 1000, 1e6 or 1e9
    names that unit. Order: a value that goes backwards or repeats is counted; with
    ``require_increasing=True`` (files, after sorting) a repeat is an error naming how
    many, since which of the two rows is right cannot be known.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .conventions import GRAVITY
from .errors import InputError

__all__ = [
    "ACC_G_BAND",
    "ACC_MG_BAND",
    "GYR_MOVING_MAX",
    "GYR_PEAK_MAX",
    "MAG_UT_BAND",
    "MIN_RATE_HZ",
    "MIN_ROWS",
    "SaturationWatch",
    "TiltAgreementWatch",
    "TimestampReport",
    "check_accelerometer",
    "check_gyroscope",
    "check_imu",
    "check_magnetometer",
    "check_timestamps",
]

#: fewer usable rows than this: no statistical unit check
MIN_ROWS = 10
#: median |acc| in this band: the data are in g, not m/s²
ACC_G_BAND = (0.4, 2.5)
#: median |acc| in this band: the data are in mg
ACC_MG_BAND = (400.0, 2500.0)
#: median |gyr| of the fastest tenth of the samples above this, rad/s: deg/s
GYR_MOVING_MAX = 15.0
#: 99th percentile of |gyr| above this, rad/s (2000 deg/s): deg/s or corrupted
GYR_PEAK_MAX = 35.0
#: plausible median |mag|, µT (Earth's field 25-65 µT, plus disturbances and offsets)
MAG_UT_BAND = (5.0, 250.0)
#: implied sample rates below this, Hz, are not an IMU's: a time unit is wrong
MIN_RATE_HZ = 1.0
_MAX_RATE_HZ = 10_000.0
_DEG = math.pi / 180.0


def _norms(x: npt.ArrayLike, name: str) -> np.ndarray:
    """Row norms of the usable rows (finite, not all zero) of an (N, 3) array."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise InputError(f"{name} must have shape (N, 3), got {a.shape}")
    ok = np.isfinite(a).all(axis=1)
    n = np.linalg.norm(a[ok], axis=1)
    return n[n > 0]


def check_accelerometer(acc: npt.ArrayLike) -> None:
    """Raise :class:`InputError` if ``acc`` (N, 3) is in g or mg instead of m/s².

    The median ``|acc|`` of a body-worn sensor is gravity, 9.81 m/s² (module docstring).
    """
    n = _norms(acc, "accelerometer")
    if n.size < MIN_ROWS:
        return
    med = float(np.median(n))
    if ACC_G_BAND[0] <= med <= ACC_G_BAND[1]:
        unit, fix = "g", f"multiply by {GRAVITY}"
    elif ACC_MG_BAND[0] <= med <= ACC_MG_BAND[1]:
        unit, fix = "mg", f"multiply by {GRAVITY / 1000:g}"
    else:
        return
    raise InputError(
        f"accelerometer: median |acc| is {med:.3g}, expected ~9.81 m/s² (gravity): the data "
        f"look like {unit}; {fix} to get m/s²"
    )


def check_gyroscope(gyr: npt.ArrayLike) -> None:
    """Raise :class:`InputError` if ``gyr`` (N, 3) is in deg/s instead of rad/s.

    The median ``|gyr|`` of the fastest tenth of the samples above
    :data:`GYR_MOVING_MAX`, or a 99th percentile above :data:`GYR_PEAK_MAX`, is beyond
    a human segment in rad/s (module docstring).
    """
    n = _norms(gyr, "gyroscope")
    if n.size < MIN_ROWS:
        return
    q90, q99 = np.quantile(n, [0.9, 0.99])
    moving = float(np.median(n[n >= q90]))
    if moving <= GYR_MOVING_MAX and q99 <= GYR_PEAK_MAX:
        return
    raise InputError(
        f"gyroscope: the fastest tenth of the samples turns at {moving:.3g} rad/s (99th "
        f"percentile {q99:.3g}); a body segment does not sustain {GYR_MOVING_MAX:g} rad/s "
        f"and a rad/s sensor cannot read more than ~{GYR_PEAK_MAX:g}: the data look like "
        f"deg/s; multiply by pi/180 "
        f"({_DEG:.7f}) to get rad/s"
    )


def check_magnetometer(mag: npt.ArrayLike | None) -> None:
    """Raise :class:`InputError` if ``mag`` (N, 3) is in nT, gauss, mG or T instead of µT.

    Earth's field is 25-65 µT (module docstring). ``None`` (6D) passes.
    """
    if mag is None:
        return
    n = _norms(mag, "magnetometer")
    if n.size < MIN_ROWS:
        return
    med = float(np.median(n))
    if MAG_UT_BAND[0] <= med <= MAG_UT_BAND[1]:
        return
    # the unit whose conversion brings the median into Earth's range (25-65 µT, x2 margin)
    for unit, factor, fix in (
        ("nT", 1e-3, "divide by 1000"),
        ("mG (milligauss)", 0.1, "divide by 10"),
        ("gauss", 100.0, "multiply by 100"),
        ("tesla", 1e6, "multiply by 1e6"),
    ):
        if 12.0 <= med * factor <= 130.0:
            raise InputError(
                f"magnetometer: median |mag| is {med:.3g}, expected 25-65 µT (Earth's field): "
                f"the data look like {unit}; {fix} to get µT"
            )
    # no unit explains it (a disturbed or badly calibrated magnetometer): not an error
    # here; the 9D filters' disturbance rejection deals with it sample by sample


class TimestampReport(NamedTuple):
    """What :func:`check_timestamps` counted."""

    backwards: int  #: steps that go back in time
    repeats: int  #: steps of exactly zero (duplicated timestamps)
    nonfinite: int  #: NaN or ±inf timestamps
    period_s: float  #: median positive period, s (NaN if none)


def check_timestamps(
    t: npt.ArrayLike, fs: float | None = None, *, require_increasing: bool = False
) -> TimestampReport:
    """Check a time axis (s); raise :class:`InputError` on ms/µs/ns timestamps.

    Parameters
    ----------
    t : array_like, shape (N,)
        Sample times, s.
    fs : float, optional
        Declared sample rate, Hz: the median period is compared with ``1/fs``.
    require_increasing : bool
        Raise on duplicated or backward timestamps (files, whose rows are sorted first)
        instead of counting them (:func:`motiontrack.fuse` counts a clock jump back as a
        skipped sample).

    Returns
    -------
    TimestampReport
        Steps that go backwards, repeats, non-finite times, median period.
    """
    a = np.asarray(t, dtype=np.float64).reshape(-1)
    fin = np.isfinite(a)
    nonfinite = int(a.size - fin.sum())
    d = np.diff(a[fin])
    back, rep = int((d < 0).sum()), int((d == 0).sum())
    pos = d[d > 0]
    period = float(np.median(pos)) if pos.size else math.nan
    if require_increasing and (back or rep):
        what = ", ".join(
            s
            for s in (
                f"{back} go back in time" if back else "",
                f"{rep} repeat the previous one" if rep else "",
            )
            if s
        )
        raise InputError(
            f"timestamps: {back + rep} of {d.size} steps are not increasing ({what}); "
            "give each sample its own time (s), sorted, without duplicated rows"
        )
    if pos.size:
        for unit, factor in (("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)):
            if fs is not None and fs > 0:
                hit = 0.5 * factor <= period * fs <= 2.0 * factor
            else:
                hit = 1.0 / period < MIN_RATE_HZ and MIN_RATE_HZ <= factor / period <= _MAX_RATE_HZ
            if hit:
                expect = f"1/fs = {1.0 / fs:.3g} s" if fs is not None and fs > 0 else "s"
                raise InputError(
                    f"timestamps: the median sample period is {period:.4g} ({1.0 / period:.3g} "
                    f"Hz if in s), expected {expect}: the data look like {unit}; divide by "
                    f"{factor:g} to get s"
                )
    return TimestampReport(back, rep, nonfinite, period)


def check_imu(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    mag: npt.ArrayLike | None = None,
    *,
    timestamps: npt.ArrayLike | None = None,
    fs: float | None = None,
    require_increasing: bool = False,
    where: str = "",
) -> TimestampReport | None:
    """All the checks of one sensor's arrays, in a fixed order (time, acc, gyr, mag).

    ``where`` (e.g. ``"rec.csv: sensor 'thigh'"``) is put in front of the message, with
    ``": "``, so a file's error names the file and the sensor and then says exactly what
    :func:`motiontrack.fuse` says for the same arrays. Returns the
    :class:`TimestampReport` when ``timestamps`` are given, else None.
    """
    report = None
    try:
        if timestamps is not None:
            report = check_timestamps(timestamps, fs, require_increasing=require_increasing)
        check_accelerometer(acc)
        check_gyroscope(gyr)
        check_magnetometer(mag)
    except InputError as exc:
        if not where:
            raise
        raise InputError(f"{where}: {exc}") from None
    return report


class SaturationWatch:
    """Whether an axis of a streamed (n, 3) signal sits exactly at its largest magnitude so far
    in at least :attr:`HITS` samples: a sensor clipped at its full scale (readings of a moving
    segment never repeat their extreme exactly otherwise). Magnitudes below ``floor`` (same unit
    as the data) never count: a still sensor repeats small values. Blocks of any size give the
    same answer as the whole signal at once.
    """

    HITS = 3

    def __init__(self, floor: float) -> None:
        self.floor = float(floor)
        self.top = np.zeros(3)
        self.hits = np.zeros(3, dtype=np.int64)

    def update(self, x: npt.ArrayLike) -> bool:
        """Feed a block; True once the signal is known to be clipped."""
        a = np.abs(np.asarray(x, dtype=np.float64)).reshape(-1, 3)
        a = np.where(np.isfinite(a), a, 0.0)
        if a.shape[0]:
            top = a.max(axis=0)
            higher = top > self.top
            self.hits = np.where(higher, 0, self.hits) + (a == np.maximum(top, self.top)).sum(axis=0)
            self.top = np.maximum(top, self.top)
        return self.clipped

    @property
    def clipped(self) -> bool:
        return bool(np.any((self.hits >= self.HITS) & (self.top >= self.floor)))

    @property
    def level(self) -> float:
        """The clipped magnitude (largest over the clipped axes), or NaN."""
        m = (self.hits >= self.HITS) & (self.top >= self.floor)
        return float(self.top[m].max()) if m.any() else math.nan


class TiltAgreementWatch:
    """Whether a sensor's gyroscope and accelerometer disagree: at rest, the tilt of its fused
    orientation (the gyroscope carries it through each movement) and the direction of gravity
    its accelerometer reads must agree, both sitting on one rigid board.

    A working sensor agrees within a few degrees: after a movement the gyroscope's error is
    its bias times the movement's duration plus its scale error times the angle turned (2 °/s
    x 2 s + 2 % of 90°, ~6°), and a 6D filter's tilt then converges to the accelerometer's.
    Beyond :attr:`OFF_DEG` at rest in more than :attr:`SHARE` of the still rows (and for at
    least :attr:`MIN_OFF_S` in all), one of the two is out of calibration or faulty, and the
    sensor's tilt angles are not to be trusted. On the physical-therapy dataset
    (``benchmarks/regions_real.py``) working units stay beyond 10° in at most 2.1 % of their
    still rows; the upper-arm/thigh unit 3 of subjects 2 and 3, whose accelerometer reads
    7.2-13.4 m/s² at rest, in 12-65 % whenever it moves. Rows turning slower than
    :attr:`STILL_RAD_S` count as at rest; the first :attr:`SKIP_S` (the filter's start) are
    left out. Blocks of any size give the same answer.
    """

    STILL_RAD_S = 0.15  # rad/s (8.6 °/s): the accelerometer reads gravity alone
    OFF_DEG = 10.0
    SHARE = 0.05
    MIN_OFF_S = 1.0
    SKIP_S = 2.0

    def __init__(self, fs: float) -> None:
        self.fs = float(fs)
        self.seen = 0  # rows seen
        self.still = 0  # still rows counted
        self.off = 0  # of which disagreeing
        self.norms: list[float] = []  # |acc| of the disagreeing still rows (first 1000)

    def update(self, acc: npt.ArrayLike, gyr: npt.ArrayLike, q: npt.ArrayLike) -> bool:
        """Feed grid rows (acc m/s², gyr rad/s, q w,x,y,z sensor-to-earth, NaN in gaps);
        True once the sensor is known to disagree."""
        a = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        g = np.asarray(gyr, dtype=np.float64).reshape(-1, 3)
        w, x, y, z = np.asarray(q, dtype=np.float64).reshape(-1, 4).T
        skip = max(0, round(self.SKIP_S * self.fs) - self.seen)
        self.seen += a.shape[0]
        a, g, w, x, y, z = a[skip:], g[skip:], w[skip:], x[skip:], y[skip:], z[skip:]
        up = np.column_stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])
        n = np.linalg.norm(a, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.sum(up * a, axis=1) / (n * np.linalg.norm(up, axis=1))
            still = np.isfinite(cos) & (np.linalg.norm(g, axis=1) < self.STILL_RAD_S)
        off = still & (cos < math.cos(math.radians(self.OFF_DEG)))
        self.still += int(still.sum())
        self.off += int(off.sum())
        if len(self.norms) < 1000:
            self.norms += n[off][: 1000 - len(self.norms)].tolist()
        return self.disagrees

    @property
    def disagrees(self) -> bool:
        return self.off > max(self.SHARE * self.still, self.MIN_OFF_S * self.fs)

    @property
    def share(self) -> float:
        """Share of the still rows whose tilts disagree."""
        return self.off / self.still if self.still else 0.0
