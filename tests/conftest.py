"""Shared fixtures: the tiny design and a once-per-session run of its models flow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TESTS = Path(__file__).parent
ROOT = TESTS.parent
TINY = TESTS / "configs" / "tiny.yaml"
MICRO = TESTS / "configs" / "micro.yaml"
NANO = TESTS / "configs" / "nano.yaml"
# The project's machines keep lambdapdk's sky130 data beside the checkout (bootstrap.sh sets it
# too); tests of missing data unset it.
SHARED_PDK = ROOT.parent / "shared" / "pdks" / "lambdapdk"
if SHARED_PDK.is_dir():
    os.environ.setdefault("ECONFLOW_LAMBDAPDK", str(SHARED_PDK))


def _flow_run(design: Path, build: Path) -> None:
    """``sc flow run`` with ``--debug``: a failing step raises its own error, so the test
    summary line (all a CI log may keep) names the cause."""
    from econflow.cli import main

    assert main(["flow", "run", str(design), "--build-dir", str(build), "--debug"]) == 0


@pytest.fixture(scope="session")
def tiny_config():
    from econflow.config import load_config

    return load_config(TINY)


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build directory after ``sc flow run tests/configs/tiny.yaml`` (all four steps)."""
    build = tmp_path_factory.mktemp("tiny") / "build"
    _flow_run(TINY, build)
    return build


@pytest.fixture(scope="session")
def micro_config():
    from econflow.config import load_config

    return load_config(MICRO)


@pytest.fixture(scope="session")
def micro_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build directory after ``sc flow run tests/configs/micro.yaml``: the models flow, RTL,
    synthesis, timing, gate-level simulation, power and the report on sky130hd."""
    build = tmp_path_factory.mktemp("micro") / "build"
    _flow_run(MICRO, build)
    return build


@pytest.fixture(scope="session")
def nano_config():
    from econflow.config import load_config

    return load_config(NANO)


@pytest.fixture(scope="session")
def nano_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build directory after ``sc flow run tests/configs/nano.yaml``: the models flow, RTL,
    synthesis, timing, gate-level simulation, power, place, route, GDS and the report."""
    build = tmp_path_factory.mktemp("nano") / "build"
    _flow_run(NANO, build)
    return build
