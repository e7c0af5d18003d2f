"""Shared fixtures. Tests that need ../shared/data skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
#: The shared datasets live beside the repository (never committed into it);
#: MOTIONTRACK_DATA overrides the location.
SHARED_DATA = Path(os.environ.get("MOTIONTRACK_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def broad_dir(shared_data: Path) -> Path:
    d = shared_data / "broad"
    if not any(d.glob("*.npz")):
        pytest.skip(f"BROAD trials not found in {d}")
    return d


@pytest.fixture(scope="session")
def pt_dir(shared_data: Path) -> Path:
    d = shared_data / "physical_therapy_exercises"
    if not any(d.glob("*.npz")):
        pytest.skip(f"physical therapy sessions not found in {d}")
    return d


def assert_rotation_close(q_a: np.ndarray, q_b: np.ndarray, atol_rad: float) -> None:
    """Compare rotations, not components: q and -q are the same rotation."""
    from motiontrack.quaternion import angle_between

    err = np.atleast_1d(angle_between(q_a, q_b))
    worst = float(np.max(err)) if err.size else 0.0
    assert worst <= atol_rad, f"rotation error {np.degrees(worst):.3g}° > {np.degrees(atol_rad):.3g}°"


# The recordings of the report tests, made once for tests/test_report.py and the browser tests.
from report_data import outage_case, progress_case  # noqa: E402,F401
