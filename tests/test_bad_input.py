"""The bad-input corpus: design files, CSV files, artefacts, tools, environment, interruption
and concurrency, each as a user would meet it through ``sc``.

Every case asserts the exit status, that each line of the error names the file (and the key
where there is one), that no traceback is printed, and that the steps whose results the case
invalidates do not hold afterwards: a later report shows none of their figures.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from econflow.cli import main
from econflow.config import load_config
from econflow.models import dataset
from econflow.provenance import Provenance
from econflow.runner import all_steps

TINY = Path(__file__).parent / "configs" / "tiny.yaml"


@dataclass
class Run:
    """What a case runs and what it must give."""

    argv: list[str]
    expect: list[str]  # every one in the error output
    code: int = 1
    lines: int = 1  # error lines
    stale: list[str] = field(default_factory=list)  # steps that must not hold afterwards
    env: dict[str, str] = field(default_factory=dict)
    design: Path = TINY  # for the check of what holds
    build: Path | None = None
    subprocess: bool = False  # run `sc` in a process of its own


class Place:
    """A case's folder, with a copy of the tiny build made when the case asks for one."""

    def __init__(self, tmp: Path, tiny: Path) -> None:
        self.tmp = tmp
        self._tiny = tiny

    @property
    def build(self) -> Path:
        build = self.tmp / "build"
        if not build.exists():
            shutil.copytree(self._tiny, build)
        return build

    def design(self, text: str, name: str = "bad.yaml") -> Path:
        path = self.tmp / name
        path.write_text(text)
        return path

    def tiny(self, old: str, new: str) -> Path:
        """The tiny design file with one edit, beside the case."""
        text = TINY.read_text()
        assert old in text, old
        return self.design(text.replace(old, new), "tiny.yaml")

    def run(self, design: Path, *args: str) -> list[str]:
        return ["flow", "run", str(design), "--build-dir", str(self.build), *args]


def _csv(place: Place, rows: Callable[[list[str]], list[str]]) -> Path:
    """A CALQ CSV file of 200 modules, passed through ``rows`` (header first)."""
    charges = dataset.generate(200, dataset.DataSection(charge_bits=12))
    good = place.tmp / "good.csv"
    np.savetxt(
        good, charges, fmt="%d", delimiter=",", header=",".join(dataset.CSV_COLUMNS), comments=""
    )
    data = place.tmp / "data.csv"
    data.write_text("\n".join(rows(good.read_text().splitlines())) + "\n")
    return data


def _csv_run(place: Place, rows: Callable[[list[str]], list[str]], expect: str) -> Run:
    data = _csv(place, rows)
    design = place.design(f"design: {{name: c}}\ndata: {{source: csv, csv: [{data.name}]}}\n")
    build = place.tmp / "csv_build"
    return Run(["flow", "run", str(design), "--build-dir", str(build), "--steps", "data"],
               [f"{data}", expect], stale=["data"], design=design, build=build)  # fmt: skip


def _json_edit(path: Path, edit: Callable[[dict], None]) -> None:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


def _weight(value: int) -> Callable[[dict], None]:
    def edit(doc: dict) -> None:
        doc["layers"][0]["weights"][0][0][0][0] = value

    return edit


def _check(place: Place, text: str, *expect: str, lines: int = 1) -> Run:
    return Run(["check", str(place.design(text))], list(expect), lines=lines)


# --- design files -----------------------------------------------------------------------------
def yaml_syntax(p: Place) -> Run:
    return _check(p, "design: {name: x}\nmodel:\n  conv: [1, 2\n", "bad.yaml", "line 4")


def duplicate_key(p: Place) -> Run:
    return _check(p, "design: {name: x}\ndesign: {name: y}\n", "bad.yaml", "duplicate key")


def unknown_section(p: Place) -> Run:
    return _check(p, "design: {name: x}\nhardwar: {}\n", "bad.yaml", "hardwar")


def unknown_nested_key(p: Place) -> Run:
    return _check(p, "design: {name: x}\nmodel: {conv: {filterz: 2}}\n", "model.conv.filterz")


def wrong_type(p: Place) -> Run:
    return _check(p, "design: {name: x}\nmodel: {conv: {filters: two}}\n", "model.conv.filters")


def out_of_range(p: Place) -> Run:
    return _check(p, "design: {name: x}\nmodel: {conv: {filters: 0}}\n", "model.conv.filters")


def negative_clock(p: Place) -> Run:
    return _check(p, "design: {name: x}\nhardware: {clock_mhz: -40}\n", "hardware.clock_mhz")


def unknown_loss(p: Place) -> Run:
    return _check(p, "design: {name: x}\ntraining: {loss: hinge}\n", "training.loss", "hinge")


def bad_design_name(p: Place) -> Run:
    return _check(p, "design: {name: 'my design'}\n", "bad.yaml", "design.name")


def integer_bits_above_total(p: Place) -> Run:
    text = "design: {name: x}\nmodel: {latent: {bits: 4, integer: 6}}\n"
    return _check(p, text, "model.latent", "exceed total bits")


def holdout_fraction(p: Place) -> Run:
    return _check(p, "design: {name: x}\ndata: {holdout_fraction: 1.5}\n", "data.holdout_fraction")


def unknown_step_in_file(p: Place) -> Run:
    return _check(p, "design: {name: x}\nflow: {steps: [data, cts]}\n", "flow.steps")


def unknown_pdk(p: Place) -> Run:
    return _check(p, "design: {name: p}\npdk: {name: gf180}\n", "pdk.name", "gf180", "sky130hd")


def several_errors(p: Place) -> Run:
    text = "design: {name: x}\nmodel: {conv: {filters: 0}}\ntraining: {loss: hinge}\n"
    return _check(p, text, "model.conv.filters", "training.loss", lines=2)


def generator_negative_rate(p: Place) -> Run:
    text = "design: {name: x}\ndata: {generator: {pileup_hits: -1}}\n"
    return _check(p, text, "data.generator.pileup_hits", "greater than or equal to 0")


def generator_inverted_radii(p: Place) -> Run:
    text = "design: {name: x}\ndata: {generator: {radius_cm: [160, 32]}}\n"
    return _check(p, text, "data.generator", "0 < inner < outer")


def missing_design_file(p: Place) -> Run:
    return Run(["check", str(p.tmp / "absent.yaml")], ["absent.yaml"])


def design_file_is_a_folder(p: Place) -> Run:
    (p.tmp / "folder.yaml").mkdir()
    return Run(["check", str(p.tmp / "folder.yaml")], ["folder.yaml"])


def empty_design_file(p: Place) -> Run:
    return _check(p, "", "bad.yaml")


def top_level_list(p: Place) -> Run:
    return _check(p, "- design\n- model\n", "bad.yaml")


def non_utf8_design_file(p: Place) -> Run:
    path = p.tmp / "latin1.yaml"
    path.write_bytes("design: {name: caf\xe9}\n".encode("latin-1"))
    return Run(["check", str(path)], ["latin1.yaml", "UTF-8"])


def missing_csv_at_check(p: Place) -> Run:
    return _check(p, "design: {name: c}\ndata: {source: csv, csv: [absent.csv]}\n", "data.csv.0")


def unknown_step_option(p: Place) -> Run:
    return Run(p.run(TINY, "--steps", "data,cts"), ["tiny.yaml", "--steps/--from", "cts"])


def empty_step_option(p: Place) -> Run:
    return Run(p.run(TINY, "--steps="), ["tiny.yaml", "--steps/--from", "selects no step"])


def from_after_steps(p: Place) -> Run:
    return Run(p.run(TINY, "--steps", "data", "--from", "train"), ["--steps/--from"])


# --- CSV files --------------------------------------------------------------------------------
def csv_missing(p: Place) -> Run:
    design = p.design("design: {name: c}\ndata: {source: csv, csv: [absent.csv]}\n")
    return Run(["flow", "run", str(design), "--build-dir", str(p.tmp / "b")],
               ["bad.yaml", "data.csv.0: file not found"], design=design)  # fmt: skip


def csv_short_row(p: Place) -> Run:
    return _csv_run(p, lambda r: [r[0], "1,2", *r[1:]], "line 2: expected 48 columns, got 2")


def csv_huge_value(p: Place) -> Run:
    return _csv_run(p, lambda r: [r[0], "1e30" + ",0" * 47, *r[1:]], "line 2: CALQ_0 = 1e30")


def csv_text_value(p: Place) -> Run:
    return _csv_run(p, lambda r: [r[0], "many" + ",0" * 47, *r[1:]], "line 2")


def csv_negative_charge(p: Place) -> Run:
    return _csv_run(p, lambda r: [r[0], "-5" + ",0" * 47, *r[1:]], "line 2")


def csv_too_few_modules(p: Place) -> Run:
    return _csv_run(p, lambda r: r[:3], "non-empty for training")


def csv_header_only(p: Place) -> Run:
    return _csv_run(p, lambda r: r[:1], "data.csv")


def csv_wrong_header(p: Place) -> Run:
    return _csv_run(p, lambda r: [r[0].replace("CALQ_0", "CALQ_X"), *r[1:]], "CALQ")


# --- artefacts --------------------------------------------------------------------------------
def edited_quantized_model(p: Place) -> Run:
    model = p.build / "models" / "quantized_model.json"
    _json_edit(model, _weight(1))
    return Run(p.run(TINY, "--steps", "rtl"),
               ["quantized_model.json", "step 'quantize'", "--accept-edit"],
               stale=["quantize", "rtl", "verify"], build=p.build)  # fmt: skip


def edited_model_rerun_whole_flow(p: Place) -> Run:
    _json_edit(p.build / "models" / "quantized_model.json", _weight(2))
    return Run(p.run(TINY), ["quantized_model.json", "differs from what step 'quantize' wrote"],
               stale=["quantize", "hls", "rtl", "verify"], build=p.build)  # fmt: skip


def accepted_weight_too_wide(p: Place) -> Run:
    model = p.build / "models" / "quantized_model.json"
    _json_edit(model, _weight(1000))
    return Run(p.run(TINY, "--steps", "rtl", "--accept-edit", str(model)),
               ["quantized_model.json", "does not fit 6-bit"],
               stale=["rtl", "verify"], build=p.build)  # fmt: skip


def synth_after_failed_rtl(p: Place) -> Run:
    model = p.build / "models" / "quantized_model.json"
    _json_edit(model, _weight(1000))
    assert main(p.run(TINY, "--steps", "rtl", "--accept-edit", str(model))) == 1
    return Run(p.run(TINY, "--steps", "synth"), ["design.json", "step 'rtl'", "has no record"],
               stale=["rtl", "synth", "verify"], build=p.build)  # fmt: skip


def corrupt_quantized_model(p: Place) -> Run:
    model = p.build / "models" / "quantized_model.json"
    model.write_text("{not json")
    return Run(p.run(TINY, "--steps", "hls", "--accept-edit", str(model)),
               ["quantized_model.json"], stale=["hls", "rtl", "verify"], build=p.build)  # fmt: skip


def corrupt_model_h5(p: Place) -> Run:
    h5 = p.build / "models" / "autoencoder.h5"
    h5.write_bytes(b"not a model")
    return Run(p.run(TINY, "--steps", "quantize"), ["autoencoder.h5", "step 'train'"],
               stale=["train", "quantize", "rtl"], build=p.build)  # fmt: skip


def deleted_dataset(p: Place) -> Run:
    (p.build / "models" / "dataset.npz").unlink()
    return Run(p.run(TINY, "--steps", "train"), ["dataset.npz", "step 'data'", "lacks its output"],
               stale=["data", "train", "quantize", "verify"], build=p.build)  # fmt: skip


def deleted_rtl_file_then_verify(p: Place) -> Run:
    (p.build / "rtl" / "econflow_majority.v").unlink()
    return Run(p.run(TINY, "--steps", "verify"), ["step 'rtl'", "econflow_majority.v"],
               stale=["rtl", "verify"], build=p.build)  # fmt: skip


def changed_clock_then_verify(p: Place) -> Run:
    design = p.tiny("scrub_interval: 8", "scrub_interval: 8\n  clock_mhz: 100")
    return Run(p.run(design, "--steps", "verify"),
               ["design.json", "step 'rtl'", "another 'hardware' section"],
               stale=["rtl", "verify"], design=design, build=p.build)  # fmt: skip


def changed_clock_then_report(p: Place) -> Run:
    design = p.tiny("scrub_interval: 8", "scrub_interval: 8\n  clock_mhz: 100")
    return Run(["report", str(design), "--build-dir", str(p.build)], [], code=0, lines=0,
               stale=["rtl", "verify"], design=design, build=p.build)  # fmt: skip


def changed_model_then_hls(p: Place) -> Run:
    design = p.tiny("filters: 2\n", "filters: 3\n")
    return Run(p.run(design, "--steps", "hls"), ["quantized_model.json", "another 'model'"],
               stale=["train", "quantize", "hls", "rtl", "verify"], design=design,
               build=p.build)  # fmt: skip


def corrupt_metrics(p: Place) -> Run:
    (p.build / "rtl" / "metrics.json").write_text("{")
    return Run(["report", str(TINY), "--build-dir", str(p.build)], ["rtl/metrics.json"])


def foreign_metrics(p: Place) -> Run:
    _json_edit(p.build / "models" / "metrics.json", lambda d: d.update(unknown={"x": 1}))
    return Run(["report", str(TINY), "--build-dir", str(p.build)],
               ["models/metrics.json", "unknown"])  # fmt: skip


def corrupt_manifest(p: Place) -> Run:
    (p.build / "models" / "manifest.json").write_text("garbage")
    return Run(p.run(TINY, "--steps", "hls"), ["step 'quantize'", "has no record"],
               stale=["data", "quantize", "hls", "rtl"], build=p.build)  # fmt: skip


def accept_a_stray_file(p: Place) -> Run:
    stray = p.tmp / "stray.json"
    stray.write_text("{}")
    return Run(p.run(TINY, "--steps", "rtl", "--accept-edit", str(stray)),
               ["stray.json", "not a file a flow step writes"])  # fmt: skip


# --- tools, environment, build folders ---------------------------------------------------------
def simulator_missing(p: Place) -> Run:
    empty = p.tmp / "empty_bin"
    empty.mkdir()
    return Run(p.run(TINY, "--steps", "verify", "--force"), ["not found"],
               stale=["verify"], env={"PATH": str(empty)}, build=p.build,
               subprocess=True)  # fmt: skip


def pdk_data_missing(p: Place) -> Run:
    design = p.tiny("steps: [data, emd, train, quantize, hls, rtl, verify]", "steps: [synth]")
    return Run(p.run(design, "--steps", "synth"), ["ECONFLOW_LAMBDAPDK"], stale=["synth"],
               env={"ECONFLOW_LAMBDAPDK": str(p.tmp / "absent")}, design=design,
               build=p.build)  # fmt: skip


def build_folder_is_a_file(p: Place) -> Run:
    (p.tmp / "file").write_text("")
    args = ["flow", "run", str(TINY), "--build-dir", str(p.tmp / "file"), "--steps", "data"]
    return Run(args, ["cannot be a build folder", "is a file"])


def build_folder_under_a_file(p: Place) -> Run:
    (p.tmp / "file").write_text("")
    args = ["flow", "run", str(TINY), "--build-dir", str(p.tmp / "file" / "sub")]
    return Run(args, ["cannot be a build folder", "is a file"])


def a_folder_where_a_record_goes(p: Place) -> Run:
    blocked = p.tmp / "b" / "models" / "manifest.json"
    blocked.mkdir(parents=True)
    return Run(["flow", "run", str(TINY), "--build-dir", str(p.tmp / "b")], [str(blocked)])


# --- interruption and concurrency --------------------------------------------------------------
def build_folder_in_use(p: Place) -> Run:
    build = p.build
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(build)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    p.holder = holder  # type: ignore[attr-defined]
    return Run(p.run(TINY, "--steps", "verify", "--force"),
               [str(build), "in use by run", str(holder.pid)], build=build)  # fmt: skip


HOLD_LOCK = """
import sys, time
from pathlib import Path
from econflow.lock import build_lock
with build_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


CASES: dict[str, Callable[[Place], Run]] = {
    f.__name__: f
    for f in (
        yaml_syntax, duplicate_key, unknown_section, unknown_nested_key, wrong_type,
        out_of_range, negative_clock, unknown_loss, bad_design_name, integer_bits_above_total,
        holdout_fraction, unknown_step_in_file, unknown_pdk, several_errors,
        generator_negative_rate, generator_inverted_radii,
        missing_design_file, design_file_is_a_folder, empty_design_file, top_level_list,
        non_utf8_design_file, missing_csv_at_check, unknown_step_option, empty_step_option,
        from_after_steps,
        csv_missing, csv_short_row, csv_huge_value, csv_text_value, csv_negative_charge,
        csv_too_few_modules, csv_header_only, csv_wrong_header,
        edited_quantized_model, edited_model_rerun_whole_flow, accepted_weight_too_wide,
        synth_after_failed_rtl,
        corrupt_quantized_model, corrupt_model_h5, deleted_dataset,
        deleted_rtl_file_then_verify, changed_clock_then_verify, changed_clock_then_report,
        changed_model_then_hls, corrupt_metrics, foreign_metrics, corrupt_manifest,
        accept_a_stray_file,
        simulator_missing, pdk_data_missing, build_folder_is_a_file, build_folder_under_a_file,
        a_folder_where_a_record_goes,
        build_folder_in_use,
    )
}  # fmt: skip


def _sc(run: Run) -> tuple[int, str, str]:
    env = {**os.environ, **run.env}
    done = subprocess.run(
        [sys.executable, "-m", "econflow.cli", *run.argv], capture_output=True, text=True, env=env
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_leaves_nothing_stale(name, tiny_build, tmp_path, capsys,
                                                        monkeypatch):  # fmt: skip
    place = Place(tmp_path, tiny_build)
    run = CASES[name](place)
    capsys.readouterr()  # what setting the case up printed
    try:
        if run.subprocess:
            code, out, err = _sc(run)
        else:
            for key, value in run.env.items():
                monkeypatch.setenv(key, value)
            code = main(run.argv)
            out, err = capsys.readouterr()
    finally:
        if hasattr(place, "holder"):
            place.holder.kill()
            place.holder.wait()
    assert code == run.code, err
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.strip()]
    assert len(errors) == run.lines, err
    assert all(line.startswith("error: ") for line in errors), err
    for text in run.expect:
        assert text in err, f"{text!r} not in {err!r}"
    if run.stale:
        statuses = Provenance(load_config(run.design), run.build, all_steps()).statuses()
        held = [s for s in run.stale if statuses[s].holds]
        assert not held, f"{held} still hold after {name}"


def test_the_report_hides_what_a_changed_design_file_invalidates(tiny_build, tmp_path, capsys):
    place = Place(tmp_path, tiny_build)
    run = changed_clock_then_report(place)
    assert main(run.argv) == 0
    report = (place.build / "report" / "report.md").read_text()
    assert "not shown: rtl" in report and "not shown: verify" in report
    assert "another 'hardware' section" in report and "rerun step 'rtl'" in report
    assert "flip-flops (with TMR copies)" not in report and "100 MHz" in report
    assert "HLS backends" in report  # hls does not read the hardware section: it holds
    assert "not shown: rtl" in capsys.readouterr().out


def test_an_interrupted_run_leaves_its_step_to_rerun(tiny_build, tmp_path):
    place = Place(tmp_path, tiny_build)
    args = [sys.executable, "-m", "econflow.cli", *place.run(TINY, "--steps", "verify", "--force")]
    sc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert sc.stdout is not None
    while "verify: running" not in sc.stdout.readline():
        assert sc.poll() is None
    time.sleep(2)
    sc.send_signal(signal.SIGTERM)
    _, err = sc.communicate(timeout=60)
    assert sc.returncode == 130 and err.startswith("interrupted") and "Traceback" not in err
    statuses = Provenance(load_config(TINY), place.build, all_steps()).statuses()
    assert not statuses["verify"].holds and statuses["rtl"].holds
