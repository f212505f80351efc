"""Fixtures shared by the diffusers test modules, loaded with ``pytest_plugins = ["diffusers_fixtures"]``.

A plugin rather than names imported into each module: pytest finds the fixtures by name, so a test's
``tiny`` / ``project`` / ``store`` parameters shadow no import, and the session-scoped ``tiny`` is one
fixture (saved once per session) however many modules use it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from songreel.generate.base import ProjectInfo
from songreel.generate.store import ClipStore
from songreel.generate.tiny_models import save_tiny


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """Tiny pipelines saved once per session: ``tiny("wan-ti2v") -> folder``."""
    root = tmp_path_factory.mktemp("tiny-models")
    made: dict = {}

    def get(kind: str) -> Path:
        if kind not in made:
            made[kind] = save_tiny(kind, root / kind)
        return made[kind]

    return get


@pytest.fixture
def project(tmp_path):
    return ProjectInfo(width=32, height=32, fps=Fraction(24), base_dir=tmp_path, store_dir=tmp_path / ".songreel")


@pytest.fixture
def store(tmp_path):
    return ClipStore(tmp_path / ".songreel")
