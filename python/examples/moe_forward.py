"""eplb in a PyTorch MoE layer's forward loop: expert parallelism over CPU processes (gloo).

Every process is one expert-parallel rank holding `slots_per_rank` physical expert slots; slot s
lives on rank s // slots_per_rank and holds the weights of logical expert phy2log[s]. Each step:

  1. the router picks top-k logical experts per token: topk_ids [num_tokens, k];
  2. eplb.count_expert_load(topk_ids, num_experts, counts) adds them to this rank's load
     counts (a torch int64 tensor, written in place through DLPack: no copy);
  3. eplb.route_tokens(topk_ids, table, "local_first", local_rank=rank) rewrites the logical
     ids to physical slots, spreading a replicated expert's tokens over its replicas and
     keeping a token on its own rank when that rank holds a replica;
  4. tokens are dispatched to the ranks of their slots, each rank runs its slots' experts, and
     the weighted outputs are combined (an all_gather / all_reduce pair: gloo has no
     all_to_all; a GPU engine would use NCCL's or DeepEP's);
  5. every `rebalance_every` steps the counts are summed over ranks (all_reduce), every rank
     plans the same new placement with eplb.plan(..., current=placement) (planning is
     deterministic), moves the changed slots' weights and rebuilds its replica tables.

The layer's output is checked against a dense computation every step: replicas hold identical
weights, so routing never changes the result, only which rank does the work. The script prints
the tokens each rank received before and after rebalancing (max/mean, as `eplb report` does).

This is the offline-plan + routing path of the Python API. The online runtime (eplb.Balancer:
recording, background planning and layer-by-layer weight transfers between the processes,
driven from before_forward/after_forward hooks) is shown by moe_balancer.py. Here weight
"moves" copy from a full replica of the logical experts that every process keeps, which a real
deployment would not have.

Run:  python python/examples/moe_forward.py [--ranks 4] [--steps 30] [--rebalance-every 10]
Needs: pip install torch (CPU is enough) and the eplb package (pip install .).
"""

import argparse
import os
import tempfile

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import eplb


class MoELayer(torch.nn.Module):
    """A top-k MoE layer whose experts live in physical slots spread over ranks."""

    def __init__(self, args, rank: int):
        super().__init__()
        self.args, self.rank = args, rank
        self.num_slots = args.ranks * args.slots_per_rank
        gen = torch.Generator().manual_seed(0)  # identical weights on every rank
        dim, num_experts = args.dim, args.experts
        self.gate = torch.randn(dim, num_experts, generator=gen) / dim**0.5
        # A skewed router: the first experts are hot, as in real traffic.
        self.gate_bias = torch.linspace(2.0, 0.0, num_experts)
        # Every logical expert's weights ([num_experts, dim, dim]); see the module docstring.
        self.logical_weights = torch.randn(num_experts, dim, dim, generator=gen) / dim**0.5
        self.set_placement(eplb.Placement.contiguous(1, num_experts, args.ranks, self.num_slots))

    def set_placement(self, placement: eplb.Placement) -> int:
        """Switches to `placement`: copies the weights of changed local slots, rebuilds the
        replica table. Returns the number of local slots whose expert changed."""
        old = getattr(self, "placement", None)
        begin = self.rank * self.args.slots_per_rank
        local = placement.phy2log[0, begin : begin + self.args.slots_per_rank]
        moved = len(local) if old is None else int(
            (old.phy2log[0, begin : begin + len(local)] != local).sum())
        # The local slots' weights [slots_per_rank, dim, dim].
        self.slot_weights = self.logical_weights[torch.from_numpy(local.astype(np.int64))].clone()
        self.placement, self.table = placement, placement.replica_table(0)
        return moved

    def route(self, x: torch.Tensor, counts: torch.Tensor):
        """x [num_tokens, dim] -> topk_ids, topk_weight [num_tokens, k] and topk_slots."""
        scores = torch.softmax(x @ self.gate + self.gate_bias, dim=-1)
        topk_weight, topk_ids = torch.topk(scores, self.args.k, dim=-1)  # int64 ids
        eplb.count_expert_load(topk_ids, self.args.experts, counts)  # in place, no copy
        topk_slots = eplb.route_tokens(topk_ids.to(torch.int32), self.table,
                                       policy="local_first", local_rank=self.rank)
        return topk_ids, topk_weight, topk_slots

    def forward(self, x: torch.Tensor, counts: torch.Tensor):
        """Expert-parallel forward of this rank's tokens x [num_tokens, dim]. Returns the
        output [num_tokens, dim], the dense reference output, and [num_ranks] tokens each rank
        received in this step."""
        world, spr = self.args.ranks, self.args.slots_per_rank
        topk_ids, topk_weight, topk_slots = self.route(x, counts)
        # Dispatch: every rank sees every rank's tokens and picks those routed to its slots.
        gathered = [[torch.empty_like(t) for _ in range(world)]
                    for t in (x, topk_weight, topk_slots)]
        dist.all_gather(gathered[0], x)
        dist.all_gather(gathered[1], topk_weight)
        dist.all_gather(gathered[2], topk_slots)
        all_x, all_w, all_slots = (torch.cat(g) for g in gathered)
        out = torch.zeros_like(all_x)
        for local_idx in range(spr):
            token_idx, k_idx = torch.nonzero(all_slots == self.rank * spr + local_idx,
                                             as_tuple=True)
            if len(token_idx):
                y = all_x[token_idx] @ self.slot_weights[local_idx]
                out.index_add_(0, token_idx, y * all_w[token_idx, k_idx, None])
        dist.all_reduce(out)  # combine: every token's k expert outputs
        n = x.shape[0]
        mine = out[self.rank * n : (self.rank + 1) * n]
        # Dense reference: the same top-k experts, computed from the logical weights.
        dense = torch.einsum("nd,nkde,nk->ne", x, self.logical_weights[topk_ids], topk_weight)
        received = torch.bincount(all_slots.flatten().long() // spr, minlength=world)
        return mine, dense, received


def run(rank: int, args, init_file: str):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=args.ranks)
    torch.manual_seed(1000 + rank)
    layer = MoELayer(args, rank)
    counts = torch.zeros(args.experts, dtype=torch.int64)  # this rank's loads since the last plan
    window = []  # per-step tokens received by each rank
    for step in range(args.steps):
        x = torch.randn(args.tokens, args.dim)
        y, dense, received = layer(x, counts)
        torch.testing.assert_close(y, dense, rtol=1e-4, atol=1e-4)
        window.append(received)
        if (step + 1) % args.rebalance_every == 0:
            loads = counts.clone()
            dist.all_reduce(loads)  # the same [num_experts] on every rank
            placement = eplb.plan(loads[None].numpy(), num_ranks=args.ranks,
                                  num_slots=layer.num_slots, policy=args.policy,
                                  current=layer.placement)
            before = eplb.report(loads[None].numpy(), layer.placement)["average"]["peak_to_avg"]
            after = eplb.report(loads[None].numpy(), placement)["average"]["peak_to_avg"]
            moved = torch.tensor([layer.set_placement(placement)])
            dist.all_reduce(moved)
            tokens = torch.stack(window).sum(0).double()
            if rank == 0:
                print(f"step {step + 1}: measured tokens per rank {tokens.long().tolist()} "
                      f"(max/mean {float(tokens.max() / tokens.mean()):.3f}); "
                      f"rebalanced: planned max/mean {before:.3f} -> {after:.3f}, "
                      f"{int(moved)} slots moved; phy2log {placement.phy2log[0].tolist()}",
                      flush=True)
            counts.zero_()
            window = []
    if window and rank == 0:
        tokens = torch.stack(window).sum(0).double()
        print(f"end: measured tokens per rank {tokens.long().tolist()} "
              f"(max/mean {float(tokens.max() / tokens.mean()):.3f})", flush=True)
    if rank == 0:
        print("ok: expert-parallel outputs match the dense reference on every step", flush=True)
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranks", type=int, default=4, help="processes (expert-parallel ranks)")
    parser.add_argument("--experts", type=int, default=8, help="logical experts")
    parser.add_argument("--slots-per-rank", type=int, default=3, help="physical slots per rank")
    parser.add_argument("--k", type=int, default=2, help="experts per token")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=256, help="tokens per rank per step")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rebalance-every", type=int, default=10)
    parser.add_argument("--policy", default="balanced", choices=["balanced", "deepseek", "greedy"])
    args = parser.parse_args()
    if args.ranks * args.slots_per_rank < args.experts:
        parser.error("--ranks * --slots-per-rank must be >= --experts")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(run, args=(args, os.path.join(tmp, "init")), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
