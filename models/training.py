"""Training, evaluation and quantization of the ECON-T autoencoder."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from econflow.config import Design
from econflow.models import autoencoder, baselines, dataset, emd_cnn, evaluation, fixedpoint
from econflow.models import quantized as qfile
from econflow.models._keras import load_h5, set_seed, tf
from econflow.models.checkpoints import Backup
from econflow.models.losses import make_loss
from econflow.models.refinement import Refinement
from econflow.models.results import BitExactResult, EmdSummary

keras = tf.keras
VALIDATION_SPLIT = 0.1


@dataclass(frozen=True)
class TrainingFiles:
    """Where a training run keeps its history CSV and its epoch backup; the fingerprint
    names the settings and inputs a backup may be resumed with."""

    history: Path
    backup: Path
    fingerprint: str


@dataclass(frozen=True)
class TrainResult:
    model: keras.Model
    history: dict[str, list[float]]
    train_modules: int
    refinement: Refinement | None  # the EMD-CNN refined during training, if it was


def train_autoencoder(
    design: Design,
    charges: np.ndarray,
    emd_cnn_path: Path,
    files: TrainingFiles | None = None,
    progress: bool = True,
) -> TrainResult:
    """Fit encoder and decoder on non-empty modules with the configured loss.

    Inputs are the pow2-normalized images the encoder sees in hardware; targets are the
    unit-sum maps the decoder must reproduce. With the ``emd`` loss the EMD-CNN is refined on
    the reconstructions as training goes (``training.refine_emd_cnn``). With ``files``, the
    history goes to a CSV file epoch by epoch, and an interrupted run resumes from its last
    completed epoch.
    """
    t = design.training
    set_seed(t.seed)
    live = charges[charges.sum(axis=1) > 0]
    x = autoencoder.normalize(live, design.model)
    y = emd_cnn.unit_sum(live)
    emd_model = emd_cnn.load(emd_cnn_path) if t.loss == "emd" else None
    model = autoencoder.build_autoencoder(design.model, t, design.hardware.output_bits)
    model.compile(
        optimizer=keras.optimizers.Adam(t.learning_rate), loss=make_loss(t.loss, emd_model)
    )
    callbacks = [keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=3, min_lr=1e-5)]
    refinement = None
    if emd_model is not None and t.refine_emd_cnn.every:
        fitted = int(len(live) * (1 - VALIDATION_SPLIT))  # Keras validates on the tail
        refinement = Refinement(
            t.refine_emd_cnn,
            emd_model,
            x[:fitted],
            y[:fitted],
            live[:fitted],
            design.emd_cnn.min_emd,
            t.seed,
        )
        callbacks.append(refinement)
    if files is not None:
        backup = Backup(files.backup, files.fingerprint, refinement)
        if backup.resuming:
            print(f"  resuming the interrupted training kept in {files.backup}")
        logger = keras.callbacks.CSVLogger(str(files.history), append=backup.resuming)
        callbacks += [logger, *backup.callbacks()]
    print(f"  training the autoencoder ({t.loss} loss) on {len(live)} modules, {t.epochs} epochs")
    fit = model.fit(
        x,
        y,
        epochs=t.epochs,
        batch_size=t.batch_size,
        validation_split=VALIDATION_SPLIT,
        callbacks=callbacks,
        verbose=2 if progress else 0,
    )
    history = read_history(files.history) if files is not None else fit.history
    losses = {k: [float(v) for v in vals] for k, vals in history.items() if "loss" in k}
    return TrainResult(model, losses, int(len(live)), refinement)


def read_history(path: Path) -> dict[str, list[float]]:
    """The columns of a training-history CSV file (Keras' ``CSVLogger``), by name."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})}


@dataclass(frozen=True)
class Quality:
    emds: dict[str, np.ndarray]
    occupancy: np.ndarray
    metrics: dict[str, EmdSummary]  # per algorithm: the autoencoder and each baseline


def evaluate(design: Design, model: keras.Model, holdout: np.ndarray) -> Quality:
    """Exact EMD of the autoencoder and of every baseline on the same held-out modules."""
    charges = holdout[: design.evaluation.max_modules]
    charges = charges[charges.sum(axis=1) > 0]
    m = design.model
    bits = m.dense.latent * design.hardware.output_bits
    budget = baselines.Budget(bits=bits, value_bits=design.baselines.value_bits)
    threshold_adc = design.baselines.threshold_mip * design.data.mip_adc
    recon = {"autoencoder": model.predict(autoencoder.normalize(charges, m), verbose=0)}
    recon.update(baselines.all_baselines(charges, budget, threshold_adc))
    print(f"  scoring {len(recon)} algorithms on {len(charges)} held-out modules (exact EMD)")
    emds = evaluation.score(charges, recon)
    return Quality(emds, dataset.occupancy(charges), evaluation.metrics(emds, recon, bits))


def quantize(
    design: Design, model_path: Path, out_path: Path, holdout: np.ndarray
) -> BitExactResult:
    """Write the quantized model file and check the fixed-point model against QKeras.

    The check runs on held-out modules plus arithmetic corner cases; a sample mismatches
    when any latent integer differs.
    """
    encoder = load_h5(model_path).get_layer(autoencoder.ENCODER)
    qfile.save(
        autoencoder.quantized_model(encoder, design.model, design.data.charge_bits), out_path
    )
    model = qfile.load(out_path)
    charges = np.concatenate(
        [holdout[: design.evaluation.bit_exact_samples], dataset.corner_cases(model.charge_bits)]
    )
    golden = fixedpoint.evaluate(model, charges)
    floats = encoder.predict(
        autoencoder.normalize(charges, design.model), batch_size=4096, verbose=0
    )
    return BitExactResult(
        **fixedpoint.compare(golden, floats, model).model_dump(),
        latent_nonzero_fraction=float((golden > 0).mean()),
        latent_saturated_fraction=float((golden == model.latent.max_int).mean()),
    )
