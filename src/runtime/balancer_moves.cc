// Balancer moves: posting a layer's transfers into staging, committing it (weights, then
// map) once every rank's transfers completed, or giving it up.
#include <algorithm>
#include <string>

#include "eplb/error.h"
#include "eplb/replica_table.h"
#include "runtime/balancer_impl.h"

namespace eplb {

using runtime::Clock;
using runtime::InFlightLayer;
using runtime::sz;

void Balancer::Impl::post_layers(int64_t step) {
  const size_t bytes = store != nullptr ? store->bytes_per_expert() : 0;
  for (int n = 0; n < config.layer_updates_per_iter; ++n) {
    if (next_layer >= result->layers.size() || free_areas.empty()) return;
    const LayerTransferPlan& plan = result->layers[next_layer];
    InFlightLayer layer;
    layer.plan_idx = next_layer++;
    layer.area_idx = free_areas.back();
    free_areas.pop_back();
    layer.posted_step = step;
    const int l = plan.layer_idx;
    const size_t r = sz(rank);
    if (bytes > 0) {
      for (const int32_t c : plan.locals[r]) {
        const SlotCopy& copy = plan.copies[sz(c)];
        const auto src = store->slot_bytes(l, local_slot(copy.src_slot));
        const auto dst = store->staging_bytes(layer.area_idx, local_slot(copy.dst_slot));
        std::copy(src.begin(), src.end(), dst.begin());
      }
      // Experts whose every old replica is on a masked rank: reloaded by the engine.
      for (const int32_t c : plan.loads[r]) {
        const SlotCopy& copy = plan.copies[sz(c)];
        if (!layer.load_error.empty()) break;
        try {
          if (!callbacks.load_expert) throw Error("no BalancerCallbacks::load_expert");
          callbacks.load_expert(l, copy.expert_idx,
                                store->staging_bytes(layer.area_idx, local_slot(copy.dst_slot)));
        } catch (const std::exception& e) {
          layer.load_error =
              "reloading expert " + std::to_string(copy.expert_idx) + ": " + e.what();
        }
      }
      // Tags are unique per (cycle, layer, destination slot), so a message of a given-up
      // layer can never match a later receive.
      auto tag_of = [&](const SlotCopy& copy) {
        return ((cycle_idx - 1) * config.num_layers + l) * num_slots + copy.dst_slot;
      };
      for (const int32_t c : plan.sends[r]) {
        const SlotCopy& copy = plan.copies[sz(c)];
        layer.sends.push_back(
            SendOp{copy.dst_rank, tag_of(copy), store->slot_bytes(l, local_slot(copy.src_slot))});
      }
      for (const int32_t c : plan.recvs[r]) {
        const SlotCopy& copy = plan.copies[sz(c)];
        layer.recvs.push_back(
            RecvOp{copy.src_rank, tag_of(copy),
                   store->staging_bytes(layer.area_idx, local_slot(copy.dst_slot))});
      }
      if (!layer.sends.empty() || !layer.recvs.empty()) {
        layer.handle = comm.exchange(layer.sends, layer.recvs);
        layer.state = layer.handle->poll();
      }
    }
    if (!any_posted) {
      any_posted = true;
      first_post_time = Clock::now();
    }
    in_flight.push_back(std::move(layer));
    emit(BalancerEventKind::kLayerPosted, step, false, l);
  }
}

void Balancer::Impl::commit_layer(int64_t step, InFlightLayer& layer) {
  const LayerTransferPlan& plan = result->layers[layer.plan_idx];
  const int l = plan.layer_idx;
  layer.handle.reset();
  const size_t bytes = store != nullptr ? store->bytes_per_expert() : 0;
  if (bytes > 0) {
    // Weights first, then the map: a token is never routed to a slot whose weights are stale.
    for (const SlotCopy& copy : plan.copies) {
      if (copy.dst_rank == rank) store->commit_slot(l, local_slot(copy.dst_slot), layer.area_idx);
    }
  }
  const auto planned =
      std::span<const int32_t>(result->phy2log).subspan(sz(l) * sz(num_slots), sz(num_slots));
  std::copy(planned.begin(), planned.end(), placement.layer_phy2log(l).begin());
  if (!result->routing_weight.empty()) {
    const auto row = sz(l) * sz(num_slots);
    std::copy_n(result->routing_weight.begin() + static_cast<ptrdiff_t>(row), num_slots,
                placement.routing_weight.begin() + static_cast<ptrdiff_t>(row));
  }
  rebuild_table(l);
  free_areas.push_back(layer.area_idx);
  committed[sz(l)] = 1;
  ++cycle.layers_committed;
  cycle.moved_experts += static_cast<int64_t>(plan.copies.size());
  cycle.bytes_moved += plan.num_remote_copies() * static_cast<int64_t>(bytes);
  if (bytes > 0) totals.reloaded_experts += plan.num_loads();
  emit(BalancerEventKind::kLayerCommitted, step, false, l);
}

void Balancer::Impl::give_up_layer(int64_t step, InFlightLayer& layer, const std::string& why) {
  const int l = result->layers[layer.plan_idx].layer_idx;
  layer.handle.reset();  // cancels what is still unmatched
  free_areas.push_back(layer.area_idx);
  ++cycle.layers_failed;
  ++totals.transfer_failures;
  log(LogLevel::kWarning, "cycle " + std::to_string(cycle_idx - 1) + ": layer " +
                              std::to_string(l) +
                              " keeps its placement (retried next cycle): " + why);
  emit(BalancerEventKind::kLayerFailed, step, false, l);
}

}  // namespace eplb
