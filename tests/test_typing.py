"""The public API type-checks for user code: ``mypy --strict`` and basedpyright (pyright's
strict rules) on ``examples/`` and on ``tests/typing/public_api.py``, a sample that uses every
public name and pins the return types a user relies on with ``assert_type``.

Both checkers come with the ``test`` extra; each runs once, with its cache in a temporary folder.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import motiontrack
from motiontrack import events
from motiontrack.session import Session, SyncSession

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "typing" / "public_api.py"
TARGETS = [str(SAMPLE), str(ROOT / "examples")]


def test_sample_uses_every_public_name() -> None:
    text = SAMPLE.read_text()
    missing = [n for n in motiontrack.__all__ if not re.search(rf"\bmt\.{re.escape(n)}\b", text)]
    assert missing == []
    classes = [n for n in events.__all__ if n != "SessionEvent" and n != "event_to_dict"]
    assert [n for n in classes if f"isinstance(event, ev.{n})" not in text] == []
    assert "ev.event_to_dict" in text


def test_sync_session_takes_the_session_arguments() -> None:
    """SyncSession spells out Session's parameters (no ``*args, **kwargs``): same names,
    kinds, defaults and annotations, so neither can drift from the other."""
    ours = inspect.signature(SyncSession.__init__).parameters
    theirs = inspect.signature(Session.__init__).parameters
    assert list(ours) == list(theirs)
    for name, p in theirs.items():
        q = ours[name]
        assert (q.kind, q.default, q.annotation) == (p.kind, p.default, p.annotation), name
        assert p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)


def test_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         "--no-error-summary", *TARGETS],
        capture_output=True, text=True, cwd=tmp_path, timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_pyright_strict(tmp_path: Path) -> None:
    exe = shutil.which("basedpyright", path=str(Path(sys.executable).parent)) or shutil.which(
        "basedpyright"
    )
    if exe is None:
        pytest.skip("basedpyright is not installed (pip install -e '.[test]')")
    config = tmp_path / "pyrightconfig.json"
    config.write_text(json.dumps({
        "typeCheckingMode": "strict",  # pyright's strict rule set
        "include": TARGETS,
        "pythonVersion": f"{sys.version_info.major}.{sys.version_info.minor}",
    }))
    run = subprocess.run(
        [exe, "-p", str(config), "--pythonpath", sys.executable],
        capture_output=True, text=True, cwd=tmp_path, timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 errors, 0 warnings" in run.stdout
