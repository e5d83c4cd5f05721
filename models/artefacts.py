"""The models stage's artefact directory and the one interface later stages read it through."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from econflow.errors import ArtefactError
from econflow.models import quantized
from econflow.models.results import ModelsMetrics
from econflow.results import METRICS

DATASET = "dataset.npz"
EMD_CNN = "emd_cnn.h5"
EMD_CNN_REFINED = "emd_cnn_refined.h5"
AUTOENCODER = "autoencoder.h5"
TRAINING_HISTORY = "training_history.csv"
TRAINING_BACKUP = "training_backup"
QUANTIZED = "quantized_model.json"
FIGURES = "figures"


@dataclass(frozen=True)
class ModelsArtefacts:
    """Paths of everything the models stage writes under ``<build-dir>/models``."""

    root: Path

    @property
    def dataset(self) -> Path:
        return self.root / DATASET

    @property
    def emd_cnn(self) -> Path:
        return self.root / EMD_CNN

    @property
    def emd_cnn_refined(self) -> Path:
        return self.root / EMD_CNN_REFINED

    @property
    def autoencoder(self) -> Path:
        return self.root / AUTOENCODER

    @property
    def training_history(self) -> Path:
        return self.root / TRAINING_HISTORY

    @property
    def training_backup(self) -> Path:
        """Epoch backup of a training run; present only while one is unfinished."""
        return self.root / TRAINING_BACKUP

    @property
    def quantized(self) -> Path:
        return self.root / QUANTIZED

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def figures(self) -> Path:
        return self.root / FIGURES

    def load_dataset(self) -> tuple[np.ndarray, np.ndarray]:
        """(train, holdout) int32 (N, 48) charges."""
        if not self.dataset.is_file():
            raise ArtefactError(self.dataset, "dataset is missing (run the 'data' step)")
        try:
            with np.load(self.dataset) as data:
                return data["train"], data["holdout"]
        except (OSError, ValueError, KeyError) as exc:
            raise ArtefactError(self.dataset, f"not a readable dataset ({exc})") from None

    def load_quantized(self) -> quantized.QuantizedModel:
        """The validated quantized model: what the HLS, RTL and verification stages read."""
        return quantized.load(self.quantized)

    def load_encoder(self) -> Any:
        """The trained QKeras encoder (``tf.keras.Model``); imports TensorFlow."""
        from econflow.models._keras import load_h5
        from econflow.models.autoencoder import ENCODER

        return load_h5(self.autoencoder).get_layer(ENCODER)

    def record(self, section: str, value: Any) -> None:
        """Write one section of the stage's metrics besides the running step's own."""
        ModelsMetrics.record(self.root.parent, section, value)


STAGE = ModelsMetrics.STAGE


def at(build_dir: Path) -> ModelsArtefacts:
    """The models artefact paths of a build directory (which may not exist yet)."""
    return ModelsArtefacts(Path(build_dir) / STAGE)


def load(build_dir: str | Path) -> ModelsArtefacts:
    """The models artefacts of a build directory, checked to hold a quantized model."""
    artefacts = at(Path(build_dir))
    if not artefacts.quantized.is_file():
        raise ArtefactError(artefacts.quantized, "no quantized model (run the models steps)")
    return artefacts
