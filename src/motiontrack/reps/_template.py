"""``Template``: an exercise taught by demonstration, saved as versioned JSON.

A template holds one or more example repetitions of one signal source (one or several IMUs,
or a joint angle) as feature traces on a fixed feature grid (see
:mod:`motiontrack._kernels.template_match`: per IMU the inclination change since the last
rest and the rotation about the vertical, both independent of how the sensor is strapped to
its segment; or, frames "sensor" and "aligned", "up" and the angular rate in the sensor frame,
an "aligned" session being rotated into the template's frame by its estimated re-strap,
:mod:`motiontrack.reps._restrap`; a joint angle as it is), with a label.
:class:`TemplateCounter <motiontrack.reps.TemplateCounter>` finds them in a session.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._kernels import template_match as _k
from .._version import __version__
from ..errors import InputError, MotionTrackError
from ..recording._files import open_private

__all__ = ["TEMPLATE_FORMAT", "TEMPLATE_VERSION", "Template", "TemplateError", "TemplateSettings",
           "imu_features", "angle_features"]

TEMPLATE_FORMAT = "motiontrack.template"
TEMPLATE_VERSION = 1
#: an example must move at least this much (feature-space excursion), rad
MIN_EXCURSION_RAD = math.radians(5.0)
#: a template (made or read from a file): each example moves at least this much (a flat
#: example would match any rest), its values stay within +-MAX_FEATURE_RAD, and its feature
#: rate lies within FEATURE_RATE_HZ (that of TemplateSettings)
MIN_EXAMPLE_RAD = math.radians(0.5)
MAX_FEATURE_RAD = 1000.0
FEATURE_RATE_HZ = (5.0, 200.0)


_FEATURES = {
    "invariant": "per segment: inclination change since the rest pose (rad), rate of rotation "
                 "about the vertical times vertical_tau_s (rad)",
    "sensor": "per segment: direction of up in the sensor frame (x, y, z), angular rate times "
              "vertical_tau_s (x, y, z, rad)",
    "aligned": "per segment: direction of up in the template's sensor frame (x, y, z), angular "
               "rate times vertical_tau_s (x, y, z, rad); a session's re-strap is estimated",
}
#: the IMU feature frames and their features per IMU
FRAMES = {"invariant": 2, "sensor": 6, "aligned": 6}


class TemplateError(MotionTrackError, ValueError):
    """A template that cannot be made, read or used (no motion, unreadable file, wrong sensors)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TemplateSettings:
    """How templates are matched; independent of the sample rate."""

    feature_rate_hz: float = 25.0  # Hz; templates and sessions are compared on this grid
    threshold: float = 0.5  # largest mean DTW cost of a match, as a share of the template's
    #                         variance (0: identical; 1: no better than the best constant)
    scales: tuple[float, ...] = (2.4, 1.7, 1.2, 0.85, 0.6, 0.42)  # amplitude copies of each
    #                         example (a rep of 40 % of the example still matches, and one of
    #                         twice its amplitude, e.g. a rep done fast; both are reported)
    tempo_range: tuple[float, float] = (0.4, 2.6)  # match length / template length allowed
    max_delay_s: float = 0.15  # s; a template's match is reported at most this long after its end
    slack_s: float = 0.2  # s; matches of other templates ending up to this much later are
    #                       compared before a rep is reported (latency: max_delay_s + slack_s
    #                       + one feature sample; offline analysis uses 1.5 s)
    overlap_frac: float = 0.3  # matches overlapping more than this share of the shorter
    #                            of the two (in time, or in movement: see motion_overlap)
    #                            are one rep
    motion_overlap: bool = True  # also one rep when the overlap holds more than overlap_frac
    #                              of the smaller match's movement (feature path length): two
    #                              reps share at most the rest between them, never a movement
    measure_weight: float = 0.25  # weight of |ln duration ratio| + |ln amplitude ratio| when
    #                               choosing the best template among overlapping matches
    still_rate: float = 0.1  # rad/s; below this (and |acc| near g) an IMU is still
    still_acc: float = 1.0  # m/s^2; tolerance of |acc| - g for stillness
    anchor_s: float = 6.0  # s; still time after which the rest pose follows the sensor (a
    #                        hold longer than this at the top of a rep ends the match)
    jump_deg: float = 20.0  # deg; a rest pose this far from the previous one is a posture
    #                         change: no rep is counted across it
    lowpass_s: float = 0.15  # s; time constant of the low-passed specific force ("up")
    rest_s: float = 1.0  # s; still time that makes a rest: the first one is the rest pose,
    #                      later ones within drift_deg move it
    drift_deg: float = 5.0  # deg; a rest this close to the rest pose moves it (slow creep)
    vertical_tau_s: float = 0.5  # s; weight of the angular rate in the features
    pose_tolerance_deg: float = 10.0  # deg; sensor frame: a rep may start this far (each
    #                                   component of "up") from the example's start pose and is
    #                                   compared as the movement from there (0: the absolute
    #                                   pose; the invariant frame is measured from the rest pose)
    rate_integral_s: float = 1.0  # s; sensor frame: the angular rates are compared as their
    #                               leaky integral (rad, this time constant) since the start of
    #                               the match (0: the rates as they are)
    frame: str = "aligned"  # "aligned": the sensor-frame direction of "up" and angular rate,
    #                         with each sensor's re-strap estimated at the session's start
    #                         (reps._restrap); "sensor": the same without the estimate (same
    #                         mounting only); "invariant": per sensor the tilt since rest and
    #                         the rate about the vertical (re-strap-proof, but poorer)
    typing: str = "session"  # execution type among the variants of an exercise (labels
    #                          "exercise/variant"): "session": by the whole rep's duration and
    #                          amplitude, fitted over the session's reps (reps._template_typing);
    #                          "match": the template of the best-ranked match

    def __post_init__(self) -> None:
        if not (self.pose_tolerance_deg >= 0 and self.rate_integral_s >= 0):
            raise InputError("pose_tolerance_deg >= 0 and rate_integral_s >= 0 are required")
        if not 5.0 <= self.feature_rate_hz <= 200.0:
            raise InputError(f"feature_rate_hz must be within 5-200 Hz, got {self.feature_rate_hz}")
        if not 0 < self.threshold < 2:
            raise InputError(f"threshold must be within (0, 2), got {self.threshold}")
        if not self.scales or any(not 0.1 <= s <= 3 for s in self.scales):
            raise InputError(f"scales must be within 0.1-3, got {self.scales}")
        lo, hi = self.tempo_range
        if not 0 < lo < 1 < hi:
            raise InputError(f"tempo_range must be (lo < 1 < hi), got {self.tempo_range}")
        if self.frame not in FRAMES:
            raise InputError(f"frame must be 'invariant', 'sensor' or 'aligned', got "
                             f"{self.frame!r}")
        if self.typing not in ("session", "match"):
            raise InputError(f"typing must be 'session' or 'match', got {self.typing!r}")
        if self.max_delay_s < 0 or self.anchor_s <= 0 or self.lowpass_s <= 0:
            raise InputError("max_delay_s >= 0, anchor_s > 0 and lowpass_s > 0 are required")

    def coefficients(self, fs: float, anchor_s: float | None = None) -> np.ndarray:
        """Kernel coefficients for input rate ``fs`` (Hz)."""
        c = np.zeros(_k.CF_SIZE)
        dt = 1.0 / fs
        c[_k.CF_DT] = dt
        c[_k.CF_KLP] = 1.0 - math.exp(-dt / self.lowpass_s)
        c[_k.CF_W_STILL] = self.still_rate
        c[_k.CF_A_STILL] = self.still_acc
        c[_k.CF_ANCHOR_S] = self.anchor_s if anchor_s is None else anchor_s
        c[_k.CF_JUMP] = math.radians(self.jump_deg)
        c[_k.CF_FR] = self.feature_rate_hz
        c[_k.CF_MAX_DELAY] = max(1.0, round(self.max_delay_s * self.feature_rate_hz))
        c[_k.CF_RMIN], c[_k.CF_RMAX] = self.tempo_range
        c[_k.CF_G] = 9.81
        c[_k.CF_REST_S] = self.rest_s
        c[_k.CF_DRIFT] = math.radians(self.drift_deg)
        c[_k.CF_VTAU] = self.vertical_tau_s
        c[_k.CF_NF] = float(FRAMES[self.frame])
        c[_k.CF_LEAK_S] = self.rate_integral_s
        c[_k.CF_POSE_TOL] = math.radians(self.pose_tolerance_deg)
        return c


def _features(X: np.ndarray, n_imu: int, n_dim: int, fs: float, t0: float,
              settings: TemplateSettings) -> tuple[np.ndarray, np.ndarray]:
    """Feature traces of a whole recording (the kernel with no template rows)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    t = t0 + np.arange(n) / fs
    fstate = np.zeros((max(n_imu, 1), _k.F_SIZE))
    rs = np.zeros(_k.RS_F + n_dim)
    rs[_k.RS_T_PREV] = np.nan
    fout = np.empty((int(n * settings.feature_rate_hz / fs) + 4, n_dim))
    k = _k.features(fstate, X, n_imu, settings.coefficients(fs), rs, t, fout)
    return t0 + np.arange(k) / settings.feature_rate_hz, fout[:k].copy()


def imu_features(gyroscope: Sequence[np.ndarray], accelerometer: Sequence[np.ndarray], *,
                 fs: float, t0: float = 0.0, settings: TemplateSettings | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Features of one or more IMUs on the feature grid, in ``settings.frame``.

    Returns (times (K,) s, features (K, F * n_imu) rad): "invariant" (F = 2): per IMU the
    inclination change since the last rest and the rate about the vertical; "sensor" and
    "aligned" (F = 6): "up" and the angular rate in the sensor frame (an "aligned" session is
    rotated into the template's frame by :class:`TemplateCounter`, not here).
    """
    st = settings or TemplateSettings()
    X = np.hstack([np.hstack([np.asarray(g, float), np.asarray(a, float)])
                   for g, a in zip(gyroscope, accelerometer)])
    return _features(X, len(gyroscope), features_per_imu(st) * len(gyroscope), fs, t0, st)


def features_per_imu(settings: TemplateSettings) -> int:
    return FRAMES[settings.frame]


def angle_features(angle_deg: np.ndarray, *, fs: float, t0: float = 0.0,
                   settings: TemplateSettings | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A joint angle (deg) on the feature grid, rad: (times (K,), features (K, 1))."""
    st = settings or TemplateSettings()
    X = np.radians(np.asarray(angle_deg, float)).reshape(-1, 1)
    return _features(X, 0, 1, fs, t0, st)


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or x.size < n:
        return x
    return np.convolve(x, np.ones(n) / n, mode="same")


def rate_columns(kind: str, frame: str, n_features: int) -> list[int]:
    """Feature columns that are angular rates (times ``vertical_tau_s``), not angles: per IMU
    the rate about the vertical ("invariant") or the three rates ("sensor"); none for an angle."""
    if kind != "imu":
        return []
    if FRAMES[frame] == 6:
        return [c for c in range(n_features) if c % 6 >= 3]
    return list(range(1, n_features, 2))


def _angles(f: np.ndarray, fr: float, rates: Sequence[int], tau_s: float) -> np.ndarray:
    """The feature trace with its rate columns integrated into angles, rad: a rotation about the
    vertical rises to the end of the way out and falls back (its rate peaks twice per rep). The
    column means are removed first (gyroscope bias; a span of whole reps ends where it starts)."""
    g = np.array(f, dtype=np.float64)
    if len(rates):
        r = g[:, rates] - g[:, rates].mean(axis=0)
        g[:, rates] = np.cumsum(r, axis=0) / (fr * tau_s)
    return g


def _speed(g: np.ndarray, fr: float) -> np.ndarray:
    """|dg/dt| (rad/s) through a 0.2 s running median: a one-sample step (a rest pose refreshed)
    is no movement."""
    d = np.r_[0.0, np.linalg.norm(np.diff(g, axis=0), axis=1)] * fr
    h = max(1, round(0.1 * fr))
    if d.size <= 2 * h:
        return d
    w = np.lib.stride_tricks.sliding_window_view(np.pad(d, h, mode="edge"), 2 * h + 1)
    return np.median(w, axis=1)


def _runs(mask: np.ndarray) -> np.ndarray:
    """(start, stop) of each run of True in ``mask``, shape (k, 2)."""
    return np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0])).reshape(-1, 2)


def _cut(x: np.ndarray, still: np.ndarray, a: int, b: int, pad: int) -> tuple[int, int]:
    """Where one rep ends and the next starts between their peaks ``a`` < ``b`` of the
    excursion ``x``: in the valley between them (within a quarter of the way from its lowest
    point to the lower peak), the longest still stretch, less ``pad`` samples at each end, is
    the rest between them (a rest pose refreshed within it is in neither rep); without a
    still stretch, the valley's lowest point."""
    seg = x[a:b + 1]
    lo = float(seg.min())
    valley = seg <= lo + 0.25 * (min(seg[0], seg[-1]) - lo)
    runs = _runs(valley & still[a:b + 1])
    if runs.size == 0:
        k = a + int(np.argmin(seg))
        return k, k
    r0, r1 = max(runs, key=lambda r: r[1] - r[0])
    if r1 - r0 <= 2 * pad:
        k = a + int((r0 + r1 - 1) // 2)
        return k, k
    return a + r0 + pad, a + r1 - pad


def _trim(f: np.ndarray, fr: float) -> tuple[int, int]:
    """One rep's piece of a feature trace trimmed to where its excursion from the first sample
    (smoothed over 0.2 s) is above 10 % of its range, plus 0.1 s."""
    e = _smooth(np.linalg.norm(f - f[0], axis=1), max(1, round(0.2 * fr)))
    seg = e - e.min()
    on = np.flatnonzero(seg > 0.1 * seg.max())
    if on.size == 0:  # a flat piece
        return 0, f.shape[0]
    pad = round(0.1 * fr)
    return max(0, on[0] - pad), min(f.shape[0], on[-1] + pad + 1)


def _excursion(g: np.ndarray, fr: float, rates: Sequence[int]) -> np.ndarray:
    """Excursion of a trace from its rest pose: smoothed over 0.2 s, each column weighted by
    its share of the variance (a sensor that hardly moves weighs little, as when matching).
    The rest pose of the angle columns is the point farthest from the farthest point from
    the first sample (a span need not start at rest); of the ``rates`` columns, their median."""
    h = max(1, round(0.1 * fr))
    g = np.lib.stride_tricks.sliding_window_view(np.pad(g, ((h, h), (0, 0)), mode="edge"),
                                                 2 * h + 1, axis=0).mean(axis=2)
    var = g.var(axis=0)
    g = g * np.sqrt(np.maximum(var / max(float(var.max()), 1e-12), 0.02))
    rest = np.median(g, axis=0)
    ang = np.setdiff1d(np.arange(g.shape[1]), np.asarray(rates, dtype=int))
    if ang.size:
        ga = g[:, ang]
        top = ga[np.argmax(np.linalg.norm(ga - ga[0], axis=1))]
        rest[ang] = ga[np.argmax(np.linalg.norm(ga - top, axis=1))]
    return np.linalg.norm(g - rest, axis=1)


def _peaks(x: np.ndarray, n_reps: int) -> tuple[np.ndarray, float]:
    """The ``n_reps`` most prominent peaks of ``x`` (sorted; each at least a quarter of the
    largest excursion high and a fifth prominent) and how clearly they stand out: the next
    peak's prominence over the weakest one's (0: no other peak; inf: too few peaks)."""
    from scipy.signal import find_peaks  # lazy: only a span of several reps needs it

    cand, props = find_peaks(x, distance=max(1, int(0.3 * x.size / n_reps)), prominence=0.0)
    prom = props["prominences"]
    ok = np.flatnonzero((x[cand] >= 0.25 * x.max()) & (prom >= 0.2 * x.max()))
    if ok.size < n_reps:
        return np.sort(cand[ok]), np.inf
    best = ok[np.argsort(prom[ok])[::-1][:n_reps]]
    rest = np.setdiff1d(np.arange(cand.size), best)
    clear = float(prom[rest].max() / prom[best].min()) if rest.size else 0.0
    return np.sort(cand[best]), clear


def split_reps(f: np.ndarray, n_reps: int, fr: float, *, rates: Sequence[int] = (),
               tau_s: float = 0.5) -> list[tuple[int, int]]:
    """Cut a feature trace holding ``n_reps`` repetitions into one (start, stop) per rep.

    Several reps are found on the trace's excursion from the rest pose (:func:`_excursion`),
    or, when ``f`` has angular-rate columns (``rates``, times ``tau_s`` s:
    :func:`rate_columns`), on the angles they integrate to, whichever shows the ``n_reps``
    reps more clearly: a rotation about the vertical, whose rate peaks on the way out and
    again on the way back, is one excursion of its angle, while a turn of the body within a
    span of squats shifts the integrated angle for good and is a short blip of the rate. The
    reps are the ``n_reps`` most prominent peaks (at least a fifth of the largest excursion,
    0.3 span / n_reps apart); between two peaks lies the rest between the reps: the longest
    still stretch (speed below 10 % of the span's 95th percentile) in the valley between them,
    less 0.1 s at each end (else the valley's lowest point), in neither rep. Each rep's piece
    (the whole span for one rep) is then trimmed like a one-rep span: to where its excursion
    from its first sample, smoothed over 0.2 s, is above 10 % of its range, plus 0.1 s.
    """
    e = _smooth(np.linalg.norm(np.nan_to_num(f - f[0]), axis=1), max(1, round(0.2 * fr)))
    if not np.isfinite(e).all() or e.max() < MIN_EXCURSION_RAD:
        raise TemplateError(
            f"the span holds no motion (largest excursion {math.degrees(float(np.nanmax(e))):.1f}°,"
            f" at least {math.degrees(MIN_EXCURSION_RAD):.0f}° needed); choose a span with the rep")
    if n_reps > 1:
        traces = [(f, rates)] + ([(_angles(f, fr, rates, tau_s), ())] if len(rates) else [])
        found = []
        for g, r in traces:
            x = _excursion(g, fr, r)
            found.append((*_peaks(x, n_reps), x, g))
        peaks, clear, x, g = min(found, key=lambda c: c[1])
        if not np.isfinite(clear):
            raise TemplateError(f"found {min(c[0].size for c in found)} repetition(s) in the "
                                f"span, not {n_reps}: check --span and --reps")
        v = _speed(g, fr)
        still = v < 0.1 * np.percentile(v, 95)
        rests = [_cut(x, still, int(a), int(b), round(0.1 * fr))
                 for a, b in zip(peaks[:-1], peaks[1:])]
        ends = [r[0] for r in rests] + [e.size]
        starts = [0] + [r[1] for r in rests]
    else:
        starts, ends = [0], [e.size]
    out = []
    for a, b in zip(starts, ends):
        lo, hi = _trim(f[a:b], fr)
        out.append((a + lo, a + hi))
    return out


def _check_source(source: dict[str, Any]) -> None:
    """An IMU template names a non-empty list of distinct sensors; an angle template's joint,
    proximal and distal sensor are names or None."""
    if source["kind"] == "imu":
        segs = source.get("segments")
        if (not isinstance(segs, (list, tuple)) or not segs
                or not all(isinstance(n, str) and n for n in segs)):
            raise TemplateError(f"an IMU template's source needs 'segments': a non-empty list of "
                                f"sensor names, got {segs!r}")
        if len(set(segs)) != len(segs):
            raise TemplateError(f"an IMU template names a sensor twice: {list(segs)}")
        return
    for key in ("joint", "proximal", "distal"):
        v = source.get(key)
        if v is not None and (not isinstance(v, str) or not v):
            raise TemplateError(f"an angle template's {key} must be a name, got {v!r}")


@dataclass
class Template:
    """One exercise (or one execution type of it), taught by example repetitions.

    Attributes
    ----------
    label : str
        What a match is called (``"squat"``, ``"knee_extension/correct"``, ...).
    source : dict
        ``{"kind": "imu", "segments": [names]}`` or ``{"kind": "angle", "joint": J,
        "proximal": A, "distal": B}``.
    examples : list of ndarray (m, D)
        The example repetitions on the feature grid, rad.
    feature_rate_hz : float
    """

    label: str
    source: dict[str, Any]
    examples: list[np.ndarray]
    feature_rate_hz: float = 25.0
    meta: dict[str, Any] = field(default_factory=dict)
    frame: str = "invariant"  #: the IMU features' frame (:attr:`TemplateSettings.frame`)

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise TemplateError("a template needs a non-empty label")
        if not isinstance(self.source, dict):
            raise TemplateError(f"template source must be a mapping, got {self.source!r}")
        kind = self.source.get("kind")
        if kind not in ("imu", "angle"):
            raise TemplateError(f"template source kind must be 'imu' or 'angle', got {kind!r}")
        _check_source(self.source)
        fr = self.feature_rate_hz
        if (isinstance(fr, bool) or not isinstance(fr, (int, float, np.integer, np.floating))
                or not FEATURE_RATE_HZ[0] <= fr <= FEATURE_RATE_HZ[1]):  # NaN fails too
            raise TemplateError(f"template feature_rate_hz must be a number within "
                                f"{FEATURE_RATE_HZ[0]:g}-{FEATURE_RATE_HZ[1]:g} Hz, got {fr!r}")
        self.feature_rate_hz = float(fr)
        if not isinstance(self.meta, dict):
            raise TemplateError(f"template meta must be a mapping, got {type(self.meta).__name__}")
        if isinstance(self.examples, np.ndarray):
            self.examples = list(self.examples)
        if not isinstance(self.examples, (list, tuple)) or not self.examples:
            raise TemplateError("a template needs at least one example repetition")
        if self.frame not in FRAMES:
            raise TemplateError(f"template frame must be 'invariant', 'sensor' or 'aligned', got "
                                f"{self.frame!r}")
        self.examples = [np.ascontiguousarray(e, dtype=np.float64) for e in self.examples]
        d = self.n_features
        for e in self.examples:
            if e.ndim != 2 or e.shape[1] != d or e.shape[0] < 3 or not np.isfinite(e).all():
                raise TemplateError(f"template examples must be finite (m >= 3, {d}) arrays")
            if np.abs(e).max() > MAX_FEATURE_RAD:
                raise TemplateError(f"template example values must be within "
                                    f"±{MAX_FEATURE_RAD:g} rad (angles, rates times a time "
                                    f"constant), got {np.abs(e).max():.3g}")
            if np.linalg.norm(e - e[0], axis=1).max() < MIN_EXAMPLE_RAD:
                raise TemplateError(f"a template example does not move (excursion below "
                                    f"{math.degrees(MIN_EXAMPLE_RAD):g}°)")

    @property
    def n_features(self) -> int:
        return FRAMES[self.frame] * len(self.source["segments"]) if self.source["kind"] == "imu" else 1

    @property
    def segments(self) -> tuple[str, ...]:
        """Sensor names an IMU template needs (empty for an angle template)."""
        return tuple(self.source.get("segments", ()))

    @property
    def durations_s(self) -> list[float]:
        return [e.shape[0] / self.feature_rate_hz for e in self.examples]

    @property
    def amplitude_rad(self) -> list[float]:
        """Largest feature-space excursion of each example from its first sample, rad."""
        return [float(np.linalg.norm(e - e[0], axis=1).max()) for e in self.examples]

    @property
    def hold_s(self) -> float:
        """Longest time an example stays within 10 % of its peak excursion, s."""
        out = 0.0
        for e in self.examples:
            x = np.linalg.norm(e - e[0], axis=1)
            out = max(out, float(np.count_nonzero(x >= 0.9 * x.max())) / self.feature_rate_hz)
        return out

    # -- making ---------------------------------------------------------------------------
    @classmethod
    def from_features(cls, times: np.ndarray, features: np.ndarray, *, span: tuple[float, float],
                      reps: int = 1, label: str, source: dict[str, Any],
                      feature_rate_hz: float = 25.0, frame: str = "invariant",
                      vertical_tau_s: float = 0.5) -> Template:
        """Cut ``reps`` example repetitions from feature traces within ``span`` (s);
        ``vertical_tau_s``: the :class:`TemplateSettings` the IMU features were made with."""
        if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
            raise TemplateError(f"reps must be a positive integer, got {reps!r}")
        a, b = float(span[0]), float(span[1])
        if not (math.isfinite(a) and math.isfinite(b) and b > a):
            raise TemplateError(f"span must be START:END with END > START, got {a:g}:{b:g}")
        if times.size == 0 or b <= times[0] or a >= times[-1]:
            raise TemplateError(f"span {a:g}:{b:g} s lies outside the recording "
                                f"({times[0] if times.size else 0:.1f}-{times[-1] if times.size else 0:.1f} s)")
        m = (times >= a) & (times <= b)
        f = features[m]
        if f.shape[0] < 5:
            raise TemplateError(f"span {a:g}:{b:g} s is too short")
        if not np.isfinite(f).all():
            raise TemplateError(f"span {a:g}:{b:g} s holds a data gap; choose a span without one")
        rates = rate_columns(str(source.get("kind")), frame, f.shape[1])
        cuts = split_reps(f, reps, feature_rate_hz, rates=rates, tau_s=vertical_tau_s)
        t_sel = times[m]
        meta = {"span_s": [a, b], "reps_s": [[float(t_sel[lo]), float(t_sel[hi - 1])] for lo, hi in cuts]}
        return cls(label=label, source=source, examples=[f[lo:hi] for lo, hi in cuts],
                   feature_rate_hz=feature_rate_hz, meta=meta, frame=frame)

    @classmethod
    def from_imu(cls, gyroscope: Mapping[str, np.ndarray], accelerometer: Mapping[str, np.ndarray],
                 *, fs: float, span: tuple[float, float], reps: int = 1, label: str,
                 t0: float = 0.0, settings: TemplateSettings | None = None) -> Template:
        """From one or more IMUs (name -> (N, 3) rad/s and m/s^2, common rate ``fs`` Hz)."""
        st = settings or TemplateSettings()
        names = list(gyroscope)
        if not names or set(names) != set(accelerometer):
            raise TemplateError("give the gyroscope and accelerometer of the same sensors")
        t, f = imu_features([gyroscope[n] for n in names], [accelerometer[n] for n in names],
                            fs=fs, t0=t0, settings=st)
        return cls.from_features(t, f, span=span, reps=reps, label=label,
                                 source={"kind": "imu", "segments": names},
                                 feature_rate_hz=st.feature_rate_hz, frame=st.frame,
                                 vertical_tau_s=st.vertical_tau_s)

    @classmethod
    def from_angle(cls, angle_deg: np.ndarray, *, fs: float, span: tuple[float, float],
                   reps: int = 1, label: str, t0: float = 0.0, joint: str | None = None,
                   proximal: str | None = None, distal: str | None = None,
                   settings: TemplateSettings | None = None) -> Template:
        """From a joint angle, degrees (N,), at ``fs`` Hz."""
        st = settings or TemplateSettings()
        t, f = angle_features(angle_deg, fs=fs, t0=t0, settings=st)
        return cls.from_features(t, f, span=span, reps=reps, label=label,
                                 source={"kind": "angle", "joint": joint, "proximal": proximal,
                                         "distal": distal},
                                 feature_rate_hz=st.feature_rate_hz)

    # -- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": TEMPLATE_FORMAT,
            "version": TEMPLATE_VERSION,
            "motiontrack": __version__,
            "label": self.label,
            "source": dict(self.source),
            "feature_rate_hz": self.feature_rate_hz,
            "frame": self.frame,
            "features": _FEATURES[self.frame] if self.source["kind"] == "imu" else "joint angle (rad)",
            "examples": [np.round(e, 6).tolist() for e in self.examples],
            "meta": self.meta,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the template as JSON, owner-only (0600): it describes a patient's movement."""
        with open_private(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh)
            fh.write("\n")

    @classmethod
    def from_dict(cls, d: Any, where: str = "template") -> Template:
        if not isinstance(d, dict) or d.get("format") != TEMPLATE_FORMAT:
            raise TemplateError(f"{where} is not a motiontrack template (no format "
                                f"{TEMPLATE_FORMAT!r})")
        if d.get("version") != TEMPLATE_VERSION or isinstance(d.get("version"), bool):
            raise TemplateError(f"{where} has template version {d.get('version')!r}; this "
                                f"motiontrack reads version {TEMPLATE_VERSION}")
        try:
            return cls(label=d["label"], source=dict(d["source"]),
                       examples=[np.asarray(e, dtype=np.float64) for e in d["examples"]],
                       feature_rate_hz=float(d["feature_rate_hz"]), meta=dict(d.get("meta", {})),
                       frame=str(d.get("frame", "invariant")))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            if isinstance(exc, TemplateError):
                raise TemplateError(f"{where}: {exc}") from None
            raise TemplateError(f"{where} is damaged: {type(exc).__name__}: {exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Template:
        """Read a template file; a clear :class:`TemplateError` for anything else."""
        try:
            with open(path, encoding="utf-8") as fh:
                d = json.load(fh)
        except FileNotFoundError:
            raise TemplateError(f"template file {os.fspath(path)!r} does not exist") from None
        except (OSError, ValueError) as exc:  # JSON, UTF-8, a number of > 4300 digits
            raise TemplateError(f"cannot read template {os.fspath(path)!r}: {exc}") from None
        except RecursionError:
            raise TemplateError(f"cannot read template {os.fspath(path)!r}: JSON nested too "
                                "deeply") from None
        return cls.from_dict(d, where=f"template {os.fspath(path)!r}")
