"""Area, timing, power and energy per inference on sky130hd for TMR scopes and weight modes.

Each variant gets its own build directory holding a copy of the design's models stage, its
own RTL, and the steps rtl, synth, sta, gatesim and power (``sc flow run``), so the figures
are the flow's own. Needs the models steps of the design to have run.

Run: ./bootstrap.sh python benchmarks/flow_ppa.py [encoder.yaml] [--variants none,config,...]
"""

from __future__ import annotations

import json

from _common import design_and_build, design_parser, run_variant, write

VARIANTS = {
    "none": ("programmable", "none"),
    "config": ("programmable", "config"),
    "full": ("programmable", "full"),
    "hardwired": ("hardwired", "none"),
    "hardwired_full": ("hardwired", "full"),
}
STEPS = "rtl,synth,sta,gatesim,power"


def main() -> None:
    parser = design_parser(__doc__)
    parser.add_argument("--variants", default="none,config,full,hardwired")
    args = parser.parse_args()
    cfg, build = design_and_build(args)
    results = {}
    for name in args.variants.split(","):
        weights, tmr = VARIANTS[name]
        r, seconds = run_variant(
            cfg, build, f"flow_{name}", {"weights": weights, "tmr": tmr}, STEPS
        )
        synth, sta, power, gate, rtl = (
            r.flow.synth, r.flow.sta, r.flow.power, r.flow.gate_level, r.rtl.rtl
        )  # fmt: skip
        if synth is None or sta is None or power is None or gate is None or rtl is None:
            raise SystemExit(f"variant {name}: the flow left no figures")
        slow, typical = sta.corners["slow"], sta.corners["typical"]
        results[name] = {
            "weights": weights,
            "tmr": tmr,
            "protected_bits": rtl.registers.protected_bits,
            "area_um2": synth.area_um2,
            "cells": synth.cells,
            "flip_flops": synth.flip_flops,
            "wns_slow_ns": slow.wns_ns,
            "fmax_slow_mhz": slow.fmax_mhz,
            "wns_typical_ns": typical.wns_ns,
            "fmax_typical_mhz": typical.fmax_mhz,
            "power_mw": {
                "internal": power.internal_mw,
                "switching": power.switching_mw,
                "leakage": power.leakage_mw,
            },
            "total_mw": power.total_mw,
            "energy_per_inference_nj": power.energy_per_inference_nj,
            "gate_level": f"{gate.mismatches} / {gate.vectors}",
            "runtime_s": {
                step: r.flow.step_runtimes().get(section)
                for step, section in (
                    ("synth", "synth"),
                    ("sta", "sta"),
                    ("gatesim", "gate_level"),
                    ("power", "power"),
                )
            },
            "seconds": seconds,
        }
        print(json.dumps(results[name], indent=1), flush=True)
    write(f"flow_ppa_{cfg.design.design.name}", {"design": args.design, "variants": results})


if __name__ == "__main__":
    main()
