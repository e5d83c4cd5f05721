"""Internal power from the liberty's tables (econflow.flow.internal_power)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from econflow.flow import internal_power as ip
from econflow.flow.formats.liberty import attribute, group_name, library

FLOP = "sky130_fd_sc_hd__dfrtp_1"


@pytest.fixture(scope="module")
def typical(micro_build: Path) -> tuple[Path, dict]:
    lib = next(p for p in (micro_build / "flow" / "liberty").glob("*.lib") if "tt_" in p.name)
    cells = library(lib)
    return lib, cells


def test_an_arc_weighs_as_often_as_its_input_toggles_the_output():
    o21ai = "!((A1|A2)&B1)"
    inputs = ["A1", "A2", "B1"]
    assert ip.sensitivity(o21ai, inputs, "A1") == 0.25
    assert ip.sensitivity(o21ai, inputs, "B1") == 0.75
    assert ip.sensitivity("(A&!B) | (!A&B)", ["A", "B"], "A") == 1.0


def test_energy_per_output_transition_lies_between_its_arcs(typical):
    _, cells = typical
    for name in ("sky130_fd_sc_hd__nand4_1", "sky130_fd_sc_hd__o21ai_0"):
        pin = next(
            p for p in cells[name].get_groups("pin") if attribute(p, "direction") == "output"
        )
        arcs = [ip.mean_energy_pj(g, 0.0, 0.005) for g in pin.get_groups("internal_power")]
        per_transition = ip.combinational_w(cells[name], 0.0, 0.005, 25.0) * 25e-9 * 1e12
        assert min(arcs) <= per_transition <= max(arcs), name


def test_scalar_tables_are_read(typical):
    _, cells = typical
    q = next(p for p in cells[FLOP].get_groups("pin") if group_name(p) == "Q")
    reset = next(
        g for g in q.get_groups("internal_power") if attribute(g, "related_pin") == "RESET_B"
    )
    (scalar,) = reset.get_groups("rise_power")  # 'values ("0.0")', no index
    assert ip._lookup(scalar, 0.3, 0.02) == 0.0
    (table,) = reset.get_groups("fall_power")
    assert ip.mean_energy_pj(reset, 0.0, 0.005) == ip._lookup(table, 0.0, 0.005) / 2


def test_a_clock_pin_costs_its_rise_and_fall_energy_once_per_cycle(typical):
    lib, cells = typical
    text = lib.read_text()
    block = text[text.index(f'cell ("{FLOP}")') :]
    clk = block[block.index('pin ("CLK")') :]
    rise, fall = (
        float(
            re.search(rf'{kind} \("[^"]*"\) \{{\s*index_1\("([^"]*)"\);\s*values\("([^,"]*)', clk)[
                2
            ]
        )
        for kind in ("rise_power", "fall_power")
    )
    by_hand = (rise + fall) * 1e-12 / 25e-9  # first index point: the ideal clock's slew is ~0
    assert ip.clock_pin_w(cells[FLOP], "CLK", 25.0) == pytest.approx(by_hand, rel=0.02)


def test_ratios_are_kept_beside_the_liberty_per_opensta_version(typical, tmp_path, monkeypatch):
    source, _ = typical
    lib = tmp_path / source.name
    shutil.copy(source, lib)
    used = {"sky130_fd_sc_hd__inv_1", "sky130_fd_sc_hd__nand2_1"}
    first = ip.cached_ratios("sta", lib, used)
    assert set(first) == used and all(r >= 1.99 for r in first.values())  # Debian's doubles
    monkeypatch.setattr(ip, "ratios", lambda *args: pytest.fail("a cached ratio was recomputed"))
    assert ip.cached_ratios("sta", lib, used) == first
    monkeypatch.setattr(ip, "_opensta_version", lambda sta: "another OpenSTA")
    monkeypatch.setattr(ip, "ratios", lambda sta, liberty, cells: dict.fromkeys(cells, 1.0))
    assert ip.cached_ratios("sta", lib, used) == dict.fromkeys(used, 1.0)
