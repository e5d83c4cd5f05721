"""EMD-CNN relative error on held-out pairs (goal |mean| <= 0.01, spread <= 0.04).

Runs the flow's ``data`` and ``emd`` steps of a design (default ``encoder.yaml``) into its
usual build directory, so a later ``sc flow run`` reuses them, and records the figures.
Run: ./bootstrap.sh python benchmarks/emd_cnn_accuracy.py [design.yaml]
"""

from __future__ import annotations

import sys
from pathlib import Path

from _common import ROOT, write

from econflow.config import load_config
from econflow.models.results import ModelsMetrics
from econflow.runner import Runner


def main() -> None:
    cfg = load_config(sys.argv[1] if len(sys.argv) > 1 else ROOT / "encoder.yaml")
    build = Path("build") / cfg.design.design.name
    Runner(cfg, build).run(["data", "emd"])
    metrics = ModelsMetrics.read(build).emd_cnn
    if metrics is None:
        raise SystemExit("the emd step recorded no figures")
    write(
        "emd_cnn_accuracy",
        {
            "design": str(cfg.path),
            **metrics.model_dump(),
            "goal": {"abs_rel_error_mean": 0.01, "rel_error_std": 0.04},
            "paper": {"rel_error_mean": -0.013, "rel_error_std": 0.053},
        },
    )


if __name__ == "__main__":
    main()
