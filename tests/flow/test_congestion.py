"""Congestion feedback: qrouter's .cinfo read, graywolf's .cel widened where it is congested."""

from __future__ import annotations

import re

import pytest

from econflow.errors import ArtefactError
from econflow.flow import congestion
from econflow.pdk import CongestionFeedback

CINFO = """Qrouter congestion summary
--------------------------
Failures: 12 340
--------------------------
nand2_1_7 0.5
sky130_fd_sc_hd__fill_1_0_nand2_1_7 0.45
inv_1_3 0.30
inv_1_9 0.1
"""

CEL = """cell 0 fill_1.92X5.inv_1_3
left -368 right 368 bottom -272 top 272
pin name A signal n1 layer 1 -41 -33
cell 1 nand2_1_7
left -138 right 138 bottom -272 top 272
pin name Y signal n1 layer 1 49 -35
cell 2 fill_1.92X2.inv_1_9
left -230 right 230 bottom -272 top 272
pad 1 name twpin_a
corners 4 -46 -34 -46 34 46 34 46 -34
"""


def _widths(cel: str) -> dict[str, int]:
    cells = re.findall(r"^cell \d+ (\S+)\nleft (-?\d+) right (-?\d+)", cel, re.MULTILINE)
    return {name: int(right) - int(left) for name, left, right in cells}


def test_the_cinfo_file_gives_the_failures_and_every_instances_congestion():
    read = congestion.read(CINFO, "top.cinfo")
    assert (read.failed_nets, read.nets) == (12, 340)
    assert read.instances["nand2_1_7"] == 0.5 and read.instances["inv_1_9"] == 0.1
    assert len(read.instances) == 4


def test_a_file_that_is_not_a_cinfo_file_is_refused():
    with pytest.raises(ArtefactError, match=r"^top.cinfo: no 'Failures: <failed> <nets>' line"):
        congestion.read("Qrouter congestion summary\n", "top.cinfo")


def test_congested_cells_are_widened_in_proportion_and_the_rest_left_alone():
    feedback = CongestionFeedback(cells=1, offset=0.2, gain=2.0)
    text, widening = congestion.widened(CEL, congestion.read(CINFO, "x"), feedback, "fill_1", 92)
    widths = _widths(text)
    # nand2 (276 wide): 2 x 0.3 x 276 = 165.6 -> 2 fill cells; padded inv (736): 2 x 0.1 x 736
    # = 147.2 -> 2; inv_1_9 is below the offset
    assert widths == {
        "fill_1.92X2.nand2_1_7": 276 + 2 * 92,
        "fill_1.92X2.fill_1.92X5.inv_1_3": 736 + 2 * 92,
        "fill_1.92X2.inv_1_9": 460,
    }
    assert widening == congestion.Widening(cells=2, fill_cells=4)
    assert "left -230 right 230 bottom -272 top 272\n" in text  # the widened cell stays centred
    assert text.count("pin name") == CEL.count("pin name") and text.endswith(CEL[-60:])


def test_no_cell_is_widened_when_none_is_above_the_offset():
    feedback = CongestionFeedback(cells=1, offset=0.9, gain=8.0)
    text, widening = congestion.widened(CEL, congestion.read(CINFO, "x"), feedback, "fill_1", 92)
    assert text == CEL and widening == congestion.Widening(cells=0, fill_cells=0)
