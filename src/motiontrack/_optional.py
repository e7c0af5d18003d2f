"""Optional dependencies, imported when first needed, with the extra that brings them.

>>> from motiontrack._optional import require
>>> require("math", "none").pi > 3
True
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` (an optional dependency) or raise :class:`MissingDependencyError`
    naming the extra: ``pip install "motiontrack[<extra>]"``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        if getattr(exc, "name", None) not in (None, top, module):
            raise  # a broken installation of the dependency itself: its own error
        raise MissingDependencyError(
            f"{module} is not installed; install it with: pip install \"motiontrack[{extra}]\""
        ) from None
