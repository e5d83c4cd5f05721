"""SiliconCompiler task: detailed routing with qrouter (Debian), as qflow drives it.

``pre_process`` derives qrouter's LEF views (``econflow.flow.formats.lef``) and writes its
script: the placement's fence and a frame round it, li1 bands kept clear along every rail,
the placed DEF.
``post_process`` fails on any unrouted net, repairs what qrouter leaves against the spacing
rules (``econflow.flow.route_repair``), writes each net's
wire load from its routed length (``parasitics``) and, with qflow's ``rc2dly``, an SDF of
interconnect delays per corner from qrouter's RC trees. Outputs: the routed ``<top>.def``,
``<top>.rc``, ``<top>.loads.tcl``, ``<top>.<corner>.sdf``, the placed netlist and instance
map passed on, and ``reports/route.json``.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

from siliconcompiler import Task

from econflow import __version__, tools
from econflow.errors import EconflowError
from econflow.flow import congestion, route_repair
from econflow.flow.formats import defdata, lef, parasitics
from econflow.flow.results import Routing
from econflow.flow.tasks import qflow
from econflow.flow.tasks.qflow import INSTANCES
from econflow.templating import environment

REPORT = "reports/route.json"
_FAILED = re.compile(r"^Final: Failed net routes: (\d+)", re.MULTILINE)
_NO_FAILURES = "Final: No failed routes!"
_ARC = re.compile(r"^\s*\(INTERCONNECT (\S+) (\S+) ")


class RouteError(EconflowError):
    """qrouter did not route every net, or did not finish."""


_OBSTRUCTION = re.compile(r"^obstruction\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s*$", re.MULTILINE)
FRAME_UM = 10.0  # beyond qrouter's grid past the die (seen: 1 um, a track or two)


def frame(
    placed: str, fence: str, layers: list[str]
) -> list[tuple[str, float, float, float, float]]:
    """Obstructions (layer, x0, y0, x1, y1 in µm) all round the die and the placement's
    fence, on every routed layer: qrouter's grid reaches past the die, and it took I/O pins
    on the die's edge from outside it (met1, met2 and met3 up to 1 um above a nano die)."""
    scale = defdata.units(placed)
    die = [v / scale for v in defdata.die_area(placed)]
    boxes = [[float(v) for v in m.groups()] for m in _OBSTRUCTION.finditer(fence)]
    x0, y0 = min(b[0] for b in [die, *boxes]), min(b[1] for b in [die, *boxes])
    x1, y1 = max(b[2] for b in [die, *boxes]), max(b[3] for b in [die, *boxes])
    m = FRAME_UM
    sides = [
        (x0 - m, y0 - m, x1 + m, y0),
        (x0 - m, y1, x1 + m, y1 + m),
        (x0 - m, y0, x0, y1),
        (x1, y0, x1 + m, y1),
    ]
    return [(layer, *(round(v, 3) for v in side)) for layer in layers for side in sides]


def between_tracks(placed: str, layers: list[str]) -> list[tuple[str, float, float, float, float]]:
    """Thin obstructions (layer, x0, y0, x1, y1 in µm) on the routing grid's lines between
    the tracks of a layer whose track step is a multiple of the grid's: qrouter blocks only
    every other point of those lines, and a via pad it puts on one comes closer to the pads
    of the neighbouring tracks than the layer's spacing (met3 on sky130hd)."""
    scale = defdata.units(placed)
    x0, y0, x1, y1 = defdata.die_area(placed)
    found = [t for t in defdata.tracks(placed) if t.layer in layers]
    half = 0.01 * scale
    strips: list[tuple[str, float, float, float, float]] = []
    for t in found:
        grid = min(other.step for other in found if other.axis == t.axis)
        if t.step == grid or t.step % grid:
            continue
        low, high = (y0, y1) if t.axis == "Y" else (x0, x1)
        for k in range(t.count):
            for j in range(1, t.step // grid):
                at = t.start + k * t.step + j * grid
                if not low < at < high:
                    continue
                across = (x0, at - half, x1, at + half)
                box = across if t.axis == "Y" else (at - half, y0, at + half, y1)
                strips.append((t.layer, *(round(v / scale, 3) for v in box)))
    return strips


class RouteTask(Task):
    def __init__(self) -> None:
        super().__init__()
        self.add_parameter("settings", "str", "layout settings file written by econflow")
        self.add_parameter("corners", "[(str,str)]", "corner name and liberty file, for SDF")

    def tool(self) -> str:
        return "qrouter"

    def task(self) -> str:
        return "route"

    def parse_version(self, stdout: str) -> str:
        return stdout.strip().splitlines()[-1].rstrip(".T")

    def setup(self) -> None:
        super().setup()
        self.set_exe("qrouter", vswitch=["-v", "0", "-h"])
        self.add_version(">=1.4")
        for key in ("settings", "corners"):
            self.add_required_key("var", key)
        top = self.design_topmodule
        for name in (f"{top}.def", f"{top}.obs", f"{top}.vg", INSTANCES):
            self.add_input_file(file=name)
        for name in (f"{top}.def", f"{top}.vg", INSTANCES, f"{top}.rc", f"{top}.loads.tcl"):
            self.add_output_file(file=name)
        for corner, _ in self.get("var", "corners"):
            self.add_output_file(file=f"{top}.{corner}.sdf")

    def runtime_options(self) -> list[str]:
        return [*super().runtime_options(), "-nog", "-s", "route.cfg"]

    def pre_process(self) -> None:
        super().pre_process()
        top = self.design_topmodule
        write_script(
            top,
            qflow.Settings.read(self.get("var", "settings")),
            Path(f"inputs/{top}.def"),
            Path(f"inputs/{top}.obs").read_text(),
            [f"qrouter::standard_route {top}_route.def false", "quit"],
        )

    def post_process(self) -> None:
        super().post_process()
        top = self.design_topmodule
        log = Path(self.get_logpath("exe"))
        failed = unrouted_nets(log.read_text())
        if failed:
            raise RouteError(f"qrouter left {failed} nets unrouted")
        s = qflow.Settings.read(self.get("var", "settings"))
        routed = Path(f"{top}_route.def").read_text()
        layers = s.layout.layers[: s.layout.route_layers]
        pads = lef.via_pads(Path(s.tech_lef).read_text())
        cell_lef = Path(s.cell_lef).read_text()
        amended, repairs = route_repair.repaired(routed, layers, s.layout.cuts, pads, cell_lef)
        Path(f"outputs/{top}.def").write_text(amended)
        for name in (f"{top}.vg", INSTANCES):
            shutil.copyfile(f"inputs/{name}", f"outputs/{name}")
        shutil.copyfile(f"{top}_route.rc", f"outputs/{top}.rc")
        cap = lef.wire_capacitance(Path(s.tech_lef).read_text())
        loads = parasitics.routed_loads(amended, cap)
        parasitics.write_loads(loads, Path(f"outputs/{top}.loads.tcl"))
        qrouter_cap = sum(parasitics.rc_loads(Path(f"{top}_route.rc").read_text()).values())
        unnamed = to_driver = 0
        for corner, liberty in self.get("var", "corners"):
            sdf = Path(f"{top}.{corner}.sdf")
            qflow.program(
                "rc2dly", "-r", f"{top}_route.rc", "-l", liberty, "-d", sdf,
                log=Path(f"rc2dly_{corner}.log"),
            )  # fmt: skip
            text, unnamed, to_driver = without_unusable_arcs(parasitics.bus_names(sdf.read_text()))
            Path(f"outputs/{sdf}").write_text(text)
        lengths = defdata.wirelength(amended)
        figures = Routing(
            failed_nets=0,
            nets=len(loads),
            wirelength_um=round(sum(lengths.values()), 1),
            wirelength_per_layer_um={k: round(v, 1) for k, v in sorted(lengths.items())},
            wire_cap_pf=round(sum(loads.values()), 4),
            qrouter_rc_cap_pf=round(qrouter_cap, 4),
            sdf_arcs_without_load_name=unnamed,
            sdf_arcs_to_their_driver=to_driver,
            **dataclasses.asdict(repairs),
        )
        self.record_metric("wirelength", figures.wirelength_um, REPORT, "um")
        Path(REPORT).write_text(figures.model_dump_json(indent=2) + "\n")


def write_script(
    top: str,
    s: qflow.Settings,
    placed: Path,
    fence: str,
    commands: list[str],
    folder: Path = Path(),
) -> None:
    """qrouter's LEF views and its script ``route.cfg`` in ``folder``: the PDK config's
    routing rules, the placement's ``fence`` and a ``frame`` round it, li1 bands kept clear
    along every rail, the placed DEF (copied to ``<top>_placed.def``), then ``commands``.
    The route task and the place task's congestion probe share it, so that the probe sees
    the router's own rules."""
    layout = s.layout
    tech = Path(s.tech_lef).read_text()
    cuts = [c.name for c in layout.cuts]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "route.tlef").write_text(lef.routing_tech_lef(tech, cuts))
    pin_layer = layout.layers[0].name
    (folder / "route_cells.lef").write_text(
        lef.routing_cell_lef(Path(s.cell_lef).read_text(), list(s.power_pins), pin_layer)
    )
    text = placed.read_text()
    (folder / f"{top}_placed.def").write_text(text)
    scale = defdata.units(text)
    row_height = round(lef.site_size(tech, s.site)[1] * scale)
    x0, _, x1, _ = defdata.die_area(text)
    band = layout.rail_obstruction_um
    rails = defdata.rails(defdata.components(text), row_height)
    routed = [layer.name for layer in layout.layers[: layout.route_layers]]
    (folder / "route.cfg").write_text(
        environment("econflow.flow")
        .get_template("qrouter.cfg.j2")
        .render(
            version=__version__,
            top=top,
            tech_lef="route.tlef",
            cell_lef="route_cells.lef",
            layers=layout.route_layers,
            stacked_vias=layout.router.stacked_vias,
            via_wire_margins={
                name: margin
                for name, margin in layout.router.via_wire_margin_um.items()
                if name in routed
            },
            supply=s.power_pins[0],
            ground=s.power_pins[1],
            fence=fence.strip(),
            band_layer=pin_layer,
            between_tracks=between_tracks(text, routed),
            frame=frame(text, fence, routed),
            x0=x0 / scale,
            x1=x1 / scale,
            bands=[(round(y / scale - band, 3), round(y / scale + band, 3)) for y in rails],
            commands=commands,
        )
    )


def first_stage(
    top: str, s: qflow.Settings, placed: Path, fence: str, folder: Path
) -> congestion.Congestion:
    """qrouter's first stage on a placement, in ``folder``: how many nets it fails and how
    congested it leaves every instance (the place task's congestion feedback)."""
    commands = ["stage1", f"qrouter::write_congested {top}.cinfo", "quit"]
    write_script(top, s, placed, fence, commands, folder)
    tools.run(["qrouter", "-nog", "-s", "route.cfg"], folder / "qrouter.log", "qrouter", folder)
    cinfo = folder / f"{top}.cinfo"
    return congestion.read(cinfo.read_text(), str(cinfo))


def without_unusable_arcs(sdf: str) -> tuple[str, int, int]:
    """The SDF without the interconnect arcs OpenSTA refuses, each of which would make it
    drop the whole file: arcs to a load qrouter named ``ERROR`` (some I/O-pin ends of a
    route; one net of a 4,000-cell design, an output port driven by a flip-flop), and arcs
    from a driver to itself (where a route reaches its driving pin twice, qrouter's RC tree
    lists the pin among its loads; one net of a 2,527-cell design). Those arcs keep
    OpenSTA's own estimate.

    Returns:
        The SDF, the arcs to an unnamed load and the arcs to their own driver left out.
    """
    kept: list[str] = []
    unnamed = to_driver = 0
    for line in sdf.splitlines(keepends=True):
        arc = _ARC.match(line)
        if arc and arc.group(2) == "ERROR":
            unnamed += 1
        elif arc and arc.group(1) == arc.group(2):
            to_driver += 1
        else:
            kept.append(line)
    return "".join(kept), unnamed, to_driver


def unrouted_nets(log: str) -> int:
    """Nets qrouter could not route, from its log (0 when it says none failed).

    Raises:
        RouteError: the log has no final routing verdict (qrouter stopped early).
    """
    if _NO_FAILURES in log:
        return 0
    match = _FAILED.search(log)
    if match is None:
        raise RouteError("qrouter's log has no final routing result: it did not finish")
    return int(match.group(1))
