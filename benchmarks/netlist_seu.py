"""Upsets and transients injected into the synthesized netlist, per TMR scope.

The gatesim step's campaign (econflow.flow.netlist_seu) on netlists synthesized with each TMR
scope: every scope gets RTL generated, synthesized and simulated in its own build directory
(a copy of the design's models stage), with ``--upsets`` flip-flop upsets and ``--transients``
transients per kind of net. Needs the design's models steps.

Run: ./bootstrap.sh python benchmarks/netlist_seu.py [design.yaml] [--build-dir B]
     [--upsets 10000] [--transients 630] [--scopes config,full,none] [--vectors 1000]
"""

from __future__ import annotations

from _common import design_and_build, design_parser, run_variant, write


def main() -> None:
    parser = design_parser(__doc__)
    parser.add_argument("--upsets", type=int, default=10_000)
    parser.add_argument("--transients", type=int, default=630)
    parser.add_argument("--scopes", default="config,full,none")
    parser.add_argument("--vectors", type=int, default=1000, help="of the bit-exact run first")
    args = parser.parse_args()
    cfg, build = design_and_build(args)
    rows = {}
    for scope in args.scopes.split(","):
        gate = {
            "vectors": args.vectors,
            "icarus_vectors": 0,
            "seu_upsets": args.upsets,
            "seu_transients": args.transients,
        }
        results, seconds = run_variant(
            cfg, build, f"netlist_seu_{scope}", {"tmr": scope}, "rtl,synth,gatesim",
            {"gate_level": gate},
        )  # fmt: skip
        level, synth = results.flow.gate_level, results.flow.synth
        if level is None or level.seu is None or synth is None:
            raise SystemExit(f"TMR {scope}: the gatesim step recorded no campaign")
        rows[scope] = {
            "cells": synth.cells,
            "flip_flops": synth.flip_flops,
            "vectors": level.vectors,
            "mismatches": level.mismatches,
            "seu": level.seu.model_dump(),
            "wall_s": seconds,
        }
        up = level.seu.upsets
        print(f"TMR {scope}: {up.corrupted if up else '-'} of {args.upsets} upsets corrupted; "
              f"campaign {level.seu.seconds} s", flush=True)  # fmt: skip
    write(f"netlist_seu_{cfg.design.design.name}_{args.upsets}", {"design": args.design, **rows})


if __name__ == "__main__":
    main()
