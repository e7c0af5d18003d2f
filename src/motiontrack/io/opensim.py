"""OpenSim ``.sto`` orientation tables for OpenSense (IMU placer / inverse kinematics).

The file is what OpenSim's ``IMUPlacer`` and ``IMUInverseKinematicsTool`` read
(``orientations_file``)::

    DataRate=100.000000
    DataType=Quaternion
    version=3
    OpenSimVersion=4.1
    endheader
    time<TAB>pelvis_imu<TAB>femur_r_imu
    0.000000<TAB>w,x,y,z<TAB>w,x,y,z

One column per IMU, named ``<segment>_imu`` (OpenSense matches it to the body of that
name), each cell a scalar-first quaternion ``w,x,y,z`` of the sensor in the world frame.

Frames. By default the world frame is motiontrack's earth frame, ENU (z up); OpenSim's
ground is y up, so in the IMU placer set ``sensor_to_opensim_rotations = -1.5707963 0 0``
(−90° about x, as OpenSense does for Xsens/APDM data, which are also z up). With
``to_opensim=True`` this rotation is applied here instead (world = OpenSim ground:
x = ENU x (east), y = up, z = −north) and the placer needs ``0 0 0``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from .. import quaternion as qt
from ..errors import InputError
from ..recording._files import open_private

__all__ = ["Q_OPENSIM_ENU", "read_sto", "write_sto"]

#: Rotation taking ENU earth vectors into OpenSim ground (y up): −90° about x.
Q_OPENSIM_ENU = np.array([math.cos(-math.pi / 4), math.sin(-math.pi / 4), 0.0, 0.0])


def _column_name(name: str) -> str:
    return name if name.endswith("_imu") else f"{name}_imu"


def write_sto(
    path: str | os.PathLike[str],
    t: npt.ArrayLike,
    orientations: Mapping[str, npt.ArrayLike],
    *,
    to_opensim: bool = False,
    opensim_version: str = "4.1",
) -> None:
    """Write an OpenSense orientation table.

    Parameters
    ----------
    path : str or Path
    t : array_like, shape (N,)
        Times, s, uniformly sampled (the header's DataRate is 1 / median period).
    orientations : mapping name -> array_like, shape (N, 4)
        q_earth_sensor per IMU, scalar first. Names become columns ``<name>_imu``
        (use OpenSim body names: ``femur_r``, ``tibia_r``, ...). NaN rows (gaps) are
        written as the previous valid quaternion (OpenSense cannot read NaN).
    to_opensim : bool
        Rotate the world frame from ENU to OpenSim ground (y up) before writing.
    """
    tt = np.asarray(t, dtype=np.float64).reshape(-1)
    if tt.shape[0] < 2:
        raise InputError("an orientation table needs at least two samples")
    d = np.diff(tt)
    rate = 1.0 / float(np.median(d[d > 0])) if np.any(d > 0) else 0.0
    cols = {}
    for name, q in orientations.items():
        qa = np.array(q, dtype=np.float64).reshape(-1, 4)
        if qa.shape[0] != tt.shape[0]:
            raise InputError(f"orientation {name!r} has {qa.shape[0]} rows, time has {tt.shape[0]}")
        ok = np.isfinite(qa).all(axis=1)
        if not ok.any():
            raise InputError(f"orientation {name!r} has no valid sample")
        # forward-fill gaps, back-fill a leading gap
        idx = np.where(ok, np.arange(qa.shape[0]), -1)
        idx = np.maximum.accumulate(idx)
        idx[idx < 0] = int(np.argmax(ok))
        qa = qa[idx]
        if to_opensim:
            qa = qt.multiply(Q_OPENSIM_ENU, qa)
        # keep the scalar part non-negative: one sign per rotation, easier to diff
        qa = np.where(qa[:, :1] < 0, -qa, qa)
        cols[_column_name(name)] = qa
    with open_private(path, "w", newline="\n", encoding="utf-8") as f:
        f.write(
            f"DataRate={rate:.6f}\nDataType=Quaternion\nversion=3\nOpenSimVersion={opensim_version}\nendheader\n"
        )
        f.write("\t".join(["time", *cols]) + "\n")
        for i in range(tt.shape[0]):
            cells = [f"{tt[i]:.6f}"] + [",".join(f"{v:.9f}" for v in q[i]) for q in cols.values()]
            f.write("\t".join(cells) + "\n")


def read_sto(
    path: str | os.PathLike[str],
) -> tuple[dict[str, str], np.ndarray, dict[str, np.ndarray]]:
    """Read an orientation table written by :func:`write_sto` (or OpenSense).

    Returns ``(header, t (N,), {column: q (N, 4)})``.
    """
    header: dict[str, str] = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line == "endheader":
                break
            if "=" in line:
                k, v = line.split("=", 1)
                header[k] = v
        else:
            raise InputError(f"{path}: no 'endheader' line")
        names = f.readline().rstrip("\n").split("\t")
        if not names or names[0] != "time":
            raise InputError(f"{path}: the first column must be 'time'")
        t, cols = [], {n: [] for n in names[1:]}
        for line in f:
            if not line.strip():
                continue
            cells = line.rstrip("\n").split("\t")
            t.append(float(cells[0]))
            for n, c in zip(names[1:], cells[1:]):
                cols[n].append([float(v) for v in c.split(",")])
    return header, np.asarray(t), {n: np.asarray(v) for n, v in cols.items()}
