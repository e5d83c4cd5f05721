from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from econflow.api import train
from econflow.config import load_config
from econflow.errors import ConfigError

TINY = Path(__file__).parent / "configs" / "tiny.yaml"


def test_train_returns_the_artefacts_and_figures(tiny_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(tiny_build, build)
    trained = train(load_config(TINY), build, overrides={"training.epochs": 1, "training.seed": 11})
    assert trained.autoencoder.is_file() and trained.emd_cnn.is_file()
    assert trained.emd_cnn.name == "emd_cnn_refined.h5"
    assert trained.history.read_text().count("\n") == 2  # header and one epoch
    assert trained.metrics.autoencoder.epochs == 1
    assert trained.metrics.emd_cnn_refined.before["reconstructions"].pairs > 0
    assert trained.metrics.autoencoder.emd_mean > 0


def test_train_refuses_a_bad_override_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"training\.epochs: .*an override"):
        train(TINY, tmp_path, overrides={"training.epochs": 0})
    with pytest.raises(
        ConfigError, match=r"training\.loss: is not a section, cannot override training\.loss\.mse"
    ):
        train(TINY, tmp_path, overrides={"training.loss.mse": 1})
