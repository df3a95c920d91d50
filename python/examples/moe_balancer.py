"""eplb's online Balancer in a PyTorch MoE model's forward loop, across CPU processes (gloo).

Every process is one expert-parallel rank holding `slots_per_rank` physical expert slots per
MoE layer; slot s lives on rank s // slots_per_rank. The expert weights live in an
eplb.HostWeightStore (each slot is a [dim, dim] float32 matrix seen through a zero-copy torch
view of the store's bytes), initially the default placement (slot s holds expert
s % num_experts). Each step:

  balancer.before_forward(step)                 # may switch moved layers' weights + routing
  for every MoE layer:
    topk_ids = router(x)                        # [num_tokens, k] logical experts
    balancer.recorder.record_topk(layer, ids)   # live loads, read in place (DLPack)
    topk_slots = balancer.route(layer, ids)     # [num_tokens, k] physical slots
    dispatch tokens to the slots' ranks, run the experts from the store, combine
  balancer.after_forward(step)                  # closes the step, gathers loads, votes

The balancer gathers the ranks' loads every --collect steps, plans a new placement in a
background thread, and moves the changed slots' weights between the processes through
eplb.torch_comm.TorchCommunicator (gloo isend/irecv on a process group of its own), one layer
per step; every rank switches a layer at the same step. Every output is checked against a
reference computed without expert parallelism (each token's top-k experts from the logical
weights): if a moved slot held the wrong bytes, or routing and weights switched at different
steps, the check fails. Rank 0 prints the balancer's events and the tokens each rank received
per window of steps (max/mean, as `eplb report` does), before and after rebalancing.

Run:  python python/examples/moe_balancer.py [--ranks 4] [--steps 40] [--collect 8]
Needs: pip install torch (CPU is enough) and the eplb package (pip install .).
"""

import argparse
import os
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import eplb
from eplb.torch_comm import TorchCommunicator


class MoEModel:
    """`layers` top-k MoE layers whose experts live in this rank's weight store."""

    def __init__(self, args, balancer: eplb.Balancer, store: eplb.HostWeightStore):
        self.args, self.balancer, self.store = args, balancer, store
        self.rank = balancer.rank
        gen = torch.Generator().manual_seed(0)  # the same model on every rank
        dim, experts = args.dim, args.experts
        self.gates = [torch.randn(dim, experts, generator=gen) / dim**0.5
                      for _ in range(args.layers)]
        # A skewed router (the first experts are hot, as in real traffic), hotter by layer.
        self.biases = [torch.linspace(1.5 + layer, 0.0, experts) for layer in range(args.layers)]
        # Every logical expert's weights [layers, experts, dim, dim]: the reference only. The
        # expert-parallel path reads the store, filled here for the initial placement only.
        self.logical = torch.randn(args.layers, experts, dim, dim, generator=gen) / dim**0.5
        phy2log = balancer.placement.phy2log
        for layer in range(args.layers):
            for i in range(args.slots_per_rank):
                expert = int(phy2log[layer, self.rank * args.slots_per_rank + i])
                self.slot_weights(layer, i).copy_(self.logical[layer, expert])

    def slot_weights(self, layer: int, local_slot: int) -> torch.Tensor:
        """[dim, dim] float32 view of a slot's bytes in the store (no copy)."""
        raw = torch.from_numpy(self.store.slot_bytes(layer, local_slot))
        return raw.view(torch.float32).view(self.args.dim, self.args.dim)

    def moe_layer(self, layer: int, x: torch.Tensor, received: torch.Tensor) -> torch.Tensor:
        """x [num_tokens, dim] -> [num_tokens, dim], checked against the dense reference;
        adds the tokens each rank's slots received to received [num_ranks]."""
        args, spr = self.args, self.args.slots_per_rank
        scores = torch.softmax(x @ self.gates[layer] + self.biases[layer], dim=-1)
        topk_weight, topk_ids = torch.topk(scores, args.k, dim=-1)  # int64 [num_tokens, k]
        self.balancer.recorder.record_topk(layer, topk_ids)  # read in place
        topk_slots = self.balancer.route(layer, topk_ids)  # torch int32 [num_tokens, k]
        # Dispatch: every rank sees every rank's tokens and picks those routed to its slots
        # (gloo has no all_to_all; a GPU engine would use NCCL's or DeepEP's).
        gathered = [[torch.empty_like(t) for _ in range(args.ranks)]
                    for t in (x, topk_weight, topk_slots)]
        dist.all_gather(gathered[0], x)
        dist.all_gather(gathered[1], topk_weight)
        dist.all_gather(gathered[2], topk_slots)
        all_x, all_w, all_slots = (torch.cat(g) for g in gathered)
        out = torch.zeros_like(all_x)
        for i in range(spr):
            token_idx, k_idx = torch.nonzero(all_slots == self.rank * spr + i, as_tuple=True)
            if len(token_idx):
                y = all_x[token_idx] @ self.slot_weights(layer, i)
                out.index_add_(0, token_idx, y * all_w[token_idx, k_idx, None])
        dist.all_reduce(out)  # combine every token's k expert outputs
        n = x.shape[0]
        mine = out[self.rank * n:(self.rank + 1) * n]
        dense = torch.einsum("nd,nkde,nk->ne", x, self.logical[layer][topk_ids], topk_weight)
        torch.testing.assert_close(mine, dense, rtol=1e-4, atol=1e-4)
        received += torch.bincount(all_slots.flatten().long() // spr, minlength=args.ranks)
        return mine


def run(rank: int, args, init_file: str):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=args.ranks)
    torch.set_num_threads(1)
    num_slots = args.ranks * args.slots_per_rank
    config = eplb.BalancerConfig(
        num_layers=args.layers, num_experts=args.experts, num_ranks=args.ranks,
        num_redundant_experts=num_slots - args.experts, route_policy="local_first",
        expert_heat_collection_interval=args.collect, algorithm_execution_interval=2,
        layer_updates_per_iter=1)
    store = eplb.HostWeightStore(args.layers, args.slots_per_rank, args.dim * args.dim * 4)
    log = []  # rank 0 prints the events after each step (not from inside the hook)
    comm = TorchCommunicator(dist.new_group(backend="gloo"))  # the balancer's own group
    balancer = eplb.Balancer(
        config, comm, store, log=lambda level, message: log.append(f"[{level}] {message}"),
        on_event=lambda e: log.append(f"step {e.step}: {e.kind}" +
                                      (f" layer {e.layer_idx}" if e.layer_idx >= 0 else "")))
    model = MoEModel(args, balancer, store)
    torch.manual_seed(1000 + rank)
    received = torch.zeros(args.ranks, dtype=torch.int64)
    for step in range(args.steps):
        balancer.before_forward(step)
        x = torch.randn(args.tokens, args.dim)
        for layer in range(args.layers):
            x = torch.tanh(model.moe_layer(layer, x, received))
        balancer.after_forward(step)
        if rank == 0:
            for line in log:
                print(line, flush=True)
        log.clear()
        if (step + 1) % args.collect == 0:
            total = received.double()
            if rank == 0:
                print(f"steps {step + 1 - args.collect}-{step}: tokens per rank "
                      f"{received.tolist()} (max/mean {float(total.max() / total.mean()):.3f}); "
                      f"phy2log[0] {balancer.placement.phy2log[0].tolist()}", flush=True)
            received.zero_()
    metrics = balancer.metrics()
    if rank == 0:
        cycle = metrics["last_cycle"]
        print(f"balancer: {metrics['cycles']} cycles, {metrics['rebalances']} rebalances, "
              f"{metrics['moved_experts']} experts moved ({metrics['bytes_moved']} bytes between "
              f"ranks); last cycle planned max/mean {cycle['imbalance_before_mean']:.3f} -> "
              f"{cycle['imbalance_after_mean']:.3f}; hook p50 {metrics['hook_us_p50']:.0f} us",
              flush=True)
        if metrics["rebalances"] > 0:
            print("ok: outputs match the reference without expert parallelism on every step, "
                  "before and after rebalancing", flush=True)
    del balancer  # before the process group goes away
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ranks", type=int, default=4, help="processes (expert-parallel ranks)")
    parser.add_argument("--layers", type=int, default=2, help="MoE layers")
    parser.add_argument("--experts", type=int, default=8, help="logical experts per layer")
    parser.add_argument("--slots-per-rank", type=int, default=3, help="physical slots per rank")
    parser.add_argument("--k", type=int, default=2, help="experts per token")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=128, help="tokens per rank per step")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--collect", type=int, default=8,
                        help="steps of load collection per rebalancing cycle")
    args = parser.parse_args()
    if args.ranks * args.slots_per_rank < args.experts:
        parser.error("--ranks * --slots-per-rank must be >= --experts")
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(run, args=(args, os.path.join(tmp, "init")), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
