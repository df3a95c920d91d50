"""Type stubs of the C++ extension eplb._eplb (python/src/*.cc), re-exported by eplb.

Array arguments (``ArrayLike``) are numpy arrays, torch tensors (through DLPack, no copy) or
anything numpy.asarray accepts; they must live in host memory. Inputs that already have the
wanted dtype and C-contiguous layout are read in place; others are converted into a copy
(integers of any width for ids, any real dtype for loads), and floats where ids are expected are
refused. Arrays written in place (``counts=``, ``out=``) must match dtype, shape and
contiguity exactly. Every refusal is a ValueError naming the argument.
"""

import os
from typing import (
    Any, Callable, Iterable, Literal, Optional, Protocol, Sequence, Tuple, TypedDict, Union,
    overload,
)

import numpy as np
import numpy.typing as npt

ArrayLike = Any  # numpy.ndarray | torch.Tensor | DLPack-capable array | nested sequence
PathLike = Union[str, "os.PathLike[str]"]
PlacementFormatName = Literal["eplb", "trtllm", "ascend"]
PolicyName = Literal["balanced", "deepseek", "greedy"]
RoutePolicyName = Literal["round_robin", "local_first", "weighted"]
LostExpertPolicyName = Literal["refuse", "restore"]
IndexRangeArg = Union[str, slice, None]  # "A:B", "A:", ":B" or slice(A, B): rows/steps A..B-1

__version__: str

class Error(ValueError):
    """eplb::Error: a bad argument, file or option; the message names the place and value,
    as the CLI prints it (e.g. "--slots 20 is not divisible by --ranks 3 ...")."""

class LoadMatrix:
    """Token loads of the MoE layers of one model over some window.

    values: [num_layers, num_experts] float64 tokens per logical expert (a writable view).
    layer_ids: [num_layers] original layer id of each row.
    """

    def __init__(self, values: ArrayLike, layer_ids: Optional[Sequence[int]] = None) -> None:
        """values: [num_layers, num_experts] real numbers, finite and >= 0 (copied to
        float64). layer_ids: [num_layers], default 0..num_layers-1."""
    @staticmethod
    def zeros(num_layers: int, num_experts: int) -> LoadMatrix: ...
    @property
    def num_layers(self) -> int: ...
    @property
    def num_experts(self) -> int: ...
    @property
    def layer_ids(self) -> list[int]:
        """[num_layers] original layer id of each row (a new list)."""
    @property
    def values(self) -> npt.NDArray[np.float64]:
        """[num_layers, num_experts] float64, a writable view of the matrix (no copy)."""
    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray: ...
    def has_data(self, layer_idx: int) -> bool:
        """False when every load of row `layer_idx` is zero (the layer is left out of
        averages and keeps its default placement)."""
    def rows(self, begin: int, end: int) -> LoadMatrix:
        """Rows [begin, end) as a new matrix, layer ids kept."""
    def validate(self, where: str = "loads") -> None:
        """Raises Error naming `where` when a load is negative or not finite."""

def read_loads(
    path: PathLike,
    window: IndexRangeArg = None,
    layers: IndexRangeArg = None,
    placement: Optional[Placement] = None,
) -> LoadMatrix:
    """Reads expert loads, like `eplb --load F [--window A:B] [--layers A:B]`.

    path: *.csv (one row per layer), *.npy ([layers, experts] or [steps, layers, experts]),
    *.json (SGLang's expert-distribution dump) or a TensorRT-LLM statistics directory.
    window: steps (npy 3-D) or iterations (TensorRT-LLM) to sum. layers: rows to keep.
    placement: maps per-slot TensorRT-LLM statistics back to logical experts.
    Returns a LoadMatrix [num_layers, num_experts] with the file's layer ids.
    """

class Placement:
    """Which logical expert every physical slot of every MoE layer holds.

    Slots are split contiguously over ranks: slot s lives on rank s // slots_per_rank.
    """

    def __init__(
        self,
        phy2log: ArrayLike,
        num_ranks: int,
        num_experts: Optional[int] = None,
        layer_ids: Optional[Sequence[int]] = None,
        routing_weight: Optional[ArrayLike] = None,
    ) -> None:
        """phy2log: [num_layers, num_slots] logical expert of each slot (integers, copied).
        num_experts: default max(phy2log) + 1. layer_ids: [num_layers], default
        0..num_layers-1. routing_weight: None (replicas split evenly) or [num_layers,
        num_slots] share of its expert's tokens per slot. Raises Error when inconsistent."""
    @staticmethod
    def contiguous(
        num_layers: int,
        num_experts: int,
        num_ranks: int,
        num_slots: int,
        layer_ids: Optional[Sequence[int]] = None,
    ) -> Placement:
        """The default deployment: slot i holds expert i % num_experts."""
    @staticmethod
    def load(
        path: PathLike,
        format: Optional[PlacementFormatName] = None,
        num_ranks: int = 0,
        num_experts: int = 0,
    ) -> Placement:
        """Reads and validates a placement file (read_placement). format: None detects it
        from the extension and content. num_ranks: required for trtllm YAML (no rank count
        inside), checked against the file otherwise. num_experts: 0 = from the file."""
    def save(self, path: PathLike, format: Optional[PlacementFormatName] = None) -> None:
        """Writes atomically (write_placement). format: None = from the extension (.yaml/.yml
        trtllm, else eplb). trtllm and ascend cannot store routing_weight: it is dropped."""
    @property
    def num_layers(self) -> int: ...
    @property
    def num_experts(self) -> int:
        """Logical experts per layer."""
    @property
    def num_ranks(self) -> int:
        """Ranks; 0 while unknown (a trtllm YAML read without num_ranks)."""
    @property
    def num_slots(self) -> int:
        """Physical slots per layer over all ranks."""
    @property
    def slots_per_rank(self) -> int: ...
    @property
    def layer_ids(self) -> list[int]:
        """[num_layers] original layer id of each row."""
    @property
    def phy2log(self) -> npt.NDArray[np.int32]:
        """[num_layers, num_slots] int32 physical slot -> logical expert (read-only view)."""
    @property
    def routing_weight(self) -> Optional[npt.NDArray[np.float64]]:
        """None (replicas split their expert's tokens evenly) or [num_layers, num_slots]
        float64 share of its expert's tokens each slot receives (read-only view)."""
    @property
    def log2phy(self) -> npt.NDArray[np.int32]:
        """[num_layers, num_experts, max_replicas] int32 slots of each logical expert,
        ascending, -1 padded (a new array)."""
    @property
    def replica_count(self) -> npt.NDArray[np.int32]:
        """[num_layers, num_experts] int32 replicas of each logical expert (a new array)."""
    def rank_of_slot(self, slot_idx: int) -> int: ...
    def find_layer(self, layer_id: int) -> int:
        """Row index of a layer id, or -1."""
    def replica_table(self, layer_idx: int) -> ReplicaTable:
        """The routing table of row `layer_idx` (build_replica_table of its phy2log and
        routing_weight)."""
    def __eq__(self, other: object) -> bool: ...
    def __getstate__(self) -> tuple: ...
    def __setstate__(self, state: tuple) -> None: ...

def read_placement(
    path: PathLike,
    format: Optional[PlacementFormatName] = None,
    num_ranks: int = 0,
    num_experts: int = 0,
) -> Placement:
    """Same as Placement.load."""

def write_placement(
    path: PathLike, placement: Placement, format: Optional[PlacementFormatName] = None
) -> None:
    """Same as placement.save(path, format)."""

def format_placement(placement: Placement, format: PlacementFormatName = "eplb") -> str:
    """The text write_placement would write."""

def check_placement(placement: Placement) -> list[str]:
    """Every problem of a placement, each with its location
    (e.g. "phy2log[3][17]: expert 301 out of range [0, 256)"); empty when valid."""

def validate_placement(placement: Placement, where: str = "placement") -> None:
    """Raises Error "<where>: <first problem> (and N more)" when check_placement finds any."""

def count_moved_slots(from_placement: Placement, to_placement: Placement) -> int:
    """Number of (layer, slot) pairs whose logical expert differs: expert weights to move."""

def align_layers(
    placement: Placement, layer_ids: Sequence[int], where: str = "placement"
) -> Placement:
    """The rows of `placement` for `layer_ids`, matched by layer id (or by row when the ids
    differ but the counts agree)."""

class PlanLayerReportDict(TypedDict):
    layer: int  # layer id
    has_data: bool  # False: all loads zero, the other numbers are 0
    lower_bound: float  # max/mean rank load no placement can beat
    max_over_mean: float  # the plan's hottest rank / mean rank load
    moved_slots: int  # slots whose expert changed vs current
    duplicates: int  # same-rank duplicate replicas kept
    relaxed: bool  # topology: replicas placed off their group's node
    strict_max_over_mean: float  # topology: the strict placement's max/mean (0: not made)
    cross_node_share: float  # topology: share of the groups' tokens served off their node
    uncovered_experts: list[int]  # excluded_ranks: experts with no slot on a live rank

class PlanReportDict(TypedDict):
    layers: list[PlanLayerReportDict]  # [num_layers]
    layers_relaxed: int  # layers with replicas off their group's node
    cross_node_share: float  # token-weighted over layers with data (topology only)
    layers_uncovered: int  # layers with uncovered experts (excluded_ranks)
    warnings: list[str]  # one line each, e.g. why the topology was relaxed

@overload
def plan(
    loads: Union[LoadMatrix, ArrayLike],
    *,
    num_ranks: int,
    num_slots: int,
    num_nodes: int = 1,
    num_groups: int = 1,
    policy: PolicyName = "balanced",
    current: Optional[Placement] = None,
    layer_ids: Optional[Sequence[int]] = None,
    routing: Literal["even", "weighted"] = "even",
    topology: Literal["relaxed", "strict"] = "relaxed",
    max_moves: int = -1,
    tolerance: float = 0.0,
    slack: float = 0.002,
    excluded_ranks: Optional[Iterable[int]] = None,
    return_report: Literal[False] = False,
) -> Placement: ...
@overload
def plan(
    loads: Union[LoadMatrix, ArrayLike],
    *,
    num_ranks: int,
    num_slots: int,
    num_nodes: int = 1,
    num_groups: int = 1,
    policy: PolicyName = "balanced",
    current: Optional[Placement] = None,
    layer_ids: Optional[Sequence[int]] = None,
    routing: Literal["even", "weighted"] = "even",
    topology: Literal["relaxed", "strict"] = "relaxed",
    max_moves: int = -1,
    tolerance: float = 0.0,
    slack: float = 0.002,
    excluded_ranks: Optional[Iterable[int]] = None,
    return_report: Literal[True],
) -> Tuple[Placement, PlanReportDict]:
    """Plans a placement for every layer, like `eplb plan` (same options as its flags).

    loads: LoadMatrix, or [num_layers, num_experts] token counts (layer_ids: their layer ids,
    default 0..num_layers-1). num_slots: physical slots per layer over all ranks, a multiple of
    num_ranks and >= num_experts. current: the deployed placement, from which incremental
    policies start (matched to the loads' layers). Layers without data keep the default (or
    current) placement. routing="weighted" also solves routing_weight [num_layers, num_slots]
    (each replica's share of its expert's tokens). topology: with num_nodes/num_groups, keep
    groups on nodes ("strict") or cross nodes where that balances better ("relaxed").
    max_moves (per layer; -1: no limit) and tolerance (max/mean given up for fewer moved
    slots) apply with current. slack: refinement stops within this factor of the lower bound.

    excluded_ranks: ranks out of service (`eplb plan --exclude-ranks`; any iterable of ints in
    [0, num_ranks), no repeats, not all of them). Every layer is planned over the other ranks'
    slots only; the excluded slots keep their current (else default) expert with
    routing_weight 0, so routing_weight [num_layers, num_slots] is always set and routing
    (log2phy, replica_table) never picks them. Experts left without a live slot (fewer live
    slots than experts: the least loaded) are listed in the report's uncovered_experts.
    Out-of-range or repeated ranks raise Error ("--exclude-ranks: rank 4 out of range [0, 4)").

    Returns phy2log [num_layers, num_slots] as a Placement; with return_report=True, the tuple
    (placement, report) where report["layers"][i]["uncovered_experts"] lists layer i's
    uncovered experts. The GIL is released.
    """

class LayerBalanceDict(TypedDict):
    has_data: bool
    mean: Optional[float]  # tokens per rank; None without data
    std: Optional[float]  # population standard deviation over ranks
    max: Optional[float]  # tokens on the hottest rank
    imbalance: Optional[float]  # max / mean - 1
    peak_to_avg: Optional[float]  # max / mean

class LayerReportDict(LayerBalanceDict):
    layer: int  # layer id

class ReportDict(TypedDict):
    num_layers: int
    num_experts: int
    num_ranks: int
    num_layers_with_data: int
    layers: list[LayerReportDict]
    average: LayerBalanceDict  # field-wise mean over layers with data
    max_peak_to_avg: Optional[float]  # worst layer

def report(
    loads: Union[LoadMatrix, ArrayLike],
    placement: Optional[Placement] = None,
    num_ranks: Optional[int] = None,
    layer_ids: Optional[Sequence[int]] = None,
) -> ReportDict:
    """Rank-load balance per layer and on average: the object `eplb report --json` prints,
    less its file names ("load", "placement").

    loads: LoadMatrix or [num_layers, num_experts]. Without `placement`, experts sit
    contiguously on num_ranks ranks (expert e on rank e * num_ranks // num_experts); with it,
    its rows are matched to the loads' layers and replicas split their expert's tokens evenly
    (or by routing_weight).
    """

def rank_loads(
    expert_loads: ArrayLike,
    phy2log: ArrayLike,
    num_ranks: int,
    routing_weight: Optional[ArrayLike] = None,
) -> npt.NDArray[np.float64]:
    """[num_ranks] tokens each rank receives in one layer: expert_loads [num_experts],
    phy2log [num_slots], routing_weight None (even split) or [num_slots]."""

def contiguous_rank_loads(expert_loads: ArrayLike, num_ranks: int) -> npt.NDArray[np.float64]:
    """[num_ranks] loads with expert e on rank e * num_ranks // num_experts, no replicas."""

def count_expert_load(
    topk_ids: ArrayLike, num_experts: int, counts: Optional[ArrayLike] = None
) -> Tuple[Any, int]:
    """Adds the occurrences of every logical expert in topk_ids into counts.

    topk_ids: any shape (e.g. [num_tokens, k]) of integer logical expert ids; int32/int64
    C-contiguous is read in place. counts: [num_experts] int64 written in place (accumulates),
    or None for a new zero array (a torch tensor when topk_ids is one). Returns (counts,
    num_ignored): ids outside [0, num_experts) are not counted. The GIL is released.
    """

def count_expert_load_decayed(
    topk_ids: ArrayLike, num_experts: int, decay: float, counts: Optional[ArrayLike] = None
) -> Tuple[Any, int]:
    """counts[e] = counts[e] * decay + n[e], n[e] the occurrences of expert e in topk_ids.

    counts: [num_experts] float64 written in place, or None for a new zero array. decay in
    [0, 1) gives a moving sum over about 1 / (1 - decay) batches. Returns (counts, num_ignored).
    """

class ReplicaTable:
    """The replicas of every logical expert of one layer, compressed-sparse-row: the physical
    slots of expert e are slot[offset[e]:offset[e + 1]], ascending."""

    @property
    def num_experts(self) -> int: ...
    @property
    def num_slots(self) -> int: ...
    @property
    def slots_per_rank(self) -> int: ...
    @property
    def offset(self) -> npt.NDArray[np.int32]:
        """[num_experts + 1] int32 row starts (read-only view)."""
    @property
    def slot(self) -> npt.NDArray[np.int32]:
        """[offset[num_experts]] int32 physical slots grouped by expert (read-only view)."""
    @property
    def cum_weight(self) -> npt.NDArray[np.float32]:
        """[offset[num_experts]] float32 cumulative routing share per replica; the last of each
        expert's row is 1 (read-only view)."""
    def replica_count(self, expert_idx: int) -> int: ...
    def slot_rank(self, slot_idx: int) -> int: ...

def build_replica_table(
    phy2log: ArrayLike,
    num_experts: int,
    slots_per_rank: int,
    routing_weight: Optional[ArrayLike] = None,
) -> ReplicaTable:
    """The table of one layer: phy2log [num_slots] (-1: an empty slot), routing_weight None
    (replicas split evenly) or [num_slots] shares (normalised per expert)."""

def route_tokens(
    topk_ids: ArrayLike,
    table: ReplicaTable,
    policy: RoutePolicyName = "round_robin",
    local_rank: int = -1,
    seed: int = 0,
    out: Optional[ArrayLike] = None,
) -> Any:
    """Physical slot ids [num_tokens, k] int32 for the logical expert ids topk_ids
    [num_tokens, k] (int32 C-contiguous is read in place; other integer dtypes are converted).

    policy: round_robin (replica (token_idx + k_idx + seed) % r), local_first (a replica on
    `local_rank` when the expert has one), weighted (by routing weight, hashed from seed). Ids
    out of range and experts without a replica map to -1. out: [num_tokens, k] int32 written in
    place, or None for a new array (a torch tensor when topk_ids is one). The GIL is released.
    """

class LoadRecorder:
    """The runtime's load recorder: per layer, per logical expert token counts of live
    traffic, fed once per MoE layer per step; end_step() closes the step.

    mode="windowed": the sum of the last window_steps steps (the open one included).
    mode="decayed": sum over steps s of decay**(t - s) * n_s, t the open step.
    Not thread-safe: one serving thread feeds and snapshots it.
    """

    def __init__(
        self,
        num_layers: int,
        num_experts: int,
        *,
        mode: Literal["windowed", "decayed"] = "windowed",
        window_steps: int = 1,
        decay: float = 0.9,
    ) -> None:
        """Raises Error for non-positive shapes, window_steps < 1 or decay outside [0, 1]."""
    @property
    def num_layers(self) -> int: ...
    @property
    def num_experts(self) -> int: ...
    @property
    def mode(self) -> str: ...
    @property
    def window_steps(self) -> int: ...
    @property
    def decay(self) -> float: ...
    @property
    def num_closed_steps(self) -> int:
        """Steps closed by end_step() since construction or reset()."""
    def record_topk(self, layer_idx: int, topk_ids: ArrayLike) -> int:
        """Adds topk_ids (any shape, e.g. [num_tokens, k], logical expert ids; int32/int64
        C-contiguous read in place) to layer `layer_idx` of the open step. Returns the number
        of ids outside [0, num_experts), which are ignored. The GIL is released."""
    def record_counts(self, layer_idx: int, expert_counts: ArrayLike) -> None:
        """Adds expert_counts [num_experts] (tokens per logical expert, >= 0)."""
    def end_step(self) -> None: ...
    def snapshot(self) -> LoadMatrix:
        """The statistic as of the open step, [num_layers, num_experts] (layer ids 0..)."""
    def snapshot_into(self, out: ArrayLike) -> Any:
        """Writes the statistic into out [num_layers, num_experts] float64 (written in place,
        so it must match exactly); returns out."""
    def reset(self) -> None:
        """Forgets every recorded step."""

# ---- The online runtime (include/eplb/runtime/, include/eplb/comm.h) ----

CommStateName = Literal["pending", "done", "failed", "timed_out"]

class CommHandleLike(Protocol):
    """What a Python Communicator's operations return (eplb.CommHandle implements it)."""

    def poll(self) -> CommStateName:
        """Never blocks: 'pending', 'done' or 'failed'."""
    def wait(self, timeout: float) -> CommStateName:
        """Blocks until not 'pending' or `timeout` seconds passed ('timed_out')."""
    def error(self) -> str:
        """Optional: why it failed."""

class Communicator:
    """The balancer's transport for one rank (include/eplb/comm.h). Get one from
    InProcessWorld (threads), or subclass it in Python (e.g. eplb.torch_comm.TorchCommunicator)
    and implement rank, num_ranks, all_gather, broadcast and exchange (calling
    super().__init__() in __init__).

    The balancer calls these on its serving thread, inside the hooks, with the GIL taken. They
    must not block: start the operation and return a handle; the balancer polls it. Buffers are
    numpy views of the balancer's memory (no copies), valid until the handle stops reporting
    'pending'. A Python exception raised by an operation or a handle makes the operation
    failed, with the exception's text as its error (a failed vote then raises eplb.Error from
    the hook; a failed transfer gives the layer up, keeping its old weights and map).
    """

    def __init__(self) -> None: ...
    def rank(self) -> int:
        """This rank's index in [0, num_ranks())."""
    def num_ranks(self) -> int: ...
    def backend_name(self) -> str:
        """'in_process', or 'python' unless a subclass overrides it."""
    # To implement in subclasses (not callable on InProcessWorld communicators):
    def all_gather(
        self, local: npt.NDArray[np.float64], gathered: npt.NDArray[np.float64]
    ) -> CommHandleLike:
        """Collective: local [n] float64 (read-only) from every rank into gathered
        [num_ranks, n] float64, row r from rank r. All ranks call it in the same order."""
    def broadcast(self, data: npt.NDArray[np.uint8], root: int) -> CommHandleLike:
        """Collective: data [n] uint8 (the same n on every rank) from rank `root`."""
    def exchange(
        self,
        sends: list[Tuple[int, int, npt.NDArray[np.uint8]]],
        recvs: list[Tuple[int, int, npt.NDArray[np.uint8]]],
    ) -> CommHandleLike:
        """Point to point, not collective: sends [(peer, tag, data [n] uint8 read-only)] and
        recvs [(peer, tag, data [n] uint8 writable)], matched by (peer, tag) in posting order;
        messages to oneself are allowed (copy them)."""

class InProcessWorld:
    """Ranks as threads of one process (tests, simulations). Run each rank's Balancer on its
    own thread: the hooks release the GIL while they wait for the other ranks' votes."""

    def __init__(self, num_ranks: int) -> None:
        """Raises Error when num_ranks < 1."""
    @property
    def num_ranks(self) -> int: ...
    def communicator(self, rank_idx: int) -> Communicator:
        """Rank rank_idx's communicator (one per rank; it may outlive the world). Raises Error
        for a rank out of range."""

class ExpertWeightStore:
    """A rank's expert weights: [num_layers, slots_per_rank] live slots and
    [num_staging_areas, slots_per_rank] staging buffers of bytes_per_expert bytes each. Local
    slot i of rank r is global slot r * slots_per_rank + i."""

    @property
    def bytes_per_expert(self) -> int: ...
    @property
    def num_staging_areas(self) -> int: ...
    def slot_bytes(self, layer_idx: int, local_slot_idx: int) -> npt.NDArray[np.uint8]:
        """[bytes_per_expert] uint8 writable view (no copy; it keeps the store alive) of the
        live weights of local slot local_slot_idx of layer layer_idx. Typed access:
        .view(np.float32), torch.from_numpy(...). The balancer overwrites it when it commits
        the layer, inside before_forward. Raises Error out of range."""
    def staging_bytes(self, area_idx: int, local_slot_idx: int) -> npt.NDArray[np.uint8]:
        """[bytes_per_expert] uint8 writable view of a staging buffer."""

class HostWeightStore(ExpertWeightStore):
    """Host-memory store: zero-initialised buffers, each aligned to 64 bytes."""

    def __init__(
        self, num_layers: int, slots_per_rank: int, bytes_per_expert: int, num_staging_areas: int = 2
    ) -> None:
        """Raises Error for non-positive shapes (bytes_per_expert may be 0: placement only).
        num_staging_areas bounds the layers in flight (>= layer_updates_per_iter)."""
    @property
    def num_layers(self) -> int: ...
    @property
    def slots_per_rank(self) -> int: ...
    @property
    def slots(self) -> npt.NDArray[np.uint8]:
        """[num_layers, slots_per_rank, bytes_per_expert] uint8 writable view of every live
        slot (no copy; strided: one 64-byte-aligned row per slot)."""

class HostExpertCopy:
    """A host-memory copy of every logical expert's weights: [num_layers, num_experts] buffers
    of bytes_per_expert bytes (zero-initialised), the source lost experts are restored from
    (Balancer(..., load_expert=copy) with lost_expert_policy 'restore'). Memory: the whole MoE
    part of the model; without that much host memory, pass a load_expert callable that reads
    the checkpoint instead."""

    def __init__(self, num_layers: int, num_experts: int, bytes_per_expert: int) -> None:
        """Raises Error for non-positive layer or expert counts, or a size that overflows."""
    @property
    def num_layers(self) -> int: ...
    @property
    def num_experts(self) -> int: ...
    @property
    def bytes_per_expert(self) -> int: ...
    def expert_bytes(self, layer_idx: int, expert_idx: int) -> npt.NDArray[np.uint8]:
        """[bytes_per_expert] uint8 writable view (no copy) of expert expert_idx of layer
        layer_idx; fill it from the checkpoint. Raises Error naming an index out of range."""
    @property
    def experts(self) -> npt.NDArray[np.uint8]:
        """[num_layers, num_experts, bytes_per_expert] uint8 writable view (no copy,
        contiguous) of every expert."""

class RecorderOptions:
    """The load statistic fed to the planner (see LoadRecorder)."""

    mode: Literal["windowed", "decayed"]
    window_steps: int  # windowed: steps summed; 0 in a BalancerConfig: the collection interval
    decay: float  # decayed: weight of the previous step, in [0, 1]

    def __init__(
        self, mode: Literal["windowed", "decayed"] = "windowed", window_steps: int = 1,
        decay: float = 0.9
    ) -> None: ...

class BalancerConfig:
    """Configuration of the online balancer with vllm-ascend's knob names (C++ names; enums as
    strings; vote_timeout as vote_timeout_ms). Not validated on construction: validate() and
    Balancer raise Error naming the knob ("BalancerConfig: algorithm_execution_interval 0 must
    be >= 1"). Slots per layer = num_experts + num_redundant_experts, split evenly over ranks.
    """

    num_layers: int  # MoE layers
    num_experts: int  # logical experts per layer
    num_ranks: int  # ranks of the expert-parallel group
    num_redundant_experts: int  # extra physical slots per layer
    slots_per_rank: int  # 0: num_slots // num_ranks; else checked against it
    num_nodes: int  # ranks split contiguously over nodes (planner, transfer sources)
    num_groups: int  # expert groups (group-limited routing), for the planner
    policy: PolicyName
    route_policy: RoutePolicyName
    dynamic_eplb: bool  # False: keep the initial placement for ever
    expert_heat_collection_interval: int  # steps of load collection per cycle, >= 1
    algorithm_execution_interval: int  # steps from the gather to the earliest plan take, >= 1
    layer_updates_per_iter: int  # layers whose weights start moving per step, >= 1
    warmup_steps: int  # steps at start-up with no rebalancing
    expert_map_path: str  # vllm-ascend expert map to start from ('' : default placement)
    expert_map_record_path: str  # where the worker writes the placement after each cycle
    min_algorithm_execution_interval: int  # steps the planner needs at least
    recorder: RecorderOptions  # edited in place: config.recorder.window_steps = 50
    transfer_timeout_steps: int  # a layer not moved after this many steps is given up; 0: never
    vote_timeout_ms: int  # bound on the wait for the other ranks' vote (a fatal Error after)
    # Planner watchdog: a plan not ready on every rank by gather step + this many steps is
    # abandoned for the cycle (placement kept, counted in planner_timeouts, event
    # 'plan_timed_out'). 0: no deadline; else >= algorithm_execution_interval.
    planner_timeout_steps: int
    # Balancer.mask_ranks of a rank holding the last live replica of an expert: 'refuse'
    # raises Error naming the experts and changes nothing; 'restore' accepts (the experts'
    # tokens go to slot -1, counted, until a re-plan places them on live ranks with weights
    # from the Balancer's load_expert callback).
    lost_expert_policy: LostExpertPolicyName

    def __init__(
        self,
        *,
        num_layers: int = 0,
        num_experts: int = 0,
        num_ranks: int = 0,
        num_redundant_experts: int = 0,
        slots_per_rank: int = 0,
        num_nodes: int = 1,
        num_groups: int = 1,
        policy: PolicyName = "balanced",
        route_policy: RoutePolicyName = "round_robin",
        dynamic_eplb: bool = True,
        expert_heat_collection_interval: int = 400,
        algorithm_execution_interval: int = 30,
        layer_updates_per_iter: int = 1,
        warmup_steps: int = 0,
        expert_map_path: str = "",
        expert_map_record_path: str = "",
        min_algorithm_execution_interval: int = 1,
        recorder: Optional[RecorderOptions] = None,
        transfer_timeout_steps: int = 1000,
        vote_timeout_ms: int = 60000,
        planner_timeout_steps: int = 0,
        lost_expert_policy: LostExpertPolicyName = "refuse",
    ) -> None:
        """recorder None: RecorderOptions('windowed', 0, 0.9). Raises Error for unknown
        policy / route_policy / recorder mode / lost_expert_policy names."""
    @property
    def num_slots(self) -> int:
        """num_experts + num_redundant_experts."""
    @property
    def resolved_slots_per_rank(self) -> int:
        """num_slots // num_ranks (0 while num_ranks is 0)."""
    def validate(self) -> None:
        """Raises Error naming the knob for every inconsistent setting; reads no file."""
    def initial_placement(self) -> Placement:
        """validate(), then the placement serving starts from: expert_map_path when set (Error
        naming the file on any disagreement), else slot i holds expert i % num_experts."""

BalancerEventKind = Literal[
    "gather_started", "plan_taken", "plan_late", "plan_failed", "plan_timed_out",
    "layer_posted", "layer_committed", "layer_failed", "cycle_ended", "record_written",
    "record_failed",
]

class BalancerEvent:
    """What a hook did; on_event's argument."""

    @property
    def kind(self) -> BalancerEventKind: ...
    @property
    def step(self) -> int:
        """The hook's step."""
    @property
    def in_after_forward(self) -> bool:
        """True: raised in after_forward; False: in before_forward."""
    @property
    def layer_idx(self) -> int:
        """Layer events only; -1 otherwise."""
    @property
    def cycle_idx(self) -> int: ...

class CycleMetricsDict(TypedDict):
    cycle_idx: int  # -1 while no cycle has ended
    gather_step: int
    take_step: int  # -1 if the plan was never taken
    end_step: int
    imbalance_before_mean: float  # max/mean rank load under the gathered loads, deployed
    imbalance_before_max: float
    imbalance_after_mean: float  # the same after the cycle
    imbalance_after_max: float
    layers_changed: int
    layers_committed: int
    layers_failed: int
    moved_experts: int  # slot copies of committed layers, all ranks
    bytes_moved: int  # bytes of remote copies of committed layers, all ranks
    plan_ms: float
    transfer_ms: float
    hook_us_p50: float
    hook_us_p99: float
    hook_us_max: float
    planner_failed: bool
    plan_late: bool
    planner_timed_out: bool  # abandoned at planner_timeout_steps: placement kept

class BalancerMetricsDict(TypedDict):
    steps: int
    cycles: int
    rebalances: int  # cycles that committed at least one layer
    moved_experts: int
    bytes_moved: int
    planner_failures: int
    late_plans: int
    transfer_failures: int  # layers given up
    record_failures: int
    planner_timeouts: int  # cycles whose plan was abandoned by the watchdog
    dropped_tokens: int  # routing entries of this rank's route() sent to slot -1 (lost experts)
    reloaded_experts: int  # experts written through load_expert, all ranks
    masked_ranks: int  # ranks masked now
    lost_experts: int  # (layer, expert) pairs without a live replica now
    hook_us_p50: float  # since construction, within 3%; the maximum exact
    hook_us_p99: float
    hook_us_max: float
    last_cycle: CycleMetricsDict

class Balancer:
    """The online balancer of one rank (include/eplb/runtime/balancer.h).

    Per step: before_forward(step); for each MoE layer: recorder.record_topk(layer, topk_ids)
    and slots = route(layer, topk_ids), run the experts in the store's slots; after_forward(step).
    It gathers loads every expert_heat_collection_interval steps, plans in a background thread,
    and moves weights layer by layer through `comm` into `store`, switching a layer's weights
    and routing together inside before_forward on every rank at the same step.

    Threading: one serving thread per Balancer. The hooks, route() and wait_planner_idle()
    release the GIL; log, on_event, load_expert and a Python Communicator's methods run on the
    serving thread inside the hooks with the GIL taken back. An exception raised by log,
    on_event or load_expert is raised from the hook after the hook has completed. plan_layer,
    if given, is the only Python the planner thread runs (it takes the GIL for each call); its
    failures are logged and counted, never raised from a hook.

    Lost ranks: mask_ranks / unmask_ranks (on every rank at the same step), masked_ranks,
    lost_experts, BalancerConfig.lost_expert_policy and the load_expert callback.
    """

    def __init__(
        self,
        config: BalancerConfig,
        comm: Communicator,
        store: Optional[ExpertWeightStore] = None,
        *,
        log: Optional[Callable[[Literal["info", "warning", "error"], str], None]] = None,
        on_event: Optional[Callable[[BalancerEvent], None]] = None,
        load_expert: Union[
            Callable[[int, int, npt.NDArray[np.uint8]], None], HostExpertCopy, None
        ] = None,
        plan_layer: Union[
            Callable[[int, npt.NDArray[np.float64], npt.NDArray[np.int32]], ArrayLike],
            Callable[[int, npt.NDArray[np.float64], npt.NDArray[np.int32], list[int]], ArrayLike],
            None,
        ] = None,
    ) -> None:
        """Validates config (Error naming the knob), reads expert_map_path, checks comm
        (num_ranks() == config.num_ranks) and store (a HostWeightStore must have num_layers x
        resolved_slots_per_rank slots and >= layer_updates_per_iter staging areas), starts the
        planner thread. store None: placements move, no weights. comm and store are kept alive
        by the balancer.

        load_expert(layer, expert, dst): writes the weights of logical expert `expert` of layer
        `layer` into dst, a writable [bytes_per_expert] uint8 numpy view (no copy) of the
        store's staging buffer of the slot it goes to (e.g. dst[:] = w.view(np.uint8).ravel()).
        Called when a re-plan places an expert whose every replica sits on a masked rank
        (lost_expert_policy 'restore'; required then with a store of bytes_per_expert > 0,
        else Error). Runs on the serving thread inside before_forward with the GIL taken back;
        if it raises, the layer is given up on every rank (old weights and map kept, retried
        next cycle) and the exception is raised from before_forward after the hook completed.
        Keep dst only for the call: the buffer is reused. A callback that references the
        balancer makes a reference cycle the garbage collector cannot break. A HostExpertCopy
        as load_expert is copied from in C++ (no Python call, no GIL); it is kept alive.

        plan_layer(layer, expert_loads, current_phy2log) -> phy2log: a custom planner replacing
        the built-in one, called once per layer with load data in each cycle (a layer without
        any load keeps its row). expert_loads: float64 [num_experts], the loads summed over
        ranks; current_phy2log: int32 [num_slots], the deployed row; both read-only numpy arrays
        of their own (copies: they may be kept). A plan_layer that takes four arguments
        (inspect.signature) is called as plan_layer(layer, expert_loads, current_phy2log,
        masked_ranks), masked_ranks a list of the masked ranks, ascending, to plan around. Returns the new row: any integer array-like
        of shape [num_slots] with ids in [0, num_experts) (converted to int32). Every rank calls
        it with the same arguments and must return the same row (the ranks compare their plans;
        a mismatch is a planner failure). Runs on the planner worker thread, not the serving
        thread, with the GIL taken for the call (it competes with serving for the GIL; the
        hooks release it, so a slow planner never blocks a step, it makes the plan late). Do not
        call the balancer from it. Failures, never raised from a hook: an exception, a result of
        another shape, a non-integer dtype, an id out of range, or a row that leaves an expert
        without a slot on a live rank fail the cycle's plan on every rank: logged at 'error'
        ("cycle C: planning failed, keeping the current placement: planner: layer L:
        plan_layer raised ValueError: ..." or "... plan_layer returned an array of shape (3,),
        expected (12,) = [num_slots]"), counted in metrics()['planner_failures'], event
        'plan_failed'; serving goes on with the current placement and the next cycle plans
        again. Slots of masked ranks keep their expert whatever it returns. Deleting the
        balancer waits for a running call to return (the GIL is released meanwhile); the
        layers after it are not planned. Like load_expert, a plan_layer referencing the balancer
        makes a reference cycle the garbage collector cannot break."""
    def before_forward(self, step: int) -> None:
        """Before forward step `step` (increasing). May take a plan and commit moved layers.
        Raises Error on misuse (out of order) or when a vote fails or times out."""
    def after_forward(self, step: int) -> None:
        """After forward step `step`: closes the recorder's step, starts gathers and votes."""
    @property
    def recorder(self) -> LoadRecorder:
        """The LoadRecorder of the serving traffic (a reference): record_topk / record_counts
        between the hooks; never call end_step() or reset() on it."""
    def route(
        self, layer_idx: int, topk_ids: ArrayLike, *, seed: int = 0, out: Optional[ArrayLike] = None
    ) -> Any:
        """Physical slots [num_tokens, k] int32 for topk_ids [num_tokens, k] logical expert
        ids of layer layer_idx under the committed placement, with config.route_policy and this
        rank as the local rank. int32 C-contiguous ids are read in place, other integer dtypes
        converted; floats, other shapes and k = 0 raise ValueError. A torch input gives a torch
        result; out: C-contiguous int32 [num_tokens, k], written in place and returned."""
    @property
    def placement(self) -> Placement:
        """A copy of the committed placement (all layers); it changes only in before_forward."""
    def replica_table(self, layer_idx: int) -> ReplicaTable:
        """A copy of layer layer_idx's committed replica table."""
    @property
    def config(self) -> BalancerConfig:
        """A copy."""
    @property
    def rank(self) -> int: ...
    @property
    def phase(self) -> Literal["static", "collecting", "planning", "moving"]: ...
    @property
    def cycle_idx(self) -> int:
        """Cycles started so far."""
    def metrics(self) -> BalancerMetricsDict:
        """Running totals, the masked_ranks / lost_experts gauges and the last ended cycle."""
    def mask_ranks(self, ranks: Iterable[int]) -> None:
        """Takes `ranks` out of service (lost or drained), on top of those already masked.

        Call it on EVERY rank with the same ranks between the same two hooks (e.g. right after
        after_forward(t)): the ranks then agree on routing and on every later plan. Masked ranks
        keep calling the hooks (their collectives and transfers still run; they get no tokens).
        Effective at once for route(): no token goes to a slot on a masked rank, an expert's
        tokens are split evenly over its live replicas, and an expert without one (see
        lost_experts) is routed to slot -1, counted in metrics()["dropped_tokens"]. A plan in
        progress is discarded (in-flight layers given up) and the next cycle re-plans over the
        live ranks only (plan's excluded_ranks); it starts as soon as the running one ends.

        Raises Error for a rank out of range ("rank 4 out of range [0, 4)"), when every rank
        would be masked, and, with lost_expert_policy 'refuse', when a masked rank holds the
        last live replica of an expert: the message names them ("layer 0: 4,5; layer 1: 4,5")
        and nothing changes. ValueError naming `ranks` for a non-iterable or non-int item.
        """
    def unmask_ranks(self, ranks: Iterable[int]) -> None:
        """Returns `ranks` to service (same contract as mask_ranks: every rank, same step).
        Their slots must still hold their weights; route() uses them at once and the next
        cycle re-plans over every live rank. Raises Error for a rank out of range."""
    @property
    def masked_ranks(self) -> list[int]:
        """The masked ranks, ascending (a new list)."""
    @property
    def lost_experts(self) -> list[list[int]]:
        """[num_layers] lists of the logical experts without a replica on a live rank,
        ascending (their tokens go to slot -1 until a re-plan restores them)."""
    def prometheus_text(self) -> str:
        """metrics() in Prometheus' text format, labelled rank="<rank>"."""
    def wait_planner_idle(self) -> None:
        """Blocks until the planner thread has no job (tests; never in a serving loop)."""
