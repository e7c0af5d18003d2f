"""The joint centre seen from each sensor, from the accelerations both sensors must agree on
(Seel et al. 2014 §3.2): it picks the branch of the 6D relative heading, refines a constant
heading offset, and gives the lever arms of the swap and posture checks. Method:
:mod:`motiontrack.kinematics.calibration`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import quaternion as mq
from ._calib_math import _fill_nan, _lowpass


class _JointCentre:
    """Joint centre seen from each sensor (m, sensor frames), Seel et al. 2014 §3.2 in its
    vector form: both sensors must report the same acceleration of the joint centre,
    ``R1 (a1 + G1 o1) = Rz(delta + off) R2 (a2 + G2 o2)`` with ``G o = dw x o + w x (w x o)``.
    Linear least squares for (o1, o2) (minimum norm along the hinge, where it is free).
    The normal equations are linear in cos/sin of a constant heading offset ``off``, so
    their parts are summed once and each offset costs one 6x6 solve."""

    def __init__(
        self,
        acc_p: np.ndarray,
        gyr_p: np.ndarray,
        acc_d: np.ndarray,
        gyr_d: np.ndarray,
        qp: np.ndarray,
        qd: np.ndarray,
        delta_t: np.ndarray,
        fs: float,
        min_rate: float,
    ) -> None:
        a1 = _lowpass(_fill_nan(acc_p), fs, 2.5)
        a2 = _lowpass(_fill_nan(acc_d), fs, 2.5)
        g1 = _lowpass(_fill_nan(gyr_p), fs, 2.5)
        g2 = _lowpass(_fill_nan(gyr_d), fs, 2.5)
        d1 = np.gradient(g1, 1.0 / fs, axis=0)
        d2 = np.gradient(g2, 1.0 / fs, axis=0)
        ok = np.all(np.isfinite(qp), axis=1) & np.all(np.isfinite(qd), axis=1)
        idx = np.flatnonzero(
            ok & ((np.linalg.norm(g1, axis=1) > min_rate) | (np.linalg.norm(g2, axis=1) > min_rate))
        )
        self.n_eff = max(1.0, idx.size / fs * 5.0)  # independent samples after the 2.5 Hz low-pass
        self.valid = idx.size >= 20
        if not self.valid:
            return
        idx = idx[:: max(1, idx.size // 3000)]
        self.n = idx.size

        def skew(v: np.ndarray) -> np.ndarray:
            z = np.zeros(v.shape[0])
            return np.stack(
                [
                    np.stack([z, -v[:, 2], v[:, 1]], 1),
                    np.stack([v[:, 2], z, -v[:, 0]], 1),
                    np.stack([-v[:, 1], v[:, 0], z], 1),
                ],
                axis=1,
            )

        def gamma(g: np.ndarray, d: np.ndarray) -> np.ndarray:
            w = skew(g[idx])
            return skew(d[idx]) + w @ w

        r1 = mq.to_matrix(qp[idx])
        qz = np.stack(
            [np.cos(0.5 * delta_t[idx]), 0 * idx, 0 * idx, np.sin(0.5 * delta_t[idx])], axis=1
        )
        r2 = mq.to_matrix(mq.multiply(qz, qd[idx]))
        A = r1 @ gamma(g1, d1)  # (n, 3, 3)
        B = r2 @ gamma(g2, d2)
        e1 = np.einsum("nij,nj->ni", r1, a1[idx])
        e2 = np.einsum("nij,nj->ni", r2, a2[idx])
        E = (
            np.diag([0.0, 0.0, 1.0]),
            np.diag([1.0, 1.0, 0.0]),
            np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
        )
        self.S11 = np.einsum("nki,nkj->ij", A, A)
        self.S22 = np.einsum("nki,nkj->ij", B, B)
        self.P = [np.einsum("nki,kl,nlj->ij", A, Ek, B) for Ek in E]  # sum A^T Ek B
        self.q = [np.einsum("nki,kl,nl->i", A, Ek, e2) for Ek in E]  # sum A^T Ek e2
        self.v = [np.einsum("nki,lk,nl->i", B, Ek, e1) for Ek in E]  # sum B^T Ek^T e1
        self.z = [float(np.einsum("nk,kl,nl->", e1, Ek, e2)) for Ek in E]  # sum e1^T Ek e2
        self.u1 = np.einsum("nki,nk->i", A, e1)
        self.w2 = np.einsum("nki,nk->i", B, e2)
        self.yy0 = float(np.sum(e1 * e1) + np.sum(e2 * e2))

    def solve(self, off: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(o1, o2, covariance (6, 6) in m², RMS residual in m/s²) for a heading offset (rad)."""
        if not self.valid:
            return np.zeros(3), np.zeros(3), np.full((6, 6), np.inf), np.inf
        w = (1.0, math.cos(off), math.sin(off))
        cross = sum(wk * pk for wk, pk in zip(w, self.P))
        mtm = np.block([[self.S11, -cross], [-cross.T, self.S22]])
        mty = np.concatenate(
            [
                sum(wk * qk for wk, qk in zip(w, self.q)) - self.u1,
                -self.w2 + sum(wk * vk for wk, vk in zip(w, self.v)),
            ]
        )
        yy = self.yy0 - 2.0 * sum(wk * zk for wk, zk in zip(w, self.z))
        x = np.linalg.pinv(mtm, rcond=1e-10) @ mty
        ssr = max(yy - float(x @ mty), 0.0)
        rms = math.sqrt(ssr / (3 * self.n))
        # covariance, inflated for the correlation of low-passed samples
        cov = (rms**2) * max(1.0, self.n / self.n_eff) * np.linalg.pinv(mtm, rcond=1e-10)
        return x[:3], x[3:], cov, rms
