"""Resuming an interrupted autoencoder training from its last completed epoch.

Keras' ``BackupAndRestore`` keeps the autoencoder and its optimizer after every epoch. This
adds what it does not know about: the EMD-CNN being refined (its weights and the rounds so
far), and a fingerprint of the settings and input files, so that a backup left by a run with
other settings is discarded instead of resumed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from econflow.models._keras import tf
from econflow.models.refinement import Refinement
from econflow.models.results import RefinementRound

keras = tf.keras
FINGERPRINT = "run.json"
NETWORK = "emd_cnn.weights.h5"
ROUNDS = "refinement.json"


class Backup(keras.callbacks.Callback):
    """Saves the refined EMD-CNN beside Keras' epoch backup; ``callbacks`` gives both."""

    def __init__(self, directory: Path, fingerprint: str, refinement: Refinement | None) -> None:
        super().__init__()
        self.directory = directory
        self.refinement = refinement
        stamp = directory / FINGERPRINT
        if directory.exists() and _fingerprint(stamp) != fingerprint:
            print(f"  discarding {directory}: the backup of a run with other settings or inputs")
            shutil.rmtree(directory)
        self.resuming = directory.is_dir()
        directory.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({"fingerprint": fingerprint}) + "\n")
        if self.resuming and refinement is not None and (directory / NETWORK).is_file():
            refinement.network.load_weights(directory / NETWORK)
            saved = json.loads((directory / ROUNDS).read_text())
            refinement.rounds = [RefinementRound.model_validate(r) for r in saved["rounds"]]
            refinement.seconds = saved["seconds"]

    def callbacks(self) -> list[keras.callbacks.Callback]:
        """Keras' backup of the autoencoder, then this one's of the EMD-CNN."""
        backup = keras.callbacks.BackupAndRestore(str(self.directory / "keras"))
        return [backup, self]

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        r = self.refinement
        if r is not None:
            r.network.save_weights(self.directory / NETWORK)
            rounds = [x.model_dump() for x in r.rounds]
            (self.directory / ROUNDS).write_text(
                json.dumps({"rounds": rounds, "seconds": r.seconds}) + "\n"
            )

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _fingerprint(stamp: Path) -> str | None:
    try:
        return json.loads(stamp.read_text()).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None
