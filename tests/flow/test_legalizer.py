"""The row legalizer: moves and new cells land on free sites, push their neighbours only as
far as needed, keep their distance from keep-out boxes and never leave a run of cells longer
than the well-tap pitch allows; and the TMR copies it sets apart."""

from __future__ import annotations

import math
import random
import re

import pytest

from econflow.flow import tmr
from econflow.flow.formats import defdata
from econflow.flow.legalizer import Box, Move, Rows

SITE, ROW = 92, 544  # DEF units (200 per µm): sky130hd's site and row
SIZES = {"fill": (0.46, 2.72), "ff": (9.2, 2.72), "nand": (1.84, 2.72)}  # 20 and 4 sites


def def_text(rows: list[list[tuple[str, str, int]]], sites: int = 60) -> str:
    """A placed DEF: rows of (name, macro, first site), fill on every other site."""
    lines = []
    for r, cells in enumerate(rows):
        orient = "S" if r % 2 else "N"
        used = set()
        for name, macro, first in cells:
            width = round(SIZES[macro][0] / 0.46)
            used |= set(range(first, first + width))
            lines.append(f"- {name} {macro} + PLACED ( {first * SITE} {r * ROW} ) {orient} ;")
        lines += [
            f"- fill_{r}_{s} fill + PLACED ( {s * SITE} {r * ROW} ) {orient} ;"
            for s in range(sites)
            if s not in used
        ]
    body = "\n".join(lines)
    return (
        "VERSION 5.6 ;\nDESIGN t ;\nUNITS DISTANCE MICRONS 200 ;\n\n"
        f"DIEAREA ( 0 0 ) ( {sites * SITE} {len(rows) * ROW} ) ;\n\n"
        f"COMPONENTS {len(lines)} ;\n{body}\nEND COMPONENTS\n\nEND DESIGN\n"
    )


def occupancy(text: str) -> dict[int, list[tuple[int, int, str]]]:
    """Row -> (first site, end site, macro) of every component, sorted."""
    rows: dict[int, list[tuple[int, int, str]]] = {}
    for c in defdata.components(text):
        width = round(SIZES[c.macro][0] / 0.46)
        rows.setdefault(c.y, []).append((c.x // SITE, c.x // SITE + width, c.macro))
    return {y: sorted(cells) for y, cells in rows.items()}


def assert_legal(text: str, sites: int = 60) -> None:
    """Every site of every row holds exactly one component; the count line is right."""
    for y, cells in occupancy(text).items():
        covered = [s for first, end, _ in cells for s in range(first, end)]
        assert sorted(covered) == list(range(sites)), f"row {y}"
    count = int(re.search(r"^COMPONENTS (\d+) ;", text, re.M).group(1))
    assert count == len(defdata.components(text))


def test_box_distance_is_edge_to_edge():
    a = Box(0, 0, 100, 544)
    assert a.distance(Box(100, 544, 200, 1088)) == 0  # touching corners
    assert a.distance(Box(50, 0, 150, 544)) == 0  # overlapping
    assert a.distance(Box(400, 0, 500, 544)) == 300
    assert a.distance(Box(130, 584, 200, 700)) == pytest.approx(math.hypot(30, 40))


def test_a_new_cell_takes_free_sites_without_moving_anything():
    text = def_text([[("a", "nand", 10)], [("b", "nand", 30)]])
    rows = Rows(text, SIZES, "fill")
    move = rows.insertion("nand", 20 * SITE, 0)
    assert move == Move(0, 20 * SITE, 0, ())
    rows.apply("new", "nand", move)
    amended = rows.amend(text)
    assert_legal(amended)
    assert (20, 24, "nand") in occupancy(amended)[0]
    assert re.search(r"^- new nand \+ PLACED \( 1840 0 \) N ;$", amended, re.M)


def test_a_cell_pushes_its_neighbours_only_as_far_as_it_needs():
    # row 0: nand at 10-14 and 16-20; a new nand wanted at 14 must push
    text = def_text([[("a", "nand", 10), ("b", "nand", 16)]], sites=30)
    rows = Rows(text, SIZES, "fill")
    move = rows.insertion("nand", 14 * SITE, 0)
    # between a and b there are 2 free sites: making room for 4 costs 2 sites of pushing
    assert move is not None and move.cost == 2 * SITE
    rows.apply("new", "nand", move)
    amended = rows.amend(text)
    assert_legal(amended, sites=30)
    spans = [(first, end) for first, end, macro in occupancy(amended)[0] if macro == "nand"]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert len(spans) == 3


def test_a_cell_keeps_its_distance_from_the_keepouts_and_changes_row_when_cheaper():
    text = def_text([[("a", "ff", 0)], [], [], []], sites=60)
    rows = Rows(text, SIZES, "fill")
    keep = [rows.box("a")]
    clearance = 5 * 200  # 5 µm
    move = rows.insertion("ff", 0, 0, keep, clearance)
    assert move is not None
    rows.apply("b", "ff", move, flipped=True)
    assert rows.box("b").distance(keep[0]) >= clearance
    # three rows up (2 rows, 5.44 µm, between the boxes) is cheaper than 31 sites sideways
    assert (move.x, move.y) == (0, 3 * ROW)
    assert rows.cells["b"].orient == "FS"  # row 3 is an S row; flipped in x as asked
    assert_legal(rows.amend(text))


def test_no_run_of_abutting_cells_leaves_a_well_tap_without_room():
    text = def_text([[("a", "nand", 7), ("b", "nand", 15)]], sites=26)
    # a 13-site pitch allows runs of 12 sites: the new cell joins a and b (sites 7 to 19)
    move = Rows(text, SIZES, "fill", tap_pitch=13 * SITE).insertion("nand", 11 * SITE, 0)
    assert (move.x, move.pushed) == (11 * SITE, ())
    tighter = Rows(text, SIZES, "fill", tap_pitch=12 * SITE)  # 11 sites
    move = tighter.insertion("nand", 11 * SITE, 0)
    assert move.x != 11 * SITE
    tighter.apply("c", "nand", move)
    defdata.insert_taps(tighter.amend(text), "fill", "fill", SITE, 12 * SITE)  # room everywhere
    # half a pitch at the row's ends, 6 sites: a cell at the start may not abut one at site 4
    text = def_text([[("a", "nand", 4)]], sites=26)
    start = Rows(text, SIZES, "fill", tap_pitch=13 * SITE).insertion("nand", 0, 0)
    assert (start.x, start.pushed) != (0, ())
    short = def_text([[("a", "nand", 0)]], sites=12)
    assert Rows(short, SIZES, "fill").insertion("ff", 0, 0) is None  # 20 sites in a row of 12


def test_any_sequence_of_insertions_leaves_room_for_the_well_taps():
    rng = random.Random(3)
    for _ in range(20):
        firsts = range(rng.randrange(5), 56, 7)
        text = def_text([[(f"c{r}_{k}", "nand", s) for k, s in enumerate(firsts[:: r + 1])]
                         for r in range(2)])  # fmt: skip
        rows = Rows(text, SIZES, "fill", tap_pitch=13 * SITE)
        for k in range(8):
            move = rows.insertion("nand", rng.randrange(60) * SITE, rng.choice([0, ROW]))
            if move is None:
                break
            rows.apply(f"n{k}", "nand", move)
        amended = rows.amend(text)
        assert_legal(amended)
        defdata.insert_taps(amended, "fill", "fill", SITE, 13 * SITE)  # raises where no room


def test_spread_sets_the_copies_of_each_bit_apart():
    # three copies of each of two bits, abutting in two rows
    text = def_text(
        [
            [("a0", "ff", 0), ("b0", "ff", 20), ("a1", "ff", 40)],
            [("c0", "ff", 0), ("b1", "ff", 20), ("c1", "ff", 40)],
            [],
            [],
            [],
            [],
        ],
        sites=120,
    )
    rows = Rows(text, SIZES, "fill")
    bits = {("w", 0): ["a0", "b0", "c0"], ("w", 1): ["a1", "b1", "c1"]}
    assert max(tmr.closest(rows, bits).values()) == 0
    moves = tmr.spread(rows, bits, 4.0)
    found = tmr.closest(rows, bits)
    assert min(found.values()) >= 4.0
    assert 2 <= moves <= 4  # at most two copies of a bit move
    amended = rows.amend(text)
    assert_legal(amended, sites=120)
    again = Rows(amended, SIZES, "fill")
    assert tmr.closest(again, bits) == pytest.approx(found)


def test_a_separation_the_rows_cannot_give_names_the_bit():
    text = def_text([[("a0", "ff", 0), ("b0", "ff", 20)], [("c0", "ff", 0)]], sites=60)
    rows = Rows(text, SIZES, "fill")
    with pytest.raises(
        tmr.TmrSeparationError, match=r"protected bit w\[3\] cannot be placed 50 um"
    ):
        tmr.spread(rows, {("w", 3): ["a0", "b0", "c0"]}, 50.0)


def test_a_fill_cell_off_the_site_grid_is_put_back_on_it():
    # qflow's addspacers can leave the last fill of a row one unit off the site grid
    text = def_text([[("a", "nand", 0)]], sites=12)
    text = re.sub(r"^- fill_0_11 .*\n", "", text, flags=re.M).replace("( 920 0 )", "( 1011 0 )")
    rows = Rows(text, SIZES, "fill")
    rows.apply("b", "nand", rows.insertion("nand", 5 * SITE, 0))
    amended = rows.amend(text)
    assert "( 1011 0 )" not in amended
    assert_legal(amended, sites=12)
