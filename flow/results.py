"""The ASIC stage's figures: ``<build>/flow/metrics.json`` (synthesis, timing, gate-level
simulation, power) and ``<build>/layout/metrics.json`` (placement, routing, GDS).

Every figure group carries its ``origin``: what it was computed from (post-synthesis,
post-placement estimate, post-route) and by which tool. Areas in µm², lengths in µm,
capacitances in pF, times in ns, power in mW, energy in nJ.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from econflow.results import Result, StageMetrics, StepResult
from econflow.verification.results import BulkRun, SeuCampaign

Engine = Literal["openroad", "qflow"]


class SynthResult(StepResult):
    origin: str
    pdk: str
    cells: int
    area_um2: float
    flip_flops: int
    flip_flop_area_um2: float
    tmr_copy_area_um2: float  # 2 x protected bits x mean flip-flop area
    protected_bits: int
    flip_flop_cells: dict[str, int]  # sequential cell -> count
    top_cells: dict[str, int]  # the most used cells -> count
    netlist: str


class ModuleProof(Result):
    module: str
    instances: int  # how often the netlist instantiates it (1 for the top)
    equivalent: bool
    verdict: str  # ABC's own line
    and_nodes: int  # the miter's size as ABC read it
    latches: int
    seconds: float


class EquivalenceResult(StepResult):
    origin: str
    modules: list[ModuleProof]

    @property
    def equivalent(self) -> bool:
        return all(m.equivalent for m in self.modules)


class WorstPath(Result):
    """The path with the least slack: where it starts and ends, in which pipeline stage."""

    start: str
    end: str
    arrival_ns: float  # data arrival time at the end, from the clock edge
    slack_ns: float
    stage: str  # "<point> -> <point>": the registers it runs between ("?" where unknown)


class ClockSkew(Result):
    """The propagated clock at one corner (OpenSTA's ``report_clock_skew``): the worst skew
    between a launching and a capturing register (a clock gate's enable check among them),
    and their clock insertion delays (ns); and the spread of the insertion delays over the
    flip-flops alone (from the hold paths)."""

    skew_ns: float
    launch_latency_ns: float
    capture_latency_ns: float
    flip_flops: int = 0
    flip_flop_latency_min_ns: float | None = None
    flip_flop_latency_max_ns: float | None = None


class CornerTiming(Result):
    """Setup timing at one corner; after placement, with the clock tree's skew."""

    wns_ns: float
    tns_ns: float
    endpoints: int
    violating_endpoints: int
    meets: bool
    achievable_period_ns: float  # clock period - WNS
    fmax_mhz: float
    worst_path: WorstPath
    clock: ClockSkew | None = None


class Timing(Result):
    origin: str
    clock_period_ns: float
    latency_cycles: int  # input to output, one inference per cycle
    timing_corner: str  # the corner sign-off timing is judged at
    corners: dict[str, CornerTiming]
    reports: str  # the folder of OpenSTA's reports


class StaResult(StepResult, Timing):
    pass


class PowerComponents(Result):
    """mW."""

    internal: float
    switching: float
    leakage: float
    total: float


class Power(Result):
    origin: str
    corner: str
    internal_mw: float
    switching_mw: float
    leakage_mw: float
    total_mw: float
    groups_mw: dict[str, PowerComponents]  # sequential, combinational, total
    blocks_mw: dict[str, PowerComponents] = {}  # per block of the encoder (flow.blocks)
    energy_per_inference_nj: float  # power x clock period (one inference per cycle)
    inferences_per_s: float
    reports: dict[str, str]  # OpenSTA's per-cell reports (active, idle)
    # internal power as OpenSTA reported it, before econflow.flow.internal_power's correction
    opensta_internal_mw: float | None = None
    # total power with the toggles of each half of the vectors; spread: half their difference
    halves_mw: list[float] = []
    spread_mw: float | None = None


class PowerResult(StepResult, Power):
    pass


class Activity(Result):
    cells: int  # cells whose output toggles were counted
    mean_toggles_per_cycle: float
    flip_flops: int  # flip-flops whose clock pin was followed
    mean_clock_edges_per_cycle: float  # 1 without clock gating
    file: str


class TransientCount(Result):
    injections: int
    corrupted: int  # an output differed from the reference lane's
    flagged: int  # tmr_error rose
    persisting: int  # state still wrong after slow control rewrote the registers hit


class NetlistSeu(Result):
    """Upsets and transients injected into the synthesized netlist (cycle simulator)."""

    tmr: str
    upsets: SeuCampaign | None = None
    upsets_persisting: int = 0  # state still wrong after scrubbing and slow control
    transients: dict[str, TransientCount] = {}  # per kind of net
    window_cycles: int  # observed after each hit
    seconds: float


class GateLevelResult(StepResult):
    """The netlist on the cycle simulator (every lane its own vectors), and optionally the
    first vectors on Icarus with the PDK's own cell models."""

    origin: str
    vectors: int  # streamed over all lanes
    distinct_vectors: int  # held-out modules and corner cases, each streamed at least once
    lanes: int
    cycles: int  # reset, configuration, read-back, stream and flush
    mismatches: int
    readback_errors: int
    build_seconds: float  # reading the netlist and liberty into the simulator's graph
    seconds: float  # building included
    vectors_per_s: float  # simulation alone
    activity: Activity
    icarus: BulkRun | None = None
    seu: NetlistSeu | None = None


class FlowMetrics(StageMetrics):
    STAGE: ClassVar[str] = "flow"

    synth: SynthResult | None = None
    equivalence: EquivalenceResult | None = None
    sta: StaResult | None = None
    gate_level: GateLevelResult | None = None
    power: PowerResult | None = None


class TmrDistances(Result):
    """Edge-to-edge distance between the two closest copies of each protected bit (µm)."""

    min_um: float
    p10_um: float
    median_um: float
    closest_bit: str


class TmrSeparation(Result):
    """How far apart the copies of the protected bits are, as graywolf placed them and after
    the copies that were too close moved (``layout.tmr_min_separation_um``)."""

    triplets: int  # protected bits whose three copies were found
    protected_bits: int
    required_um: float = 0.0
    moved: int = 0  # copies moved to keep the required distance
    before: TmrDistances | None = None
    after: TmrDistances | None = None
    hpwl_increase_um: float = 0.0  # what the moves cost in placement wire length


class Placement(Result):
    """What graywolf's placement gave (written by the place task, ``reports/place.json``)."""

    die_width_um: float
    die_height_um: float
    die_area_um2: float
    core_area_um2: float
    cell_area_um2: float
    utilization: float  # cell area / core area
    cells: int  # logic cells, without fill and taps
    tree_buffers: int = 0  # buffers of the clock tree and other high-fanout nets, in ``cells``
    fill_cells: int
    taps: int
    tap_sites_opened: int = 0  # sites pushed free where a well tap found no fill
    rows: int
    pins_moved_off_rails: int
    stripe_vias_dropped: int = 0  # the power stripes' vias down to the pin layer
    hpwl_um: float
    estimated_wire_cap_pf: float
    # congestion feedback (layout.congestion_feedback): the nets qrouter's first stage failed
    # on the first placement, the cells widened with fill for the second, and the time the
    # feedback took (first stage, second placement and its amendments)
    congestion_failed_nets: int | None = None
    congestion_widened_cells: int = 0
    congestion_fill_cells: int = 0
    congestion_feedback_s: float = 0.0


class Floorplan(Result):
    """The core a design too large to place here would need."""

    cells: int
    cell_area_um2: float
    core_area_um2: float
    core_side_um: float
    utilization: float


class ToolCost(Result):
    """The layout tool's own runtime (s) and peak memory (MB), as SiliconCompiler measured."""

    seconds: float
    memory_mb: float


class PlaceResult(StepResult):
    engine: Engine
    tools: str
    origin: str
    placed: bool
    routable: bool
    reason: str | None = None  # why the design was not placed
    max_route_cells: int | None = None
    max_place_cells: int | None = None
    floorplan: Floorplan | None = None
    placement: Placement | None = None
    tmr_separation: TmrSeparation | None = None
    timing: Timing | None = None
    power: Power | None = None
    tool: ToolCost | None = None
    def_file: str | None = None
    openroad: dict[str, float] | None = None  # SiliconCompiler's metrics of its nodes


class Routing(Result):
    """What qrouter's routing gave (written by the route task, ``reports/route.json``)."""

    failed_nets: int
    nets: int
    wirelength_um: float
    wirelength_per_layer_um: dict[str, float]
    wire_cap_pf: float  # routed lengths x the tech LEF's capacitance per µm
    qrouter_rc_cap_pf: float  # qrouter's own RC (one sidewall)
    sdf_arcs_without_load_name: int
    sdf_arcs_to_their_driver: int = 0  # a route reaching its driving pin twice
    notch_fills: int = 0  # metal added to one net: notches, necks, holes, minimum area (gap_fill)
    patches_dropped: int = 0  # qrouter's patches too close to another net (econflow.flow.patches)
    spurs_trimmed: int = 0  # dead ends and redundant pin stubs taken out (econflow.flow.spurs)
    vias_turned: int = 0  # a via changed to another shape of its cut (econflow.flow.via_variants)
    wires_nudged: int = 0  # a wire moved off its track beside a via pad (econflow.flow.nudges)
    cuts_merged: int = 0  # one net's cuts too close, one dropped (econflow.flow.redundant_cuts)


class RouteResult(StepResult):
    routed: bool
    reason: str | None = None  # why the design was not routed
    engine: Engine | None = None
    origin: str | None = None
    routing: Routing | None = None
    timing: Timing | None = None
    power: Power | None = None
    tool: ToolCost | None = None
    def_file: str | None = None
    openroad: dict[str, float] | None = None


class Drc(Result):
    violations: int
    by_rule: dict[str, int]
    report: str
    deck: str
    scope: str


class MagicDrc(Result):
    """Magic's full DRC of the routed layout (econflow.flow.magic_drc)."""

    errors: int  # error boxes in the design's own cell
    by_rule: dict[str, int]  # Magic's rule text -> boxes
    errors_in_cells_alone: int  # inside library cells and vias each checked alone
    tech: str
    seconds: float


class GdsResult(StepResult):
    written: bool
    reason: str | None = None
    origin: str | None = None
    gds: str | None = None
    png: str | None = None
    drc: Drc | None = None
    magic: MagicDrc | None = None  # where the PDK names a Magic technology file


class LayoutMetrics(StageMetrics):
    STAGE: ClassVar[str] = "layout"

    place: PlaceResult | None = None
    route: RouteResult | None = None
    gds: GdsResult | None = None
