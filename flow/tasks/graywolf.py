"""SiliconCompiler task: standard-cell placement with graywolf (Debian), as qflow drives it.

``pre_process`` turns the synthesized netlist into graywolf's ``.cel`` (qflow's ``blif2cel``),
pads it with fill to the PDK config's utilization (``decongest``) and writes the ``.par``;
graywolf places; ``post_process`` writes the DEF (``place2def``), adds the power stripes and a
straight right edge (``addspacers``), spreads the pins (``arrangepins``), moves pins off the
rails, moves the copies of protected register bits apart (``tmr.spread``,
``reports/tmr.json``), builds the buffer trees of the clock and the other high-fanout nets
(``buffering``, ``buffers.json``) and swaps fill cells for well taps (``formats.defdata``).
Outputs: ``<top>.def``,
``<top>.obs`` (the routing fence), ``<top>.vg`` (the netlist under the placed instance names),
``instances.tsv`` (placed name -> synthesized name), ``<top>.loads.tcl`` (wire loads estimated
from the placement) and ``reports/place.json``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from siliconcompiler import Task

from econflow import __version__, tools
from econflow.flow import buffering, congestion, tmr
from econflow.flow.formats import defdata, layout_netlist, lef, netlist, parasitics
from econflow.flow.legalizer import Rows
from econflow.flow.results import Placement, TmrSeparation
from econflow.flow.tasks import qflow, qrouter
from econflow.flow.tasks.qflow import INSTANCES
from econflow.pdk import CongestionFeedback
from econflow.templating import environment

REPORT = "reports/place.json"
TMR_REPORT = "reports/tmr.json"
BUFFERS = "buffers.json"  # the buffers of the buffer trees (buffering.Inserted)
UNBUFFERED = ".unbuffered.vg"  # the netlist under the placed names, before the buffer trees


class PlaceTask(Task):
    def __init__(self) -> None:
        super().__init__()
        self.add_parameter("settings", "str", "layout settings file written by econflow")

    def tool(self) -> str:
        return "graywolf"

    def task(self) -> str:
        return "place"

    def setup(self) -> None:
        super().setup()
        self.set_exe("graywolf")
        self.add_required_key("var", "settings")
        self.add_input_file(ext="vg")
        top = self.design_topmodule
        outputs = (f"{top}.def", f"{top}.obs", f"{top}.vg", INSTANCES, BUFFERS, f"{top}.loads.tcl")
        for name in outputs:
            self.add_output_file(file=name)
        self.add_regex("errors", r"^ERROR|^Error")
        self.add_regex("warnings", r"^WARNING|^Warning")

    def runtime_options(self) -> list[str]:
        return [*super().runtime_options(), "-n", self.design_topmodule]

    def _settings(self) -> qflow.Settings:
        return qflow.Settings.read(self.get("var", "settings"))

    def pre_process(self) -> None:
        super().pre_process()
        top, s = self.design_topmodule, self._settings()
        placed = layout_netlist.build(netlist.read(Path(f"inputs/{top}.vg"), top), top)
        Path(f"{top}.blif").write_text(placed.blif())
        Path("reports").mkdir(exist_ok=True)
        qflow.script(
            "blif2cel.tcl",
            "--blif", f"{top}.blif", "--lef", s.tech_lef, "--lef", s.cell_lef,
            "--cel", f"{top}.cel",
            log=Path("blif2cel.log"),
        )  # fmt: skip
        names = layout_netlist.cel_instances(Path(f"{top}.cel").read_text())
        Path("outputs").mkdir(exist_ok=True)
        Path(f"{top}{UNBUFFERED}").write_text(placed.verilog(names))
        Path(f"outputs/{INSTANCES}").write_text(
            "".join(f"{a}\t{b}\n" for a, b in placed.instance_map(names).items())
        )
        # place2def takes the layers, pitches and units from qrouter's view of the tech LEF.
        Path("info.cfg").write_text(f"read_lef {s.tech_lef}\n")
        tools.run(
            ["qrouter", "-i", f"{top}.info", "-c", "info.cfg"], Path("qrouter_info.log"), "qrouter"
        )
        units = _units(s)
        qflow.script(
            "decongest.tcl", top, s.cell_lef, s.layout.fill_cell, s.utilization,
            f"--units={units}",
            log=Path("decongest.log"),
        )  # fmt: skip
        Path(f"{top}.acel").replace(f"{top}.cel")
        Path(f"{top}.par").write_text(_par(top, s, units))

    def post_process(self) -> None:
        super().post_process()
        top, s = self.design_topmodule, self._settings()
        sizes = lef.macro_sizes(Path(s.cell_lef).read_text())
        figures = self._layout(top, s, sizes)
        if s.congestion_feedback is not None:
            figures = self._feedback(top, s, sizes, s.congestion_feedback, figures)
        placement = Placement(**figures)
        self.record_metric("totalarea", placement.die_area_um2, REPORT, "um^2")
        self.record_metric("utilization", 100 * placement.utilization, REPORT, "%")
        self.record_metric("cells", placement.cells, REPORT)
        Path(REPORT).write_text(placement.model_dump_json(indent=2) + "\n")

    def _feedback(
        self,
        top: str,
        s: qflow.Settings,
        sizes: dict[str, tuple[float, float]],
        feedback: CongestionFeedback,
        figures: dict[str, Any],
    ) -> dict[str, Any]:
        """Place again with the cells qrouter's first stage finds congested widened
        (:mod:`econflow.flow.congestion`); the figures of the placement kept."""
        start = time.perf_counter()
        obs = Path(f"{top}.obs").read_text()
        probe = qrouter.first_stage(top, s, Path(f"outputs/{top}.def"), obs, Path("probe"))
        print(
            f"  congestion feedback: qrouter's first stage failed {probe.failed_nets} of "
            f"{probe.nets} nets ({time.perf_counter() - start:.0f} s)"
        )
        if not probe.failed_nets:
            spent = round(time.perf_counter() - start, 1)
            return figures | {"congestion_failed_nets": 0, "congestion_feedback_s": spent}
        cel = Path(f"{top}.cel")
        fill = s.layout.fill_cell
        fill_width = round(sizes[fill][0] * _units(s))
        text, widening = congestion.widened(cel.read_text(), probe, feedback, fill, fill_width)
        cel.write_text(text)
        print(
            f"  congestion feedback: {widening.cells} cells widened by {widening.fill_cells} "
            "fill cells; graywolf places again"
        )
        tools.run(self._graywolf(), Path("graywolf_feedback.log"), "graywolf")
        return self._layout(top, s, sizes) | {
            "congestion_failed_nets": probe.failed_nets,
            "congestion_widened_cells": widening.cells,
            "congestion_fill_cells": widening.fill_cells,
            "congestion_feedback_s": round(time.perf_counter() - start, 1),
        }

    def _graywolf(self) -> list[str]:
        return ["graywolf", *self.runtime_options()]

    def _layout(
        self, top: str, s: qflow.Settings, sizes: dict[str, tuple[float, float]]
    ) -> dict[str, Any]:
        """graywolf's placement made a layout: the DEF with power stripes, pins, the TMR
        copies apart, the buffer trees and the well taps, written to ``outputs/``; returns
        the placement's figures."""
        layout = s.layout
        fill = layout.fill_cell
        Path(f"{top}.obs").unlink(missing_ok=True)  # place2def appends the fence to it
        qflow.script("place2def.tcl", top, fill, layout.route_layers, log=Path("place2def.log"))
        stripes = layout.stripes
        qflow.script(
            "addspacers.tcl", "-stripe", stripes.width_um, stripes.pitch_um, "PG",
            "-techlef", s.tech_lef, top, s.cell_lef, fill,
            log=Path("addspacers.log"),
        )  # fmt: skip
        Path(f"{top}_filled.def").replace(f"{top}.def")
        Path(f"{top}.obsx").replace(f"{top}.obs")
        qflow.script("arrangepins.tcl", top, log=Path("arrangepins.log"))
        Path(f"{top}_mod.def").replace(f"{top}.def")
        text, fixes = _rail_fixes(Path(f"{top}.def").read_text(), s)
        text, separation, inserted, fixes["tap_sites_opened"] = _amend(
            text, s, sizes, Path(f"{top}{UNBUFFERED}"), Path(f"outputs/{top}.vg"), top
        )
        Path(TMR_REPORT).write_text(separation.model_dump_json(indent=2) + "\n")
        Path(f"outputs/{BUFFERS}").write_text(
            json.dumps([dataclasses.asdict(b) for b in inserted], indent=1) + "\n"
        )
        text, fixes["taps"] = _taps(text, s, sizes)
        Path(f"outputs/{top}.def").write_text(text)
        Path(f"outputs/{top}.obs").write_text(Path(f"{top}.obs").read_text())
        hpwl = parasitics.net_hpwl(text, sizes)
        loads = parasitics.placement_loads(hpwl, layout.estimate_cap_ff_per_um)
        parasitics.write_loads(loads, Path(f"outputs/{top}.loads.tcl"))
        return {
            **fixes,
            **_figures(text, sizes, s),
            "tree_buffers": len(inserted),
            "hpwl_um": round(sum(hpwl.values()), 1),
            "estimated_wire_cap_pf": round(sum(loads.values()), 4),
        }


def _units(s: qflow.Settings) -> int:
    """DEF units per µm: qflow's scripts use the tech LEF's manufacturing grid."""
    return lef.database_units(Path(s.tech_lef).read_text())


def _par(top: str, s: qflow.Settings, units: int) -> str:
    layout = s.layout
    layers = layout.layers[1 : layout.route_layers]  # above the pin layer
    names = {layer.name for layer in layers}
    cuts = [c for c in layout.cuts if c.below in names and c.above in names]
    vertical = next(layer for layer in layers if layer.direction == "vertical")
    horizontal = next(layer for layer in layers if layer.direction == "horizontal")
    return (
        environment("econflow.flow")
        .get_template("graywolf.par.j2")
        .render(
            version=__version__,
            top=top,
            pdk=s.pdk,
            units=units,
            layers=layers,
            cuts=cuts,
            stacked=list(zip(cuts, cuts[1:], strict=False)),
            rc=lef.layer_rc(Path(s.tech_lef).read_text()),
            grid_x=round(vertical.pitch * units),
            grid_y=round(horizontal.pitch * units),
        )
    )


def _rail_fixes(text: str, s: qflow.Settings) -> tuple[str, dict[str, int]]:
    """Pins off the rails, stripes ending on the rails (docs/architecture.md, the sky130hd
    layout fixes)."""
    layout = s.layout
    scale = defdata.units(text)
    row_height = round(lef.site_size(Path(s.tech_lef).read_text(), s.site)[1] * scale)
    rail_layer = next(layer for layer in layout.layers if layer.direction == "horizontal")
    rails = defdata.rails(defdata.components(text), row_height)
    text, moved = defdata.move_pins_off_rails(
        text,
        rails,
        rail_layer.name,
        round(layout.pin_rail_clearance_um * scale),
        round(rail_layer.pitch * scale),
    )
    # The stripes' via stacks end on the cells' met1 rails, which carry the power along the
    # rows: their last via down to the pin layer only put pads beside the cells' own shapes.
    text, dropped = defdata.drop_special_vias(text, defdata.vias_on(text, layout.layers[0].name))
    figures = {"pins_moved_off_rails": moved, "stripe_vias_dropped": dropped}
    return text, {**figures, "rows": len(rails) - 1}


def _taps(text: str, s: qflow.Settings, sizes: dict[str, tuple[float, float]]) -> tuple[str, int]:
    layout = s.layout
    scale = defdata.units(text)
    return defdata.insert_taps(
        text,
        layout.fill_cell,
        layout.tap_cell,
        round(sizes[layout.tap_cell][0] * scale),
        round(layout.tap_pitch_um * scale),
    )


def _amend(
    text: str,
    s: qflow.Settings,
    sizes: dict[str, tuple[float, float]],
    verilog: Path,
    buffered: Path,
    top: str,
) -> tuple[str, TmrSeparation, list[buffering.Inserted], int]:
    """The placement with the copies of protected bits ``layout.tmr_min_separation_um`` apart
    (:mod:`.tmr`) and the buffer trees (:mod:`.buffering`, which writes ``verilog`` with them
    to ``buffered``),
    leaving the well taps that go in afterwards room in every row (the last figure: how
    many sites had to be pushed free for them first)."""
    rows = Rows(text, sizes, s.layout.fill_cell, round(s.layout.tap_pitch_um * defdata.units(text)))
    opened = rows.open_tap_sites()
    bits = tmr.placed_copies(qflow.read_instances(Path(f"outputs/{INSTANCES}")), s.protected)
    before = tmr.closest(rows, bits)
    required = s.layout.tmr_min_separation_um
    moved = tmr.spread(rows, bits, required)
    increase = 0.0
    if moved:
        wire = [sum(parasitics.net_hpwl(t, sizes).values()) for t in (text, rows.amend(text))]
        increase = wire[1] - wire[0]
    cells = buffering.directions(Path(s.cell_lef).read_text(), netlist.read(verilog, top))
    text, rewired, inserted = buffering.build(
        rows, text, verilog.read_text(), cells, s.layout.buffer_trees, s.clock_delays
    )
    buffered.write_text(rewired)
    moved += tmr.spread(rows, bits, required)  # buffers push cells, copies among them
    separation = TmrSeparation(
        triplets=len(before),
        protected_bits=sum(r.width for r in s.protected if r.protected),
        required_um=required,
        moved=moved,
        before=tmr.distances(before),
        after=tmr.distances(tmr.closest(rows, bits)),
        hpwl_increase_um=round(increase, 1),
    )
    return rows.amend(text), separation, inserted, opened


def _figures(text: str, sizes: dict[str, tuple[float, float]], s: qflow.Settings) -> dict[str, Any]:
    scale = defdata.units(text)
    x0, y0, x1, y1 = defdata.die_area(text)
    placed = defdata.components(text)
    layout = s.layout
    physical = {layout.fill_cell, layout.tap_cell}
    logic = [c for c in placed if c.macro not in physical]
    cell_area = sum(sizes[c.macro][0] * sizes[c.macro][1] for c in logic)
    row_height = lef.site_size(Path(s.tech_lef).read_text(), s.site)[1]
    rows = {c.y for c in placed}
    right = max(c.x / scale + sizes[c.macro][0] for c in placed)
    core_area = len(rows) * row_height * (right - min(c.x for c in placed) / scale)
    die = (x1 - x0) / scale * (y1 - y0) / scale
    return {
        "die_width_um": round((x1 - x0) / scale, 2),
        "die_height_um": round((y1 - y0) / scale, 2),
        "die_area_um2": round(die, 1),
        "core_area_um2": round(core_area, 1),
        "cell_area_um2": round(cell_area, 1),
        "utilization": round(cell_area / core_area, 4),
        "cells": len(logic),
        "fill_cells": sum(c.macro == layout.fill_cell for c in placed),
    }
