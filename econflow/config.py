"""The typed design description read from ``encoder.yaml``.

The file is validated once, here; code below the CLI reads attributes, never string keys.
Every error names the file, the key and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from econflow.architecture import architecture
from econflow.errors import ConfigError
from econflow.fixed import Fixed

StepName = Literal[
    "data",
    "emd",
    "train",
    "quantize",
    "hls",
    "rtl",
    "verify",
    "synth",
    "equiv",
    "sta",
    "gatesim",
    "power",
    "place",
    "route",
    "gds",
    "report",
]
STEPS: tuple[str, ...] = get_args(StepName)
FLOAT32_MANTISSA_BITS = 24
OVERRIDE_NOTE = " (an override, not the file's value)"  # ends an error in an overridden key
MAX_PIPELINE_DEPTH = 40  # more than any encoder here has places for a register


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FixedFormat(_Section):
    """A fixed-point format: ``bits`` in total, ``integer`` of them above the binary point.

    For signed formats the sign bit is extra to ``integer`` (QKeras ``quantized_bits``).
    """

    bits: int = Field(ge=1, le=32)
    integer: int = Field(ge=0, le=31)

    @model_validator(mode="after")
    def _fits(self) -> FixedFormat:
        if self.integer > self.bits:
            raise ValueError(f"integer bits ({self.integer}) exceed total bits ({self.bits})")
        return self

    def fixed(self, signed: bool) -> Fixed:
        """The format as used for signed (weights, biases) or unsigned values."""
        return Fixed(self.bits, self.integer, signed)


class GeneratorSection(_Section):
    """Synthetic HGCAL-like module generator; energies in MIP_T (see ``DataSection.mip_adc``).

    Modules sit between ``radius_cm`` (inner, outer) of a layer at ``z_cm``, spread evenly
    over its area (narrow the range for one region: dense near the beam pipe, sparse far
    from it). Pileup hits per trigger cell fall with radius as
    ``pileup_hits * (pileup_reference_cm / r) ** pileup_radial_power``, with a log-normal
    module-to-module spread (jets, pileup fluctuations); each hit deposits an exponential
    energy of mean ``hit_mip`` MIP, which is ``sin(theta)`` as much in MIP_T. Electron showers,
    Gaussian noise and zero suppression follow. The defaults are fitted to the statistics of
    the real ECON-T inputs (``benchmarks/generator_calibration.py``).
    """

    radius_cm: list[float] = Field([32.0, 160.0], min_length=2, max_length=2)
    z_cm: float = Field(340.0, gt=0)
    pileup_hits: float = Field(15.2, ge=0)
    pileup_reference_cm: float = Field(32.0, gt=0)
    pileup_radial_power: float = Field(2.57, ge=0)
    pileup_spread: float = Field(1.0, ge=0)
    hit_mip: float = Field(2.04, gt=0)
    shower_probability: float = Field(0.049, ge=0, le=1)
    shower_energy_mip: list[float] = Field([5.0, 308.0], min_length=2, max_length=2)
    shower_radius_cm: float = Field(1.0, gt=0)
    noise_mip: float = Field(0.198, ge=0)
    zero_suppression_mip: float = Field(0.40, ge=0)

    @model_validator(mode="after")
    def _ranges(self) -> GeneratorSection:
        low, high = self.shower_energy_mip
        if not 0 < low <= high:
            raise ValueError("shower_energy_mip must be [low, high] with 0 < low <= high")
        inner, outer = self.radius_cm
        if not 0 < inner < outer:
            raise ValueError("radius_cm must be [inner, outer] with 0 < inner < outer")
        return self


class DataSection(_Section):
    source: Literal["synthetic", "csv"] = "synthetic"
    csv: list[str] = Field(default_factory=list)
    modules: int = Field(200_000, ge=100)
    seed: int = 1
    charge_bits: int = Field(16, ge=4, le=22)
    mip_adc: float = Field(4.0, gt=0)  # ADC counts per MIP_T, for the generator and baselines
    holdout_fraction: float = Field(0.1, gt=0, lt=0.9)
    generator: GeneratorSection = GeneratorSection()

    @model_validator(mode="after")
    def _csv_given(self) -> DataSection:
        if self.source == "csv" and not self.csv:
            raise ValueError("source 'csv' needs a non-empty list of files in 'csv'")
        return self


class EmdCnnSection(_Section):
    """The differentiable EMD of arXiv 2306.04712."""

    pairs: int = Field(200_000, ge=100)
    holdout_pairs: int = Field(10_000, ge=50)
    filters: int = Field(32, ge=1)
    kernel: int = Field(5, ge=1, le=7)
    conv_layers: int = Field(3, ge=1, le=6)
    dense: int = Field(256, ge=1)
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(256, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    seed: int = 2
    # Relative error is quoted for pairs above this EMD (small-cell units): below it a
    # reconstruction is near perfect and the ratio measures noise, not the loss's accuracy.
    min_emd: float = Field(0.1, ge=0)


class ConvSection(_Section):
    filters: int = Field(8, ge=1, le=64)
    kernel: int = Field(3, ge=1, le=8)
    stride: int = Field(2, ge=1, le=8)
    weight: FixedFormat = FixedFormat(bits=6, integer=1)
    bias: FixedFormat = FixedFormat(bits=8, integer=2)
    activation: FixedFormat = FixedFormat(bits=8, integer=2)


class DenseSection(_Section):
    latent: int = Field(16, ge=1, le=64)
    weight: FixedFormat = FixedFormat(bits=6, integer=1)
    bias: FixedFormat = FixedFormat(bits=8, integer=2)


class ModelSection(_Section):
    layout: Literal["econt_8x8"] = "econt_8x8"
    normalization: Literal["pow2", "none"] = "pow2"
    input: FixedFormat = FixedFormat(bits=8, integer=1)
    conv: ConvSection = ConvSection()
    dense: DenseSection = DenseSection()
    latent: FixedFormat = FixedFormat(bits=9, integer=1)


class RefineSection(_Section):
    """Refining the EMD-CNN on the autoencoder's reconstructions while it trains (``emd`` loss).

    Every ``every`` epochs, ``pairs`` (module, reconstruction) pairs of training modules are
    labelled with exact EMD and the EMD-CNN is fitted ``epochs`` times on them, beside as many
    fresh module and distortion pairs so it stays accurate there too. ``every: 0`` keeps the
    EMD-CNN of the ``emd`` step fixed.
    """

    every: int = Field(5, ge=0)
    pairs: int = Field(20_000, ge=100)
    epochs: int = Field(2, ge=1)
    learning_rate: float = Field(2e-4, gt=0)


class TrainingSection(_Section):
    """How the autoencoder trains, and the size of its decoder (off-detector: it costs no
    hardware). The decoder is a dense layer of ``decoder_units``, a dense layer to the conv
    output's grid with ``decoder_filters`` channels (default: the encoder's conv filters), a
    transposed convolution back to 8x8, ``decoder_convolutions`` 3x3 convolutions with half
    the filters, and a last convolution to the charge map."""

    loss: Literal["emd", "telescope", "mse", "emd_exact"] = "emd"
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(256, ge=1)
    learning_rate: float = Field(2e-3, gt=0)
    decoder_units: int = Field(128, ge=1)
    decoder_filters: int | None = Field(None, ge=1)
    decoder_convolutions: int = Field(0, ge=0)
    seed: int = 3
    refine_emd_cnn: RefineSection = RefineSection()


class EvaluationSection(_Section):
    max_modules: int = Field(20_000, ge=10)
    bit_exact_samples: int = Field(20_000, ge=10)


class BaselineSection(_Section):
    """Baselines sent at the autoencoder's output bit budget (latent values x latent bits).

    Charges travel as floating point with a 4-bit exponent and ``value_bits - 4`` mantissa
    bits (ECON-T's 7-bit 4E3M for the default).
    """

    threshold_mip: float = Field(1.35, ge=0)
    value_bits: int = Field(7, ge=5, le=22)


class HlsSection(_Section):
    """hls4ml projects of the encoder (step ``hls``)."""

    backends: list[Literal["catapult", "vitis"]] = Field(
        default_factory=lambda: ["catapult", "vitis"], min_length=1
    )
    clock_period_ns: float = Field(25.0, gt=0)
    vitis_part: str = "xcvu13p-flga2577-2-e"
    csim_samples: int = Field(5000, ge=10)


class HardwareSection(_Section):
    """The encoder ASIC block the RTL stage generates."""

    clock_mhz: float = Field(40.0, gt=0)
    # Pipeline stages besides the output register (0: registered outputs only, as ECON-T),
    # placed by the RTL generator to balance delay; "auto": the fewest that meet the clock.
    pipeline_depth: int | Literal["auto"] = 0
    weights: Literal["programmable", "hardwired"] = "programmable"
    tmr: Literal["none", "config", "full"] = "config"
    output_bits: Literal[3, 5, 7, 9] = 9  # latent values truncated for 2/3/4/more links
    # Configuration registers are clocked only when written and every scrub_interval cycles,
    # when TMR copies reload the voted value (1: every cycle, no clock gating).
    scrub_interval: int = Field(1, ge=1, le=1 << 16)

    @property
    def gates_clocks(self) -> bool:
        """Configuration registers clocked through gates (programmable weights, scrub > 1)."""
        return self.weights == "programmable" and self.scrub_interval > 1

    @field_validator("pipeline_depth", mode="before")
    @classmethod
    def _depth(cls, value: Any) -> Any:
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value == "auto" or (whole and 0 <= value <= MAX_PIPELINE_DEPTH):
            return value
        raise ValueError(f"expected 'auto' or a number of stages from 0 to {MAX_PIPELINE_DEPTH}")


class VerificationSection(_Section):
    """Regressions and fault injection on the generated RTL (step ``verify``)."""

    simulators: list[Literal["icarus", "verilator"]] = Field(
        default_factory=lambda: ["icarus", "verilator"], min_length=1
    )
    cocotb_vectors: int = Field(2000, ge=10)  # streamed by cocotb, checked in Python
    bulk_vectors: int = Field(10_000, ge=10)  # checked inside the simulator
    seu_injections: int = Field(200, ge=0)  # single upsets per TMR scope
    seu_double: int = Field(20, ge=0)  # two copies of one bit, under TMR
    seu_scopes: list[Literal["none", "config", "full"]] = Field(
        default_factory=lambda: ["config", "none"]
    )
    seed: int = 1


class PdkSection(_Section):
    """The PDK the flow implements the encoder in (``pdk_configs/<name>.yaml``)."""

    name: str = "sky130hd"
    download: bool = False  # let lambdapdk download missing library data


class GateLevelSection(_Section):
    """Gate-level simulation of the synthesized netlist (step ``gatesim``): bit-exactness
    against the fixed-point model, and the switching activity power analysis uses."""

    vectors: int = Field(10000, ge=10)  # held-out modules, on the cycle simulator
    corner_cases: bool = True  # then the corner cases (94 for 16-bit charges)
    icarus_vectors: int = Field(20, ge=0)  # the first ones again on Icarus, the PDK's models
    seu_upsets: int = Field(1000, ge=0)  # flip-flop upsets injected into the netlist
    seu_transients: int = Field(63, ge=0)  # transients on each kind of shared or voter net
    seu_targets: list[str] = []  # flip-flop instance names (shell patterns) to upset, if not all


class FlowSection(_Section):
    steps: list[StepName] = Field(default_factory=lambda: list(STEPS))


class DesignSection(_Section):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @property
    def top(self) -> str:
        """The encoder's top-level module: names the RTL and every implementation file."""
        return f"{self.name}_encoder"


class Design(_Section):
    design: DesignSection
    data: DataSection = DataSection()
    emd_cnn: EmdCnnSection = EmdCnnSection()
    model: ModelSection = ModelSection()
    training: TrainingSection = TrainingSection()
    evaluation: EvaluationSection = EvaluationSection()
    baselines: BaselineSection = BaselineSection()
    hls: HlsSection = HlsSection()
    flow: FlowSection = FlowSection()
    hardware: HardwareSection = HardwareSection()
    pdk: PdkSection = PdkSection()
    gate_level: GateLevelSection = GateLevelSection()
    verification: VerificationSection = VerificationSection()


class Config(BaseModel):
    """A validated design together with where it came from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    design: Design

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def csv_paths(self) -> list[Path]:
        """CSV inputs, resolved against the directory of the design file."""
        return [(self.base_dir / p).resolve() for p in self.design.data.csv]

    def section(self, name: str) -> Any:
        """Plain-data view of one section or one dotted key (``hardware.output_bits``), for
        hashing a step's configuration."""
        found: Any = self.design
        for part in name.split("."):
            found = getattr(found, part)
        return found.model_dump(mode="json") if isinstance(found, BaseModel) else found


def _at(mark: yaml.Mark | None) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the
    last silently: a design file would run with half of what its author wrote)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read and validate a design file; raise :class:`ConfigError` naming the bad key.

    ``overrides`` replace values of the file before validation, by dotted key
    (``{"training.loss": "mse"}``), and are checked like the file's own.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            path, "", f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        raw = yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        where = _at(getattr(exc, "problem_mark", None))
        # PyYAML often finds the problem a line after its cause ("could not find expected
        # ':'" on the next line): the context it was scanning names the cause's line.
        context = getattr(exc, "context", None)
        if context and getattr(exc, "context_mark", None):
            where += f" ({context}{_at(exc.context_mark)})"
        raise ConfigError(path, "", f"not valid YAML: {problem}{where}") from None
    if not isinstance(raw, dict):
        raise ConfigError(path, "", "expected a mapping of sections at the top level")
    return _validated(path, raw, overrides or {})


def with_overrides(cfg: Config, overrides: dict[str, Any]) -> Config:
    """``cfg`` with values replaced by dotted key, checked as ``load_config`` checks a file."""
    return _validated(cfg.path, cfg.design.model_dump(mode="json"), overrides)


def _validated(path: Path, raw: dict[str, Any], overrides: dict[str, Any]) -> Config:
    for key, value in overrides.items():
        _override(path, raw, key, value)
    try:
        design = Design.model_validate(raw)
    except ValidationError as exc:
        raise _all_errors(path, exc, overrides) from None
    _check_arithmetic(path, design)
    return Config(path=path.resolve(), design=design)


def _override(path: Path, raw: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = raw
    for depth, part in enumerate(parents):
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            where = ".".join(parents[: depth + 1])
            raise ConfigError(path, where, f"is not a section, cannot override {key}")
    node[last] = value


def _all_errors(path: Path, exc: ValidationError, overrides: dict[str, Any]) -> ConfigError:
    """Every error of the file, one line each (the error names the first one's key); an
    error in an overridden value says so, since the file holds another."""
    found = [_error(err) for err in exc.errors()]
    (key, message), *rest = [(k, f"{m}{OVERRIDE_NOTE}" if k in overrides else m) for k, m in found]
    lines = [message, *(str(ConfigError(path, k, m)) for k, m in rest)]
    return ConfigError(path, key, "\n".join(lines))


def _error(err: Any) -> tuple[str, str]:
    """(key, message) of one pydantic error."""
    key = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        parent = key.rsplit(".", 1)[0] if "." in key else "the top level"
        return key, f"unknown key (not allowed in {parent})"
    if err["type"] == "missing":
        return key, "required key is missing"
    message = err["msg"].removeprefix("Value error, ")
    if "input" in err and err["type"] not in ("model_type", "dict_type"):
        message += f" (got {err['input']!r})"
    return key, message


def _check_arithmetic(path: Path, design: Design) -> None:
    """Refuse bit widths that cannot hold the values or cannot be evaluated exactly."""
    m = design.model
    if design.hardware.output_bits > m.latent.bits:
        raise ConfigError(
            path,
            "hardware.output_bits",
            f"cannot send {design.hardware.output_bits} bits of a {m.latent.bits}-bit latent "
            "value (model.latent.bits)",
        )
    if m.normalization == "pow2" and m.input.integer < 1:
        raise ConfigError(
            path,
            "model.input.integer",
            "pow2-normalized charges reach values up to 2; need at least 1 integer bit",
        )
    if m.normalization == "none" and m.input.integer < design.data.charge_bits:
        raise ConfigError(
            path,
            "model.input.integer",
            f"raw charges have {design.data.charge_bits} bits (data.charge_bits); "
            f"need at least that many integer bits, got {m.input.integer}",
        )
    for key, fmt in (
        ("model.conv.weight", m.conv.weight),
        ("model.conv.bias", m.conv.bias),
        ("model.dense.weight", m.dense.weight),
        ("model.dense.bias", m.dense.bias),
    ):
        if fmt.bits < 2:
            raise ConfigError(path, f"{key}.bits", "signed formats need at least 2 bits")
        if fmt.integer > fmt.bits - 1:
            raise ConfigError(
                path,
                f"{key}.integer",
                f"a signed {fmt.bits}-bit format has at most {fmt.bits - 1} integer bits",
            )
    arch = architecture(m)
    for key, layer in (("model.conv", arch.conv), ("model.dense", arch.dense)):
        if layer.accumulator.bits - 1 > FLOAT32_MANTISSA_BITS:
            raise ConfigError(
                path,
                key,
                f"accumulator needs {layer.accumulator.bits - 1} magnitude bits; QKeras evaluates "
                f"in float32 (24) and would not be bit-exact: reduce input, weight or bias bits",
            )
