"""Fixtures of the flow tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from econflow import pdk
from econflow.flow.formats.liberty import library


@pytest.fixture(scope="session")
def sky130(micro_config, tmp_path_factory) -> tuple[dict, list[Path]]:
    """The sky130hd cells at the typical corner (name -> liberty group) and the PDK's own
    simulation models."""
    work = tmp_path_factory.mktemp("pdk")
    data = pdk.open_pdk(micro_config, work)
    return library(data.prepared_liberty("typical", work / "liberty")), data.sim_models()
