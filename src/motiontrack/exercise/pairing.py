"""Two sensors on one time axis: the reference (proximal) sensor's grid rows wait until the
partner's rows cover their host time, then the partner is interpolated there (the resampler
of :mod:`.streams`, on host time). The result does not depend on how the two streams'
blocks were cut or interleaved; only a live driver gives up waiting (:meth:`Pairing.pop`
with ``expire_host``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .streams import Rows, lerp_rows, nlerp_rows

__all__ = ["Paired", "Pairing"]

_KEEP_S = 2.0  # s of partner rows kept behind the oldest waiting reference row


@dataclass(frozen=True, slots=True)
class Paired:
    """Reference rows with the partner interpolated at their host times (NaN where unknown)."""

    t: np.ndarray  # session time = reference device time, s
    qp: np.ndarray
    ap: np.ndarray
    gp: np.ndarray
    mp: np.ndarray | None
    qd: np.ndarray
    ad: np.ndarray
    gd: np.ndarray
    md: np.ndarray | None
    bridged: np.ndarray  # (n,) bool: either sensor's row interpolated over a short gap

    def __len__(self) -> int:
        return int(self.t.shape[0])


def _cat(parts: list[np.ndarray], width: int | None) -> np.ndarray:
    if not parts:
        return np.empty((0,) if width is None else (0, width))
    return np.concatenate(parts) if width is None else np.vstack(parts)


class _Buffer:
    """Rows of one sensor, appended in blocks, read as arrays."""

    FIELDS = (("t", None), ("host", None), ("q", 4), ("acc", 3), ("gyr", 3), ("mag", 3),
              ("bridged", 1))

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k, _ in self.FIELDS}
        self.has_mag: bool | None = None

    def append(self, r: Rows) -> None:
        self.has_mag = (
            r.mag is not None if self.has_mag is None else self.has_mag and r.mag is not None
        )
        for k, _ in self.FIELDS:
            v = getattr(r, k)
            if k == "bridged":
                v = v.astype(np.float64)[:, None]
            self.parts[k].append(v if v is not None else np.full((len(r), 3), np.nan))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: _cat(self.parts[k], w) for k, w in self.FIELDS}
        for k, v in out.items():  # keep one block: later appends stay cheap
            self.parts[k] = [v] if v.shape[0] else []
        return out

    def drop_before(self, i: int) -> None:
        a = self.arrays()
        for k, _ in self.FIELDS:
            self.parts[k] = [a[k][i:]] if a[k].shape[0] > i else []

    def __len__(self) -> int:
        return sum(p.shape[0] for p in self.parts["t"])

    def state(self) -> dict[str, Any]:
        return {"has_mag": self.has_mag, **{k: v.tolist() for k, v in self.arrays().items()}}

    def restore(self, d: dict[str, Any]) -> None:
        self.has_mag = d["has_mag"]
        for k, w in self.FIELDS:
            v = np.asarray(d[k], dtype=np.float64).reshape((-1,) if w is None else (-1, w))
            self.parts[k] = [v] if v.shape[0] else []


class Pairing:
    """Reference rows in, :class:`Paired` rows out (see the module docstring)."""

    def __init__(self) -> None:
        self.ref = _Buffer()
        self.partner = _Buffer()

    def add(self, which: str, rows: Rows) -> None:
        (self.ref if which == "ref" else self.partner).append(rows)

    def pop(self, *, finish: bool = False, expire_host: float | None = None) -> Paired | None:
        """The waiting reference rows whose partner data is in (all of them at ``finish``,
        or those older than ``expire_host`` when a live driver stops waiting)."""
        if not len(self.ref):
            return None
        r = self.ref.arrays()
        p = self.partner.arrays()
        last = p["host"][-1] if p["host"].size else -np.inf
        limit = np.inf if finish else max(last, -np.inf if expire_host is None else expire_host)
        n = int(np.searchsorted(r["host"], limit, side="right"))
        if n == 0:
            return None
        h = r["host"][:n]
        qd, ad, gd, md, bd = self._at(p, h)
        out = Paired(
            t=r["t"][:n],
            qp=r["q"][:n],
            ap=r["acc"][:n],
            gp=r["gyr"][:n],
            mp=r["mag"][:n] if self.ref.has_mag else None,
            qd=qd,
            ad=ad,
            gd=gd,
            md=md if self.partner.has_mag else None,
            bridged=(r["bridged"][:n, 0] > 0) | (bd[:, 0] > 0),
        )
        self.ref.drop_before(n)
        if p["host"].size:
            k = int(np.searchsorted(p["host"], h[-1] - _KEEP_S))
            if k > 0:
                self.partner.drop_before(k)
        return out

    @staticmethod
    def _at(p: dict[str, np.ndarray], h: np.ndarray) -> tuple[np.ndarray, ...]:
        n = h.size
        nan3 = np.full((n, 3), np.nan)
        if p["host"].size == 0:
            return np.full((n, 4), np.nan), nan3, nan3.copy(), nan3.copy(), np.zeros((n, 1))
        ph = p["host"]
        hi = np.searchsorted(ph, h, side="left")
        inside = hi < ph.size
        hi = np.clip(hi, 0, ph.size - 1)
        exact = np.abs(ph[hi] - h) <= 1e-9
        lo = np.where(exact, hi, np.clip(hi - 1, 0, ph.size - 1))
        ok = inside & (exact | (hi > 0))
        q = np.full((n, 4), np.nan)
        a, g, m = nan3, nan3.copy(), nan3.copy()
        b = np.zeros((n, 1))
        if ok.any():
            i, j, hh = lo[ok], hi[ok], h[ok]
            q[ok] = nlerp_rows(ph, p["q"], hh, i, j)
            a[ok] = lerp_rows(ph, p["acc"], hh, i, j)
            g[ok] = lerp_rows(ph, p["gyr"], hh, i, j)
            m[ok] = lerp_rows(ph, p["mag"], hh, i, j)
            b[ok] = lerp_rows(ph, p["bridged"], hh, i, j)
        return q, a, g, m, b

    def state(self) -> dict[str, Any]:
        return {"ref": self.ref.state(), "partner": self.partner.state()}

    def restore(self, d: dict[str, Any]) -> None:
        self.ref.restore(d["ref"])
        self.partner.restore(d["partner"])
