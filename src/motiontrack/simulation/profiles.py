"""Smooth joint-angle profiles: piecewise minimum-jerk segments between knots.

Human point-to-point movements follow the minimum-jerk profile
``x(s) = x0 + (x1 - x0)(10 s³ - 15 s⁴ + 6 s⁵)`` (Flash & Hogan 1985, J. Neurosci. 5(7):1688,
doi:10.1523/JNEUROSCI.05-07-01688.1985). Velocity and acceleration are zero at both ends,
so a chain of segments is C² and its positions can be differentiated for accelerometers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Knots:
    """Knot times (s, strictly increasing) and values; the profile is constant outside."""

    t: np.ndarray
    v: np.ndarray

    @classmethod
    def from_lists(cls, t: list[float], v: list[float]) -> Knots:
        ta = np.asarray(t, dtype=np.float64)
        va = np.asarray(v, dtype=np.float64)
        # zero-length segments (a pause or hold of 0 s) are dropped: keep the later knot's value
        keep = np.ones(ta.size, dtype=bool)
        keep[:-1] = np.diff(ta) > 1e-9
        ta, va = ta[keep], va[keep]
        if ta.size == 1:
            ta = np.array([ta[0], ta[0] + 1.0])
            va = np.array([va[0], va[0]])
        return cls(ta, va)

    def __call__(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Value and first derivative (per second) at times ``t``."""
        kt, kv = self.t, self.v
        i = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, kt.size - 2)
        t0 = kt[i]
        dur = kt[i + 1] - t0
        s = np.clip((t - t0) / dur, 0.0, 1.0)
        dv = kv[i + 1] - kv[i]
        s2 = s * s
        val = kv[i] + dv * s2 * s * (10.0 - 15.0 * s + 6.0 * s2)
        der = dv / dur * 30.0 * s2 * (1.0 - s) ** 2
        return val, der
