"""A repetition found by a template (:class:`TemplateRep`) and the execution measures that
describe it: the spectral arc length of its feature speed (:func:`sparc`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["TemplateRep", "sparc"]


@dataclass(frozen=True, slots=True)
class TemplateRep:
    """One repetition found by a template. Times in s (stream time)."""

    index: int  #: 0-based count
    label: str  #: the label of the rep's template (exercise and execution type)
    template: int  #: index of that template in the counter's list
    score: float  #: similarity, 0..1: 1 - mean DTW cost / the template's variance, of the
    #               template's best match of the rep (when the execution type was chosen
    #               by tempo and amplitude and that template did not match: the best match
    #               of the rep's exercise)
    start_s: float
    peak_s: float  #: largest excursion from the start
    end_s: float
    duration_s: float
    duration_ratio: float  #: time above half the peak excursion / the same for the
    #                         template's examples (median)
    amplitude_ratio: float  #: largest excursion from the start of the match that counted the
    #                          rep / the same for the template's examples (median)
    hold_s: float  #: time within 10 % of the peak excursion, s
    smoothness: float  #: spectral arc length (SPARC) of the rep's feature speed; 0 = smoothest
    template_smoothness: float  #: the same for the matching example
    emitted_s: float  #: stream time at which the rep was reported
    provisional: bool = False  #: reported live: label, span and ratios may still change
    #                            (final in TemplateCounter.reps after flush)

    @property
    def low_amplitude(self) -> bool:
        return self.amplitude_ratio < 0.7

    @property
    def too_fast(self) -> bool:
        return self.duration_ratio < 0.7

    @property
    def too_slow(self) -> bool:
        return self.duration_ratio > 1.5

    def to_dict(self) -> dict[str, object]:
        """Plain JSON values (``motiontrack analyze --template --json``)."""
        return {
            "index": int(self.index), "label": self.label, "template": int(self.template),
            "score": round(float(self.score), 4), "start_s": round(self.start_s, 4),
            "peak_s": round(self.peak_s, 4), "end_s": round(self.end_s, 4),
            "duration_s": round(self.duration_s, 4),
            "duration_ratio": round(self.duration_ratio, 4),
            "amplitude_ratio": round(self.amplitude_ratio, 4), "hold_s": round(self.hold_s, 4),
            "smoothness": round(self.smoothness, 4),
            "template_smoothness": round(self.template_smoothness, 4),
            "low_amplitude": self.low_amplitude, "too_fast": self.too_fast,
            "too_slow": self.too_slow, "provisional": self.provisional,
        }


def sparc(speed: np.ndarray, fs: float, fc: float = 10.0, amp_th: float = 0.05) -> float:
    """Spectral arc length of a speed profile (Balasubramanian, Melendez-Calderon, Roby-Brami &
    Burdet 2015, J NeuroEng Rehabil 12:112, doi:10.1186/s12984-015-0090-9, eq. 3): the length
    of the normalised magnitude spectrum up to the adaptive cut-off; 0 is smoothest."""
    v = np.nan_to_num(np.asarray(speed, float))
    if v.size < 4 or not np.any(v > 0):
        return float("nan")
    nfft = int(2 ** (math.ceil(math.log2(v.size)) + 4))
    f = np.arange(nfft) * fs / nfft
    mag = np.abs(np.fft.fft(v, nfft))
    mag = mag / mag.max()
    sel = f <= fc
    f, mag = f[sel], mag[sel]
    above = np.flatnonzero(mag >= amp_th)
    last = above[-1] + 1 if above.size else mag.size
    f, mag = f[:last], mag[:last]
    df = np.diff(f) / (f[-1] - f[0]) if f[-1] > f[0] else np.diff(f)
    return float(-np.sum(np.sqrt(df ** 2 + np.diff(mag) ** 2)))


def _feature_speed(f: np.ndarray, fr: float) -> np.ndarray:
    return np.linalg.norm(np.diff(f, axis=0), axis=1) * fr
