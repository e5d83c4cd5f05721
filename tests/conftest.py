"""Shared fixtures: the tiny design and a once-per-session run of its models flow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TESTS = Path(__file__).parent
ROOT = TESTS.parent
TINY = TESTS / "configs" / "tiny.yaml"


@pytest.fixture(scope="session")
def tiny_config():
    from econflow.config import load_config

    return load_config(TINY)


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build directory after ``sc flow run tests/configs/tiny.yaml`` (all four steps)."""
    from econflow.flow.cli import main

    build = tmp_path_factory.mktemp("tiny") / "build"
    assert main(["flow", "run", str(TINY), "--build-dir", str(build)]) == 0
    return build
