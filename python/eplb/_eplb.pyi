"""Type stubs of the C++ extension eplb._eplb (python/src/*.cc), re-exported by eplb.

Array arguments (``ArrayLike``) are numpy arrays, torch tensors (through DLPack, no copy) or
anything numpy.asarray accepts; they must live in host memory. Inputs that already have the
wanted dtype and C-contiguous layout are read in place; others are converted into a copy
(integers of any width for ids, any real dtype for loads), and floats where ids are expected are
refused. Arrays written in place (``counts=``, ``out=``) must match dtype, shape and
contiguity exactly. Every refusal is a ValueError naming the argument.
"""

import os
from typing import Any, Literal, Optional, Sequence, Tuple, TypedDict, Union

import numpy as np
import numpy.typing as npt

ArrayLike = Any  # numpy.ndarray | torch.Tensor | DLPack-capable array | nested sequence
PathLike = Union[str, "os.PathLike[str]"]
PlacementFormatName = Literal["eplb", "trtllm", "ascend"]
PolicyName = Literal["balanced", "deepseek", "greedy"]
RoutePolicyName = Literal["round_robin", "local_first", "weighted"]
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
) -> Placement:
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
    Returns phy2log [num_layers, num_slots]. The GIL is released.
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
