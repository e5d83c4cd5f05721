"""The sweep report: every variant's figures in one table, with the Pareto plots a designer
chooses an encoder from (EMD against area and against energy; area and energy per TMR scope).

It takes the rows ``sc sweep`` collected (plain dictionaries, ``econflow.sweep.table``), so
it reads no build folder itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from econflow.models import plots as model_plots  # noqa: E402
from econflow.templating import environment  # noqa: E402

TMR = "hardware.tmr"
COLUMNS = (
    ("emd_mean", "EMD mean", "{:.4g}"),
    ("area_um2", "area (um2)", "{:,.0f}"),
    ("cells", "cells", "{:,}"),
    ("flip_flops", "flip-flops", "{:,}"),
    ("wns_ns", "WNS (ns)", "{:+.3f}"),
    ("fmax_mhz", "achievable (MHz)", "{:.1f}"),
    ("power_mw", "power (mW)", "{:.3g}"),
    ("energy_nj", "energy (nJ)", "{:.3g}"),
    ("latency_cycles", "latency (cycles)", "{}"),
)
QUALITY = "emd_mean"
FRONTS = (  # cost column, axis label, front name (column pareto_<name>, plot emd_vs_<name>)
    ("area_um2", "cell area (um2)", "area"),
    ("energy_nj", "energy per inference (nJ)", "energy"),
)


def pareto_flag(front: str) -> str:
    """The table column saying whether a variant is on the named front (``FRONTS``)."""
    return f"pareto_{front}"


def fronts(row: dict[str, Any]) -> list[str]:
    """The names of the fronts a table row is on."""
    return [name for _, _, name in FRONTS if row.get(pareto_flag(name))]


def write(rows: list[dict[str, Any]], axes: list[str], root: Path, title: str) -> Path:
    """``<root>/report.html`` and its figures in ``<root>/figures``."""
    figures = root / "figures"
    plots = [
        _front(rows, axes, cost, label, name, figures / f"emd_vs_{name}.png")
        for cost, label, name in FRONTS
    ]
    if TMR in axes:
        plots.append(_per_tmr(rows, figures / "area_energy_per_tmr.png"))
    table = [_cells(row, axes, root) for row in rows]
    html = (
        environment("econflow.reports")
        .get_template("sweep.html.j2")
        .render(
            title=title,
            axes=axes,
            columns=[label for _, label, _ in COLUMNS],
            rows=table,
            plots=[p for p in plots if p is not None],
            failed=[r for r in rows if r["status"] != "ok"],
        )
    )
    path = root / "report.html"
    path.write_text(html)
    return path


def _cells(row: dict[str, Any], axes: list[str], root: Path) -> dict[str, Any]:
    values = []
    for key, _, form in COLUMNS:
        value = row.get(key)
        values.append("" if value is None else form.format(value))
    report = row.get("report")
    return {
        "variant": row["variant"],
        "link": str(Path(report).relative_to(root)) if report else None,
        "axes": [row.get(key) for key in axes],
        "figures": values,
        "pareto": fronts(row),
        "status": row["status"],
    }


def _front(
    rows: list[dict[str, Any]], axes: list[str], cost: str, label: str, name: str, path: Path
) -> str | None:
    """EMD against a cost, every variant a point (coloured by TMR scope where it varies),
    the Pareto front joined."""
    points = [r for r in rows if r.get(cost) is not None and r.get(QUALITY) is not None]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in points:
        groups.setdefault(row.get(TMR) if TMR in axes else "variants", []).append(row)
    for group, members in groups.items():
        name = f"TMR {group}" if TMR in axes else group
        ax.scatter([m[cost] for m in members], [m[QUALITY] for m in members], label=name)
    front = sorted((r for r in points if r.get(pareto_flag(name))), key=lambda r: r[cost])
    xs, ys = [r[cost] for r in front], [r[QUALITY] for r in front]
    ax.plot(xs, ys, "k--", lw=1, label="Pareto front")
    for row in front:
        ax.annotate(
            row["variant"],
            (row[cost], row[QUALITY]),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    ax.set_xlabel(label)
    ax.set_ylabel("mean EMD (held-out modules)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    model_plots.save(fig, path, dpi=100)
    return f"{path.parent.name}/{path.name}"


def _per_tmr(rows: list[dict[str, Any]], path: Path) -> str | None:
    """Area and energy of every variant, grouped by TMR scope."""
    scopes = list(dict.fromkeys(r.get(TMR) for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    drawn = False
    shown = (("area_um2", "cell area (um2)"), ("energy_nj", "energy (nJ)"))
    for ax, (key, label) in zip(axes, shown, strict=True):
        for index, scope in enumerate(scopes):
            values = [r[key] for r in rows if r.get(TMR) == scope and r.get(key) is not None]
            ax.scatter([index] * len(values), values, alpha=0.7)
            drawn = drawn or bool(values)
        ax.set_xticks(range(len(scopes)), [str(s) for s in scopes])
        ax.set_xlabel("TMR scope")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if not drawn:
        plt.close(fig)
        return None
    model_plots.save(fig, path, dpi=100)
    return f"{path.parent.name}/{path.name}"
