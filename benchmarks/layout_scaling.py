"""Place-and-route runtime and memory against cell count on sky130hd (graywolf + qrouter), and
the routing-layer DRC count per design.

Each size is the nano test design (``tests/configs/nano.yaml``) with a larger encoder, taken
through every step to ``gds`` in its own build directory. ``--route-limit`` raises the PDK
config's ``layout.max_route_cells`` so that designs above the shipped limit are routed too
(that is how the limit was measured); a route that leaves nets unrouted is recorded with its
count instead of stopping the benchmark. Sizes measured in earlier runs stay in the results
file (each with the route limit it ran under), so sizes can be added one run at a time.

``--tmr-separation`` sets ``layout.tmr_min_separation_um`` instead (0: copies left where
graywolf put them), to measure what keeping the TMR copies apart costs.

``--utilization`` sets ``core_utilization`` (%) instead, to measure what room in the rows does
for routability; ``--stacked-vias`` sets ``layout.router.stacked_vias``.

Run: ./bootstrap.sh python benchmarks/layout_scaling.py [--sizes k2,k3,...] [--route-limit N]
     [--tmr-separation UM] [--utilization PCT] [--stacked-vias N]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import yaml
from _common import RESULTS, ROOT, write

from econflow import pdk
from econflow.config import load_config
from econflow.errors import EconflowError
from econflow.flow.results import LayoutMetrics
from econflow.runner import Runner

NANO = ROOT / "tests" / "configs" / "nano.yaml"
SIZES = {  # name -> changes to nano's model section
    "k2": {},
    "k3": {"conv": {"kernel": 3}},
    "k3_l2": {"conv": {"kernel": 3}, "dense": {"latent": 2}},
    "k3_f2": {"conv": {"kernel": 3, "filters": 2}, "dense": {"latent": 2}},
    "k3_f2_l3": {"conv": {"kernel": 3, "filters": 2}, "dense": {"latent": 3}},
    "k3_f3": {"conv": {"kernel": 3, "filters": 3}, "dense": {"latent": 3}},
    "k3_f4": {"conv": {"kernel": 3, "filters": 4}, "dense": {"latent": 4}},
}
STEPS = ["data", "emd", "train", "quantize", "rtl", "synth", "sta", "gatesim", "power"]


def _merge(base: dict, changes: dict) -> dict:
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return merged


def _pdk_settings(utilization: float | None, stacked_vias: int | None, **changes: float) -> None:
    """Every step loads the PDK config with ``core_utilization``, the router's
    ``stacked_vias`` and these ``layout`` settings changed."""
    real = pdk.load_config

    def load(cfg):
        config, path = real(cfg)
        layout = config.layout.model_copy(update=changes)
        if stacked_vias is not None:
            router = layout.router.model_copy(update={"stacked_vias": stacked_vias})
            layout = layout.model_copy(update={"router": router})
        update = {"layout": layout}
        if utilization is not None:
            update["core_utilization"] = utilization
        return config.model_copy(update=update), path

    pdk.load_config = load


def _size(name: str, out: Path, route_limit: int | None, tmr_separation: float | None) -> dict:
    raw = yaml.safe_load(NANO.read_text())
    raw["model"] = _merge(raw["model"], SIZES[name])
    raw["design"]["name"] = f"nano_{name}"
    out.mkdir(parents=True, exist_ok=True)
    design = out / "design.yaml"
    design.write_text(yaml.safe_dump(raw))
    cfg = load_config(design)
    runner = Runner(cfg, out / "build")
    runner.run(STEPS)
    figures: dict = {"route_limit": route_limit, "tmr_separation": tmr_separation, "wall_s": {}}
    for step in ("place", "route", "gds"):
        start = time.perf_counter()
        try:
            runner.run([step])
        except EconflowError as exc:
            figures["error"] = str(exc)
            failed = re.search(r"qrouter left (\d+) nets unrouted", str(exc))
            figures["failed_nets"] = int(failed.group(1)) if failed else None
            break
        finally:
            figures["wall_s"][step] = round(time.perf_counter() - start, 1)
    m = LayoutMetrics.read(out / "build")
    placement = m.place.placement if m.place else None
    place_tool = m.place.tool if m.place else None
    routing = m.route.routing if m.route else None
    route_tool = m.route.tool if m.route else None
    timing = m.route.timing if m.route else None
    drc = m.gds.drc if m.gds else None
    separation = m.place.tmr_separation if m.place else None
    figures.update(
        {
            "cells": placement.cells if placement else None,
            "die_area_um2": placement.die_area_um2 if placement else None,
            "place_s": place_tool.seconds if place_tool else None,
            "place_mb": place_tool.memory_mb if place_tool else None,
            "routed": bool(m.route and m.route.routed),
            "route_s": route_tool.seconds if route_tool else None,
            "route_mb": route_tool.memory_mb if route_tool else None,
            "wirelength_um": routing.wirelength_um if routing else None,
            "wns_slow_post_route_ns": timing.corners["slow"].wns_ns if timing else None,
            "clock_slow_post_route": (
                timing.corners["slow"].clock.model_dump()
                if timing and timing.corners["slow"].clock
                else None
            ),
            "tree_buffers": placement.tree_buffers if placement else None,
            "drc_violations": drc.violations if drc else None,
            "drc_by_rule": {k: v for k, v in drc.by_rule.items() if v} if drc else {},
            "tmr": separation.model_dump(exclude_none=True) if separation else None,
        }
    )
    figures.setdefault("failed_nets", routing.failed_nets if routing else None)
    print(f"== {name}: {json.dumps(figures)}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--route-limit", type=int, default=None)
    parser.add_argument(
        "--tmr-separation",
        type=float,
        default=None,
        help="layout.tmr_min_separation_um (um) instead of the PDK config's; results are "
        "kept as <size>@tmr<value>",
    )
    parser.add_argument(
        "--utilization",
        type=float,
        default=None,
        help="core_utilization (%%) instead of the PDK config's; results are kept as "
        "<size>@u<value>",
    )
    parser.add_argument(
        "--stacked-vias",
        type=int,
        default=None,
        help="layout.router.stacked_vias instead of the PDK config's; results are kept as "
        "<size>@v<value>",
    )
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "layout_scaling"))
    args = parser.parse_args()
    changes = {"max_route_cells": args.route_limit, "tmr_min_separation_um": args.tmr_separation}
    _pdk_settings(
        args.utilization, args.stacked_vias, **{k: v for k, v in changes.items() if v is not None}
    )
    results = _earlier_sizes()
    for name in args.sizes.split(","):
        key = name if args.tmr_separation is None else f"{name}@tmr{args.tmr_separation:g}"
        key = key if args.utilization is None else f"{key}@u{args.utilization:g}"
        key = key if args.stacked_vias is None else f"{key}@v{args.stacked_vias}"
        # one build folder per setting: a monkeypatched setting is not in the provenance
        out = Path(args.build_dir) / key
        results[key] = _size(name, out, args.route_limit, args.tmr_separation)
        results[key].update(utilization=args.utilization, stacked_vias=args.stacked_vias)
    write("layout_scaling", {"sizes": results})


def _earlier_sizes() -> dict:
    path = RESULTS / "layout_scaling.json"
    return json.loads(path.read_text())["sizes"] if path.exists() else {}


if __name__ == "__main__":
    main()
