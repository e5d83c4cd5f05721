"""Numbered instances renamed in the order of their connections: two runs of Yosys that
name the same buffers differently give one netlist."""

from __future__ import annotations

from pathlib import Path

from econflow.flow import canonical
from econflow.flow.formats import netlist

HEADER = "module top(a, y);\n  input [2:0] a;\n  output [2:0] y;\n  wire [2:0] w;\n"
KEPT = "  sky130_fd_sc_hd__dfrtp_1 \\q$_DFF_PN0_  (\n    .D(w[0]),\n    .Q(y[0])\n  );\n"


def _buffer(name: str, bit: int) -> str:
    return f"  sky130_fd_sc_hd__buf_4 {name} (\n    .A(a[{bit}]),\n    .X(w[{bit}])\n  );\n"


def _write(path: Path, order: list[int]) -> Path:
    buffers = "".join(_buffer(f"_{100 + k}_", bit) for k, bit in enumerate(order))
    path.write_text(f"{HEADER}{buffers}{KEPT}endmodule\n")
    return path


def _cells(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    parsed = netlist.modules(path.read_text())["top"]
    return {i.name: (i.cell, i.pins) for i in parsed.instances}


def test_two_namings_of_the_same_buffers_become_one_netlist(tmp_path):
    first = _write(tmp_path / "first.vg", [0, 2, 1])
    second = _write(tmp_path / "second.vg", [2, 0, 1])
    assert _cells(first) != _cells(second)
    assert canonical.renumber(first) == 2
    assert canonical.renumber(second) == 3
    assert first.read_text() == second.read_text()
    cells = _cells(first)
    assert [cells[f"_{100 + k}_"][1]["A"] for k in range(3)] == ["a[0]", "a[1]", "a[2]"]
    assert cells["q$_DFF_PN0_"] == ("sky130_fd_sc_hd__dfrtp_1", {"D": "w[0]", "Q": "y[0]"})


def test_a_netlist_already_in_order_is_left_as_it_is(tmp_path):
    path = _write(tmp_path / "ordered.vg", [0, 1, 2])
    text = path.read_text()
    assert canonical.renumber(path) == 0
    assert path.read_text() == text
