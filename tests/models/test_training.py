from __future__ import annotations

import numpy as np
import pytest

from econflow.config import DataSection, Design, EmdCnnSection
from econflow.models import dataset, emd_cnn, training

DESIGN = {
    "design": {"name": "t"},
    "model": {"conv": {"filters": 2}, "dense": {"latent": 4}},
    "training": {"loss": "mse", "epochs": 3, "decoder_units": 8, "batch_size": 128},
}


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def charges():
    return dataset.generate(1500, DataSection(), seed=9)


def interrupt(monkeypatch, hook, epoch):
    """Make training raise Interrupted in callback ``hook`` at ``epoch`` (through the
    learning-rate callback, the first of the list); ``monkeypatch.undo()`` lifts it."""
    plateau = training.keras.callbacks.ReduceLROnPlateau

    def stop(self, at, logs=None):
        if at == epoch:
            raise Interrupted
        getattr(plateau, hook)(self, at, logs)

    stopping = type("Stopping", (plateau,), {hook: stop})
    monkeypatch.setattr(training.keras.callbacks, "ReduceLROnPlateau", stopping)


def test_interrupted_training_resumes_from_the_last_completed_epoch(
    charges, tmp_path, monkeypatch, capsys
):
    design = Design.model_validate(DESIGN)
    files = training.TrainingFiles(tmp_path / "history.csv", tmp_path / "backup", "run-1")
    interrupt(monkeypatch, "on_epoch_end", 1)  # inside epoch two, before it is recorded
    with pytest.raises(Interrupted):
        training.train_autoencoder(design, charges, tmp_path / "unused.h5", files, False)
    assert files.backup.is_dir()
    assert training.read_history(files.history)["epoch"] == [0]

    monkeypatch.undo()
    capsys.readouterr()
    result = training.train_autoencoder(design, charges, tmp_path / "unused.h5", files, False)
    assert "resuming the interrupted training" in capsys.readouterr().out
    history = training.read_history(files.history)
    assert history["epoch"] == [0, 1, 2]
    assert result.history["loss"] == history["loss"]
    assert not files.backup.exists()


def test_a_backup_of_other_settings_is_discarded(charges, tmp_path, capsys):
    design = Design.model_validate({**DESIGN, "training": {**DESIGN["training"], "epochs": 1}})
    backup = tmp_path / "backup"
    (backup / "keras").mkdir(parents=True)
    (backup / "run.json").write_text('{"fingerprint": "another run"}')
    files = training.TrainingFiles(tmp_path / "history.csv", backup, "this run")
    training.train_autoencoder(design, charges, tmp_path / "unused.h5", files, False)
    out = capsys.readouterr().out
    assert "discarding" in out and "resuming" not in out
    assert training.read_history(files.history)["epoch"] == [0]
    assert np.isfinite(training.read_history(files.history)["loss"]).all()


def test_a_resumed_training_keeps_the_refined_emd_cnn(charges, tmp_path, monkeypatch):
    network = emd_cnn.build(EmdCnnSection(filters=4, conv_layers=1, dense=8))
    network.save(tmp_path / "emd_cnn.h5")
    refine = {"every": 1, "pairs": 300, "epochs": 1}
    training_cfg = {**DESIGN["training"], "loss": "emd", "refine_emd_cnn": refine}
    design = Design.model_validate({**DESIGN, "training": training_cfg})
    files = training.TrainingFiles(tmp_path / "history.csv", tmp_path / "backup", "run-2")
    interrupt(monkeypatch, "on_epoch_begin", 2)  # after epoch two and its refinement
    with pytest.raises(Interrupted):
        training.train_autoencoder(design, charges, tmp_path / "emd_cnn.h5", files, False)
    monkeypatch.undo()
    result = training.train_autoencoder(design, charges, tmp_path / "emd_cnn.h5", files, False)
    assert [r.epoch for r in result.refinement.rounds] == [1, 2, 3]
    assert training.read_history(files.history)["epoch"] == [0, 1, 2]
