"""Verilog models of standard cells generated from the liberty, for fast gate-level simulation.

The PDK's own models describe flip-flops with sequential UDPs and timing checks, which
Verilator does not compile; the liberty describes every cell's logic in groups a simulator
can use directly: ``function`` (and ``state_function``) of output pins, ``ff``, ``latch`` and
``statetable``. No library turns those into Verilog, hence this module. Each model is proved
against the PDK's own model on Icarus before use (:func:`prove`): the whole truth table of a
combinational cell, random single-input changes of a sequential one.

A cell the generator cannot model (a tri-state output, an edge in a state table, a clock or
an asynchronous clear that is not a single pin, a flip-flop with both clear and preset,
whose release order an edge-triggered block cannot follow) is an error naming the cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from liberty.types import Group

from econflow import tools
from econflow.errors import FormatError
from econflow.flow.formats import liberty_function
from econflow.flow.formats.liberty import attribute, group_name, library
from econflow.templating import environment

_LEVEL = {"L": "1'b0", "H": "1'b1"}
_PROOF_PREFIX = "model_"
_VERDICT = re.compile(r"^(PROVED|DIFFER) (\S+)", re.MULTILINE)


@dataclass
class Block:
    """One ``always`` block: the first branch whose condition holds assigns (None: else)."""

    sensitivity: str
    branches: list[tuple[str | None, list[tuple[str, str]]]]
    clocked: bool


@dataclass
class Model:
    name: str
    inputs: list[str]
    outputs: list[str]
    state: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    assigns: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sequential(self) -> bool:
        return bool(self.blocks)


def _error(cell: str, what: str) -> FormatError:
    return FormatError(f"cell {cell}: cannot generate a simulation model: {what}")


def _expr(cell: str, group: Group, key: str) -> liberty_function.Expr | None:
    text = attribute(group, key)
    if text is None:
        return None
    try:
        return liberty_function.parse(text)
    except FormatError as exc:
        raise _error(cell, f"{key} {text!r}: {exc}") from exc


def _edge(cell: str, expr: liberty_function.Expr, key: str) -> tuple[str, str]:
    """(``posedge X``, the condition) for an edge-triggered ``X`` or ``!X``."""
    literal = expr.literal()
    if literal is None:
        raise _error(cell, f"{key} is not a single pin")
    pin, high = literal
    return f"{'posedge' if high else 'negedge'} {pin}", pin if high else f"~{pin}"


def _both(cell: str, group: Group, key: str, states: tuple[str, str]) -> list[tuple[str, str]]:
    """The assignments when clear and preset are both active (``clear_preset_var1/2``)."""
    found = []
    for state, var in zip(states, ("clear_preset_var1", "clear_preset_var2"), strict=True):
        level = attribute(group, var) or "L"
        if level not in _LEVEL:
            raise _error(cell, f"{key} {var} {level!r} (only L and H are modelled)")
        found.append((state, _LEVEL[level]))
    return found


def _storage(cell: str, group: Group, kind: str) -> Block:
    """An ``ff`` or ``latch`` group: clear, then preset, then the clock or enable."""
    states = tuple(str(a).strip('"') for a in group.args)
    if len(states) != 2:
        raise _error(cell, f"{kind} group with {len(states)} state variables")
    clear, preset = _expr(cell, group, "clear"), _expr(cell, group, "preset")
    branches: list[tuple[str | None, list[tuple[str, str]]]] = []
    edges = []
    conditions = {}
    for key, expr, level in (("clear", clear, "1'b0"), ("preset", preset, "1'b1")):
        if expr is None:
            continue
        if kind == "ff":
            edge, condition = _edge(cell, expr, key)
            edges.append(edge)
        else:
            condition = expr.verilog()
        conditions[key] = condition
        other = "1'b1" if level == "1'b0" else "1'b0"
        branches.append((condition, [(states[0], level), (states[1], other)]))
    if len(conditions) == 2:
        if kind == "ff":  # an edge-triggered block misses the release of one of the two
            raise _error(cell, "ff with both clear and preset")
        both = f"{conditions['clear']} & {conditions['preset']}"
        branches.insert(0, (both, _both(cell, group, kind, states)))
    if kind == "ff":
        clock, data = _expr(cell, group, "clocked_on"), _expr(cell, group, "next_state")
        if clock is None or data is None:
            raise _error(cell, "ff without clocked_on or next_state")
        edge, _ = _edge(cell, clock, "clocked_on")
        value = data.verilog()
        branches.append((None, [(states[0], value), (states[1], f"~{value}")]))
        return Block(" or ".join([edge, *edges]), branches, clocked=True)
    enable, data = _expr(cell, group, "enable"), _expr(cell, group, "data_in")
    if enable is None or data is None:
        raise _error(cell, "latch without enable or data_in")
    value = data.verilog()
    branches.append((enable.verilog(), [(states[0], value), (states[1], f"~{value}")]))
    return Block("*", branches, clocked=False)


def _statetable(cell: str, group: Group) -> Block:
    """A level-sensitive state table (the clock-gating cells' latch): rows of input levels,
    current state, next state; ``N`` holds."""
    inputs, states = (str(a).strip('"').split() for a in group.args)
    branches: list[tuple[str | None, list[tuple[str, str]]]] = []
    for row in (attribute(group, "table") or "").split(","):
        fields = [f.split() for f in row.split(":")]
        if len(fields) != 3 or len(fields[0]) != len(inputs) or len(fields[2]) != len(states):
            raise _error(cell, f"statetable row {row.strip()!r}")
        if any(v != "-" for v in fields[1]):
            raise _error(cell, f"statetable row {row.strip()!r} depends on the current state")
        terms = []
        for pin, level in zip(inputs, fields[0], strict=True):
            if level not in ("L", "H", "-"):
                raise _error(cell, f"statetable level {level!r} (edges are not modelled)")
            if level != "-":
                terms.append(pin if level == "H" else f"~{pin}")
        assignments = []
        for state, level in zip(states, fields[2], strict=True):
            if level in _LEVEL:
                assignments.append((state, _LEVEL[level]))
            elif level != "N":
                raise _error(cell, f"statetable next state {level!r}")
        if assignments:
            branches.append((" & ".join(terms) or "1'b1", assignments))
    return Block("*", branches, clocked=False)


def model(cell: Group) -> Model:
    """The model of one cell. Raises FormatError naming the cell when it cannot be modelled."""
    name = group_name(cell)
    pins = cell.get_groups("pin")
    direction = {group_name(p): attribute(p, "direction") for p in pins}
    found = Model(
        name,
        inputs=[p for p, d in direction.items() if d == "input"],
        outputs=[p for p, d in direction.items() if d == "output"],
    )
    for kind in ("ff", "latch"):
        for group in cell.get_groups(kind):
            found.blocks.append(_storage(name, group, kind))
            found.state += [str(a).strip('"') for a in group.args]
    for group in cell.get_groups("statetable"):
        found.blocks.append(_statetable(name, group))
        found.state += str(group.args[1]).strip('"').split()
    unknown = [k for k in ("ff_bank", "latch_bank") if cell.get_groups(k)]
    if unknown:
        raise _error(name, f"{unknown[0]} group")
    for pin in pins:
        pin_name = group_name(pin)
        if direction[pin_name] != "output":
            continue
        if attribute(pin, "three_state") is not None:
            raise _error(name, f"output {pin_name} is tri-state")
        expr = _expr(name, pin, "function") or _expr(name, pin, "state_function")
        if expr is None:
            raise _error(name, f"output {pin_name} has no function")
        known = set(found.inputs) | set(found.state)
        if not expr.variables() <= known:
            missing = sorted(expr.variables() - known)
            raise _error(name, f"output {pin_name} reads {missing}, neither pin nor state")
        found.assigns.append((pin_name, expr.verilog()))
    return found


def models(cells: Iterable[Group]) -> list[Model]:
    """The models of ``cells``, by name."""
    return sorted((model(c) for c in cells), key=lambda m: m.name)


def verilog(models: list[Model], prefix: str = "") -> str:
    """``models`` as one Verilog file; ``prefix`` renames the modules (a proof bench holds
    them beside the PDK's own)."""
    return (
        environment("econflow.flow")
        .get_template("cell_models.v.j2")
        .render(models=models, prefix=prefix)
    )


def proof_bench(models: list[Model], prefix: str, steps: int = 400, seed: int = 1) -> str:
    """An Icarus testbench instantiating each cell's generated model (``prefix`` + name) and
    the PDK's side by side, driving the same inputs and comparing all outputs (4-state, so
    X must match X): every input combination of a combinational cell; ``steps`` random
    single-input changes of a sequential one. Prints ``PROVED <cell>`` or ``DIFFER <cell>``."""
    benches = []
    for k, m in enumerate(models):
        if not m.outputs:
            continue  # nothing to compare (a diode, a tap)
        inputs = [f".{p}(in{k}[{i}])" for i, p in enumerate(m.inputs)]
        benches.append(
            {
                "m": m,
                "k": k,
                "steps": steps if m.sequential else 0,
                "ports": {
                    side: ", ".join(
                        inputs + [f".{p}({side}{k}[{i}])" for i, p in enumerate(m.outputs)]
                    )
                    for side in ("gen", "pdk")
                },
            }
        )
    return (
        environment("econflow.flow")
        .get_template("cell_proof_tb.v.j2")
        .render(benches=benches, prefix=prefix, seed=seed)
    )


def prove(
    models: list[Model], pdk_models: list[Path], work: Path, defines: tuple[str, ...] = ()
) -> dict[str, bool]:
    """Run the proof bench on Icarus: cell name -> whether its generated model equals the
    PDK's (``pdk_models``, compiled with ``defines``). Cells without outputs are left out.

    Raises:
        FormatError: Icarus did not report every cell (the message names the log).
    """
    work.mkdir(parents=True, exist_ok=True)
    (work / "models.v").write_text(verilog(models, prefix=_PROOF_PREFIX))
    (work / "proof_tb.v").write_text(proof_bench(models, prefix=_PROOF_PREFIX))
    iverilog = tools.find("iverilog", "the cell models are proved on Icarus Verilog")
    vvp = tools.find("vvp", "the cell models are proved on Icarus Verilog")
    flags = [f"-D{d}" for d in defines]
    sources = ["proof_tb.v", "models.v", *map(str, pdk_models)]
    tools.run(
        [iverilog, "-g2005", *flags, "-o", "proof.vvp", "-s", "cell_proof", *sources],
        work / "compile.log",
        "iverilog",
        cwd=work,
    )
    output = tools.run([vvp, "-n", "proof.vvp"], work / "proof.log", "vvp", cwd=work)
    verdicts = {name: kind == "PROVED" for kind, name in _VERDICT.findall(output)}
    expected = {m.name for m in models if m.outputs}
    if set(verdicts) != expected:
        missing = sorted(expected - set(verdicts))
        raise FormatError(
            f"the cell-model proof did not report {missing}; see {work / 'proof.log'}"
        )
    return verdicts


def for_netlist(
    liberty: Path, cells: set[str], pdk_models: list[Path], work: Path, defines: tuple[str, ...]
) -> Path:
    """Models of the netlist's ``cells``, each proved against the PDK's model first: the
    file to simulate the netlist with.

    Raises:
        FormatError: a cell missing from ``liberty``, one that cannot be modelled, or one
            whose model differs from the PDK's (each named).
    """
    groups = library(liberty, cells)
    missing = sorted(cells - set(groups))
    if missing:
        raise FormatError(f"netlist cells {missing[:5]} are not in the liberty {liberty}")
    chosen = models(groups[c] for c in cells)
    proof = work / "proof"
    verdicts = prove(chosen, pdk_models, proof, defines)
    differ = sorted(name for name, proved in verdicts.items() if not proved)
    if differ:
        raise FormatError(f"generated models of {differ} differ from the PDK's; see {proof}")
    target = work / "cell_models.v"
    target.write_text(verilog(chosen))
    return target
