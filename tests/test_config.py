from __future__ import annotations

from pathlib import Path

import pytest

from econflow.config import STEPS, load_config
from econflow.errors import ConfigError

ROOT = Path(__file__).parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "design.yaml"
    path.write_text(text)
    return path


def test_shipped_default_is_the_econt_design():
    cfg = load_config(ROOT / "encoder.yaml")
    m = cfg.design.model
    assert (m.conv.filters, m.conv.kernel, m.conv.stride) == (8, 3, 2)
    assert m.dense.latent == 16
    assert (m.input.bits, m.conv.weight.bits, m.latent.bits) == (8, 6, 9)
    assert cfg.design.training.loss == "emd"


def test_defaults_fill_missing_sections(tmp_path):
    cfg = load_config(write(tmp_path, "design: {name: d}\n"))
    assert cfg.design.flow.steps == list(STEPS)
    assert STEPS[-9:] == (
        "synth",
        "equiv",
        "sta",
        "gatesim",
        "power",
        "place",
        "route",
        "gds",
        "report",
    )
    assert cfg.design.pdk.name == "sky130hd" and not cfg.design.pdk.download
    assert cfg.design.hardware.tmr == "config" and cfg.design.hardware.clock_mhz == 40.0


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("design: {name: d\n", r"design\.yaml: not valid YAML: .* at line 2"),
        ("- a\n- b\n", r"expected a mapping of sections"),
        ("design: {name: d}\nmodle: {}\n", r"modle: unknown key \(not allowed in the top level\)"),
        ("design: {name: d}\nmodel: {conv: {filter: 3}}\n", r"model\.conv\.filter: unknown key"),
        (
            "design: {name: d}\nmodel: {conv: {filters: eight}}\n",
            r"model\.conv\.filters: .*integer.*'eight'",
        ),
        (
            "design: {name: d}\ntraining: {loss: hinge}\n",
            r"training\.loss: .*'emd', 'telescope', 'mse' or 'emd_exact'.*'hinge'",
        ),
        ("data: {}\n", r"design: required key is missing"),
        ("design: {name: 9d}\n", r"design\.name: .*pattern"),
        (
            "design: {name: d}\nmodel: {latent: {bits: 4, integer: 6}}\n",
            r"model\.latent: .*integer bits \(6\) exceed total bits \(4\)",
        ),
        (
            "design: {name: d}\nmodel: {input: {bits: 8, integer: 0}}\n",
            r"model\.input\.integer: .*at least 1 integer bit",
        ),
        (
            "design: {name: d}\nmodel: {conv: {weight: {bits: 6, integer: 6}}}\n",
            r"model\.conv\.weight\.integer: a signed 6-bit format has at most 5",
        ),
        (
            "design: {name: d}\nmodel: {normalization: none}\n",
            r"model\.input\.integer: raw charges have 16 bits",
        ),
        (
            "design: {name: d}\nmodel: {conv: {activation: {bits: 16, integer: 4}}, dense: {weight: {bits: 12, integer: 1}}}\n",
            r"model\.dense: accumulator needs \d+ magnitude bits",
        ),
        ("design: {name: d}\ndata: {source: csv}\n", r"data: source 'csv' needs a non-empty list"),
        ("design: {name: d}\nflow: {steps: [data, cts]}\n", r"flow\.steps\.1: .*'cts'"),
        ("design: {name: d}\npdk: {name: sky130hd, corner: ss}\n", r"pdk\.corner: unknown key"),
        (
            "design: {name: d}\ngate_level: {vectors: 2}\n",
            r"gate_level\.vectors: .*greater than or equal to 10",
        ),
        (
            "design: {name: d}\nhardware: {tmr: partial}\n",
            r"hardware\.tmr: .*'none', 'config' or 'full'.*'partial'",
        ),
        (
            "design: {name: d}\nhardware: {weights: fused}\n",
            r"hardware\.weights: .*'programmable' or 'hardwired'",
        ),
        (
            "design: {name: d}\nhardware: {pipeline_depth: fast}\n",
            r"hardware\.pipeline_depth: expected 'auto' or a number of stages from 0 to 40 \(got 'fast'\)",
        ),
        (
            "design: {name: d}\nhardware: {pipeline_depth: -1}\n",
            r"hardware\.pipeline_depth: expected 'auto' or .* \(got -1\)",
        ),
        (
            "design: {name: d}\nhardware: {scrub_interval: 0}\n",
            r"hardware\.scrub_interval: .*greater than or equal to 1 \(got 0\)",
        ),
        (
            "design: {name: d}\nhardware: {scrub_interval: -64}\n",
            r"hardware\.scrub_interval: .*greater than or equal to 1 \(got -64\)",
        ),
        (
            "design: {name: d}\nhardware: {output_bits: 6}\n",
            r"hardware\.output_bits: .*3, 5, 7 or 9",
        ),
        (
            "design: {name: d}\nhardware: {tmr: none}\nhardware: {tmr: full}\n",
            r"not valid YAML: duplicate key 'hardware' at line 3",
        ),
        (
            "design: {name: d}\nhardware:\n  tmr: none\n  output_bits: 7\n  tmr: full\n",
            r"not valid YAML: duplicate key 'tmr' at line 5, column 3",
        ),
        (
            "design: {name: d}\nmodel: {latent: {bits: 7, integer: 1}}\nhardware: {output_bits: 9}\n",
            r"hardware\.output_bits: cannot send 9 bits of a 7-bit latent",
        ),
    ],
)
def test_bad_design_files_name_the_key(tmp_path, text, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_config(write(tmp_path, text))


def test_every_error_of_a_design_file_is_one_line(tmp_path):
    text = "design: {name: d}\ntraining: {loss: hinge, epochs: -1}\nhardware: {tmr: partial}\n"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    lines = str(caught.value).splitlines()
    assert caught.value.key == "training.loss" and len(lines) == 3
    for line, key in zip(lines, ("training.loss", "training.epochs", "hardware.tmr"), strict=True):
        assert line.startswith(f"{tmp_path / 'design.yaml'}: {key}: "), line


def test_a_yaml_error_names_the_line_of_its_cause(tmp_path):
    text = "design: {name: d}\ntraining\n  loss: emd\n"
    with pytest.raises(ConfigError, match=r"while scanning a simple key at line 2, column 1"):
        load_config(write(tmp_path, text))


def test_a_design_file_not_in_utf8_is_one_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("design: {name: d}\n# r\u00e9glage\n".encode("latin-1"))
    with pytest.raises(
        ConfigError, match=r"latin1\.yaml: not UTF-8 text \(byte 0xe9 at offset 21\)"
    ):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read file"):
        load_config(tmp_path / "nope.yaml")
