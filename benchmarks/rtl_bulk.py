"""The generated RTL against the fixed-point model in a simulator: held-out modules + corners.

Loads the trained weight image through the configuration port, streams the vectors one per
clock and counts mismatches inside the simulator. Needs the design's models and rtl steps.

Run: ./bootstrap.sh python benchmarks/rtl_bulk.py [encoder.yaml] [--vectors N]
     [--simulator icarus|verilator]  (held-out modules repeat when N exceeds them)
"""

from __future__ import annotations

import time

from _common import design_and_build, design_parser, write

from econflow.models import artefacts
from econflow.rtl import artefacts as rtl_artefacts
from econflow.verification import bulk, pipeline


def main() -> None:
    parser = design_parser(__doc__)
    parser.add_argument("--vectors", type=int, default=10_000)
    parser.add_argument("--simulator", choices=bulk.SIMULATORS, default="icarus")
    args = parser.parse_args()
    cfg, build = design_and_build(args)
    models = artefacts.load(build)
    model = models.load_quantized()
    _, holdout = models.load_dataset()
    charges = pipeline.regression_vectors(holdout, args.vectors, model.charge_bits)
    design = rtl_artefacts.load(build)
    image = design.load_image()
    print(f"simulating {len(charges)} vectors through {design.top} in {args.simulator}", flush=True)
    start = time.perf_counter()
    result = bulk.run(
        design,
        model,
        charges,
        image,
        build / "benchmarks" / f"rtl_bulk_{args.simulator}",
        args.simulator,
    )
    seconds = time.perf_counter() - start
    print(result)
    write(
        f"rtl_bulk_{cfg.design.design.name}_{args.simulator}_{args.vectors}",
        {
            "design": args.design,
            "simulator": args.simulator,
            **result.model_dump(),
            "seconds": round(seconds, 1),
            "vectors_per_s": round(len(charges) / seconds, 1),
        },
    )


if __name__ == "__main__":
    main()
