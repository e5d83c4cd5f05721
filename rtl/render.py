"""Renders the structural description to Verilog through the Jinja2 templates."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from econflow.models.geometry import N_TC
from econflow.rtl import naming, sums
from econflow.rtl.structure import (
    ERROR_COUNT_BITS,
    GATE_GROUP_BITS,
    TREE_KINDS,
    Encoder,
    MacLayer,
    Parameter,
    Register,
    Signal,
)
from econflow.templating import environment

TMR_REGISTER = "econflow_tmr_reg.v"
# Compile order of the primitives: hand-written ones are copied from ``lib/``, the TMR
# register is rendered so that its copies carry the names ``econflow.rtl.naming`` gives.
LIBRARY = (
    "econflow_reg.v",
    "econflow_majority.v",
    TMR_REGISTER,
    "econflow_requant.v",
    "econflow_log2floor.v",
    "econflow_norm_shift.v",
)
FILE_LIST = "files.f"
# Nets synthesis keeps: the normalized inputs and the conv outputs divide the datapath into
# normalizer, conv and dense for the power breakdown (econflow.flow.blocks).
KEPT = ("x", "c")


def _used_parameters(layer: MacLayer) -> list[Parameter]:
    """The weights and biases the layer's adder trees read, in address order."""
    used = {n.parameter.address: n.parameter for n in layer.levels[0] if n.parameter}
    return [used[a] for a in sorted(used)]


def _unused_inputs(layer: MacLayer, n_inputs: int) -> list[int]:
    """Inputs no product reads (padded or unused pixels, folded zero weights)."""
    used = {n.source for n in layer.levels[0] if n.source is not None}
    return [i for i in range(n_inputs) if i not in used]


def field(bus: str, offset: int, width: int, to: int, signed: bool) -> str:
    """``bus[offset +: width]`` as a ``to``-bit value: extended (sign or zero) or truncated."""
    if to <= width:
        return f"{bus}[{offset} +: {to}]"
    fill = f"{bus}[{offset + width - 1}]" if signed else "1'b0"
    return f"{{{{{to - width}{{{fill}}}}}, {bus}[{offset} +: {width}]}}"


def shifted(value: str, shift: int) -> str:
    return f"({value} << {shift})" if shift else value


def _concat(parts: list[str]) -> str:
    """Verilog concatenation with ``parts[0]`` in the least significant place."""
    return "{" + ", ".join(reversed(parts)) + "}"


def _wiring(inst: sums.SumInstance, source: str) -> dict[str, str]:
    """The expressions a sum module's ports connect to in the top module."""
    width = inst.module.layer.in_width
    return {
        "en": _concat([f"valid_n{index}" for _, index in inst.module.cuts]),
        "xin": _concat([f"{source}[{s * width} +: {width}]" for s in inst.sources]),
        "w": _concat([p.name for p in inst.weights]),
    }


def _top_signals(enc: Encoder) -> dict[int, tuple[Signal, ...]]:
    """Per point, the signals the top module carries: a layer's adder-tree buses live in the
    sum modules."""
    return {
        p.index: tuple(s for s in p.signals if not (p.kind in TREE_KINDS and s.name == p.produced))
        for p in enc.points
    }


def _sum_instances(enc: Encoder) -> dict[str, list[sums.SumInstance]]:
    return {layer.name: sums.instances(enc, layer) for layer in (enc.conv, enc.dense)}


def verilog(enc: Encoder, header: str) -> str:
    """The top-level module's source text."""
    layers = (enc.conv, enc.dense)
    inputs = {enc.conv.name: N_TC, enc.dense.name: len(enc.conv.sums)}
    source_bus = {enc.conv.name: "x", enc.dense.name: "c"}
    products = {p.layer: p.index for p in enc.points if p.kind == "products"}
    found = _sum_instances(enc)
    wiring = {
        inst.name: _wiring(inst, f"{source_bus[name]}_s{products[name] - 1}")
        for name, insts in found.items()
        for inst in insts
    }
    top_protected = [r for r in enc.registers if r.protected and "/" not in r.instance]
    kept_sums = [i.name for insts in found.values() for i in insts if i.module.protected]
    template = environment("econflow.rtl").get_template("encoder.v.j2")
    return template.render(
        enc=enc,
        header=header,
        n_tc=N_TC,
        error_count_bits=ERROR_COUNT_BITS,
        register_prefix=naming.REGISTER_PREFIX,
        copies=naming.COPIES,
        gate_group_bits=GATE_GROUP_BITS,
        kept=KEPT,
        gate_protected=any(r.protected for r in enc.registers if r.kind == "config"),
        registers={r.name: r for r in enc.registers},
        layers={layer.name: layer for layer in layers},
        source_bus=source_bus,
        sums=found,
        wiring=wiring,
        top_signals=_top_signals(enc),
        top_protected=top_protected,
        mismatches=[r.name for r in top_protected] + kept_sums,
        layer_unused={layer.name: _unused_inputs(layer, inputs[layer.name]) for layer in layers},
        hardwired=[p for layer in layers for p in _used_parameters(layer)],
    )


def sum_modules(enc: Encoder, header: str) -> dict[str, str]:
    """Module name -> source text, for every sum module the top instantiates."""
    template = environment("econflow.rtl").get_template("sum.v.j2")
    texts = {}
    for module in sums.modules([i for insts in _sum_instances(enc).values() for i in insts]):
        cut_levels = {
            level: _Cut(sums.register(module, level, index), bit)
            for bit, (level, index) in enumerate(module.cuts)
        }
        cuts = dict(module.cuts)
        nets = [
            _LevelNets(
                f"{module.layer.name}_t{k}_n", naming.tree_register(module.layer.name, k, cuts[k])
            )
            if k in cuts
            else _LevelNets(f"{module.layer.name}_t{k}_n", f"{module.layer.name}_t{k}_v")
            for k in range(len(module.tree))
        ]
        texts[module.name] = template.render(
            mod=module,
            nets=nets,
            header=header,
            cut_levels=cut_levels,
            weight_width=module.weight_width,
            field=field,
            shifted=shifted,
            unused=_unused_bits(module),
            register_prefix=naming.REGISTER_PREFIX,
            copies=naming.COPIES,
        )
    return texts


def _unused_bits(module: sums.SumModule) -> list[str]:
    """Port bits a product or the bias leaves unread: a hardwired constant narrower than its
    format, an input wider than its product needs."""
    layer, level0 = module.layer, module.tree[0]
    found = []
    if level0[0].width < module.bias_width:
        found.append(f"b[{module.bias_width - 1}:{level0[0].width}]")
    for t, node in enumerate(level0[1:]):
        if node.width < module.weight_width:
            found.append(
                f"w[{(t + 1) * module.weight_width - 1}:{t * module.weight_width + node.width}]"
            )
        if node.width < layer.in_width:
            found.append(f"xin[{(t + 1) * layer.in_width - 1}:{t * layer.in_width + node.width}]")
    return found


@dataclass(frozen=True)
class _LevelNets:
    """A tree level's value before (``n``) and after (``s``) its pipeline register; a level
    without one passes ``n`` to ``s``. Registered values are named like the top module's
    (``dense_t2_s14``), so that timing reports name the point."""

    n: str
    s: str


@dataclass(frozen=True)
class _Cut:
    register: Register
    bit: int  # of the module's ``en``


def cell_model(enc: Encoder) -> str | None:
    """The file name of the simulation model of the PDK cells the design instantiates."""
    return f"{enc.clock_gate.cell}.v" if enc.clock_gate else None


def write(enc: Encoder, out_dir: Path, header: str) -> list[Path]:
    """Write the top module, the library primitives and the simulation model of the PDK
    cells it instantiates; return the files in compile order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    library = resources.files("econflow.rtl") / "lib"
    for name in LIBRARY:
        target = out_dir / name
        if name == TMR_REGISTER:
            template = environment("econflow.rtl").get_template(f"{name}.j2")
            target.write_text(template.render(header=header, copies=naming.COPIES))
        else:
            with resources.as_file(library / name) as source:
                shutil.copyfile(source, target)
        files.append(target)
    model = cell_model(enc)
    if model is not None:
        template = environment("econflow.rtl").get_template("clock_gate_model.v.j2")
        (out_dir / model).write_text(template.render(header=header, gate=enc.clock_gate))
        files.append(out_dir / model)
    for name, text in sum_modules(enc, header).items():
        (out_dir / f"{name}.v").write_text(text)
        files.append(out_dir / f"{name}.v")
    top = out_dir / f"{enc.top}.v"
    top.write_text(verilog(enc, header))
    files.append(top)
    (out_dir / FILE_LIST).write_text("".join(f"{f.name}\n" for f in files))
    return files
