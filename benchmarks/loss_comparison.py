"""Mean EMD of the design trained with each loss, and of the baselines, on one held-out set.

Goal: the EMD loss reaches <= 0.70x the telescope loss's mean EMD and <= 0.50x MSE's.
Reuses the design's ``data`` and ``emd`` steps (runs them if needed), then trains one
autoencoder per loss with everything else equal.
Run: ./bootstrap.sh python benchmarks/loss_comparison.py [design.yaml] [--epochs N]
(``--epochs`` overrides ``training.epochs`` and names the result file after the count.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import ROOT, write

from econflow.config import load_config
from econflow.models import artefacts, training
from econflow.models.losses import LOSSES
from econflow.runner import Runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("design", nargs="?", default=ROOT / "encoder.yaml")
    parser.add_argument("--epochs", type=int, help="override training.epochs")
    args = parser.parse_args()
    cfg = load_config(args.design)
    epochs = args.epochs or cfg.design.training.epochs
    build = Path("build") / cfg.design.design.name
    Runner(cfg, build).run(["data", "emd"])
    models = artefacts.at(build)
    train, holdout = models.load_dataset()
    results, baselines = {}, {}
    for loss in LOSSES:
        design = cfg.design.model_copy(
            update={
                "training": cfg.design.training.model_copy(update={"loss": loss, "epochs": epochs})
            }
        )
        start = time.perf_counter()
        result = training.train_autoencoder(design, train, models.emd_cnn)
        quality = training.evaluate(design, result.model, holdout)
        results[loss] = {
            **quality.metrics["autoencoder"].model_dump(),
            "final_loss": result.history["loss"][-1],
            "train_seconds": round(time.perf_counter() - start, 1),
        }
        baselines = {k: v.model_dump() for k, v in quality.metrics.items() if k != "autoencoder"}
        print(f"{loss}: mean EMD {results[loss]['emd_mean']:.4f}")
    emd = results["emd"]["emd_mean"]
    write(
        "loss_comparison" if args.epochs is None else f"loss_comparison_{epochs}_epochs",
        {
            "design": str(cfg.path),
            "eval_modules": cfg.design.evaluation.max_modules,
            "epochs": epochs,
            "autoencoder": results,
            "baselines": baselines,
            "ratio_emd_to_telescope": emd / results["telescope"]["emd_mean"],
            "ratio_emd_to_mse": emd / results["mse"]["emd_mean"],
            "goal": {"ratio_emd_to_telescope": 0.70, "ratio_emd_to_mse": 0.50},
        },
    )


if __name__ == "__main__":
    main()
