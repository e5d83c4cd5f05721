"""The layout helpers on small inputs: qrouter's LEF views, the DEF fixes (pins off the rails,
well taps), the wire loads, the layout netlist, qrouter's routing verdict."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from econflow.errors import EconflowError, FormatError
from econflow.flow import gap_fill, nudges, patches, redundant_cuts, spurs, tmr, via_variants
from econflow.flow.formats import defdata, layout_netlist, lef, netlist, parasitics
from econflow.flow.legalizer import Rows
from econflow.flow.tasks import opensta
from econflow.flow.tasks.qrouter import (
    RouteError,
    between_tracks,
    frame,
    unrouted_nets,
    without_unusable_arcs,
)
from econflow.pdk import CutLayer, RoutingLayer
from econflow.rtl import naming
from econflow.rtl.artefacts import RegisterBank

PDK = Path(__file__).parents[3] / "shared" / "pdks" / "lambdapdk" / "sky130"
TECH_LEF = PDK / "base" / "apr" / "sky130_fd_sc.tlef"
CELL_LEF = PDK / "libs" / "sky130hd" / "lef" / "sky130_fd_sc_hd_merged.lef"
CUTS = ["mcon", "via", "via2", "via3", "via4"]


def macro(text: str, name: str) -> str:
    return re.search(rf"^MACRO {name}\n.*?^END {name}\n", text, re.M | re.S).group(0)


def test_routing_tech_lef_keeps_one_fixed_via_per_cut_layer():
    full = TECH_LEF.read_text()
    routing = lef.routing_tech_lef(full, CUTS)
    vias = re.findall(r"^VIA (\S+) DEFAULT", routing, re.M)
    assert vias == ["L1M1_PR", "M1M2_PR", "M2M3_PR", "M3M4_PR", "M4M5_PR"]
    assert len(re.findall(r"^VIA ", full, re.M)) == 25 and "VIARULE" in full
    assert "VIARULE" not in routing
    assert routing.rstrip().endswith("END LIBRARY")
    assert "LAYER met1" in routing and "SITE unithd" in routing  # the rest is kept
    with pytest.raises(FormatError, match="no fixed via on cut layer.*capm"):
        lef.routing_tech_lef(full, [*CUTS, "capm"])


def test_routing_cell_lef_turns_the_power_pins_li1_into_obstructions():
    routed = macro(
        lef.routing_cell_lef(CELL_LEF.read_text(), ["VPWR", "VGND"], "li1"),
        "sky130_fd_sc_hd__nand2_1",
    )
    vpwr = re.search(r"  PIN VPWR\n.*?  END VPWR\n", routed, re.S).group(0)
    assert "LAYER met1" in vpwr and "LAYER li1" not in vpwr
    obs = routed[routed.index("  OBS") :]
    assert "RECT 0.000000 2.635000 1.380000 2.805000" in obs  # the VPWR rail's li1
    assert "RECT 0.000000 -0.085000 1.380000 0.085000" in obs  # the VGND rail's li1
    original = macro(CELL_LEF.read_text(), "sky130_fd_sc_hd__nand2_1")
    for pin in ("A", "B", "Y"):  # signal pins untouched
        block = re.compile(rf"  PIN {pin}\n.*?  END {pin}\n", re.S)
        assert block.search(routed).group(0) == block.search(original).group(0)


def test_lef_facts():
    tech, cells = TECH_LEF.read_text(), CELL_LEF.read_text()
    assert lef.site_size(tech, "unithd") == (0.46, 2.72)
    assert lef.database_units(tech) == 200  # 0.005 um manufacturing grid
    assert lef.macro_sizes(cells)["sky130_fd_sc_hd__nand2_1"] == (1.38, 2.72)
    assert lef.layer_rc(tech)["met1"] == (0.125, 25.7784e-6)
    assert lef.pin_rects(cells, "li1")["sky130_fd_sc_hd__nand2_1"]["A"] == [
        (0.94, 1.075, 1.275, 1.325)
    ]
    reset = lef.pin_rects(cells, "met1")["sky130_fd_sc_hd__dfrtp_1"]["RESET_B"]
    obstructions = lef.obstruction_rects(cells, "met1")["sky130_fd_sc_hd__dfrtp_1"]
    assert (3.745, 0.78, 7.635, 0.92) in reset and len(obstructions) == 14
    assert not set(reset) & set(obstructions)


def placed_def(rows: list[list[tuple[str, int]]], pins: str = "") -> str:
    """A DEF with rows of (macro, width) cells abutted from x = 0 (units 100 per um)."""
    components = []
    for r, row in enumerate(rows):
        x = 0
        for k, (cell, width) in enumerate(row):
            orient = "N" if r % 2 == 0 else "FS"
            components.append(f"- c{r}_{k} {cell} + PLACED ( {x} {r * 272} ) {orient} ;")
            x += width
    return (
        "UNITS DISTANCE MICRONS 100 ;\nDIEAREA ( 0 0 ) ( 5000 5000 ) ;\n"
        f"COMPONENTS {len(components)} ;\n" + "\n".join(components) + "\nEND COMPONENTS\n"
        f"PINS 1 ;\n{pins}END PINS\n"
    )


FILL, TAP = "fill_1", "tap_1"


def test_taps_replace_fill_so_no_point_is_further_than_half_a_pitch():
    row = [(FILL, 46) if k % 3 == 0 else ("nand2_1", 138) for k in range(60)]  # 55 um
    text, count = defdata.insert_taps(placed_def([row, row]), FILL, TAP, 46, 1300)
    taps = [c for c in defdata.components(text) if c.macro == TAP]
    assert count == len(taps) > 0
    for y in (0, 272):
        xs = sorted(c.x + 23 for c in taps if c.y == y)  # centres
        end = max(c.x for c in defdata.components(text) if c.y == y) + 46
        assert xs[0] <= 650 and end - xs[-1] <= 650
        assert all(b - a <= 1300 for a, b in zip(xs, xs[1:], strict=False))
    assert all(c.macro != FILL or c.name not in {t.name for t in taps} for c in taps)


def test_a_row_without_room_for_a_tap_is_an_error():
    crowded = [(FILL, 46)] + [("nand2_1", 138)] * 40
    with pytest.raises(
        defdata.DefError, match=r"row 1 has no fill_1 between .* the core is too full"
    ):
        defdata.insert_taps(placed_def([crowded]), FILL, TAP, 46, 1300)


def test_a_row_packed_where_a_tap_must_go_gets_a_free_site_pushed_open():
    # graywolf packed the first 6.9 um of row 1 (seed 2 on nano); rows 2 and 3 have no room
    packed = [("nand2_1", 138)] * 5 + [(FILL, 46)] * 20 + [("nand2_1", 138)] * 5 + [(FILL, 46)] * 20
    full = [("nand2_1", 138)] * 40
    sizes = {FILL: (0.46, 2.72), TAP: (0.46, 2.72), "nand2_1": (1.38, 2.72)}
    text = placed_def([packed, packed])
    with pytest.raises(defdata.DefError, match="row 1 has no fill_1 between x = 0.00 and 6.50 um"):
        defdata.insert_taps(text, FILL, TAP, 46, 1300)
    rows = Rows(text, sizes, FILL, 1300)
    assert rows.open_tap_sites() == 2  # one per row
    amended = rows.amend(text)
    first = [c for c in defdata.components(amended) if c.macro == "nand2_1" and c.y == 0]
    assert max(c.x for c in first if c.x < 1000) == 4 * 138 + 46  # pushed right by a site
    # cells added afterwards (buffers, moved TMR copies) leave the taps room
    for k in range(2):
        rows.apply(f"b{k}", "nand2_1", rows.insertion("nand2_1", 12 * 46, 0))
    tapped, count = defdata.insert_taps(rows.amend(text), FILL, TAP, 46, 1300)
    assert count > 0 and sum(c.macro == "nand2_1" for c in defdata.components(tapped)) == 22
    # a row packed end to end cannot make room: left to insert_taps, which says so
    packed_full = placed_def([full])
    full_rows = Rows(packed_full, sizes, FILL, 1300)
    assert full_rows.open_tap_sites() == 0
    with pytest.raises(defdata.DefError, match="row 1 has no fill_1 between"):
        defdata.insert_taps(full_rows.amend(packed_full), FILL, TAP, 46, 1300)


def test_pins_on_the_rails_move_to_a_free_track_clear_of_them():
    pins = (
        "- a + NET a\n  + LAYER met1 ( -7 -7 ) ( 7 7 )\n  + PLACED ( 0 272 ) N ;\n"
        "- b + NET b\n  + LAYER met1 ( -7 -7 ) ( 7 7 )\n  + PLACED ( 0 130 ) N ;\n"
        "- c + NET c\n  + LAYER met2 ( -7 -7 ) ( 7 7 )\n  + PLACED ( 100 272 ) N ;\n"
    )
    text = placed_def([[("nand2_1", 138)]] * 3, pins)
    rails = defdata.rails(defdata.components(text), 272)
    assert rails == [0, 272, 544, 816]
    moved, count = defdata.move_pins_off_rails(text, rails, "met1", 45, 34)
    assert count == 1
    placed = dict(re.findall(r"- (\w) \+ NET.*?PLACED \( -?\d+ (-?\d+) \)", moved, re.S))
    assert min(abs(int(placed["a"]) - r) for r in rails) >= 45
    assert placed["b"] == "130" and placed["c"] == "272"  # clear already / another layer


ROUTED_NETS = """UNITS DISTANCE MICRONS 200 ;
NETS 2 ;
- n0
  ( u1 Q ) ( u2 A )
+ ROUTED li1 ( 100 100 ) L1M1_PR
  NEW met1 ( 100 100 ) ( 500 * ) M1M2_PR
  NEW met2 ( 500 100 ) ( * 300 ) ;
- n1
  ( u2 Y ) ( u3 A )
+ ROUTED met1 ( 100 900 ) ( * 968 ) ( 300 * ) M1M2_PR
  NEW met2 ( 300 968 ) ( * 1168 0 ) ;
END NETS
"""


def test_wire_length_per_layer_and_the_routed_loads():
    # a path through several points counts every leg, and its via sits at the last point
    assert defdata.wirelength(ROUTED_NETS) == {"met1": 3.34, "met2": 2.0}
    assert defdata.net_wirelength(ROUTED_NETS) == {
        "n0": {"met1": 2.0, "met2": 1.0},
        "n1": {"met1": 1.34, "met2": 1.0},
    }
    assert [(v.net, v.via, v.x, v.y) for v in defdata.routed_vias(ROUTED_NETS)] == [
        ("n0", "L1M1_PR", 100, 100),
        ("n0", "M1M2_PR", 500, 100),
        ("n1", "M1M2_PR", 300, 968),
    ]
    cap = lef.wire_capacitance(TECH_LEF.read_text())
    assert cap["met1"] == pytest.approx(25.7784e-6 * 0.14 + 2 * 40.567e-6)  # area + 2 sides
    loads = parasitics.routed_loads(ROUTED_NETS, cap)
    assert loads["n0"] == pytest.approx(2 * cap["met1"] + cap["met2"])


def test_wire_loads_from_qrouter_rc_and_from_placement():
    rc = "n7 1 u1/Y 10 ( 2.5 0.001 ( 1.0 0.0005 u2/A ) , ( 0.5 0.00025 u3/B ) ) \n"
    assert parasitics.rc_loads(rc) == {"n7": pytest.approx(0.00175)}
    assert parasitics.rc_loads("a<3> 1 PIN/a<3> 1 ( 1 0.002 u/A ) \n") == {"a[3]": 0.002}
    text = placed_def([[("nand2_1", 138), ("nand2_1", 138)]]).replace(
        "END PINS\n",
        "END PINS\nNETS 1 ;\n- n0\n  ( c0_0 Y ) ( c0_1 A ) ;\nEND NETS\n",
    )
    hpwl = parasitics.net_hpwl(text, {"nand2_1": (1.38, 2.72)})
    assert hpwl == {"n0": pytest.approx(1.38)}  # centre to centre
    assert parasitics.placement_loads(hpwl, 0.05) == {"n0": pytest.approx(1.38 * 0.05e-3)}


def test_sdf_arcs_opensta_would_refuse_are_left_out():
    sdf = (
        "   (INTERCONNECT u1/Q u2/A (0.1))\n"
        "   (INTERCONNECT u3/Q ERROR (0.002))\n"
        "   (INTERCONNECT u3/Q out[15] (0.2))\n"
        "   (INTERCONNECT u4/Y u4/Y (3.6))\n"
    )
    kept, unnamed, to_driver = without_unusable_arcs(sdf)
    assert (unnamed, to_driver) == (1, 1)
    assert "ERROR" not in kept and "u4/Y u4/Y" not in kept and kept.count("INTERCONNECT") == 2


def test_qrouters_verdict():
    assert unrouted_nets("...\nFinal: No failed routes!\n") == 0
    assert unrouted_nets("Failed net routes: 30\n...\nFinal: Failed net routes: 12\n") == 12
    with pytest.raises(RouteError, match="no final routing result"):
        unrouted_nets("Progress: Stage 1 total routes completed: 10\n")


def write_netlist(tmp_path: Path, body: str) -> netlist.Netlist:
    path = tmp_path / "n.vg"
    path.write_text(
        "module t(a, y, z);\n  input [1:0] a;\n  output y;\n  output z;\n"
        f"  wire \\w.x[0] ;\n{body}endmodule\n"
    )
    return netlist.read(path, "t")


def test_layout_netlist_names_nets_and_instances(tmp_path):
    parsed = write_netlist(
        tmp_path,
        "  nand2 \\u$1  (.A(a[0]), .B(a[1]), .Y(\\w.x[0] ));\n"
        "  inv _2_ (.A(\\w.x[0] ), .Y(y));\n  inv _3_ (.A(y), .Y(z));\n",
    )
    placed = layout_netlist.build(parsed, "t")
    blif = placed.blif()
    assert ".inputs a[0] a[1]\n.outputs y z\n" in blif
    assert ".gate nand2 A=a[0] B=a[1] Y=n" in blif
    internal = placed.nets[("w.x[0]", None)]  # an escaped name, not a bit of w.x
    assert re.fullmatch(r"n\d+", internal)
    names = ["nand2_1", "inv_1", "inv_2"]
    verilog = placed.verilog(names)
    assert f"  wire {internal};" in verilog and "  input [1:0] a;" in verilog
    assert f"  inv inv_1 (.A({internal}), .Y(y));" in verilog
    assert placed.instance_map(names) == {"nand2_1": "u$1", "inv_1": "_2_", "inv_2": "_3_"}
    cel = "cell 0 nand2_1\nleft -1\ncell 1 inv_1\npad 1 name twpin_a\ncell 2 inv_2\n"
    assert layout_netlist.cel_instances(cel) == names


def test_layout_netlist_refuses_what_placement_cannot_take(tmp_path):
    constant = write_netlist(tmp_path, "  inv _2_ (.A(1'h0), .Y(y));\n  inv _3_ (.A(y), .Y(z));\n")
    with pytest.raises(
        layout_netlist.LayoutNetlistError, match="_2_ pin A is tied to the constant"
    ):
        layout_netlist.build(constant, "t")
    joined = write_netlist(tmp_path, "  assign z = y;\n  inv _2_ (.A(a[0]), .Y(y));\n")
    with pytest.raises(layout_netlist.LayoutNetlistError, match="1 assign statement"):
        layout_netlist.build(joined, "t")


def test_the_placed_copies_of_each_protected_bit_are_found_by_name():
    copies = dict(zip("abc", naming.COPIES, strict=True))
    instances = {
        f"ff_{c}{bit}": f"{naming.instance('w_0')}/{copies[c]}[{bit}]$_DFF_PN0_"
        for c in "abc"
        for bit in (0, 1)
    }
    instances["ff_q"] = "r_out/q[0]$_DFF_PN0_"  # unprotected: not counted
    banks = [
        RegisterBank(name=n, width=w, kind="config", protected=True, instance=naming.instance(n))
        for n, w in (("w_0", 2), ("w_1", 1))
    ]
    found = tmr.placed_copies(instances, banks)
    assert found == {("w_0", b): [f"ff_a{b}", f"ff_b{b}", f"ff_c{b}"] for b in (0, 1)}
    assert tmr.distances({}) is None
    spread = tmr.distances({("w_0", 0): 2.72, ("w_0", 1): 10.0})
    assert (spread.min_um, spread.median_um, spread.closest_bit) == (2.72, 6.36, "w_0[0]")


def test_the_stripes_vias_down_to_a_layer_are_dropped():
    text = (
        "VIAS 2 ;\n- A_post\n+ RECT li1 ( -1 -1 ) ( 1 1 )\n+ RECT met1 ( -1 -1 ) ( 1 1 ) ;\n"
        "- B_post\n+ RECT met1 ( -1 -1 ) ( 1 1 )\n+ RECT met2 ( -1 -1 ) ( 1 1 ) ;\nEND VIAS\n"
        "SPECIALNETS 1 ;\n- VPWR\n"
        "+ FIXED li1 46 ( 10 34 ) ( * * ) A_post\n"
        "  NEW met1 64 ( 10 34 ) ( * * ) B_post\n"
        "  NEW li1 46 ( 10 578 ) ( * * ) A_post\n"
        "  NEW met1 64 ( 10 578 ) ( * * ) B_post\n"
        "  NEW met4 276 ( 10 0 ) ( * 900 )\n ;\nEND SPECIALNETS\n"
    )
    assert defdata.vias_on(text, "li1") == {"A_post"}
    amended, dropped = defdata.drop_special_vias(text, {"A_post"})
    assert dropped == 2 and "A_post" not in amended.split("SPECIALNETS")[1]
    assert "+ FIXED met1 64 ( 10 34 ) ( * * ) B_post\n  NEW met1 64 ( 10 578 )" in amended
    assert defdata.drop_special_vias(text, set()) == (text, 0)


def test_the_grid_lines_between_a_wider_layers_tracks_are_obstructed():
    placed = (
        "UNITS DISTANCE MICRONS 100 ;\nDIEAREA ( 0 0 ) ( 1000 400 ) ;\n"
        "TRACKS Y 0.0 DO 11 STEP 40 LAYER met1 ;\n"
        "TRACKS X 0.0 DO 21 STEP 50 LAYER met2 ;\n"
        "TRACKS Y 40.0 DO 5 STEP 80 LAYER met3 ;\n"
        "TRACKS X 0.0 DO 7 STEP 150 LAYER met4 ;\n"
    )
    strips = between_tracks(placed, ["met1", "met2", "met3", "met4"])
    # met3's tracks at y = 0.4, 1.2, 2.0, 2.8 um leave the grid lines 0.8, 1.6, 2.4, 3.2 between
    assert [s[2:5:2] for s in strips if s[0] == "met3"] == [
        (0.79, 0.81),
        (1.59, 1.61),
        (2.39, 2.41),
        (3.19, 3.21),
    ]
    assert all(s[1] == 0 and s[3] == 10 for s in strips if s[0] == "met3")
    # met4 at three grid steps: two lines between each pair of its tracks, inside the die
    assert [round(s[1] + 0.01, 2) for s in strips if s[0] == "met4"][:4] == [0.5, 1.0, 2.0, 2.5]
    assert {s[0] for s in strips} == {"met3", "met4"}
    assert between_tracks(placed, ["met1", "met2"]) == []


def test_a_frame_round_the_die_and_the_fence_keeps_the_router_inside():
    placed = "UNITS DISTANCE MICRONS 100 ;\nDIEAREA ( 0 0 ) ( 1000 400 ) ;\n"
    fence = "obstruction -1.38 3.5 10.0 4.34 met1\nobstruction 0.0 -1.36 10.0 -0.06 met1\n"
    sides = frame(placed, fence, ["met1", "met2"])
    # the fence reaches 1.38 um left of the die, 0.34 um above and 1.36 um below it
    assert [s[1:] for s in sides if s[0] == "met2"] == [
        (-11.38, -11.36, 20.0, -1.36),
        (-11.38, 4.34, 20.0, 14.34),
        (-11.38, -1.36, -1.38, 4.34),
        (10.0, -1.36, 20.0, 4.34),
    ]
    assert len(sides) == 8
    # without a fence, the die's edge
    assert frame(placed, "", ["met1"])[1] == ("met1", -10.0, 4.0, 20.0, 14.0)


def test_eda_file_errors_are_econflow_errors():
    for error in (defdata.DefError, layout_netlist.LayoutNetlistError):
        assert issubclass(error, EconflowError)
    with pytest.raises(EconflowError, match="no SITE unknown_site"):
        lef.site_size(TECH_LEF.read_text(), "unknown_site")


NOTCH = """UNITS DISTANCE MICRONS 200 ;
NETS 3 ;
- a
  ( u1 Y ) ( u2 A )
+ ROUTED met1 ( 0 0 ) V
  NEW met2 ( 0 -70 ) ( 92 * ) ;
- b
  ( u3 Y ) ( u4 A )
+ ROUTED met1 ( 1000 0 ) V
  NEW met2 ( 1000 -70 ) ( 1092 * ) ;
- c
  ( u5 Y ) ( u6 A )
+ ROUTED met2 ( 1060 -20 ) ( * 200 ) ;
END NETS

SPECIALNETS 1 ;
- VPWR
+ ROUTED met4 320 ( 0 0 ) ( 0 1000 ) ;
END SPECIALNETS

END DESIGN
"""


def test_a_notch_between_shapes_of_one_net_is_filled_where_no_other_net_is_near():
    met2 = RoutingLayer(name="met2", direction="vertical", pitch=0.46, width=0.14,
                        spacing=0.14, area=0.0676, gds=[69, 20])  # fmt: skip
    pads = {"V": {"met2": (-0.14, -0.185, 0.14, 0.185)}}
    # net a: a via pad 0.095 um above a jog of its own; net b: the same, but net c's wire
    # passes 0.06 um from where the fill would go
    fills = gap_fill.fills(NOTCH, [met2], pads)
    assert fills == [gap_fill.Fill("a", "met2", (-14, -56, 28, -37))]
    filled = gap_fill.with_fill(NOTCH, fills)
    assert "SPECIALNETS 2 ;" in filled
    assert "- a\n  + RECT met2 ( -14 -56 ) ( 28 -37 )\n ;\nEND SPECIALNETS" in filled
    assert gap_fill.with_fill(NOTCH, []) == NOTCH
    # where the net's own metal already fills the gap (two legs from the jog up to the pad),
    # there is no notch
    covered = NOTCH.replace(
        "NEW met2 ( 0 -70 ) ( 92 * ) ;",
        "NEW met2 ( 0 -70 ) ( 92 * )\n  NEW met2 ( 0 -70 ) ( * 0 )\n"
        "  NEW met2 ( 14 -70 ) ( * 0 ) ;",
    )
    assert [f for f in gap_fill.fills(covered, [met2], pads) if f.net == "a"] == []
    # a placed cell's own met2 (flipped: 0.05-0.10 um up its 1 um height) 0.08 um from the fill
    cell = (
        "MACRO blocker\n  SIZE 1 BY 1 ;\n  OBS\n    LAYER met2 ;\n"
        "      RECT 0 0.9 0.05 0.95 ;\n  END\nEND blocker\n"
    )
    placed = NOTCH.replace(
        "NETS 3 ;",
        "COMPONENTS 1 ;\n- u9 blocker + PLACED ( -30 -90 ) FS ;\nEND COMPONENTS\n\nNETS 3 ;",
    )
    assert gap_fill.fills(placed, [met2], pads, cell) == []
    assert (
        gap_fill.fills(placed, [met2], pads, cell.replace("0.9 0.05 0.95", "0.0 0.05 0.05"))
        == fills
    )
    # net d's via1 pad (met1 0.32 x 0.26 um) and its mcon pad (0.29 x 0.23 um) set
    # diagonally, corners 0.095 um apart each way (0.134 um, met1 spacing 0.14), joined only
    # by the wire round them: the square across the gap, grown to met1's width
    pads = {"V1": {"met1": (-0.16, -0.13, 0.16, 0.13)}, **L1M1}
    diagonal = (
        "UNITS DISTANCE MICRONS 200 ;\nNETS 1 ;\n- d\n  ( u1 A ) ( u2 B )\n"
        "+ ROUTED met1 ( 26220 22168 ) V1\n"
        "  NEW met1 ( 26220 22168 ) ( 26312 * ) ( * 22100 ) ( 26300 * ) L1M1_PR ;\nEND NETS\n"
    )
    corner = [f.rect for f in gap_fill.fills(diagonal, LI1_MET1, pads) if f.layer == "met1"]
    assert corner[0] == (26247, 22118, 26276, 22147)
    # the square leaves slots 0.035 um and 0.11 um wide to the wire round it, which are
    # filled in turn: no gap under the spacing is left along any row or column of the metal
    wires = gap_fill.Routed(diagonal, pads, "").routing(LI1_MET1[1])["d"]
    assert _gaps_under(wires + corner[:1], 28) != []
    assert _gaps_under(wires + corner, 28) == []


def _gaps_under(rects: list[gap_fill.Rect], spacing: int) -> list[int]:
    """The runs of empty grid points shorter than ``spacing`` with metal at both ends, along
    every row and column of the union of ``rects`` (DEF units)."""
    x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
    grid = np.zeros((max(r[3] for r in rects) - y0, max(r[2] for r in rects) - x0), bool)
    for r in rects:
        grid[r[1] - y0 : r[3] - y0, r[0] - x0 : r[2] - x0] = True
    runs = [np.diff(np.flatnonzero(line)) - 1 for line in [*grid, *grid.T]]
    return [int(g) for gaps in runs for g in gaps if 0 < g < spacing]


def test_the_notches_a_fill_makes_beside_pads_proud_of_the_wire_it_joins_are_filled():
    met3 = RoutingLayer(name="met3", direction="vertical", pitch=0.68, width=0.3, spacing=0.3,
                        area=0.24, gds=[70, 20])  # fmt: skip
    # nano's net n1159 (2026-12-07): a via pad 0.295 um below a wire, whose pads at either
    # end stand 0.01 and 0.015 um below it; the fill across the gap leaves notches 0.105 and
    # 0.13 um wide between itself and those pads
    pads = {
        "V3A": {"met3": (-0.19, -0.16, 0.19, 0.16)},
        "V3B": {"met3": (-0.165,) * 2 + (0.165,) * 2},
    }
    text = (
        "UNITS DISTANCE MICRONS 200 ;\nNETS 1 ;\n- n\n  ( u1 A ) ( u2 B )\n"
        "+ ROUTED met3 ( 22816 19448 ) V3A\n  NEW met3 ( 22816 19448 ) ( 23000 * ) V3B\n"
        "  NEW met3 ( 22908 19326 ) V3B ;\nEND NETS\n"
    )
    wires = gap_fill.Routed(text, pads, "").routing(met3)["n"]
    fills = [f.rect for f in gap_fill.fills(text, [met3], pads)]
    assert fills[0] == (22875, 19359, 22941, 19418)
    assert _gaps_under(wires + fills[:1], 60) != []
    assert _gaps_under(wires + fills, 60) == []


def test_a_wire_short_of_or_just_touching_its_own_pin_is_filled_another_nets_pin_blocks():
    met1 = RoutingLayer(name="met1", direction="horizontal", pitch=0.34, width=0.14,
                        spacing=0.14, area=0.083, gds=[68, 20])  # fmt: skip
    # net a's wire ends 0.01 um below the met1 of u1's pin A (qrouter's access to dfrtp_1's
    # RESET_B); net b's wire ends the same way below u2's pin A, with u2's pin B 0.05 um
    # beside where the fill would go
    cell = (
        "MACRO c\n  SIZE 2 BY 2.72 ;\n"
        "  PIN A\n    PORT\n      LAYER met1 ;\n        RECT 0.0 1.0 1.0 1.2 ;\n    END\n  END A\n"
        "  PIN B\n    PORT\n      LAYER met1 ;\n        RECT 1.05 1.0 1.4 1.2 ;\n    END\n  END B\n"
        "END c\n"
    )
    text = (
        "UNITS DISTANCE MICRONS 200 ;\nCOMPONENTS 2 ;\n- u1 c + PLACED ( 0 0 ) N ;\n"
        "- u2 c + PLACED ( 1000 0 ) N ;\nEND COMPONENTS\nNETS 2 ;\n"
        "- a\n  ( u1 A )\n+ ROUTED met1 ( 100 100 ) ( * 184 ) ;\n"
        "- b\n  ( u2 A )\n+ ROUTED met1 ( 1190 100 ) ( * 184 ) ;\n"
        "END NETS\n"
    )
    fills = gap_fill.fills(text, [met1], {}, cell)
    assert fills == [gap_fill.Fill("a", "met1", (86, 198, 114, 200))]
    # net d's wire ends on the side of u3's pin, touching it along 0.02 um (a neck): filled
    # 0.14 um deep into both across the wire's width; net e's wire faces u4's pin along
    # 0.115 um only: no notch fill, which would leave a neck of its own, but alone the wire
    # is below met1's minimum area (0.0784 um2) and widens to 0.15 um
    text = text.replace(
        "END COMPONENTS\nNETS 2 ;",
        "- u3 c + PLACED ( 2000 0 ) N ;\n- u4 c + PLACED ( 3000 0 ) N ;\nEND COMPONENTS\n"
        "NETS 4 ;\n- d\n  ( u3 A )\n+ ROUTED met1 ( 1900 190 ) ( 1986 * ) ;\n"
        "- e\n  ( u4 A )\n+ ROUTED met1 ( 3009 100 ) ( * 184 ) ;",
    )
    assert set(gap_fill.fills(text, [met1], {}, cell)) == {
        *fills,
        gap_fill.Fill("d", "met1", (1972, 176, 2028, 204)),
        gap_fill.Fill("e", "met1", (2994, 86, 3024, 198)),
    }


MCON = CutLayer(name="mcon", below="li1", above="met1", size=0.17, spacing=0.19,
                enclosure_below=0.0, enclosure_above=0.03, gds=[67, 44])  # fmt: skip
LI1_MET1 = [
    RoutingLayer(name="li1", direction="vertical", pitch=0.46, width=0.17, spacing=0.17,
                 area=0.0561, gds=[67, 20]),
    RoutingLayer(name="met1", direction="horizontal", pitch=0.34, width=0.14, spacing=0.14,
                 area=0.083, gds=[68, 20]),
]  # fmt: skip
L1M1 = {
    "L1M1_PR": {
        "li1": (-0.085, -0.085, 0.085, 0.085),
        "mcon": (-0.085, -0.085, 0.085, 0.085),
        "met1": (-0.145, -0.115, 0.145, 0.115),
    }
}
ONE_CELL = """UNITS DISTANCE MICRONS 200 ;
COMPONENTS 1 ;
- u1 c + PLACED ( 2000 0 ) N ;
END COMPONENTS
"""
# Three nets, each with two mcons 0.34 um apart in one column: n0's li1 wire runs past both,
# n1's both sit on one li1 pin of u1, n2's have no li1 between them.
CLOSE_CUTS = (
    ONE_CELL
    + """NETS 3 ;
- n0
  ( u8 Y ) ( u9 A )
+ ROUTED met1 ( 0 100 ) ( 184 * ) L1M1_PR
  NEW li1 ( 184 100 ) ( * 300 )
  NEW met1 ( 0 168 ) ( 184 * ) L1M1_PR ;
- n1
  ( u1 A ) ( u9 B )
+ ROUTED li1 ( 2092 100 ) L1M1_PR
  NEW met1 ( 2092 100 ) ( 1800 * )
  NEW li1 ( 2092 168 ) L1M1_PR
  NEW met1 ( 2092 168 ) ( 2400 * ) ;
- n2
  ( u7 Y ) ( u6 A )
+ ROUTED met1 ( 4000 100 ) ( 4184 * ) L1M1_PR
  NEW li1 ( 4184 100 ) ( * 0 )
  NEW met1 ( 4000 168 ) ( 4184 * ) L1M1_PR
  NEW li1 ( 4184 168 ) ( * 400 ) ;
END NETS
"""
)
PIN_CELL = (
    "MACRO c\n  SIZE 1 BY 2.72 ;\n"
    "  PIN A\n    PORT\n      LAYER li1 ;\n        RECT 0.38 0.4 0.55 1.0 ;\n    END\n  END A\n"
    "END c\n"
)


def test_one_of_two_close_cuts_of_a_net_goes_where_the_layer_below_joins_them():
    merged, count = redundant_cuts.without_redundant_cuts(
        CLOSE_CUTS, [MCON], LI1_MET1, L1M1, PIN_CELL
    )
    assert count == 2
    vias = {(v.net, v.x, v.y) for v in defdata.routed_vias(merged)}
    assert vias == {
        ("n0", 184, 100), ("n1", 2092, 100), ("n2", 4184, 100), ("n2", 4184, 168)
    }  # fmt: skip
    # the dropped cut's branch runs on, on met1, to the kept cut
    assert "NEW met1 ( 0 168 ) ( 184 * ) ( 184 100 ) ;" in merged
    assert "NEW met1 ( 2092 168 ) ( 2092 100 )\n  NEW met1 ( 2092 168 ) ( 2400 * )" in merged
    assert defdata.wirelength(merged)["met1"] == pytest.approx(
        defdata.wirelength(CLOSE_CUTS)["met1"] + 2 * 0.34
    )
    # without u1's pin, nothing joins n1's two cuts on li1
    alone, count = redundant_cuts.without_redundant_cuts(CLOSE_CUTS, [MCON], LI1_MET1, L1M1, "")
    assert count == 1


SPURS = (
    ONE_CELL
    + """NETS 3 ;
- a
  ( u8 Y ) ( u9 A )
+ ROUTED met1 ( 0 100 ) ( 200 * ) ( * 129 ) ( * 90 ) ( 163 * ) ;
- b
  ( u1 A ) ( u9 B )
+ ROUTED met1 ( 1800 100 ) ( 2000 * ) ( * 190 ) ( * 90 ) ;
- c
  ( u7 Y ) ( u6 A )
+ ROUTED met1 ( 4000 100 ) ( 4200 * ) ( * 160 ) ( * 90 )
  NEW met1 ( 4200 160 ) ( 4400 * ) ;
END NETS
"""
)


def test_a_dead_end_that_touches_nothing_of_its_net_is_taken_out():
    pin = PIN_CELL.replace(
        "LAYER li1 ;\n        RECT 0.38 0.4 0.55 1.0", "LAYER met1 ;\n        RECT 0 1.0 0.5 1.2"
    )
    trimmed, count = spurs.without_spurs(SPURS, LI1_MET1, L1M1, pin)
    # net a runs up 0.145 um and back below where it started: the run out goes; net b's run
    # out reaches u1's pin A, and net c's is where its other branch starts: both stay
    assert count == 1
    assert "+ ROUTED met1 ( 0 100 ) ( 200 100 ) ( 200 90 ) ( 163 90 ) ;" in trimmed
    assert trimmed.replace("( 0 100 ) ( 200 100 ) ( 200 90 ) ( 163 90 )", "") == SPURS.replace(
        "( 0 100 ) ( 200 * ) ( * 129 ) ( * 90 ) ( 163 * )", ""
    )
    assert defdata.wirelength(trimmed)["met1"] == pytest.approx(
        defdata.wirelength(SPURS)["met1"] - 2 * 29 / 200
    )


def test_a_piece_of_a_net_below_the_layers_minimum_area_gets_a_patch_along_the_layer():
    # net x comes down to li1 onto nothing of its own (a 0.17 um square, li1's minimum area
    # is 0.0561 um2); net y onto u1's pin A, whose shape has the area; net z as x, with net
    # w's li1 wire 0.17 um above it, so that its patch grows downwards only
    text = (
        "UNITS DISTANCE MICRONS 200 ;\nCOMPONENTS 1 ;\n- u1 c + PLACED ( 2000 0 ) N ;\n"
        "END COMPONENTS\nNETS 4 ;\n"
        "- x\n  ( u8 Y ) ( u9 A )\n+ ROUTED met1 ( 700 1000 ) ( 1000 * ) L1M1_PR ;\n"
        "- y\n  ( u1 A ) ( u9 B )\n+ ROUTED met1 ( 1800 140 ) ( 2092 * ) L1M1_PR ;\n"
        "- z\n  ( u7 Y ) ( u9 C )\n+ ROUTED met1 ( 2700 1000 ) ( 3000 * ) L1M1_PR ;\n"
        "- w\n  ( u6 Y ) ( u9 D )\n+ ROUTED li1 ( 3000 1068 ) ( * 1300 ) ;\n"
        "END NETS\n"
    )
    area = [f for f in gap_fill.fills(text, LI1_MET1, L1M1, PIN_CELL) if f.layer == "li1"]
    assert area == [
        gap_fill.Fill("x", "li1", (983, 967, 1017, 1033)),  # 0.17 x 0.33 um: 0.0561 um2
        gap_fill.Fill("z", "li1", (2983, 951, 3017, 1017)),
    ]


def test_the_special_nets_shapes_wires_vias_and_rects():
    text = (
        "UNITS DISTANCE MICRONS 200 ;\nVIAS 1 ;\n- V_post\n+ RECT met1 ( -30 -20 ) ( 30 20 )\n"
        "+ RECT via ( -15 -15 ) ( 15 15 )\n+ RECT met2 ( -30 -25 ) ( 30 25 ) ;\nEND VIAS\n"
        "SPECIALNETS 2 ;\n- VPWR\n+ FIXED met1 64 ( 100 34 ) ( * * ) V_post\n"
        "  NEW met4 320 ( 0 0 ) ( 0 1000 ) ;\n"
        "- n1\n+ ROUTED li1 34 ( 500 600 ) ( 463 * )\n  NEW met1 64 ( 700 700 ) L1M1_PR ;\n"
        "- n1\n  + RECT met2 ( 1 2 ) ( 3 4 )\n ;\nEND SPECIALNETS\n"
    )
    shapes = defdata.special_shapes(text, gap_fill.scaled(L1M1, 200))
    assert {(s.net, s.layer, s.rect) for s in shapes} == {
        ("VPWR", "met1", (70, 14, 130, 54)),
        ("VPWR", "via", (85, 19, 115, 49)),
        ("VPWR", "met2", (70, 9, 130, 59)),
        ("VPWR", "met4", (-160, 0, 160, 1000)),  # special wires do not extend past their ends
        ("n1", "li1", (463, 583, 500, 617)),
        ("n1", "li1", (683, 683, 717, 717)),
        ("n1", "mcon", (683, 683, 717, 717)),
        ("n1", "met1", (671, 677, 729, 723)),
        ("n1", "met2", (1, 2, 3, 4)),
    }


def test_a_small_hole_in_one_nets_metal_is_filled():
    met2 = RoutingLayer(name="met2", direction="vertical", pitch=0.46, width=0.14,
                        spacing=0.14, area=0.0676, hole_area=0.14, gds=[69, 20])  # fmt: skip
    # net u runs out 0.46 um, turns back 0.34 um higher and closes on itself: a 0.32 x 0.2 um
    # hole (0.064 um2, below met2's 0.14); net v 0.69 um out: 0.11 um2, filled too; net w
    # 1.38 um out: 0.248 um2, a legal hole
    loops = "".join(
        f"- {net}\n  ( u{k} Y ) ( u{k} A )\n"
        f"+ ROUTED met2 ( {1000 * k} 0 ) ( {1000 * k + out} * ) ( * 68 ) ( {1000 * k} * )"
        f" ( * 0 ) ;\n"
        for k, (net, out) in enumerate((("u", 92), ("v", 138), ("w", 276)))
    )
    text = f"UNITS DISTANCE MICRONS 200 ;\nNETS 3 ;\n{loops}END NETS\n"
    holes = {f.net: f for f in gap_fill.fills(text, [met2], {})}
    assert set(holes) == {"u", "v"}
    assert holes["u"].rect == (14, 14, 78, 54)


def test_a_via_whose_pad_comes_too_close_to_another_net_is_turned_or_moved_back():
    pads = lef.via_pads(TECH_LEF.read_text())
    met2 = RoutingLayer(name="met2", direction="vertical", pitch=0.46, width=0.14,
                        spacing=0.14, area=0.0676, gds=[69, 20])  # fmt: skip
    # net p's mcon at an off-grid pin (met1 pad 0.29 x 0.23 um) and net q's via1 (met1 pad
    # 0.32 x 0.26 um) 0.4 um right and 0.34 um up: the pads' corners 0.134 um apart
    text = ONE_CELL + (
        "NETS 2 ;\n- p\n  ( u8 Y ) ( u9 A )\n+ ROUTED met1 ( 0 100 ) ( 160 * ) L1M1_PR ;\n"
        "- q\n  ( u7 Y ) ( u6 A )\n+ ROUTED met1 ( 240 236 ) ( * 168 ) M1M2_PR ;\nEND NETS\n"
    )
    turned, count = via_variants.with_turned_vias(text, [*LI1_MET1, met2], pads, "")
    assert count == 1
    # p's mcon, the first, turned (met1 pad 0.23 x 0.29 um) keeps 0.141 um; q's stays
    assert [v.via for v in defdata.routed_vias(turned)] == ["L1M1_PR_R", "M1M2_PR"]
    assert via_variants.with_turned_vias(turned, [*LI1_MET1, met2], pads, "") == (turned, 0)
    # net r's via1 sits 0.06 um up off its met1 wire, 0.11 um from VGND's rail, and every
    # turn of it comes as close: it goes back towards the wire as far as it needs to keep
    # 0.14 um, 0.03 um, its met2 starting there
    text = ONE_CELL + (
        "NETS 1 ;\n- r\n  ( u8 Y ) ( u9 A )\n"
        "+ ROUTED met1 ( 0 100 ) ( 200 * ) ( * 112 ) M1M2_PR\n  NEW met2 ( 200 112 ) ( * 400 ) ;\n"
        "END NETS\nSPECIALNETS 1 ;\n- VGND\n+ ROUTED met1 96 ( 0 208 ) ( 400 * ) ;\n"
        "END SPECIALNETS\n"
    )
    moved, count = via_variants.with_turned_vias(text, [*LI1_MET1, met2], pads, "")
    assert count == 1
    assert "+ ROUTED met1 ( 0 100 ) ( 200 100 ) ( 200 106 ) M1M2_PR\n" in moved
    assert "  NEW met2 ( 200 106 ) ( 200 400 ) ;" in moved
    # net s's mcon sits 0.055 um off its met1 track (at a pin) and its li1 pad 0.075 um from a
    # cell's li1 obstruction: it moves back along the wire with its stub to the pin, 0.095
    # um, as far as the pad needs, the stub still on the pin
    cell = (
        "MACRO c\n  SIZE 1 BY 2.72 ;\n  PIN A\n    PORT\n      LAYER li1 ;\n"
        "        RECT 0.45 1.2 0.7 1.45 ;\n    END\n  END A\n"
        "  OBS\n      LAYER li1 ;\n        RECT 0.2 1.4 0.275 1.6 ;\n  END\nEND c\n"
    )
    text = (
        "UNITS DISTANCE MICRONS 200 ;\nCOMPONENTS 1 ;\n- u1 c + PLACED ( 0 0 ) N ;\n"
        "END COMPONENTS\nNETS 1 ;\n- s\n  ( u1 A ) ( u9 A )\n"
        "+ ROUTED met1 ( 300 300 ) ( 112 * ) ( 87 * ) L1M1_PR\n  NEW li1 ( 87 300 ) ( * 296 ) ;\n"
        "END NETS\n"
    )
    moved, count = via_variants.with_turned_vias(text, [*LI1_MET1, met2], pads, cell)
    assert count == 1
    assert "+ ROUTED met1 ( 300 300 ) ( 112 300 ) ( 106 300 ) L1M1_PR\n" in moved
    assert "  NEW li1 ( 106 300 ) ( 106 296 ) ;" in moved
    # net t reaches u1's pin A (x 0.4-0.57 um) by an li1 wire up the pin into an mcon, both
    # on the track 0.05 um left of the pin's centre, where the mcon's met1 wire starts: their
    # li1 comes 0.12 um from the cell's li1 obstruction (li1 spacing 0.17). The wire joins
    # nothing but the pin, so it moves whole with the mcon onto the pin's centre
    cell = (
        "MACRO c\n  SIZE 1 BY 2.72 ;\n  PIN A\n    PORT\n      LAYER li1 ;\n"
        "        RECT 0.4 0.2 0.57 0.9 ;\n    END\n  END A\n"
        "  OBS\n      LAYER li1 ;\n        RECT 0.1 0.2 0.23 0.9 ;\n  END\nEND c\n"
    )
    text = (
        "UNITS DISTANCE MICRONS 200 ;\nCOMPONENTS 1 ;\n- u1 c + PLACED ( 0 0 ) N ;\n"
        "END COMPONENTS\nNETS 1 ;\n- t\n  ( u1 A ) ( u9 A )\n"
        "+ ROUTED li1 ( 87 100 ) ( * 128 ) L1M1_PR\n  NEW met1 ( 97 128 ) ( 300 * ) ;\n"
        "END NETS\n"
    )
    moved, count = via_variants.with_turned_vias(text, [*LI1_MET1, met2], pads, cell)
    assert count == 1
    assert "+ ROUTED li1 ( 97 100 ) ( 97 128 ) L1M1_PR\n" in moved
    # where the wire also joins another wire of its net, it stays and so does the mcon
    joined = text.replace("( 300 * ) ;", "( 300 * )\n  NEW met1 ( 87 100 ) ( 60 * ) ;")
    assert via_variants.with_turned_vias(joined, [*LI1_MET1, met2], pads, cell)[1] == 0
    # the same mirrored, with another met1 wire of the net ending on the mcon: it follows
    # the mcon, 0.05 um shorter
    cell = cell.replace("RECT 0.4 0.2 0.57", "RECT 0.3 0.2 0.47").replace(
        "RECT 0.1 0.2 0.23", "RECT 0.64 0.2 0.8"
    )
    text = text.replace(
        "+ ROUTED li1 ( 87 100 ) ( * 128 ) L1M1_PR\n  NEW met1 ( 97 128 ) ( 300 * ) ;",
        "+ ROUTED li1 ( 87 128 ) ( * 100 ) L1M1_PR\n  NEW met1 ( 77 100 ) ( 20 * )\n"
        "  NEW met1 ( 300 100 ) ( 87 * ) ;",
    )
    moved, count = via_variants.with_turned_vias(text, [*LI1_MET1, met2], pads, cell)
    assert count == 1
    assert "+ ROUTED li1 ( 77 128 ) ( 77 100 ) L1M1_PR\n" in moved
    assert "  NEW met1 ( 300 100 ) ( 77 100 ) ;" in moved


def test_a_patch_of_qrouters_too_close_to_another_net_goes_unless_it_is_a_nets_only_join():
    met2 = RoutingLayer(name="met2", direction="vertical", pitch=0.46, width=0.14,
                        spacing=0.14, area=0.0676, gds=[69, 20])  # fmt: skip
    # net a's patch widens its own met2 wire to 0.28 um, 0.09 um from VGND's pad: it goes;
    # net b's li1 stub (its only join from the via to u1's pin A) passes 0.05 um from net
    # c's li1: it stays
    text = ONE_CELL + (
        "NETS 3 ;\n- a\n  ( u8 Y ) ( u9 A )\n+ ROUTED met2 ( 0 0 ) ( * 400 ) ;\n"
        "- b\n  ( u1 A ) ( u9 B )\n+ ROUTED met1 ( 1800 168 ) ( 2040 * ) L1M1_PR ;\n"
        "- c\n  ( u7 Y ) ( u6 A )\n+ ROUTED li1 ( 2120 0 ) ( * 120 ) ;\nEND NETS\n"
        "SPECIALNETS 3 ;\n- VGND\n+ ROUTED met2 60 ( 46 100 ) ( 200 * ) ;\n"
        "- a\n+ ROUTED met2 56 ( 0 50 ) ( * 150 )\n  NEW met2 56 ( 0 300 ) ( * 350 ) ;\n"
        "- b\n+ ROUTED li1 34 ( 2040 168 ) ( 2092 * ) ;\nEND SPECIALNETS\n"
    )
    kept, count = patches.without_close_patches(text, [*LI1_MET1, met2], L1M1, PIN_CELL)
    assert count == 1
    assert "SPECIALNETS 3 ;" in kept
    assert "- a\n+ ROUTED met2 56 ( 0 300 ) ( * 350 ) ;\n" in kept
    assert "- b\n+ ROUTED li1 34 ( 2040 168 ) ( 2092 * ) ;\n" in kept
    gone = defdata.without_special_wires(text, {1, 2})
    assert "SPECIALNETS 2 ;" in gone and "ROUTED met2 56" not in gone


def test_a_wire_beside_a_via_pad_that_cannot_move_is_nudged_off_its_track():
    pads = lef.via_pads(TECH_LEF.read_text())
    met2 = RoutingLayer(name="met2", direction="vertical", pitch=0.46, width=0.14,
                        spacing=0.14, area=0.0676, gds=[69, 20])  # fmt: skip
    # net p's via1 sits 0.045 um up off its met1 track: its pad (0.32 x 0.26 um) ends 0.095
    # um below net q's wire on the next track; q's wire moves up the 0.045 um the spacing
    # lacks from 0.14 um before the pad to 0.14 um after it, with a jog at each end
    p = "- p\n  ( u8 Y ) ( u9 A )\n+ ROUTED met1 ( 0 100 ) ( 200 * ) ( * 109 ) M1M2_PR ;\n"
    q = "- q\n  ( u7 Y ) ( u6 A )\n+ ROUTED met1 ( -400 168 ) ( 800 * )"
    text = ONE_CELL + f"NETS 2 ;\n{p}{q} ;\nEND NETS\n"
    nudged, count = nudges.with_nudged_wires(text, [*LI1_MET1, met2], pads, "")
    assert count == 1
    assert (
        "+ ROUTED met1 ( -400 168 ) ( 126 168 ) ( 126 177 ) ( 274 177 ) ( 274 168 ) ( 800 168 )"
        in nudged
    )
    routed = gap_fill.Routed(nudged, pads, "")
    index = gap_fill.Index(routed.everything(LI1_MET1[1]), 28)
    assert all(not index.near(r, net) for net, rects in routed.everything(LI1_MET1[1]).items()
               for r in rects)  # fmt: skip
    assert nudges.with_nudged_wires(nudged, [*LI1_MET1, met2], pads, "") == (nudged, 0)
    # a rail on q's other side leaves it no room; a wire of q leaving it beside the pad
    # would come off it: neither moves
    rail = "SPECIALNETS 1 ;\n- VGND\n+ ROUTED met1 96 ( -400 236 ) ( 800 * ) ;\nEND SPECIALNETS\n"
    railed = ONE_CELL + f"NETS 2 ;\n{p}{q} ;\nEND NETS\n{rail}"
    assert nudges.with_nudged_wires(railed, [*LI1_MET1, met2], pads, "")[1] == 0
    joined = ONE_CELL + f"NETS 2 ;\n{p}{q}\n  NEW met2 ( 250 168 ) ( * 400 ) ;\nEND NETS\n"
    assert nudges.with_nudged_wires(joined, [*LI1_MET1, met2], pads, "")[1] == 0


HOLD_PATHS = """Startpoint: ff1
            (rising edge-triggered flip-flop clocked by clk)
Endpoint: ff2
          (rising edge-triggered flip-flop clocked by clk)
Path Group: clk

   Delay     Time   Description
   0.000    0.000 ^ clk (in)
   0.633    1.277 ^ clk_buf0_0/X (clkbuf_4)
   0.000    1.277 ^ ff1/CLK (dfrtp_1)
   1.496    2.773 ^ ff1/Q (dfrtp_1)
   0.000    3.021 v ff2/D (dfrtp_1)
            3.021   data arrival time

   0.000    0.000 ^ clk (in)
   1.149    1.149 ^ gate/GCLK (dlclkp_1)
   0.300    1.449 ^ ff2/CLK (dfrtp_1)
   0.250    1.699   clock uncertainty
            1.557   slack (MET)


Startpoint: ff2
            (rising edge-triggered flip-flop clocked by clk)
Endpoint: gate
          (positive level-sensitive latch clocked by clk)
Path Group: clk

   Delay     Time   Description
   0.300    1.449 ^ ff2/CLK (dfrtp_1)
   1.496    2.945 ^ ff2/Q (dfrtp_1)
   0.000    3.100 v gate/GATE (dlclkp_1)
            3.100   data arrival time

   0.001    0.001 ^ gate/CLK (dlclkp_1)
            2.000   slack (MET)


Startpoint: in_valid (input port clocked by clk)
Endpoint: ff3
          (rising edge-triggered flip-flop clocked by clk)
Path Group: clk

   0.000    0.000 v in_valid (in)
   0.000    0.100 v ff3/D (dfrtp_1)
            0.100   data arrival time

   1.300    1.300 ^ ff3/CLK (dfrtp_1)
            1.000   slack (VIOLATED)
"""


def test_every_flip_flops_clock_arrival_is_read_from_the_hold_paths():
    # launching flip-flops from the data section, capturing ones from the clock section (a
    # port's kind on its own line); the clock gate's latch, early in the tree by design, is
    # no flip-flop
    arrivals = opensta.flip_flop_arrivals(HOLD_PATHS)
    assert arrivals == {"ff1": 1.277, "ff2": 1.449, "ff3": 1.3}


def test_a_pin_stub_that_joins_nothing_its_via_does_not_goes_where_it_crowds_a_cell():
    # net s's mcon sits 0.05 um off its li1 track on u1's pin A, and qrouter runs the li1
    # stub from the track up the pin, 0.01 um from the cell's li1 obstruction: the mcon's pad
    # already lands on the pin, so the stub goes; where the pad misses the pin, it stays
    cell = (
        "MACRO c\n  SIZE 1 BY 2.72 ;\n  PIN A\n    PORT\n      LAYER li1 ;\n"
        "        RECT 0.3 0.3 0.47 1.2 ;\n    END\n  END A\n"
        "  OBS\n      LAYER li1 ;\n        RECT 0.58 0.3 0.8 0.6 ;\n  END\nEND c\n"
    )

    def routed(via_x: int) -> str:
        return (
            "UNITS DISTANCE MICRONS 200 ;\nCOMPONENTS 1 ;\n- u1 c + PLACED ( 0 0 ) N ;\n"
            "END COMPONENTS\nNETS 1 ;\n- s\n  ( u1 A ) ( u9 A )\n"
            f"+ ROUTED met1 ( 300 100 ) ( {via_x} * ) L1M1_PR\n  NEW li1 ( 97 100 ) ( * 160 ) ;\n"
            "END NETS\n"
        )

    kept, count = spurs.without_redundant_stubs(routed(87), LI1_MET1, L1M1, cell)
    assert count == 1
    assert "+ ROUTED met1 ( 300 100 ) ( 87 * ) L1M1_PR ;\n" in kept
    assert spurs.without_redundant_stubs(routed(120), LI1_MET1, L1M1, cell)[1] == 0
