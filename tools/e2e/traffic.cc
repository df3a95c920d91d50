#include "e2e/traffic.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <numeric>

#include "e2e/hash.h"
#include "eplb/error.h"
#include "io/npy.h"

namespace eplb::e2e {

// The trace's counts, [trace_steps, trace_layers, num_experts] as doubles.
struct SyntheticTraffic::Trace {
  int64_t num_steps = 0;
  int64_t num_layers = 0;
  std::vector<double> counts;
};

SyntheticTraffic::SyntheticTraffic(const TrafficOptions& options) : options_(options) {
  if (!options.trace_path.empty()) {
    std::ifstream in(options.trace_path, std::ios::binary);
    if (!in) {
      throw Error("--trace " + options.trace_path + ": cannot open");
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const NpyArray array = parse_npy(bytes, options.trace_path);
    if (array.shape.size() != 3) {
      throw Error("--trace " + options.trace_path + ": shape " + shape_text(array.shape) +
                  ", expected [steps, layers, experts]");
    }
    trace_ = std::make_unique<Trace>();
    trace_->num_steps = array.shape[0];
    trace_->num_layers = array.shape[1];
    options_.num_experts = static_cast<int>(array.shape[2]);
    if (trace_->num_layers < options.num_layers) {
      throw Error("--trace " + options.trace_path + ": " + std::to_string(trace_->num_layers) +
                  " layers, fewer than --layers " + std::to_string(options.num_layers));
    }
    trace_->counts.resize(array.num_elements);
    for (size_t i = 0; i < array.num_elements; ++i) {
      trace_->counts[i] = array.at(i);
    }
  }
  if (options_.num_layers <= 0 || options_.num_experts <= 0 || options_.tokens_per_rank <= 0) {
    throw Error("traffic: --layers, --experts and --tokens must be positive");
  }
  if (options_.top_k < 1 || options_.top_k > options_.num_experts) {
    throw Error("--topk " + std::to_string(options_.top_k) + " out of range [1, " +
                std::to_string(options_.num_experts) + "]");
  }
  if (options_.drift_every < 1) {
    throw Error("--drift-every " + std::to_string(options_.drift_every) + " must be >= 1");
  }
  if (!(options_.zipf_exponent >= 0) || !std::isfinite(options_.zipf_exponent)) {
    throw Error("--zipf " + std::to_string(options_.zipf_exponent) + " must be finite and >= 0");
  }
}

SyntheticTraffic::~SyntheticTraffic() = default;

void SyntheticTraffic::cumulative_weights(int64_t step, int layer_idx,
                                          std::vector<double>& cdf) const {
  const auto num_experts = static_cast<size_t>(options_.num_experts);
  std::vector<double> weight(num_experts);
  if (trace_) {
    const int64_t t = step % trace_->num_steps;
    const size_t base = (static_cast<size_t>(t) * static_cast<size_t>(trace_->num_layers) +
                         static_cast<size_t>(layer_idx)) *
                        num_experts;
    for (size_t e = 0; e < num_experts; ++e) {
      weight[e] = trace_->counts[base + e] + 1.0;
    }
  } else {
    // Popularity ranks over a permutation drawn per (layer, epoch) (Fisher-Yates).
    const auto epoch = static_cast<uint64_t>(step / options_.drift_every);
    std::vector<int> perm(num_experts);
    std::iota(perm.begin(), perm.end(), 0);
    for (size_t i = num_experts; i > 1; --i) {
      const uint64_t h =
          hash_of({options_.seed, 0x5e7ULL, static_cast<uint64_t>(layer_idx), epoch, i});
      std::swap(perm[i - 1], perm[h % i]);
    }
    for (size_t i = 0; i < num_experts; ++i) {
      weight[static_cast<size_t>(perm[i])] =
          1.0 / std::pow(static_cast<double>(i + 1), options_.zipf_exponent);
    }
  }
  cdf.resize(num_experts);
  std::partial_sum(weight.begin(), weight.end(), cdf.begin());
}

void SyntheticTraffic::route(int64_t step, int layer_idx, int rank_idx, std::span<int32_t> topk_ids,
                             std::span<float> gates) const {
  std::vector<double> cdf;
  cumulative_weights(step, layer_idx, cdf);
  const double total = cdf.back();
  const auto k = static_cast<size_t>(options_.top_k);
  for (size_t t = 0; t < static_cast<size_t>(options_.tokens_per_rank); ++t) {
    float gate_sum = 0.0f;
    for (size_t j = 0; j < k; ++j) {
      int32_t expert_idx = -1;
      // Redraw until distinct from the token's earlier choices (k <= num_experts, and every
      // expert has a positive weight, so this ends; after 64 draws take the first unused one).
      for (uint64_t attempt = 0; expert_idx < 0; ++attempt) {
        int32_t e = 0;
        if (attempt < 64) {
          const double u =
              unit_double(hash_of({options_.seed, 0x70e4ULL, static_cast<uint64_t>(step),
                                   static_cast<uint64_t>(layer_idx),
                                   static_cast<uint64_t>(rank_idx), t, j, attempt})) *
              total;
          e = static_cast<int32_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
          e = std::min(e, options_.num_experts - 1);
        } else {
          e = static_cast<int32_t>(attempt - 64) % options_.num_experts;
        }
        const auto row = topk_ids.subspan(t * k, j);
        if (std::find(row.begin(), row.end(), e) == row.end()) {
          expert_idx = e;
        }
      }
      topk_ids[t * k + j] = expert_idx;
      const float g =
          0.25f + 0.75f * unit_float(hash_of({options_.seed, 0x6a7eULL, static_cast<uint64_t>(step),
                                              static_cast<uint64_t>(layer_idx),
                                              static_cast<uint64_t>(rank_idx), t, j}));
      gates[t * k + j] = g;
      gate_sum += g;
    }
    for (size_t j = 0; j < k; ++j) {
      gates[t * k + j] /= gate_sum;
    }
  }
}

void SyntheticTraffic::embed(int64_t step, int rank_idx, int hidden, std::span<float> x) const {
  const auto h = static_cast<size_t>(hidden);
  for (size_t t = 0; t < static_cast<size_t>(options_.tokens_per_rank); ++t) {
    for (size_t i = 0; i < h; ++i) {
      const float u = unit_float(hash_of({options_.seed, 0xe3bULL, static_cast<uint64_t>(step),
                                          static_cast<uint64_t>(rank_idx), t, i}));
      x[t * h + i] = 2.0f * u - 1.0f;
    }
  }
}

}  // namespace eplb::e2e
