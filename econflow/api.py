"""The Python interface for training: what ``sc train`` does, returning the artefacts.

Training runs as flow steps (``data``, ``emd`` for the EMD loss, ``train``), so the build
folder keeps its provenance records and a later ``sc flow run`` of the same design reuses
the results. For a custom Keras loop, the losses are in ``econflow.models.losses``
(``make_loss``, ``emd_loss``, ``telescope_loss``) and the networks in
``econflow.models.autoencoder`` and ``econflow.models.emd_cnn``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from econflow.config import Config, load_config, with_overrides
from econflow.models import artefacts
from econflow.models.pipeline import loss_network
from econflow.models.results import ModelsMetrics
from econflow.runner import Runner

TRAIN_STEPS = ("data", "emd", "train")


@dataclass(frozen=True)
class Trained:
    """A finished training: the files it wrote and its figures (``metrics.autoencoder``,
    ``metrics.baselines``, ``metrics.emd_cnn_refined``)."""

    build_dir: Path
    autoencoder: Path
    emd_cnn: Path | None  # the network the autoencoder last trained against (EMD loss only)
    history: Path  # CSV: one row per epoch
    metrics: ModelsMetrics


def train_steps(cfg: Config) -> list[str]:
    """The steps training needs: the EMD-CNN only for the EMD loss."""
    return [s for s in TRAIN_STEPS if s != "emd" or cfg.design.training.loss == "emd"]


def train(
    design: Config | str | Path,
    build_dir: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    force: bool = False,
) -> Trained:
    """Train the autoencoder of a design file (or of a loaded :class:`Config`).

    ``overrides`` replace design values by dotted key, checked like the file's own:
    ``{"training.loss": "mse", "data.source": "csv", "data.csv": ["my.csv"]}``. The build
    folder defaults to ``build/<design name>``. Steps whose results hold are skipped unless
    ``force``; an interrupted training resumes from its last completed epoch.
    """
    cfg = design if isinstance(design, Config) else load_config(design)
    cfg = with_overrides(cfg, overrides) if overrides else cfg
    build = Path(build_dir) if build_dir is not None else Path("build") / cfg.design.design.name
    Runner(cfg, build).run(train_steps(cfg), force=force)
    out = artefacts.at(build)
    return Trained(
        build_dir=build,
        autoencoder=out.autoencoder,
        emd_cnn=loss_network(cfg, build),
        history=out.training_history,
        metrics=ModelsMetrics.read(build),
    )
