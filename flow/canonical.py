"""The same netlist for the same design on every run.

Yosys 0.70 numbers the buffers its ``insbuf`` pass adds (one per input port bit that feeds a
wire directly) in an order that changes from run to run on identical input: on nano, 396
buffers behind the input ports swapped names between two runs, and placement, which reads
the instance names and their order, then put the same design down differently, so its
routing-layer DRC could differ from one checkout to the next. This pass gives, in every
module, the instances Yosys named by number (``_0849_``) those same names in the order of
their cell and connections, so each name stands for the same cell on every run. Written by
hand: Yosys has no pass that orders cells by their connections.
"""

from __future__ import annotations

import re
from pathlib import Path

from econflow.flow.formats import netlist

_NUMBERED = re.compile(r"_\d+_")
_MODULE = re.compile(r"^module\s+(\S+?)\s*\(", re.MULTILINE)


def renumber(path: Path) -> int:
    """Rewrite the netlist at ``path`` with its numbered instances in canonical order; return
    how many of them changed name."""
    text = path.read_text()
    parts: list[str] = []
    done, moved = 0, 0
    for name in _MODULE.findall(text):
        start, end = netlist.module_body(text, name)
        numbered = [
            (inst, s, e)
            for inst, s, e in netlist.instance_spans(text, start, end)
            if _NUMBERED.fullmatch(inst.name)
        ]
        ordered = sorted(numbered, key=lambda span: (span[0].cell, sorted(span[0].pins.items())))
        for (slot, s, e), (inst, s_inst, e_inst) in zip(numbered, ordered, strict=True):
            statement = text[s_inst:e_inst]
            if inst.name != slot.name:
                statement = statement.replace(f" {inst.name} ", f" {slot.name} ", 1)
                moved += 1
            parts += [text[done:s], statement]
            done = e
    parts.append(text[done:])
    if moved:
        path.write_text("".join(parts))
    return moved
