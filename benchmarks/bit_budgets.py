"""Mean EMD at every ECON-T output budget: the latent values x 3, 5, 7 and 9 bits each.

At each width the hardware sends the most significant bits of each latent value
(``hardware.output_bits``). Compared on the same held-out modules with exact EMD:
- the autoencoder truncated: trained at the design's width, same weights, fewer bits sent;
- the autoencoder retrained for the width (a new weight image for the same hardware: the
  decoder learns from the truncated values, ``econflow.models.autoencoder.Truncation``);
- best choice, super trigger cells and threshold at the same bits per module.
An empty output (threshold sending nothing) scores the largest TC distance; each baseline is
also given without those modules (``emd_mean_sent``). Per width: mean EMD per occupancy bin
of every algorithm, the bins where the retrained autoencoder beats every baseline, and a plot.
Run: ./bootstrap.sh python benchmarks/bit_budgets.py [design.yaml] [--widths 3,5,7,9]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, ROOT, write

from econflow.config import load_config, with_overrides
from econflow.models import artefacts, autoencoder, plots, profiles, training
from econflow.models._keras import load_h5
from econflow.models.results import EmdProfile
from econflow.runner import Runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design", nargs="?", default=ROOT / "encoder.yaml")
    parser.add_argument(
        "--widths", type=lambda s: [int(x) for x in s.split(",")], default=[3, 5, 7, 9]
    )
    args = parser.parse_args()
    cfg = load_config(args.design)
    build = Path("build") / cfg.design.design.name
    Runner(cfg, build).run(["data", "emd", "train"])
    models = artefacts.at(build)
    train, holdout = models.load_dataset()
    trained = load_h5(models.autoencoder)
    name = f"bit_budgets_{cfg.design.design.name}"
    widths: dict[str, Any] = {}
    for bits in args.widths:
        design = with_overrides(cfg, {"hardware.output_bits": bits}).design
        truncated = autoencoder.build_autoencoder(design.model, design.training, bits)
        truncated.set_weights(trained.get_weights())
        if bits == cfg.design.hardware.output_bits:
            retrained = trained
        else:
            print(f"retraining for {bits}-bit outputs")
            retrained = training.train_autoencoder(design, train, models.emd_cnn).model
        scored = training.evaluate(design, truncated, holdout)
        again = training.evaluate(design, retrained, holdout)
        emds = {"autoencoder, truncated": scored.emds.pop("autoencoder")}
        emds["autoencoder, retrained"] = again.emds["autoencoder"]
        emds.update(scored.emds)
        summaries = {
            "autoencoder, truncated": scored.metrics["autoencoder"],
            "autoencoder, retrained": again.metrics["autoencoder"],
            **{k: v for k, v in scored.metrics.items() if k != "autoencoder"},
        }
        profile = profiles.emd_vs_occupancy(emds, scored.occupancy)
        plots.emd_vs_occupancy(profile, RESULTS / f"{name}_{bits}_bits_emd_vs_occupancy.png")
        widths[str(bits)] = {
            "output_bits": design.model.dense.latent * bits,
            "algorithms": {k: v.model_dump() for k, v in summaries.items()},
            "emd_vs_occupancy": profile.model_dump(),
            "autoencoder_wins_in_bins": _wins(profile),
        }
        print(f"{bits} bits: " + ", ".join(f"{k} {v.emd_mean:.3f}" for k, v in summaries.items()))
        write(name, {"design": str(cfg.path), "widths": widths})


def _wins(profile: EmdProfile) -> list[float]:
    """Occupancy-bin centres where the retrained autoencoder's mean EMD is below every
    baseline's."""
    mean = profile.mean
    ours = mean["autoencoder, retrained"]
    others = [v for k, v in mean.items() if not k.startswith("autoencoder")]
    wins = []
    for i, centre in enumerate(profile.centres):
        theirs = [o[i] for o in others if o[i] is not None]
        if ours[i] is not None and theirs and ours[i] < np.min(theirs):
            wins.append(centre)
    return wins


if __name__ == "__main__":
    main()
