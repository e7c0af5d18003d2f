"""A simulated session written as a live recording would be: each sensor on its own device
clock (offset and crystal drift), its samples sent in notifications of a few samples that
reach the host after a random latency, and the host arrival time of every notification kept
(``.mtrec``). What a :class:`motiontrack.Session` records from real sensors, with the
simulator's ground truth beside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..recording import RecordingWriter
from .knee import SimulatedSession

__all__ = ["LiveClocks", "write_live_recording"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LiveClocks:
    """How each sensor's clock and link behave in :func:`write_live_recording`."""

    offset_s: tuple[float, ...] = (12.5, -3.25)  # device time at simulation time 0, per sensor
    drift_ppm: tuple[float, ...] = (40.0, -60.0)  # crystal error of each sensor, ppm
    samples_per_packet: int = 5  # samples per notification
    latency_s: tuple[float, float] = (0.004, 0.03)  # uniform arrival latency range, s


def write_live_recording(
    sim: SimulatedSession,
    path: str | os.PathLike[str],
    *,
    clocks: LiveClocks | None = None,
    start_s: float = 0.0,
    seed: int = 0,
    with_mag: bool | None = None,
) -> None:
    """Write ``sim`` as a live ``.mtrec`` recording (see the module docstring).

    Parameters
    ----------
    sim : SimulatedSession
        Dropped samples (``valid`` False) are not sent: they are gaps in the recording.
    path : path
    clocks : LiveClocks, optional
    start_s : float
        Simulation time at which the recording starts (e.g. mid-set).
    seed : int
        Seed of the latencies.
    with_mag : bool, optional
        Record the magnetometers (default: when the simulation has them).
    """
    c = clocks or LiveClocks()
    rng = np.random.default_rng(seed)
    names = list(sim.sensors)
    keep = sim.t >= start_s
    with RecordingWriter(path, meta={"source": f"simulation:{sim.exercise}:seed={sim.seed}"}) as w:
        for n in names:
            w.add_sensor(n, fs=sim.fs)
        blocks = []
        for i, n in enumerate(names):
            imu = sim.sensors[n]
            mag = imu.mag if (with_mag if with_mag is not None else imu.mag is not None) else None
            rate = 1.0 + c.drift_ppm[i % len(c.drift_ppm)] * 1e-6
            dev = c.offset_s[i % len(c.offset_s)] + sim.t * rate  # the sensor's own clock
            idx = np.flatnonzero(keep & imu.valid)
            last = -np.inf
            for k in range(0, idx.size, c.samples_per_packet):
                sl = idx[k : k + c.samples_per_packet]
                # one link delivers its notifications in order (acknowledged, in-order L2CAP)
                last = max(last, float(sim.t[sl[-1]]) + rng.uniform(*c.latency_s))
                blocks.append((last, n, sl, dev, mag))
        blocks.sort(key=lambda b: b[0])  # notifications in arrival order
        for host, n, sl, dev, mag in blocks:
            imu = sim.sensors[n]
            w.write_samples(
                n,
                dev[sl],
                imu.acc[sl],
                imu.gyr[sl],
                None if mag is None else mag[sl],
                host_time_s=host,
            )
