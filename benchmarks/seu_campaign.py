"""SEU fault-injection campaigns per TMR scope (cocotb on Icarus).

Needs the design's models steps. Each scope gets RTL generated with that scope; single upsets
in random register copies at random cycles while vectors stream, then double upsets.

Run: ./bootstrap.sh python benchmarks/seu_campaign.py [design.yaml] [--injections N]
     [--double N] [--scopes config,full,none]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import ROOT, write

from econflow.config import load_config
from econflow.models import artefacts
from econflow.rtl import artefacts as rtl_artefacts
from econflow.verification import pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design", nargs="?", default=str(ROOT / "encoder.yaml"))
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("--injections", type=int, default=10_000)
    parser.add_argument("--double", type=int, default=1_000)
    parser.add_argument("--scopes", default="config,full,none")
    args = parser.parse_args()
    cfg = load_config(args.design)
    build = Path(args.build_dir or ROOT / "build" / cfg.design.design.name)
    verification = cfg.design.verification.model_copy(
        update={
            "seu_injections": args.injections,
            "seu_double": args.double,
            "seu_scopes": args.scopes.split(","),
        }
    )
    design = cfg.design.model_copy(update={"verification": verification})
    cfg = cfg.model_copy(update={"design": design})
    models = artefacts.load(build)
    model = models.load_quantized()
    _, holdout = models.load_dataset()
    start = time.perf_counter()
    pipeline_points = rtl_artefacts.load(build).description.pipeline
    results = pipeline.run_seu(
        cfg, model, holdout, str(models.quantized), build / "benchmarks" / "seu", pipeline_points
    )
    seconds = time.perf_counter() - start
    for scope, r in results.items():
        print(f"{scope}: {r.injections} injections, {r.corrupted} corrupted, {r.flagged} flagged")
    write(
        f"seu_campaign_{cfg.design.design.name}",
        {
            "design": args.design,
            "seconds": round(seconds, 1),
            "scopes": {scope: r.model_dump() for scope, r in results.items()},
        },
    )


if __name__ == "__main__":
    main()
