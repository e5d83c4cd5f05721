"""Generic Yosys synthesis of the design's RTL for each TMR scope and weight mode.

Cell and flip-flop counts (Yosys' technology-independent ``synth -flatten``; the sky130 flow
is the ASIC flow's job), checked against the generator's flip-flop count. Needs the models
steps of the design to have run.

Run: ./bootstrap.sh python benchmarks/rtl_synthesis.py [encoder.yaml] [--variants none,config]
"""

from __future__ import annotations

import time

from _common import design_and_build, design_parser, write

from econflow.models import artefacts
from econflow.rtl import checks, pipeline

VARIANTS = {
    "none": ("programmable", "none"),
    "config": ("programmable", "config"),
    "full": ("programmable", "full"),
    "hardwired": ("hardwired", "none"),
}


def main() -> None:
    parser = design_parser(__doc__)
    parser.add_argument("--variants", default="none,config")
    args = parser.parse_args()
    cfg, build = design_and_build(args)
    model = artefacts.load(build).load_quantized()
    results = {}
    for name in args.variants.split(","):
        weights, tmr = VARIANTS[name]
        hw = cfg.design.hardware.model_copy(update={"weights": weights, "tmr": tmr})
        enc = pipeline.describe(model, hw, pipeline.top_name(cfg), "benchmark")
        out = build / "benchmarks" / f"rtl_{name}"
        files = pipeline.generate(enc, out, "benchmark")
        print(f"{name}: synthesizing {enc.top} ({enc.flip_flops} flip-flops expected)", flush=True)
        start = time.perf_counter()
        stats = checks.synth_stats(files, enc.top, out)
        seconds = time.perf_counter() - start
        results[name] = {
            "weights": weights,
            "tmr": tmr,
            "cells": stats["cells"],
            "flip_flops": stats["flip_flops"],
            "flip_flops_expected": enc.flip_flops,
            "protected_bits": enc.protected_bits,
            "total_register_bits": enc.total_bits,
            "latency_cycles": enc.latency_cycles,
            "synth_seconds": round(seconds, 1),
            "cells_by_type": stats["cells_by_type"],
        }
        print(f"{name}: {stats['cells']} cells, {stats['flip_flops']} flip-flops, {seconds:.0f} s")
    write(f"rtl_synthesis_{cfg.design.design.name}", {"design": args.design, "variants": results})


if __name__ == "__main__":
    main()
