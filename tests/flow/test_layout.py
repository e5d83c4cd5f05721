"""Place and route on sky130hd with graywolf and qrouter (nano design): zero failed nets, the
fixes that make it so, GDS and picture, post-route timing from the SDF and power from the
gate-level toggles, the DRC deck, the report's layout section, and the one-line errors."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import shutil
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from econflow import pdk
from econflow.errors import ConfigError, ToolMissingError
from econflow.flow import job, layout, magic_drc, project
from econflow.flow.formats import defdata, lef, lyrdb
from econflow.flow.tasks import qflow
from econflow.rtl import naming
from econflow.runner import Runner

# The nano design's layout goes through graywolf and qrouter only where SiliconCompiler's
# OpenROAD flow cannot run; with openroad installed these figures do not exist.
QFLOW = pytest.mark.skipif(
    project.layout_engine() != "qflow", reason="openroad is installed: layout runs through it"
)


def metrics(build: Path, stage: str = "layout") -> dict:
    return json.loads((build / stage / "metrics.json").read_text())


def gds_layers(path: Path) -> set[int]:
    """GDS layer numbers used in a (gzipped) GDS stream."""
    data, layers, at = gzip.decompress(path.read_bytes()), set(), 0
    while at + 4 <= len(data):
        length, record = int.from_bytes(data[at : at + 2], "big"), data[at + 2]
        if length < 4:
            break
        if record == 0x0D:  # LAYER
            layers.add(int.from_bytes(data[at + 4 : at + 6], "big"))
        at += length
    return layers


@QFLOW
def test_nano_places_and_routes_with_zero_failed_nets(nano_build):
    m = metrics(nano_build)
    place, route = m["place"]["placement"], m["route"]["routing"]
    assert m["route"]["routed"] and route["failed_nets"] == 0
    synthesized = metrics(nano_build, "flow")["synth"]["cells"]
    assert place["cells"] == synthesized + place["tree_buffers"]
    assert place["die_area_um2"] == pytest.approx(
        place["die_width_um"] * place["die_height_um"], rel=1e-3
    )
    assert 0.45 <= place["utilization"] <= 0.52  # the PDK config asks for 50%
    assert place["taps"] > 0 and m["place"]["engine"] == "qflow"
    routed = Path(m["route"]["def_file"]).read_text()
    assert defdata.wirelength(routed) == pytest.approx(route["wirelength_per_layer_um"], rel=1e-3)
    assert sum(route["wirelength_per_layer_um"].values()) == pytest.approx(
        route["wirelength_um"], rel=1e-4
    )
    assert route["wirelength_um"] >= 0.95 * place["hpwl_um"] > 0  # wires no shorter than HPWL
    section = routed.split("\nNETS")[1].split("\nEND NETS")[0]
    nets = re.findall(r"^- (\S+)\n(.*?);\s*$", section, re.M | re.S)
    signal = [(n, body) for n, body in nets if n not in ("VPWR", "VGND")]  # rails and stripes
    unrouted = [n for n, body in signal if body.count("(") > 2 and "ROUTED" not in body]
    assert len(signal) > 1000 and unrouted == []
    # every wire inside the die (qrouter took pins on the die's edge from outside it)
    x0, y0, x1, y1 = defdata.die_area(routed)
    outside = [
        (p.net, point)
        for p in defdata.routed_paths(routed)
        for point in p.points
        if not (x0 <= point[0] <= x1 and y0 <= point[1] <= y1)
    ]
    assert outside == []


@QFLOW
def test_every_row_has_well_taps_and_no_pin_sits_on_a_rail(nano_build, nano_config, tmp_path):
    text = Path(metrics(nano_build)["place"]["def_file"]).read_text()
    cfg = pdk.open_pdk(nano_config, tmp_path).config.layout
    scale = defdata.units(text)
    placed = defdata.components(text)
    half = cfg.tap_pitch_um * scale / 2
    for y in sorted({c.y for c in placed}):
        row = [c for c in placed if c.y == y]
        taps = sorted(c.x + 23 for c in row if c.macro == cfg.tap_cell)
        assert taps, y
        assert taps[0] - min(c.x for c in row) <= half
        assert all(b - a <= 2 * half for a, b in zip(taps, taps[1:], strict=False))
    rails = defdata.rails(placed, round(2.72 * scale))
    pins = re.findall(r"\+ LAYER met1 .*?\n\s*\+ PLACED \( -?\d+ (-?\d+) \)", text)
    assert pins
    for y in map(int, pins):
        assert min(abs(y - r) for r in rails) >= cfg.pin_rail_clearance_um * scale


@QFLOW
def test_the_copies_of_every_protected_bit_end_at_least_the_set_distance_apart(
    nano_build, nano_config, tmp_path
):
    sep = metrics(nano_build)["place"]["tmr_separation"]
    protected = metrics(nano_build, "rtl")["rtl"]["registers"]["protected_bits"]
    assert sep["triplets"] == sep["protected_bits"] == protected > 0
    required = pdk.open_pdk(nano_config, tmp_path).config.layout.tmr_min_separation_um
    assert sep["required_um"] == required > 0
    # graywolf puts copies side by side; the moves set them apart at a small wire cost
    assert sep["before"]["min_um"] < required <= sep["after"]["min_um"] <= sep["after"]["median_um"]
    assert (
        sep["moved"] > 0
        and 0
        < sep["hpwl_increase_um"]
        < 0.05 * metrics(nano_build)["place"]["placement"]["hpwl_um"]
    )
    # measured again here on the placed DEF: every bit's closest two copies, edge to edge
    placed = Path(metrics(nano_build)["place"]["def_file"]).read_text()
    scale = defdata.units(placed)
    sizes = lef.macro_sizes(Path(pdk.open_pdk(nano_config, tmp_path).cell_lef()).read_text())
    at = {c.name: c for c in defdata.components(placed)}
    instances = qflow.read_instances(nano_build / "layout" / "instances.tsv")
    registers = json.loads((nano_build / "rtl" / "design.json").read_text())["registers"]
    prefixes = {r["instance"]: r["name"] for r in registers if r["protected"]}
    triplets: dict[tuple[str, str], list[str]] = {}
    for name, synthesized in instances.items():
        m = naming.copy_pattern().match(synthesized)
        if m and m["instance"] in prefixes:
            triplets.setdefault((m["instance"], m["bit"]), []).append(name)
    assert len(triplets) == protected and all(len(t) == 3 for t in triplets.values())

    def box(name):
        c = at[name]
        width, height = sizes[c.macro]
        return c.x / scale, c.y / scale, c.x / scale + width, c.y / scale + height

    def gap(p, q):
        dx = max(0, q[0] - p[2], p[0] - q[2])
        dy = max(0, q[1] - p[3], p[1] - q[3])
        return (dx * dx + dy * dy) ** 0.5

    closest = min(gap(box(a), box(b)) for t in triplets.values() for a, b in combinations(t, 2))
    assert closest == pytest.approx(sep["after"]["min_um"], abs=0.01)


@QFLOW
def test_a_separation_the_die_cannot_give_is_refused_naming_the_bit(
    nano_copy, nano_config, monkeypatch
):
    with_layout(monkeypatch, tmr_min_separation_um=1000)
    with pytest.raises(
        project.FlowStepError,
        match=r"step 'place' failed .*protected bit \S+\[\d+\] cannot be placed 1000 um apart",
    ) as failed:
        layout._place(nano_config, nano_copy)
    assert "\n" not in str(failed.value)


@QFLOW
def test_the_clock_and_the_reset_reach_their_flip_flops_through_buffer_trees(
    nano_build, nano_config, tmp_path
):
    trees = pdk.open_pdk(nano_config, tmp_path).config.layout.buffer_trees
    m = metrics(nano_build)
    routed = Path(m["route"]["def_file"]).read_text()
    nets = defdata.net_pins(routed)
    assert all(len(pins) - 1 <= trees.max_fanout for pins in nets.values())
    macro = {c.name: c.macro for c in defdata.components(routed)}
    for net, cell in (("clk", trees.clock_buffer.cell), ("rst_n", trees.buffer.cell)):
        driven = [instance for instance, _ in nets[net] if instance != "PIN"]
        assert driven and {macro[i] for i in driven} == {cell}
    listed = json.loads((nano_build / "layout" / "buffers.json").read_text())
    assert m["place"]["placement"]["tree_buffers"] == len(listed) > 0
    assert all(macro[b["name"]] == (trees.clock_buffer if b["clock"] else trees.buffer).cell
               for b in listed)  # fmt: skip
    netlist = (nano_build / "layout" / "nano_encoder.layout.v").read_text()
    assert netlist.count(f"  {trees.clock_buffer.cell} clk_buf") > 1
    for stage in ("place", "route"):
        clock = m[stage]["timing"]["corners"]["slow"]["clock"]
        assert 0 <= clock["skew_ns"] < 0.2  # a tree balanced by construction
        assert 0.1 < clock["capture_latency_ns"] <= clock["launch_latency_ns"] + clock["skew_ns"]
        assert clock["flip_flops"] == len(re.findall(r"^  \S+__df\S+ ", netlist, re.M))
        spread = clock["flip_flop_latency_max_ns"] - clock["flip_flop_latency_min_ns"]
        assert 0 <= spread < 0.25  # every flip-flop the same number of buffers from the port


@QFLOW
def test_no_two_placed_cells_overlap(nano_build, nano_config, tmp_path):
    """After the moves and the buffers: every component on the site grid, none overlapping."""
    text = Path(metrics(nano_build)["place"]["def_file"]).read_text()
    sizes = lef.macro_sizes(Path(pdk.open_pdk(nano_config, tmp_path).cell_lef()).read_text())
    scale = defdata.units(text)
    rows: dict[int, list[tuple[int, int]]] = {}
    for c in defdata.components(text):
        rows.setdefault(c.y, []).append((c.x, c.x + round(sizes[c.macro][0] * scale)))
    site = round(0.46 * scale)
    x0 = min(x for row in rows.values() for x, _ in row)
    for row in rows.values():
        row.sort()
        assert all((x - x0) % site == 0 for x, _ in row)
        assert all(a[1] <= b[0] for a, b in zip(row, row[1:], strict=False))


@QFLOW
def test_gds_holds_the_cell_layouts_and_a_picture(nano_build):
    gds = metrics(nano_build)["gds"]
    assert gds["written"]
    layers = gds_layers(Path(gds["gds"]))
    assert {65, 66} <= layers  # diffusion and poly: the cells' own layouts, not LEF abstracts
    assert {67, 68, 69, 70, 71} <= layers  # li1, met1..met4 of the routing
    png = Path(gds["png"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == int.from_bytes(png[20:24], "big") == 1600


@QFLOW
def test_post_route_slack_is_read_with_the_sdf(nano_build):
    route = metrics(nano_build)["route"]
    timing = route["timing"]
    assert timing["origin"].startswith("post-route")
    sta = Path(timing["reports"]).parent / "sta.tcl"
    script = sta.read_text()
    for corner in ("slow", "typical"):
        assert f"read_sdf -corner {corner} inputs/nano_encoder.{corner}.sdf" in script
        sdf = (nano_build / "layout" / f"nano_encoder.{corner}.sdf").read_text()
        assert sdf.count("(INTERCONNECT ") > 1000 and "<" not in sdf
        assert timing["corners"][corner]["endpoints"] > 0
    assert "source inputs/nano_encoder.loads.tcl" in script
    synth = metrics(nano_build, "flow")["sta"]
    slow = timing["corners"]["slow"]["wns_ns"]
    assert slow != synth["corners"]["slow"]["wns_ns"]  # the routed wires count
    log = (sta.parent / "route_timing.log").read_text()
    assert "Error" not in log


@QFLOW
def test_post_route_power_weights_the_routed_loads_by_the_gate_level_toggles(nano_build):
    route, place = metrics(nano_build)["route"], metrics(nano_build)["place"]
    synth = metrics(nano_build, "flow")["power"]
    for p in (route["power"], place["power"]):
        assert "gate-level" in p["origin"]
        # the clock tree's buffers add internal power: they toggle twice a cycle
        assert synth["internal_mw"] < p["internal_mw"] < 1.1 * synth["internal_mw"]
        assert p["switching_mw"] > synth["switching_mw"]  # wires add load to every net
    assert route["power"]["origin"].startswith("post-route")
    assert place["power"]["origin"].startswith("post-placement estimate")
    routing, placement = route["routing"], place["placement"]
    assert routing["wire_cap_pf"] > routing["qrouter_rc_cap_pf"] > 0  # qrouter: one sidewall
    assert placement["estimated_wire_cap_pf"] == pytest.approx(routing["wire_cap_pf"], rel=0.25)


def deck_on(build: Path, folder: Path, top: str, script: str) -> dict[str, int]:
    """The build's DRC deck's violations by rule on a layout that a KLayout script (given
    ``pya``, leaving the layout in ``ly``, top cell ``top``) makes."""
    made, maker, report = folder / f"{top}.gds", folder / f"{top}.py", folder / f"{top}.lyrdb"
    maker.write_text(f"import pya\n{script}ly.write({str(made)!r})\n")
    subprocess.run(["klayout", "-b", "-r", str(maker)], check=True, capture_output=True)
    deck = build / "layout" / layout.DRC_DECK
    subprocess.run(
        ["klayout", "-b", "-r", str(deck), "-rd", f"input={made}", "-rd", f"topcell={top}",
         "-rd", f"report={report}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return lyrdb.violations(report)


@QFLOW
def test_drc_counts_the_violations_the_deck_finds(nano_build, tmp_path):
    drc = metrics(nano_build)["gds"]["drc"]
    assert drc["violations"] == sum(drc["by_rule"].values())
    assert drc["violations"] == 0, drc["by_rule"]
    assert "not sign-off" in drc["scope"]
    assert drc["by_rule"]["li1.area"] == 0  # the cells' li1 is merged in under the vias
    # the power stripes end on the cells' met1 rails: no li1 pads beside the cells' li1
    assert metrics(nano_build)["place"]["placement"]["stripe_vias_dropped"] > 0
    routed = Path(metrics(nano_build)["route"]["def_file"]).read_text()
    special = routed[routed.find("\nSPECIALNETS") : routed.find("\nEND SPECIALNETS")]
    assert special and not any(f" {via}\n" in special for via in defdata.vias_on(routed, "li1"))
    found = deck_on(
        nano_build,
        tmp_path,
        "bad",
        "ly = pya.Layout(); ly.dbu = 0.001; top = ly.create_cell('bad')\n"
        "m1, m2, mcon = ly.layer(68, 20), ly.layer(69, 20), ly.layer(67, 44)\n"
        "top.shapes(m1).insert(pya.Box(0, 0, 100, 2000))\n"  # 0.10 um wide met1
        "top.shapes(m2).insert(pya.Box(0, 0, 1000, 1000))\n"
        "top.shapes(m2).insert(pya.Box(1100, 0, 2100, 1000))\n"  # met2 0.10 um apart
        "top.shapes(mcon).insert(pya.Box(5000, 5000, 5170, 5170))\n",  # mcon on nothing
    )
    assert found["met1.width"] == 1 and found["met2.spacing"] == 1
    assert found["mcon.li1.cover"] == 1 and found["mcon.met1.cover"] == 1
    assert found["met3.width"] == 0


@QFLOW
def test_magic_gives_its_opinion_with_the_pdks_full_deck(nano_build, nano_config, tmp_path):
    magic = metrics(nano_build)["gds"]["magic"]
    assert magic["tech"].endswith("sky130A.tech") and magic["seconds"] > 0
    assert magic["errors"] == sum(magic["by_rule"].values())
    assert magic["errors"] == 0, magic["by_rule"]
    # it checks each library cell out of context too (devices, wells): not the design's
    assert magic["errors_in_cells_alone"] > 0
    # on a known-bad layout: two met2 shapes 0.1 um apart, a 0.1 um wide met1 wire
    made = tmp_path / "bad.gds"
    maker = tmp_path / "bad.py"
    maker.write_text(
        "import pya\nly = pya.Layout(); ly.dbu = 0.001; top = ly.create_cell('bad')\n"
        "m1, m2 = ly.layer(68, 20), ly.layer(69, 20)\n"
        "top.shapes(m1).insert(pya.Box(0, 0, 100, 2000))\n"
        "top.shapes(m2).insert(pya.Box(0, 0, 1000, 1000))\n"
        "top.shapes(m2).insert(pya.Box(1100, 0, 2100, 1000))\n"
        f"ly.write({str(made)!r})\n"
    )
    subprocess.run(["klayout", "-b", "-r", str(maker)], check=True, capture_output=True)
    tech = pdk.open_pdk(nano_config, tmp_path).magic_tech()
    found = magic_drc.check(made, "bad", tech, tmp_path / "magic")
    rules = " ".join(found.by_rule)
    assert "met1.1" in rules and "met2.2" in rules and found.errors_in_cells_alone == 0


@QFLOW
def test_the_router_keeps_two_nets_via_pads_apart_and_leaves_no_bare_met3_pad(
    nano_build, nano_config, tmp_path
):
    found = pdk.open_pdk(nano_config, tmp_path)
    routed = Path(metrics(nano_build)["route"]["def_file"]).read_text()
    tracks = {
        t.layer: t
        for t in defdata.tracks(Path(metrics(nano_build)["place"]["def_file"]).read_text())
    }
    pads = lef.via_pads(found.tech_lef().read_text())
    vias = defdata.routed_vias(routed)
    on_met1: dict[tuple[int, int], set[str]] = {}
    for via in vias:
        if "met1" in pads[via.via]:
            on_met1.setdefault((via.x, via.y), set()).add(via.net)
    step = tracks["met1"].step
    # qrouter alone put 159 pairs of an mcon pad and a via1 pad of two nets on neighbouring
    # met1 tracks (0.095 um apart); a pin's own via still goes where the pin is, whatever
    # blocks that point (one pair on one CI placement, none on others)
    pairs = [
        (x, y)
        for (x, y), nets in on_met1.items()
        if len(nets | on_met1.get((x, y + step), nets)) > 1
    ]
    assert len(pairs) <= 3, pairs
    # and met3 pads on the grid lines between met3's tracks, diagonally too close to others;
    # an I/O pin's own access via goes where the pin is (one at a die-edge pin on one CI
    # placement). qrouter's own via offsets (0.07 um off a track, one on nano) are not on
    # those lines: the deck checks what they leave
    met3 = tracks["met3"]
    pins = defdata.pins(routed)
    near = 2 * met3.step
    assert not [
        v
        for v in vias
        if "met3" in pads[v.via]
        and (v.y - met3.start) % met3.step == met3.step // 2
        and not (
            v.net in pins and max(abs(v.x - pins[v.net][0]), abs(v.y - pins[v.net][1])) <= near
        )
    ]
    # no via2 stacked on a via3 leaves met3 as a bare pad (58 below the minimum area before)
    drc = metrics(nano_build)["gds"]["drc"]["by_rule"]
    assert drc["met3.area"] == 0
    # the notches left between shapes of one net are filled (met2 spacing 21, 43 of met1's 51
    # before, 0 after on nano), small pieces and holes too; qrouter's dead ends at pins are
    # trimmed (the stubs 0.01 um short of dfrtp_1's RESET_B) and one of two mcons of a net
    # on neighbouring tracks dropped; what is left is between two nets or a wire and a cell
    routing = metrics(nano_build)["route"]["routing"]
    assert routing["notch_fills"] > 0 and routing["spurs_trimmed"] > 0
    assert not {rule: n for rule, n in drc.items() if n and rule.endswith((".area", ".hole"))}
    assert drc["mcon.spacing"] == 0
    assert drc["met2.spacing"] + drc["met3.spacing"] + drc["met4.spacing"] <= 3


@QFLOW
def test_the_deck_finds_nothing_in_the_library_cells_the_layout_uses(
    nano_build, nano_config, tmp_path
):
    """Each cell the routed design places, alone (10 um apart), from the library's GDS."""
    gds = pdk.open_pdk(nano_config, tmp_path).library.find_files(
        "fileset", "models.physical", "file", "gds"
    )[0]
    routed = Path(metrics(nano_build)["route"]["def_file"]).read_text()
    used = sorted({c.macro for c in defdata.components(routed)})
    found = deck_on(
        nano_build,
        tmp_path,
        "grid",
        f"ly = pya.Layout(); ly.read({gds!r})\n"
        "top = ly.create_cell('grid')\n"
        f"for k, name in enumerate({used!r}):\n"
        "    cell = ly.cell(name)\n"
        "    at = pya.Point(round((k % 10) * 40 / ly.dbu), round((k // 10) * 10 / ly.dbu))\n"
        "    top.insert(pya.CellInstArray(cell.cell_index(), pya.Trans(at)))\n",
    )
    assert len(used) > 30 and found and sum(found.values()) == 0, found


@QFLOW
def test_report_has_the_layout_section(nano_build):
    text = (nano_build / "report" / "report.md").read_text()
    section = text.split("## Layout")[1].split("\n## ")[0]
    for label in ("post-synthesis", "post-placement estimate", "post-route", "failed nets",
                  "routing-layer DRC violations", "not sign-off", "die", "wire length",
                  "TMR copies, final: closest two", "TMR copies moved apart"):  # fmt: skip
        assert label in section, label
    assert (nano_build / "report" / "figures" / "layout.png").stat().st_size > 10_000
    html = (nano_build / "report" / "report.html").read_text()
    assert 'src="figures/layout.png"' in html  # relative: the folder can be moved


@pytest.fixture
def nano_copy(nano_build, tmp_path):
    build = tmp_path / "build"
    shutil.copytree(nano_build, build, symlinks=True)
    return build


def with_layout(monkeypatch, **changes):
    """The PDK config with layout settings changed, for every step that loads it."""
    real = pdk.load_config

    def load(cfg):
        config, path = real(cfg)
        edited = config.model_copy(update={"layout": config.layout.model_copy(update=changes)})
        return edited, path

    monkeypatch.setattr(pdk, "load_config", load)


@QFLOW
def test_a_design_over_the_route_limit_stops_after_placement(
    nano_copy, nano_config, monkeypatch, capsys
):
    with_layout(monkeypatch, max_route_cells=1000)
    Runner(nano_config, nano_copy).run(["place", "route", "gds", "report"], force=True)
    out = capsys.readouterr().out
    assert out.count("layout engine: graywolf placement and qrouter routing") == 1
    assert "openroad is not on PATH" in out
    m = metrics(nano_copy)
    assert not m["place"]["routable"]
    assert m["place"]["timing"]["corners"]["slow"]["endpoints"] > 0
    assert not m["route"]["routed"]
    assert "exceed layout.max_route_cells = 1000" in m["route"]["reason"]
    assert not m["gds"]["written"] and m["gds"]["reason"] == "not routed"
    section = (nano_copy / "report" / "report.md").read_text().split("## Layout")[1]
    assert re.search(r"\| routed \| no: \d+ cells exceed layout.max_route_cells = 1000", section)
    assert "post-placement estimate" in section and "(post-route)" not in section


@QFLOW
def test_a_design_over_the_placement_limit_gets_a_floorplan_estimate(
    nano_copy, nano_config, monkeypatch, capsys
):
    with_layout(monkeypatch, max_place_cells=1000)
    Runner(nano_config, nano_copy).run(["place", "route", "gds", "report"], force=True)
    assert "not placed: " in capsys.readouterr().out
    m = metrics(nano_copy)
    synth = metrics(nano_copy, "flow")["synth"]
    place = m["place"]
    assert not place["placed"] and "exceed layout.max_place_cells = 1000" in place["reason"]
    assert place["floorplan"]["core_area_um2"] == pytest.approx(synth["area_um2"] / 0.5, rel=1e-3)
    assert not m["route"]["routed"] and "was not placed" in m["route"]["reason"]
    assert not m["gds"]["written"]
    section = (nano_copy / "report" / "report.md").read_text().split("## Layout")[1]
    assert "| placed | no: " in section and "stay post-synthesis" in section


@QFLOW
def test_a_design_above_a_route_room_size_is_placed_with_more_room(
    nano_copy, nano_config, monkeypatch, capsys
):
    rooms = [pdk.RouteRoom(cells=1000, utilization=25), pdk.RouteRoom(cells=10**6, utilization=9)]
    with_layout(monkeypatch, max_place_cells=1000, route_room=rooms)
    Runner(nano_config, nano_copy).run(["place"], force=True)
    assert "not placed: " in capsys.readouterr().out
    synth = metrics(nano_copy, "flow")["synth"]
    floorplan = metrics(nano_copy)["place"]["floorplan"]
    assert floorplan["utilization"] == 0.25  # nano's ~2,000 cells: above 1,000, below 10**6
    assert floorplan["core_area_um2"] == pytest.approx(synth["area_um2"] / 0.25, rel=1e-3)
    assert pdk.load_config(nano_config)[0].layout.utilization(10, 50.0) == 50.0


def test_congestion_feedback_is_for_designs_between_its_size_and_the_route_limit(nano_config):
    shipped = pdk.load_config(nano_config)[0].layout
    feedback = pdk.CongestionFeedback(cells=1000, offset=0.2, gain=4.0)
    settings = shipped.model_copy(update={"congestion_feedback": feedback, "max_route_cells": 9000})
    assert [settings.feedback(n) for n in (1000, 1001, 9000, 9001)] == [
        None,
        feedback,
        feedback,
        None,
    ]
    assert shipped.model_copy(update={"congestion_feedback": None}).feedback(2000) is None


def test_a_congestion_offset_outside_zero_to_one_is_one_line(nano_config, tmp_path, monkeypatch):
    shipped = pdk.load_config(nano_config)[1]
    raw = yaml.safe_load(shipped.read_text())
    raw["layout"]["congestion_feedback"]["offset"] = 1.5
    (tmp_path / shipped.name).write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(pdk.resources, "files", lambda _package: Path(tmp_path))
    with pytest.raises(
        ConfigError, match=r"sky130hd.yaml: layout.congestion_feedback.offset: .*less than 1"
    ) as refused:
        pdk.load_config(nano_config)
    assert "\n" not in str(refused.value)


@QFLOW
def test_a_design_above_the_feedback_size_is_placed_again_with_its_congested_cells_widened(
    nano_copy, nano_config, monkeypatch
):
    first = metrics(nano_copy)["place"]["placement"]
    assert "congestion_failed_nets" not in first  # nano is below the shipped feedback size
    feedback = pdk.CongestionFeedback(cells=1000, offset=0.05, gain=4.0)
    with_layout(monkeypatch, congestion_feedback=feedback)
    Runner(nano_config, nano_copy).run(["place"], force=True)
    again = metrics(nano_copy)["place"]["placement"]
    assert again["congestion_failed_nets"] > 0  # qrouter's first stage never routes it all
    assert 0 < again["congestion_widened_cells"] <= again["congestion_fill_cells"]
    # the fill that widened the cells is placed with them: the core grew by about its area
    assert again["fill_cells"] > first["fill_cells"] and again["cells"] == first["cells"]
    assert again["core_area_um2"] > first["core_area_um2"]
    separation = metrics(nano_copy)["place"]["tmr_separation"]
    assert separation["after"]["min_um"] >= separation["required_um"]
    # the routing fence is the second placement's alone: no band of the first's across the core
    (fence,) = nano_copy.glob("flow/sc/*/job0/place/0/outputs/*.obs")
    bands = [[float(v) for v in line.split()[1:5]] for line in fence.read_text().splitlines()]
    top = max(y1 for _, _, _, y1 in bands)
    assert top == pytest.approx(again["die_height_um"], abs=1.5)
    assert all(y0 < 1.0 or y0 > top - 1.5 for _, y0, _, _ in bands)


@QFLOW
def test_a_failed_route_names_the_unrouted_nets_and_the_log(nano_copy, nano_config, monkeypatch):
    with_layout(monkeypatch, route_layers=1)  # li1 alone cannot route the design
    with pytest.raises(
        project.FlowStepError,
        match=r"step 'route' failed .*first error: qrouter left \d+ nets unrouted; log: \S+route\.log$",
    ) as failed:
        layout._route(nano_config, nano_copy)
    assert "\n" not in str(failed.value) and str(failed.value).count("route.log") == 1


def test_a_utilization_that_cannot_fit_is_refused(nano_config, tmp_path):
    found = pdk.open_pdk(nano_config, tmp_path)
    full = dataclasses.replace(
        found, config=found.config.model_copy(update={"core_utilization": 97.0})
    )
    with pytest.raises(
        ConfigError, match=r"sky130hd.yaml: core_utilization: 97% cannot fit: well taps"
    ):
        layout._check_utilization(full, full.config.layout)
    layout._check_utilization(found, found.config.layout)  # the shipped 50% fits


def test_a_pdk_config_without_routing_data_is_refused(nano_config, tmp_path):
    found = pdk.open_pdk(nano_config, tmp_path)
    bare = dataclasses.replace(found, config=found.config.model_copy(update={"layout": None}))
    with pytest.raises(
        ConfigError, match=r"sky130hd.yaml: layout: this PDK config has no place-and-route data"
    ):
        layout._settings(bare)


def test_a_layout_setting_that_names_too_many_layers_is_refused(monkeypatch, nano_config):
    text = pdk.load_config(nano_config)[1].read_text()
    edited = text.replace("route_layers: 5 ", "route_layers: 9 ")
    with pytest.raises(ValidationError, match="route_layers is 9 but only 6 layers are listed"):
        pdk.PdkConfig.model_validate(yaml.safe_load(edited))


def test_a_router_margin_on_an_unknown_layer_is_refused(nano_config):
    text = pdk.load_config(nano_config)[1].read_text()
    edited = text.replace("via_wire_margin_um: {met1: 0.02}", "via_wire_margin_um: {met7: 0.02}")
    assert edited != text
    with pytest.raises(
        ValidationError, match="router.via_wire_margin_um names unknown layer 'met7'"
    ):
        pdk.PdkConfig.model_validate(yaml.safe_load(edited))


@pytest.mark.parametrize(
    ("step", "tool"),
    [("_place", "graywolf"), ("_route", "qrouter"), ("_gds", "klayout")],
)
@QFLOW
def test_a_missing_layout_tool_is_named(nano_copy, nano_config, monkeypatch, step, tool):
    bin_dir = nano_copy.parent / "bin"
    bin_dir.mkdir()
    for name in ("graywolf", "qrouter", "klayout", "sta", "tclsh"):
        if name != tool:
            (bin_dir / name).symlink_to(shutil.which(name))
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}")
    with pytest.raises(ToolMissingError, match=rf"^{tool} not found: .*Debian"):
        getattr(layout, step)(nano_config, nano_copy)


@QFLOW
def test_missing_qflow_scripts_are_named(nano_copy, nano_config, monkeypatch, tmp_path):
    monkeypatch.setattr(qflow, "QFLOW_HOMES", (tmp_path / "nowhere",))
    with pytest.raises(
        ToolMissingError, match=r"qflow's scripts .* not found .*Debian package qflow"
    ):
        layout._place(nano_config, nano_copy)


def test_the_openroad_flow_is_configured_where_openroad_is_installed(nano_build, nano_config):
    design, found, _ = job.project_for(nano_config, nano_build)
    sdc = job.flow_paths(nano_config, nano_build).sdc
    openroad = project.Project(design, found, sdc, nano_build / "flow", engine="openroad")
    flow = openroad.asic.get("flowgraph", project.FLOW, field="schema")
    for node in ("floorplan.init", "place.global", "cts.clock_tree_synthesis", "route.detailed"):
        assert flow.get(node, "0", "tool") == "openroad", node
    assert flow.get("write.gds", "0", "task") == "export" and flow.get("drc", "0", "task") == "drc"
    placed = openroad.nodes(*openroad.step_nodes("place"))
    assert placed[0] == "cleanup.clean" and "floorplan.tapcell" in placed
    assert "route.detailed" in openroad.nodes(*openroad.step_nodes("route"))
    assert openroad.asic.check_manifest()
    library = found.library
    for fileset in ("openroad.powergrid", "openroad.globalconnect"):
        assert Path(library.find_files("fileset", fileset, "file", "tcl")[0]).is_file()
    assert Path(library.find_files("tool", "openroad", "tapcells")).is_file()
    assert lef.site_size(found.tech_lef().read_text(), found.site())[1] == 2.72
    assert project.layout_engine() == ("openroad" if shutil.which("openroad") else "qflow")
