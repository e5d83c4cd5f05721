"""Loss ablation: the design trained with the EMD, telescope and MSE losses, all else equal.

Goals (issue 20): the EMD loss reaches <= 0.75x the telescope loss's mean EMD and <= 0.55x
MSE's. The exact-EMD loss (``emd_exact``) trains beside them as the reference: what the EMD-CNN
loss would reach if its estimate had no error. The data and the EMD-CNN come from the design's
``data`` and ``emd`` steps (run if needed), so every loss sees the same frozen generator
output; each loss trains with the same architecture, epochs and seed at every learning rate of
one grid. The held-out modules are split in two: the learning rate of each loss is chosen on
the even-numbered ones, and the figures are those of the odd-numbered ones (mean EMD, and mean
EMD per occupancy bin beside the baselines at the same bits).
Results are written after every training run.
Run: ./bootstrap.sh python benchmarks/loss_comparison.py [design.yaml] [--epochs N]
     [--learning-rates 0.002,0.004,0.008] [--losses emd,telescope,mse,emd_exact]
     [--decoder UNITS,FILTERS,CONVOLUTIONS] [--output NAME]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, ROOT, write

from econflow.config import Config, load_config, with_overrides
from econflow.models import artefacts, plots, profiles, training
from econflow.models.losses import LOSSES
from econflow.runner import Runner

DECODER = ("decoder_units", "decoder_filters", "decoder_convolutions")  # of training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design", nargs="?", default=ROOT / "encoder.yaml")
    parser.add_argument("--epochs", type=int, help="override training.epochs")
    parser.add_argument(
        "--learning-rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[0.002, 0.004, 0.008],
    )
    parser.add_argument(
        "--losses", type=lambda s: s.split(","), default=list(LOSSES), help="in training order"
    )
    parser.add_argument(
        "--decoder",
        type=lambda s: dict(
            zip((f"training.{k}" for k in DECODER), map(int, s.split(",")), strict=True)
        ),
        default={},
        help="UNITS,FILTERS,CONVOLUTIONS: the decoder of every loss (training.decoder_*)",
    )
    parser.add_argument("--output", help="results name (default loss_comparison[_N_epochs])")
    args = parser.parse_args()
    cfg = load_config(args.design)
    epochs = args.epochs or cfg.design.training.epochs
    build = Path("build") / cfg.design.design.name
    Runner(cfg, build).run(["data", "emd"])
    models = artefacts.at(build)
    train, holdout = models.load_dataset()
    name = "loss_comparison" if args.epochs is None else f"loss_comparison_{epochs}_epochs"
    name = args.output or name
    runs: list[dict[str, Any]] = []
    emds: dict[tuple[str, float], np.ndarray] = {}
    for rate in args.learning_rates:
        for loss in args.losses:
            changes = {"training.loss": loss, "training.epochs": epochs, **args.decoder}
            design = with_overrides(cfg, {**changes, "training.learning_rate": rate}).design
            start = time.perf_counter()
            result = training.train_autoencoder(design, train, models.emd_cnn)
            quality = training.evaluate(design, result.model, holdout)
            emds[loss, rate] = quality.emds["autoencoder"]
            runs.append(
                {
                    "loss": loss,
                    "learning_rate": rate,
                    "choice_emd_mean": float(emds[loss, rate][0::2].mean()),
                    "emd_mean": float(emds[loss, rate][1::2].mean()),
                    "final_loss": result.history["loss"][-1],
                    "refinements": len(result.refinement.rounds) if result.refinement else 0,
                    "train_seconds": round(time.perf_counter() - start, 1),
                }
            )
            print(f"{loss} at learning rate {rate}: mean EMD {runs[-1]['emd_mean']:.4f}")
            figures = _figures(cfg, epochs, runs, emds, quality, RESULTS / name)
            write(name, {**figures, "decoder": design.training.model_dump(include=set(DECODER))})


def _figures(
    cfg: Config,
    epochs: int,
    runs: list[dict[str, Any]],
    emds: dict[tuple[str, float], np.ndarray],
    quality: training.Quality,
    stem: Path,
) -> dict[str, Any]:
    """Each loss at its chosen learning rate against the baselines, on the odd half."""
    chosen = {}
    for run in runs:
        best = chosen.get(run["loss"])
        if best is None or run["choice_emd_mean"] < best["choice_emd_mean"]:
            chosen[run["loss"]] = run
    curves = {
        f"autoencoder, {loss} loss": emds[loss, r["learning_rate"]] for loss, r in chosen.items()
    }
    curves.update({k: v for k, v in quality.emds.items() if k != "autoencoder"})
    curves = {k: v[1::2] for k, v in curves.items()}
    profile = profiles.emd_vs_occupancy(curves, quality.occupancy[1::2])
    plots.emd_vs_occupancy(profile, stem.with_name(stem.name + "_emd_vs_occupancy.png"))
    mean = {loss: run["emd_mean"] for loss, run in chosen.items()}
    ratios = {
        f"ratio_{a}_to_{b}": mean[a] / mean[b]
        for a, b in (
            ("emd", "telescope"),
            ("emd", "mse"),
            ("emd", "emd_exact"),
            ("emd_exact", "telescope"),
            ("emd_exact", "mse"),
        )
        if a in mean and b in mean
    }
    return {
        "design": str(cfg.path),
        "epochs": epochs,
        "report_modules": int(len(quality.occupancy[1::2])),
        "runs": runs,
        "chosen_learning_rate": {loss: run["learning_rate"] for loss, run in chosen.items()},
        "emd_mean": mean,
        "baselines_emd_mean": {k: float(v.mean()) for k, v in curves.items() if "," not in k},
        "emd_vs_occupancy": profile.model_dump(),
        **ratios,
        "goal": {"ratio_emd_to_telescope": 0.75, "ratio_emd_to_mse": 0.55},
    }


if __name__ == "__main__":
    main()
