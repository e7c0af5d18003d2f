"""The package version: one leaf module, so that any layer can read it (the recording
writer stamps it in files) without importing the package root. It equals
``[project] version`` in ``pyproject.toml`` (``tests/test_layers.py`` checks it)."""

__version__ = "0.1.0.dev0"
