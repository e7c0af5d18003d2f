"""Files in and out: CSV import/export, native recordings, OpenSim ``.sto`` tables.

:func:`load` reads either a native ``.mtrec`` recording or a long-form CSV (see
``shared/API.md``), choosing by the file's first bytes, and returns a
:class:`~motiontrack.recording.Recording`.
"""

from __future__ import annotations

import os

from ..recording import Recording, is_mtrec, read_recording
from .csv import read_csv, write_angles_csv, write_orientations_csv, write_samples_csv
from .opensim import read_sto, write_sto

__all__ = [
    "load",
    "read_csv",
    "read_sto",
    "write_angles_csv",
    "write_orientations_csv",
    "write_samples_csv",
    "write_sto",
]


def load(path: str | os.PathLike[str], *, recover: bool = False) -> Recording:
    """Read a recording (``.mtrec`` or CSV, detected from the content).

    ``recover=True`` returns the intact part of a damaged ``.mtrec`` file instead of
    raising :class:`~motiontrack.errors.CorruptRecordingError`.
    """
    if is_mtrec(path):
        return read_recording(path, recover=recover)
    return read_csv(path)
