"""How the installed OpenSTA turns the liberty's internal-power tables into watts, cell by cell.

For the flip-flop of the design's PDK (its clock pin, data idle) and the combinational cells
its netlist uses most, each alone in a netlist: OpenSTA's internal power as the power step
asks for it (activity 1 per cycle) beside the tables' (econflow.flow.internal_power: per
transition the mean of the rise and fall energies, arcs weighted by their inputs'
sensitivities, one output transition per cycle). The ratio is what the power step divides
OpenSTA's internal power by; 1 means the two agree.

Run: ./bootstrap.sh python benchmarks/opensta_internal_power.py [design.yaml] [--cells N]
     (needs the design's synth step)
"""

from __future__ import annotations

from collections import Counter

from _common import design_and_build, design_parser, write

from econflow.flow import internal_power as ip
from econflow.flow import job
from econflow.flow.formats import netlist
from econflow.flow.formats.liberty import library
from econflow.pdk import load_config


def main() -> None:
    parser = design_parser(__doc__)
    parser.add_argument("--cells", type=int, default=12, help="most used combinational cells")
    args = parser.parse_args()
    cfg, build = design_and_build(args)
    pdk_config, _ = load_config(cfg)
    paths = job.flow_paths(cfg, build)
    liberty = next(p for p in paths.liberty.glob("*.lib") if "tt_" in p.name)
    cells = library(liberty)
    used = Counter(i.cell for i in netlist.read(paths.netlist, cfg.design.design.top).instances)
    flop = pdk_config.cells.flip_flop
    names = [flop] + [c for c, _ in used.most_common() if ip.reference_clock(cells[c]) is None][
        : args.cells
    ]
    rows = {}
    for name in names:
        cell = cells[name]
        measured = ip.opensta_internal_w("sta", liberty, cell, ip.reference_clock(cell))
        rows[name] = (used[name], measured, ip.tables_w(cell))
    print(f"{'cell':32s} {'instances':>9s} {'OpenSTA uW':>11s} {'tables uW':>10s} ratio")
    for name, (count, got, tables) in rows.items():
        print(f"{name:32s} {count:9d} {got * 1e6:11.4f} {tables * 1e6:10.4f} {got / tables:5.2f}")
    write(
        f"opensta_internal_power_{cfg.design.design.name}",
        {
            "design": args.design,
            "liberty": liberty.name,
            "cells": {
                name: {"instances": c, "opensta_uw": g * 1e6, "tables_uw": t * 1e6, "ratio": g / t}
                for name, (c, g, t) in rows.items()
            },
        },
    )


if __name__ == "__main__":
    main()
