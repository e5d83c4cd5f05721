"""The ``verify`` flow step: bulk regressions, cocotb tests and SEU campaigns on the RTL.

Results go to ``<build>/verify/results.json`` (and the stage's ``metrics.json``), as
:class:`~econflow.verification.results.VerifyResult`: per simulator the bulk regression's
counts and the cocotb tests' figures, and per TMR scope the SEU campaign. Any mismatch, or an
upset that reaches the outputs under TMR, fails the step.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from econflow.config import Config
from econflow.errors import EconflowError
from econflow.models import artefacts as model_artefacts
from econflow.models import dataset
from econflow.models.quantized import QuantizedModel
from econflow.rtl import artefacts as rtl_artefacts
from econflow.rtl import pipeline as rtl_pipeline
from econflow.rtl import regmap as regmap_module
from econflow.rtl.artefacts import RegisterMap
from econflow.stage import Step
from econflow.verification import bulk, cocotb_run
from econflow.verification.cocotb_run import Vectors
from econflow.verification.results import (
    BulkRun,
    CocotbRun,
    SeuScope,
    VerifyMetrics,
    VerifyResult,
)

STAGE = VerifyMetrics.STAGE
RESULTS = "results.json"


def second_model(model: QuantizedModel, seed: int) -> QuantizedModel:
    """Model B for the reload test: same architecture and formats, seeded in-range weights."""
    rng = np.random.default_rng(seed)

    def redraw(layer: Any) -> Any:
        w, b = layer.weight_format, layer.bias_format
        return dataclasses.replace(
            layer,
            weights=rng.integers(w.min_int, w.max_int + 1, layer.weights.shape),
            bias=rng.integers(0, b.max_int + 1, layer.bias.shape),
        )

    return dataclasses.replace(model, layers=tuple(redraw(layer) for layer in model.layers))


@dataclasses.dataclass(frozen=True)
class Subject:
    """What a simulation of the design checks against: the models stage's artefacts, its
    quantized model and held-out modules, and the RTL stage's design."""

    models: model_artefacts.ModelsArtefacts
    model: QuantizedModel
    holdout: np.ndarray
    design: rtl_artefacts.RtlDesign


def load_subject(build: Path) -> Subject:
    """The earlier stages' artefacts, read the same way by the verify and gatesim steps."""
    models = model_artefacts.load(build)
    _, holdout = models.load_dataset()
    return Subject(models, models.load_quantized(), holdout, rtl_artefacts.load(build))


def regression_vectors(
    holdout: np.ndarray, n: int, charge_bits: int, corner_cases: bool = True
) -> np.ndarray:
    """``n`` held-out modules (repeated if fewer), then the corner cases unless left out."""
    picked = holdout[np.arange(n) % len(holdout)]
    if not corner_cases:
        return picked
    return np.concatenate([picked, dataset.corner_cases(charge_bits)])


def run_cocotb(
    cfg: Config,
    design: rtl_artefacts.RtlDesign,
    model: QuantizedModel,
    holdout: np.ndarray,
    out: Path,
) -> dict[str, CocotbRun]:
    """Stream, reload, reset/valid and write-while-streaming tests per simulator on the
    design as generated."""
    v = cfg.design.verification
    charges = regression_vectors(holdout, v.cocotb_vectors, model.charge_bits)
    model_b = second_model(model, v.seed)
    image_a = design.load_image() or []
    vectors = {"a": Vectors.of(model, design, charges, image_a)}
    tests = ["stream", "reset"]
    writes: list[tuple[int, int, int]] = []
    regmap = design.register_map()
    if regmap is not None:
        image_b = rtl_pipeline.weight_image(model_b)
        vectors["b"] = Vectors.of(model_b, design, charges[:500], image_b)
        writes = write_schedule(design.latency_cycles, len(image_a), image_b, v.seed)
        streamed = regression_vectors(holdout, writes[-1][0] + 60, model.charge_bits, False)
        vectors["w"] = vectors_with_writes(model, design, regmap, streamed, image_a, writes)
        tests += ["reload", "writes"]
    path = out / "cocotb_vectors.npz"
    cocotb_run.write_vectors(path, vectors)
    results = {}
    for sim in v.simulators:
        print(f"  cocotb on {sim}: {', '.join(tests)} ({len(charges)} vectors)", flush=True)
        results[sim], _ = cocotb_run.run(
            design, sim, out / f"cocotb_{sim}", path, tests, list(vectors), seed=v.seed,
            writes=writes,
        )  # fmt: skip
    return results


def write_schedule(
    latency: int, registers: int, image: list[int], seed: int
) -> list[tuple[int, int, int]]:
    """Writes of another image's words while vectors stream: (cycle, address, word). Half
    come a pipeline's length apart, so that vectors between them complete with the weights
    in force; half back to back, dropping every inference in flight."""
    rng = np.random.default_rng(seed)
    count = min(40, registers)
    addresses = rng.choice(registers, size=count, replace=False)
    apart = latency + 3
    cycles = [20 + k * apart for k in range(count // 2)]
    cycles += [cycles[-1] + 10 + k for k in range(count - len(cycles))]
    return [(c, int(a), image[int(a)]) for c, a in zip(cycles, addresses, strict=True)]


def vectors_with_writes(
    model: QuantizedModel,
    design: rtl_artefacts.RtlDesign,
    regmap: RegisterMap,
    charges: np.ndarray,
    image: list[int],
    writes: list[tuple[int, int, int]],
) -> Vectors:
    """``charges`` streamed from cycle 0, each expected with the weights in force when it is
    sampled: ``image`` with the writes of the cycles before its own."""
    latent = np.zeros((len(charges), model.latent_size), np.int64)
    sums = np.zeros(len(charges), np.int64)
    words = list(image)
    starts = [0, *(cycle + 1 for cycle, _, _ in writes)]
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(charges)
        if k:
            _, address, word = writes[k - 1]
            words[address] = word
        if start < min(end, len(charges)):
            loaded = regmap_module.model_of(model, regmap, words)
            piece = Vectors.of(loaded, design, charges[start:end], words)
            latent[start:end], sums[start:end] = piece.latent, piece.sums
    return Vectors(np.asarray(charges, np.int64), latent, sums, list(image))


def run_bulk(
    cfg: Config,
    design: rtl_artefacts.RtlDesign,
    model: QuantizedModel,
    holdout: np.ndarray,
    out: Path,
) -> dict[str, BulkRun]:
    """The in-simulator regression per simulator."""
    charges = regression_vectors(holdout, cfg.design.verification.bulk_vectors, model.charge_bits)
    results = {}
    image = design.load_image()
    for sim in cfg.design.verification.simulators:
        print(f"  bulk regression on {sim}: {len(charges)} vectors", flush=True)
        start = time.perf_counter()
        counts = bulk.run(design, model, charges, image, out / f"bulk_{sim}", sim, label=sim)
        seconds = time.perf_counter() - start
        results[sim] = BulkRun(
            **counts.model_dump(),
            seconds=round(seconds, 1),
            vectors_per_s=round(len(charges) / seconds, 1),
        )
        print(f"  bulk regression on {sim}: {counts.mismatches} mismatches", flush=True)
    return results


def run_seu(
    cfg: Config,
    model: QuantizedModel,
    holdout: np.ndarray,
    source: str,
    out: Path,
    pipeline: list[str],
    simulator: cocotb_run.Simulator = "icarus",
) -> dict[str, SeuScope]:
    """One campaign per TMR scope, each on RTL generated with that scope and the pipeline
    registers (``pipeline``, point names) of the design as generated."""
    v = cfg.design.verification
    charges = regression_vectors(holdout, 500, model.charge_bits)
    results = {}
    for scope in v.seu_scopes:
        hw = cfg.design.hardware.model_copy(update={"tmr": scope})
        enc = rtl_pipeline.describe(
            model,
            hw,
            cfg.design.design.top,
            source,
            registered=pipeline,
            clock_gate=rtl_pipeline.clock_gate(cfg),
        )
        rtl_pipeline.generate(enc, out / f"seu_{scope}" / "rtl", source)
        design = rtl_artefacts.load(out / f"seu_{scope}")
        vectors = out / f"seu_{scope}" / "vectors.npz"
        cocotb_run.write_vectors(
            vectors, {"a": Vectors.of(model, design, charges, design.load_image() or [])}
        )
        print(f"  SEU campaign, TMR {scope}: {v.seu_injections} single upsets", flush=True)
        _, campaign = cocotb_run.run(
            design,
            simulator,
            out / f"seu_{scope}" / "cocotb",
            vectors,
            ["seu"],
            ["a"],
            seu={"injections": v.seu_injections, "double": v.seu_double},
            seed=v.seed,
        )
        if campaign is None:
            raise EconflowError(f"TMR {scope}: the SEU campaign recorded no figures; see {out}")
        results[scope] = campaign
    return results


def _run(cfg: Config, build: Path) -> VerifyResult:
    subject = load_subject(build)
    design, model, holdout = subject.design, subject.model, subject.holdout
    out = build / STAGE
    out.mkdir(parents=True, exist_ok=True)
    result = VerifyResult(
        top=design.top,
        tmr=design.description.tmr,
        bulk=run_bulk(cfg, design, model, holdout, out),
        cocotb=run_cocotb(cfg, design, model, holdout, out),
        seu=run_seu(
            cfg, model, holdout, str(subject.models.quantized), out, design.description.pipeline
        )
        if cfg.design.verification.seu_injections
        else {},
    )
    (out / RESULTS).write_text(result.model_dump_json(indent=1) + "\n")
    _check(result, out / RESULTS)
    return result


def _check(result: VerifyResult, path: Path) -> None:
    bad = [f"{sim}: {r.mismatches} mismatches" for sim, r in result.bulk.items() if not r.exact]
    for scope, seu in result.seu.items():
        if scope != "none" and (seu.corrupted or seu.flagged != seu.injections):
            bad.append(f"TMR {scope}: {seu.corrupted} upsets reached the outputs")
        if scope == "none" and seu.injections and not seu.corrupted:
            bad.append("TMR none: no upset changed an output (the injector is not working)")
    if bad:
        raise EconflowError(f"{path}: verification failed ({'; '.join(bad)})")


def _inputs(_cfg: Config, build: Path) -> list[Path]:
    models = model_artefacts.at(build)
    rtl = rtl_artefacts.directory(build)
    return [models.quantized, models.dataset, rtl / rtl_artefacts.DESIGN]


def _outputs(_cfg: Config, build: Path) -> list[Path]:
    return [build / STAGE / RESULTS]


STEPS: tuple[Step, ...] = (
    Step("verify", VerifyMetrics, "verify", ("verification", "hardware"), _inputs, _outputs, _run),
)
