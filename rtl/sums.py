"""The layers' sums as modules of their own: one adder tree, its pipeline registers and its
re-quantization per module, shared by every sum of the same shape.

With loadable weights every sum of a layer with as many products has the same logic, so
synthesis keeps these modules (``keep_hierarchy``) and maps each shape once instead of once
per sum; gate-level simulation and equivalence checking then work per module as well. With
hardwired weights the constants differ per sum: the modules are flattened and the constants
folded into each copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from econflow.rtl import naming
from econflow.rtl.structure import TREE_KINDS, Encoder, MacLayer, Node, Parameter, Register


@dataclass(frozen=True)
class SumModule:
    """One shape of sum: ``tree`` is its adder tree, ``cuts`` the (level, point index) of
    the pipeline registers inside it, in datapath order."""

    name: str
    layer: MacLayer
    tree: tuple[tuple[Node, ...], ...]
    cuts: tuple[tuple[int, int], ...]
    protected: bool
    kept: bool  # keep_hierarchy: synthesized once, not flattened

    @property
    def products(self) -> int:
        return len(self.tree[0]) - 1

    @property
    def bias_width(self) -> int:
        parameter = _bias(self.tree).parameter
        return parameter.width if parameter else 1

    @property
    def weight_width(self) -> int:
        """Bits of each weight on port ``w``; 0 without products."""
        weights = [n.parameter.width for n in self.tree[0][1:] if n.parameter]
        return weights[0] if weights else 0


@dataclass(frozen=True)
class SumInstance:
    """Sum ``index`` of a layer: its module, the inputs its products read and its weights,
    in the order of the tree's products."""

    name: str
    index: int
    module: SumModule
    sources: tuple[int, ...]
    weights: tuple[Parameter, ...]
    bias: Parameter


def _bias(tree: tuple[tuple[Node, ...], ...]) -> Node:
    return tree[0][0]


def instances(enc: Encoder, layer: MacLayer) -> list[SumInstance]:
    """Every sum of ``layer`` with its module; sums of the same shape share one."""
    cuts = tuple(
        (p.level or 0, p.index)
        for p in enc.points
        if p.registered and p.layer == layer.name and p.kind in TREE_KINDS
    )
    registers = {r.name: r for r in enc.registers}
    modules: dict[tuple, SumModule] = {}
    found = []
    for j in range(len(layer.sums)):
        tree = layer.tree(j)
        protected = any(registers[_bank(layer, level, index, j)].protected for level, index in cuts)
        shape = tuple((n.width, n.left, n.right, n.source is None) for lvl in tree for n in lvl)
        key = (shape, protected)
        if key not in modules:
            modules[key] = SumModule(
                f"{enc.top}_{layer.name}_sum{len(modules)}",
                layer,
                tree,
                cuts,
                protected,
                kept=enc.programmable,
            )
        products = tree[0][1:]
        found.append(
            SumInstance(
                naming.sum_instance(layer.name, j),
                j,
                modules[key],
                tuple(n.source for n in products if n.source is not None),
                tuple(n.parameter for n in products if n.parameter is not None),
                _bias(tree).parameter,  # type: ignore[arg-type]
            )
        )
    return found


def modules(found: list[SumInstance]) -> list[SumModule]:
    """The distinct modules of ``found``, in order of first use."""
    return list({i.module.name: i.module for i in found}.values())


def _bank(layer: MacLayer, level: int, index: int, j: int) -> str:
    return f"{naming.tree_register(layer.name, level, index)}_{j}"


def register(module: SumModule, level: int, index: int) -> Register:
    """The register bank of a cut inside ``module`` (as the module sees it)."""
    width = sum(n.width for n in module.tree[level])
    return Register(
        naming.tree_register(module.layer.name, level, index), width, "pipeline", module.protected
    )
