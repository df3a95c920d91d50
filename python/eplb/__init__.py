"""eplb: expert-parallel load balancer for Mixture-of-Experts serving.

Plan a placement of logical experts onto physical slots from recorded expert loads, score its
rank-load balance, read and write the placement files of TensorRT-LLM, vllm-ascend and eplb,
and, on the serving path, record expert loads (LoadRecorder, count_expert_load) and route
tokens to replicas (ReplicaTable, route_tokens). The online runtime: Balancer (recording,
background planning and layer-by-layer weight moves driven from before_forward/after_forward
hooks) with its BalancerConfig, a weight store (HostWeightStore) and a Communicator
(InProcessWorld for threads; a Python subclass such as eplb.torch_comm.TorchCommunicator
across processes), with lost-rank handling (Balancer.mask_ranks / unmask_ranks,
BalancerConfig.lost_expert_policy, the load_expert callback or a HostExpertCopy;
plan(..., excluded_ranks=...) offline). Everything is the C++ core (``eplb._eplb``); arrays
are numpy arrays, or torch tensors through DLPack.

Shapes: loads [num_layers, num_experts]; phy2log [num_layers, num_slots] (slot s lives on
rank s // slots_per_rank); log2phy [num_layers, num_experts, max_replicas] (-1 padded);
replica_count [num_layers, num_experts]; topk_ids [num_tokens, k].

Bad arguments raise ``eplb.Error`` (a ``ValueError``) with the CLI's message.
"""

from ._eplb import (
    Balancer,
    BalancerConfig,
    BalancerEvent,
    Communicator,
    Error,
    ExpertWeightStore,
    HostExpertCopy,
    HostWeightStore,
    InProcessWorld,
    LoadMatrix,
    LoadRecorder,
    Placement,
    RecorderOptions,
    ReplicaTable,
    __version__,
    align_layers,
    build_replica_table,
    check_placement,
    contiguous_rank_loads,
    count_expert_load,
    count_expert_load_decayed,
    count_moved_slots,
    format_placement,
    plan,
    rank_loads,
    read_loads,
    read_placement,
    report,
    route_tokens,
    validate_placement,
    write_placement,
)
from .comm import CommHandle, CompletedHandle

__all__ = [
    "Balancer",
    "BalancerConfig",
    "BalancerEvent",
    "CommHandle",
    "Communicator",
    "CompletedHandle",
    "Error",
    "ExpertWeightStore",
    "HostExpertCopy",
    "HostWeightStore",
    "InProcessWorld",
    "LoadMatrix",
    "LoadRecorder",
    "Placement",
    "RecorderOptions",
    "ReplicaTable",
    "__version__",
    "align_layers",
    "build_replica_table",
    "check_placement",
    "contiguous_rank_loads",
    "count_expert_load",
    "count_expert_load_decayed",
    "count_moved_slots",
    "format_placement",
    "plan",
    "rank_loads",
    "read_loads",
    "read_placement",
    "report",
    "route_tokens",
    "validate_placement",
    "write_placement",
]
