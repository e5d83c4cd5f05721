"""Cell models generated from the liberty (econflow.flow.cell_models) and the functions they
come from (econflow.flow.formats.liberty_function)."""

from __future__ import annotations

import itertools

import pytest

from econflow.errors import FormatError
from econflow.flow import cell_models
from econflow.flow.formats import liberty_function
from econflow.flow.pipeline import GATE_LEVEL_DEFINES


@pytest.mark.parametrize(
    ("text", "truth"),
    [
        ("(!A&!B) | (A&B)", lambda a, b: a == b),
        ("A B'", lambda a, b: a and not b),  # a space is an and, ' a postfix not
        ("A+B*!A", lambda a, b: a or b),
        ("!(A^B)", lambda a, b: a == b),
        ("A^B&B", lambda a, b: b and not a),  # ^ binds tighter than &
    ],
)
def test_liberty_functions_follow_the_reference_grammar(text, truth):
    expr = liberty_function.parse(text)
    for a, b in itertools.product((False, True), repeat=2):
        assert expr.evaluate({"A": a, "B": b}) == truth(a, b), (text, a, b)


def test_a_malformed_function_names_itself():
    with pytest.raises(FormatError, match=r"'\(A&B'"):
        liberty_function.parse("(A&B")


def test_every_modelled_cell_equals_the_pdk_model(sky130, tmp_path):
    cells, models = sky130
    modelled = cell_models.models(c for c in cells.values() if _models(c))
    verdicts = cell_models.prove(modelled, models, tmp_path, GATE_LEVEL_DEFINES)
    assert len(verdicts) > 380, "the proof left most of the library out"
    assert [name for name, proved in verdicts.items() if not proved] == []
    used = ("dfrtp_1", "dlclkp_1", "nand2_1", "o21ai_0", "maj3_1", "mux2i_1", "edfxtp_1")
    assert all(verdicts[f"sky130_fd_sc_hd__{name}"] for name in used)


def test_a_wrong_model_is_caught(sky130, tmp_path):
    cells, models = sky130
    names = ["sky130_fd_sc_hd__dfrtp_1", "sky130_fd_sc_hd__nand2_1", "sky130_fd_sc_hd__inv_1"]
    by_name = {m.name: m for m in cell_models.models(cells[n] for n in names)}
    block = by_name[names[0]].blocks[0]  # the clear sets instead of clearing
    condition, _ = block.branches[0]
    block.branches[0] = (condition, [("IQ", "1'b1"), ("IQ_N", "1'b0")])
    by_name[names[1]].assigns[0] = ("Y", "~(A | B)")  # a nand2 turned nor2
    verdicts = cell_models.prove(list(by_name.values()), models, tmp_path, GATE_LEVEL_DEFINES)
    assert verdicts == dict(zip(names, [False, False, True], strict=True))


@pytest.mark.parametrize(
    ("cell", "reason"),
    [("ebufn_1", "tri-state"), ("dfbbp_1", "both clear and preset")],
)
def test_a_cell_that_cannot_be_modelled_is_named(sky130, cell, reason):
    cells, _ = sky130
    with pytest.raises(FormatError, match=rf"sky130_fd_sc_hd__{cell}: .*{reason}"):
        cell_models.model(cells[f"sky130_fd_sc_hd__{cell}"])


def _models(cell) -> bool:
    try:
        cell_models.model(cell)
    except FormatError:
        return False
    return True
