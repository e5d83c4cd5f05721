"""SEU fault-injection campaigns per TMR scope and scrub interval (cocotb, Icarus by default).

Needs the design's models steps. Each scope and scrub interval gets RTL generated with them
(the pipeline of the design's generated RTL, or none when the rtl step has not run); single
upsets in random register copies at random cycles while vectors stream, then double upsets.
Reports per campaign the upsets that reached an output, those flagged, and how many cycles
an upset stayed in its copy (the window a second upset of the same bit would need).

Run: ./bootstrap.sh python benchmarks/seu_campaign.py [design.yaml] [--injections N]
     [--double N] [--scopes config,full,none] [--scrub-intervals 1,64]
     [--simulator icarus|verilator]
Verilator runs the same testbench 25 to 150 times faster on tiny (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import time

from _common import design_and_build, design_parser, write

from econflow.errors import ArtefactError
from econflow.models import artefacts
from econflow.rtl import artefacts as rtl_artefacts
from econflow.verification import pipeline


def main() -> None:
    parser = design_parser(__doc__)
    parser.add_argument("--injections", type=int, default=10_000)
    parser.add_argument("--double", type=int, default=1_000)
    parser.add_argument("--scopes", default="config,full,none")
    parser.add_argument("--scrub-intervals", default=None, help="default: the design's")
    parser.add_argument("--simulator", choices=["icarus", "verilator"], default="icarus")
    args = parser.parse_args()
    cfg, build = design_and_build(args)
    models = artefacts.load(build)
    model = models.load_quantized()
    _, holdout = models.load_dataset()
    try:
        points = rtl_artefacts.load(build).description.pipeline
    except ArtefactError:
        points = ["out"]
    scrubs = args.scrub_intervals or str(cfg.design.hardware.scrub_interval)
    campaigns = {}
    for scrub in (int(s) for s in scrubs.split(",")):
        hardware = cfg.design.hardware.model_copy(update={"scrub_interval": scrub})
        verification = cfg.design.verification.model_copy(
            update={
                "seu_injections": args.injections,
                "seu_double": args.double,
                "seu_scopes": args.scopes.split(","),
            }
        )
        design = cfg.design.model_copy(update={"verification": verification, "hardware": hardware})
        variant = cfg.model_copy(update={"design": design})
        start = time.perf_counter()
        out = build / "benchmarks" / f"seu_scrub_{scrub}_{args.simulator}"
        results = pipeline.run_seu(
            variant, model, holdout, str(models.quantized), out, points, args.simulator
        )
        seconds = time.perf_counter() - start
        for scope, r in results.items():
            print(
                f"scrub {scrub}, {scope}: {r.injections} injections, {r.corrupted} corrupted, "
                f"{r.flagged} flagged, stays {r.correction_cycles_mean:.2f} cycles on average "
                f"(at most {r.correction_cycles_max})",
                flush=True,
            )
        campaigns[f"scrub_{scrub}"] = {
            "scrub_interval": scrub,
            "seconds": round(seconds, 1),
            "scopes": {scope: r.model_dump() for scope, r in results.items()},
        }
    name = f"seu_campaign_{cfg.design.design.name}_scrub_{scrubs.replace(',', '_')}"
    if args.simulator != "icarus":
        name += f"_{args.simulator}"
    write(name, {"design": args.design, "simulator": args.simulator, "campaigns": campaigns})


if __name__ == "__main__":
    main()
