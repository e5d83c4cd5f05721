"""Each liberty cell as and-inverter logic, the form the cycle simulator evaluates.

A cell's template is built once from its liberty groups and then laid out for every instance
(:mod:`gate_graph`): ``function`` of each output pin; a flip-flop's ``ff`` group (next state,
asynchronous clear and preset, clock pin); an integrated clock gate's enable and clock pins
(``clock_gating_integrated_cell : latch_posedge``: its latch holds the enable while the clock
is low, so the gated clock ticks in exactly the cycles whose enable was high before the edge).
Operands are literals of and-nodes, input pins, the state or constants, each possibly
inverted; constants are folded.

A cell this cannot model (a latch other than a clock gate's, a negative-edge or gated-by-logic
clock inside the cell, a flip-flop with both clear and preset, a tri-state output) is an error
naming the cell. No library turns liberty functions into and-inverter graphs, hence this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from liberty.types import Group

from econflow.errors import FormatError
from econflow.flow.formats import liberty_function
from econflow.flow.formats.liberty import attribute, group_name


class Kind(IntEnum):
    CONST = 0  # index 0: false (inverted: true)
    PIN = 1  # index into Template.pins
    NODE = 2  # index into Template.ands
    STATE = 3  # the flip-flop's state (inverted: its complement)


Operand = tuple[Kind, int, bool]
FALSE: Operand = (Kind.CONST, 0, False)
TRUE: Operand = (Kind.CONST, 0, True)


def negated(operand: Operand) -> Operand:
    return operand[0], operand[1], not operand[2]


@dataclass
class Template:
    """One cell kind's logic. ``role`` is ``logic``, ``flop`` or ``clock_gate``."""

    name: str
    role: str
    pins: list[str]
    ands: list[tuple[Operand, Operand]] = field(default_factory=list)
    outputs: dict[str, Operand] = field(default_factory=dict)
    clock: str = ""  # a flip-flop's or a clock gate's clock pin
    next_state: Operand = FALSE
    clear: Operand = FALSE
    preset: Operand = FALSE
    enable: Operand = FALSE  # a clock gate's

    def _and(self, a: Operand, b: Operand) -> Operand:
        if FALSE in (a, b) or a == negated(b):
            return FALSE
        if a in (TRUE, b):
            return b
        if b == TRUE:
            return a
        self.ands.append((a, b))
        return Kind.NODE, len(self.ands) - 1, False

    def _operand(self, expr: liberty_function.Expr, env: dict[str, Operand]) -> Operand:
        if expr.op == "var":
            if expr.name not in env:
                raise _error(self.name, f"its logic reads {expr.name!r}, neither pin nor state")
            return env[expr.name]
        if expr.op == "const":
            return TRUE if expr.name == "1" else FALSE
        args = [self._operand(a, env) for a in expr.args]
        if expr.op == "not":
            return negated(args[0])
        result = args[0]
        for arg in args[1:]:
            if expr.op == "and":
                result = self._and(result, arg)
            elif expr.op == "or":
                result = negated(self._and(negated(result), negated(arg)))
            else:
                either = self._and(result, negated(arg)), self._and(negated(result), arg)
                result = negated(self._and(negated(either[0]), negated(either[1])))
        return result

    def operand(self, group: Group, key: str, env: dict[str, Operand]) -> Operand | None:
        """The logic of attribute ``key`` of ``group``; None when the group has none."""
        text = attribute(group, key)
        if text is None:
            return None
        try:
            return self._operand(liberty_function.parse(text), env)
        except FormatError as exc:
            raise _error(self.name, f"{key} {text!r}: {exc}") from exc


def _error(cell: str, what: str) -> FormatError:
    return FormatError(f"cell {cell}: the cycle simulator cannot model it: {what}")


def template(cell: Group) -> Template:
    """The logic of one liberty cell. Raises FormatError naming the cell when it has none
    the cycle simulator can evaluate."""
    name = group_name(cell)
    pins = {group_name(p): p for p in cell.get_groups("pin")}
    direction = {p: attribute(g, "direction") for p, g in pins.items()}
    inputs = [p for p, d in direction.items() if d == "input"]
    env: dict[str, Operand] = {p: (Kind.PIN, k, False) for k, p in enumerate(inputs)}
    gating = attribute(cell, "clock_gating_integrated_cell")
    flops = cell.get_groups("ff")
    if gating is not None:
        found = _clock_gate(name, gating, pins, inputs, env)
    elif flops:
        found = _flop(name, flops, inputs, env)
    else:
        found = Template(name, "logic", inputs)
    for kind in ("latch", "statetable", "ff_bank", "latch_bank"):
        if cell.get_groups(kind) and gating is None:
            raise _error(name, f"a {kind} group outside a clock gate")
    for pin, group in pins.items():
        if direction[pin] != "output" or found.role == "clock_gate":
            continue
        if attribute(group, "three_state") is not None:
            raise _error(name, f"output {pin} is tri-state")
        operand = found.operand(group, "function", env)
        if operand is None:
            raise _error(name, f"output {pin} has no function")
        found.outputs[pin] = operand
    return found


def _flop(name: str, groups: list[Group], inputs: list[str], env: dict[str, Operand]) -> Template:
    if len(groups) != 1:
        raise _error(name, f"{len(groups)} ff groups")
    group = groups[0]
    states = [str(a).strip('"') for a in group.args]
    env.update({states[0]: (Kind.STATE, 0, False), states[1]: (Kind.STATE, 0, True)})
    found = Template(name, "flop", inputs)
    clock = found.operand(group, "clocked_on", env)
    if clock is None or clock[0] != Kind.PIN or clock[2]:
        raise _error(name, "the clock is not one pin, rising edge")
    found.clock = inputs[clock[1]]
    next_state = found.operand(group, "next_state", env)
    if next_state is None:
        raise _error(name, "ff without next_state")
    found.next_state = next_state
    found.clear = found.operand(group, "clear", env) or FALSE
    found.preset = found.operand(group, "preset", env) or FALSE
    if FALSE not in (found.clear, found.preset):
        raise _error(name, "a flip-flop with both clear and preset")
    return found


def _clock_gate(
    name: str, gating: str, pins: dict[str, Group], inputs: list[str], env: dict[str, Operand]
) -> Template:
    if not gating.startswith("latch_posedge"):
        raise _error(name, f"clock gate {gating!r} (only latch_posedge is modelled)")
    marked = {
        key: [p for p in inputs if attribute(pins[p], key) == "true"]
        for key in ("clock_gate_clock_pin", "clock_gate_enable_pin", "clock_gate_test_pin")
    }
    outputs = [p for p, g in pins.items() if attribute(g, "clock_gate_out_pin") == "true"]
    if len(marked["clock_gate_clock_pin"]) != 1 or len(outputs) != 1:
        raise _error(name, "a clock gate without one clock pin and one gated output")
    enables = marked["clock_gate_enable_pin"] + marked["clock_gate_test_pin"]
    if not enables:
        raise _error(name, "a clock gate without an enable pin")
    found = Template(name, "clock_gate", inputs, clock=marked["clock_gate_clock_pin"][0])
    either = FALSE
    for pin in enables:
        either = negated(found._and(negated(either), negated(env[pin])))
    found.enable = either
    found.outputs[outputs[0]] = TRUE  # stands for the gated clock: gate_graph gives it a node
    return found
