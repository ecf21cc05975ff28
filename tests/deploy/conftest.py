"""Loads deploy/check.py (a script, not a package) once for the deploy tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lathe_deploy_check", REPO / "deploy" / "check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CHECK = _load_check()


@pytest.fixture(scope="session")
def check() -> ModuleType:
    """deploy/check.py: rendering, validation and the invariants."""
    return CHECK


@pytest.fixture(scope="session")
def rendered() -> dict:
    """Every kustomize target rendered once: {name: Rendered}."""
    return {target.name: CHECK.render(target) for target in CHECK.TARGETS}
