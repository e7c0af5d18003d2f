"""Files in and out: CSV import/export, native recordings, OpenSim ``.sto`` tables.

:func:`load` reads either a native ``.mtrec`` recording or a long-form CSV (see
``shared/API.md``), choosing by the file's first bytes, and returns a
:class:`~motiontrack.recording.Recording`. :func:`to_dataframe` and :func:`from_dataframe`
turn a recording into a pandas table and back (optional: ``motiontrack[pandas]``);
:func:`to_bids` and :func:`read_bids` write and read BIDS-motion datasets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InputError, RecordingError
from ..recording import Recording, read_recording
from ..recording.format import MAGIC
from .bids import BidsMotion, read_bids, to_bids
from .csv import read_csv, write_angles_csv, write_orientations_csv, write_samples_csv
from .opensim import read_sto, write_sto
from .tables import from_dataframe, recording_frame

__all__ = [
    "BidsMotion",
    "from_dataframe",
    "load",
    "read_bids",
    "read_csv",
    "read_sto",
    "to_bids",
    "to_dataframe",
    "write_angles_csv",
    "write_orientations_csv",
    "write_samples_csv",
    "write_sto",
]


def load(path: str | os.PathLike[str], *, recover: bool = False) -> Recording:
    """Read a recording (``.mtrec`` or CSV, detected from the content).

    ``recover=True`` returns the intact part of a damaged ``.mtrec`` file instead of
    raising :class:`~motiontrack.errors.CorruptRecordingError`.

    Raises
    ------
    InputError
        The file is empty, or is neither a ``.mtrec`` recording (magic bytes) nor a CSV
        text file (binary content: NUL bytes or not UTF-8), or a malformed CSV.
    RecordingError
        The file cannot be read, or a damaged or unsupported ``.mtrec`` file.
    """
    kind = _sniff(path)
    if kind == "mtrec":
        return read_recording(path, recover=recover)
    return read_csv(path)


def to_dataframe(source: Recording | str | os.PathLike[str]) -> Any:
    """A recording, or a ``.mtrec``/CSV file read with :func:`load`, as one long-form pandas
    DataFrame (:mod:`motiontrack.io.tables`; ``pip install "motiontrack[pandas]"``)."""
    return recording_frame(source if isinstance(source, Recording) else load(source))


#: Bytes looked at to tell a recording, a CSV text and anything else apart.
_SNIFF_BYTES = 4096


def _sniff(path: str | os.PathLike[str]) -> str:
    """``"mtrec"`` or ``"csv"`` from the first bytes; a clear error for anything else."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise RecordingError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"{p} is a directory, not a recording") from None
    except OSError as exc:
        raise RecordingError(f"cannot read {p}: {exc.strerror}") from None
    if not head:
        raise InputError(
            f"{p} is empty (0 bytes): not a motiontrack recording (.mtrec) nor a CSV file"
        )
    if head.startswith(MAGIC):
        return "mtrec"
    if MAGIC.startswith(head):
        raise RecordingError(
            f"{p} is a truncated motiontrack recording (.mtrec): {len(head)} bytes, "
            "cut inside the file header; nothing can be recovered"
        )
    if not _is_text(head):
        raise InputError(
            f"{p} is not a motiontrack recording (.mtrec) nor a CSV file: binary content "
            f"(starts with bytes {head[:8].hex(' ')})"
        )
    return "csv"


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the sniffing window is still text
        return exc.reason == "unexpected end of data" and len(head) == _SNIFF_BYTES
    return True
