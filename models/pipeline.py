"""The models stage's flow steps: ``data``, ``emd``, ``train`` and ``quantize``.

Each step reads earlier artefacts from the models directory, writes its own, and returns the
metrics section it recorded. TensorFlow is imported only by the steps that need it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from econflow.config import Config
from econflow.errors import DataError, EconflowError
from econflow.models import dataset, plots, profiles, statistics
from econflow.models.artefacts import ModelsArtefacts, at
from econflow.models.results import (
    AutoencoderResult,
    BitExactResult,
    DataResult,
    EmdCnnResult,
    ModelsMetrics,
    QualityDistributions,
    RefinedEmdCnnResult,
)
from econflow.provenance import digest
from econflow.stage import Step, file_hash

if TYPE_CHECKING:
    from econflow.models.training import TrainResult

T = TypeVar("T")
MIN_TRAIN_MODULES = 10  # the autoencoder validates on a tenth of them
# What the train step reads of the design file: the hardware's output width sets the code
# the decoder learns from and the bit budget of the baselines.
TRAIN_CONFIG = ("data", "model", "training", "evaluation", "baselines", "hardware.output_bits")


def _data(cfg: Config, out: ModelsArtefacts) -> DataResult:
    d = cfg.design.data
    if d.source == "synthetic":
        print(f"  generating {d.modules} synthetic modules (seed {d.seed})")
        charges = dataset.generate(d.modules, d)
    else:
        charges = np.concatenate([_checked_csv(p, d.charge_bits) for p in cfg.csv_paths()])
    rng = np.random.default_rng(d.seed)
    charges = charges[rng.permutation(len(charges))]
    n_hold = max(1, int(round(len(charges) * d.holdout_fraction)))
    holdout, train = charges[:n_hold], charges[n_hold:]
    live = int((train.sum(axis=1) > 0).sum())
    if live < MIN_TRAIN_MODULES:
        raise DataError(
            ", ".join(map(str, cfg.csv_paths())) or cfg.path,
            None,
            f"{len(charges)} modules leave {live} non-empty for training after holding out "
            f"{n_hold} (data.holdout_fraction={d.holdout_fraction}); at least "
            f"{MIN_TRAIN_MODULES} are needed",
        )
    out.root.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out.dataset, train=train, holdout=holdout)
    occ = dataset.occupancy(charges)
    sums = charges.astype(np.int64).sum(axis=1)
    found = statistics.summarize(charges, d.mip_adc)
    figure = out.figures / "data_distributions.png"
    plots.data_distributions(occ, sums / d.mip_adc, found.sum_decay_mip, figure)
    p16, p50, p84 = np.percentile(occ, [16, 50, 84])
    return DataResult(
        source=d.source,
        modules=int(len(charges)),
        train=int(len(train)),
        holdout=int(len(holdout)),
        occupancy_mean=float(occ.mean()),
        occupancy_median=float(p50),
        occupancy_p16=float(p16),
        occupancy_p84=float(p84),
        empty_fraction=float((occ == 0).mean()),
        full_fraction=float((occ == dataset.N_TC).mean()),
        sum_mean=float(sums.mean()),
        sum_median=float(np.median(sums)),
        sum_p99=float(np.percentile(sums, 99)),
        statistics=found,
    )


def _checked_csv(path: Path, charge_bits: int) -> np.ndarray:
    charges = dataset.load_csv(path)
    if charges.max() > 2**charge_bits - 1:
        row = int(np.argwhere(charges > 2**charge_bits - 1)[0, 0])
        raise DataError(
            path,
            None,
            f"data row {row + 1} holds charge {int(charges[row].max())}, more than "
            f"data.charge_bits={charge_bits} can hold ({2**charge_bits - 1})",
        )
    return charges


def _emd(cfg: Config, out: ModelsArtefacts) -> EmdCnnResult:
    from econflow.models import emd_cnn

    e = cfg.design.emd_cnn
    train, holdout = out.load_dataset()
    print(f"  labelling {e.pairs} training pairs with exact EMD")
    pairs = emd_cnn.make_pairs(train, e.pairs, e.seed)
    held = emd_cnn.make_pairs(holdout, e.holdout_pairs, e.seed + 1)
    print(f"  training the EMD-CNN for {e.epochs} epochs")
    model = emd_cnn.train(e, pairs)
    model.save(out.emd_cnn, include_optimizer=False)
    predicted = emd_cnn.predict(model, held.a, held.b)
    plots.predicted_vs_true(
        predicted, held.emd, e.min_emd, out.figures / "emd_cnn_predicted_vs_true.png"
    )
    overall = emd_cnn.summary(emd_cnn.relative_error(predicted, held.emd, e.min_emd))
    return EmdCnnResult(
        pairs_train=int(len(pairs.emd)),
        pairs_eval=overall.pairs,
        pairs_below_min_emd=int((held.emd <= e.min_emd).sum()),
        min_emd=e.min_emd,
        rel_error_mean=overall.mean,
        rel_error_std=overall.std,
        rel_error_p16=overall.p16,
        rel_error_p84=overall.p84,
        abs_error_mean=float(np.abs(predicted - held.emd).mean()),
        by_kind=emd_cnn.by_kind(predicted, held, e.min_emd),
    )


def _train_inputs(cfg: Config, out: ModelsArtefacts) -> list[Path]:
    return [out.dataset, out.emd_cnn] if cfg.design.training.loss == "emd" else [out.dataset]


def _train_outputs(cfg: Config, out: ModelsArtefacts) -> list[Path]:
    figures = ["training_loss.png", "emd_histogram.png", "emd_vs_occupancy.png"]
    files = [out.autoencoder, out.training_history, *(out.figures / name for name in figures)]
    return [*files, out.emd_cnn_refined] if _refines(cfg) else files


def _refines(cfg: Config) -> bool:
    t = cfg.design.training
    return t.loss == "emd" and t.refine_emd_cnn.every > 0


def loss_network(cfg: Config, build: Path) -> Path | None:
    """The EMD-CNN the autoencoder last trained against: the refined one, the ``emd`` step's,
    or none for the other losses."""
    out = at(build)
    if _refines(cfg):
        return out.emd_cnn_refined
    return out.emd_cnn if cfg.design.training.loss == "emd" else None


def _train(cfg: Config, out: ModelsArtefacts) -> AutoencoderResult:
    from econflow.models import training

    train, holdout = out.load_dataset()
    inputs = {str(p.name): file_hash(p) for p in _train_inputs(cfg, out)}
    sections = {name: cfg.section(name) for name in ("emd_cnn", *TRAIN_CONFIG)}
    files = training.TrainingFiles(
        out.training_history, out.training_backup, digest({"in": inputs, "config": sections})
    )
    result = training.train_autoencoder(cfg.design, train, out.emd_cnn, files)
    result.model.save(out.autoencoder, include_optimizer=False)
    plots.training_curve(result.history, out.figures / "training_loss.png")
    quality = training.evaluate(cfg.design, result.model, holdout)
    distributions = QualityDistributions(
        emd_histogram=profiles.emd_histogram(quality.emds),
        emd_vs_occupancy=profiles.emd_vs_occupancy(quality.emds, quality.occupancy),
    )
    plots.emd_histograms(distributions.emd_histogram, out.figures / "emd_histogram.png")
    plots.emd_vs_occupancy(distributions.emd_vs_occupancy, out.figures / "emd_vs_occupancy.png")
    out.record("baselines", {k: v for k, v in quality.metrics.items() if k != "autoencoder"})
    out.record("quality", distributions)
    if cfg.design.training.loss == "emd":
        out.record("emd_cnn_refined", _emd_cnn_refined(cfg, out, result, holdout))
    return AutoencoderResult(
        loss_name=cfg.design.training.loss,
        loss=result.history["loss"][-1],
        val_loss=result.history["val_loss"][-1],
        epochs=len(result.history["loss"]),
        train_modules=result.train_modules,
        eval_modules=int(len(quality.emds["autoencoder"])),
        **quality.metrics["autoencoder"].model_dump(),
    )


def _emd_cnn_refined(
    cfg: Config, out: ModelsArtefacts, result: TrainResult, holdout: np.ndarray
) -> RefinedEmdCnnResult:
    """The EMD-CNN before and after refinement, on held-out pairs of every kind."""
    from econflow.models import autoencoder, emd_cnn, refinement

    e = cfg.design.emd_cnn
    live = holdout[holdout.sum(axis=1) > 0][: e.holdout_pairs]
    made = refinement.reconstruction_pairs(
        result.model, autoencoder.normalize(live, cfg.design.model), emd_cnn.unit_sum(live)
    )
    held = refinement.joined([emd_cnn.make_pairs(holdout, e.holdout_pairs, e.seed + 1), made])
    before = emd_cnn.accuracy(emd_cnn.load(out.emd_cnn), held, e.min_emd)
    refined = result.refinement
    if refined is None:
        return RefinedEmdCnnResult(rounds=[], seconds=0.0, before=before, after=None)
    refined.network.save(out.emd_cnn_refined, include_optimizer=False)
    return RefinedEmdCnnResult(
        rounds=refined.rounds,
        seconds=refined.seconds,
        before=before,
        after=emd_cnn.accuracy(refined.network, held, e.min_emd),
    )


def _quantize(cfg: Config, out: ModelsArtefacts) -> BitExactResult:
    from econflow.models import training

    _, holdout = out.load_dataset()
    check = training.quantize(cfg.design, out.autoencoder, out.quantized, holdout)
    if check.mismatches:
        # A model whose golden reference disagrees with QKeras must not reach later stages.
        out.quantized.unlink()
        out.record("bit_exact", check)
        raise EconflowError(
            f"{out.quantized}: removed; the fixed-point model differs from QKeras on "
            f"{check.mismatches} of {check.samples} samples "
            f"(first at sample {check.first_mismatch})"
        )
    return check


def _files(*names: str) -> Callable[[Config, Path], list[Path]]:
    return lambda _cfg, build: [at(build).root / name for name in names]


def _on_models(work: Callable[[Config, ModelsArtefacts], T]) -> Callable[[Config, Path], T]:
    return lambda cfg, build: work(cfg, at(build))


STEPS: tuple[Step, ...] = (
    Step(
        "data",
        ModelsMetrics,
        "data",
        ("data",),
        lambda cfg, _build: cfg.csv_paths() if cfg.design.data.source == "csv" else [],
        _files("dataset.npz", "figures/data_distributions.png"),
        _on_models(_data),
    ),
    Step(
        "emd",
        ModelsMetrics,
        "emd_cnn",
        ("emd_cnn",),
        _files("dataset.npz"),
        _files("emd_cnn.h5", "figures/emd_cnn_predicted_vs_true.png"),
        _on_models(_emd),
    ),
    Step(
        "train",
        ModelsMetrics,
        "autoencoder",
        TRAIN_CONFIG,
        _on_models(_train_inputs),
        _on_models(_train_outputs),
        _on_models(_train),
        sections=("baselines", "quality", "emd_cnn_refined"),
    ),
    Step(
        "quantize",
        ModelsMetrics,
        "bit_exact",
        ("data", "model", "evaluation"),
        _files("dataset.npz", "autoencoder.h5"),
        _files("quantized_model.json"),
        _on_models(_quantize),
    ),
)
