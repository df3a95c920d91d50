// Loads from a TensorRT-LLM expert-statistics directory.
//
// TensorRT-LLM dumps it when EXPERT_STATISTIC_ITER_RANGE=start-stop is set (class
// ExpertStatistic in tensorrt_llm/_torch/expert_statistic.py, fed by the fused-MoE modules under
// tensorrt_llm/_torch/modules/fused_moe/) into $EXPERT_STATISTIC_PATH:
//   meta_info.json         {"num_experts": N, "num_experts_per_token": k}, written by rank 0;
//                          N is the length of every count tensor
//   rank{r}.safetensors    one 1-D tensor per "{iter}_{layer}" key: torch.bincount of the ids
//                          rank r routed in that iteration and MoE layer, minlength N (int64 or
//                          int32); iterations start..stop-1, layer ids the model's (3..60 for
//                          DeepSeek-V3)
// Other files there (rank{r}_raw.safetensors, cooccurrence_rank{r}.safetensors,
// token_selected_experts_rank{r}.safetensors, rank{r}_numtokens.json) are ignored.
//
// As examples/wide_ep/ep_load_balancer/utils.py (load_expert_statistic) and
// generate_eplb_config.py do, the counts of all ranks are summed per key, and a layer's load is
// the sum over the iterations in --window A:B, which means iteration numbers A <= iter < B as in
// the keys (their --iter_start/--iter_stop; default: every dumped iteration). Every layer must
// have a tensor in every dumped iteration. Rows are sorted by layer id.
//
// The counts are per logical expert when EPLB was off, but per physical slot when it was on:
// TensorRT-LLM passes num_slots and the routed slot ids, so meta_info's num_experts is then the
// slot count and nothing in the files tells the two apart. With options.placement given and N
// equal to its num_slots, the counts are taken as per-slot and added to each slot's logical
// expert (phy2log of the layer found by id); with N equal to its num_experts but not its
// num_slots they are per-expert. Without a placement they are taken as per-expert.
#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eplb/error.h"
#include "eplb/file_util.h"
#include "io/json_depth.h"
#include "io/load_formats.h"
#include "io/safetensors.h"

namespace eplb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// (iteration, layer id) of a "{iter}_{layer}" key.
using StatKey = std::pair<int64_t, int>;

template <typename T>
bool parse_int(std::string_view text, T* value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size() && *value >= 0;
}

std::string join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

// meta_info.json's num_experts: the length of every count tensor.
int read_num_values(const std::string& dir) {
  const std::string path = join(dir, "meta_info.json");
  const std::string text = read_file(path);
  check_json_depth(text, path);
  json meta;
  try {
    meta = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + json_reason(e));
  }
  if (!meta.is_object()) throw Error(path + ": expected a JSON object, got " + meta.type_name());
  const auto n = meta.find("num_experts");
  if (n == meta.end()) throw Error(path + ": missing num_experts");
  if (!n->is_number_integer() || n->get<int64_t>() <= 0 || n->get<int64_t>() > INT_MAX) {
    throw Error(path + ": num_experts: " + n->dump() + " is not a positive integer");
  }
  return n->get<int>();
}

// rank{r}.safetensors files, by rank; ranks must run 0..R-1 without gaps.
std::vector<std::string> rank_files(const std::string& dir) {
  std::map<int, std::string> by_rank;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string_view prefix = "rank", suffix = ".safetensors";
    if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) ||
        !name.ends_with(suffix)) {
      continue;
    }
    int rank = -1;
    const std::string_view digits =
        std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;  // rank0_raw.safetensors and the like
    }
    if (!parse_int(digits, &rank)) throw Error(join(dir, name) + ": rank number out of range");
    by_rank[rank] = join(dir, name);
  }
  if (ec) throw Error(dir + ": cannot list: " + ec.message());
  if (by_rank.empty()) throw Error(dir + ": no rank{r}.safetensors files");
  std::vector<std::string> files;
  for (const auto& [rank, path] : by_rank) {
    if (rank != static_cast<int>(files.size())) {
      throw Error(dir + ": rank" + std::to_string(files.size()) +
                  ".safetensors is missing (found " + std::to_string(by_rank.size()) +
                  " rank files up to rank" + std::to_string(by_rank.rbegin()->first) + ")");
    }
    files.push_back(path);
  }
  return files;
}

// Adds one rank file's counts to `sums`, [num_values] per key.
void add_rank_file(const std::string& path, int num_values,
                   std::map<StatKey, std::vector<double>>* sums) {
  const std::string bytes = read_file(path);
  for (const SafetensorsTensor& t : parse_safetensors(bytes, path)) {
    const std::string where = path + ": tensor \"" + t.name + "\"";
    const size_t underscore = t.name.find('_');
    StatKey key{-1, -1};
    if (underscore == std::string::npos ||
        !parse_int(std::string_view(t.name).substr(0, underscore), &key.first) ||
        !parse_int(std::string_view(t.name).substr(underscore + 1), &key.second)) {
      throw Error(where + ": key is not \"{iter}_{layer}\"");
    }
    if (!t.type) throw Error(where + ": dtype " + t.dtype + " is not supported for counts");
    if (t.shape.size() != 1) {
      std::string shape;
      for (int64_t d : t.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
      throw Error(where + ": shape [" + shape + "], expected [" + std::to_string(num_values) +
                  "] (meta_info.json num_experts)");
    }
    if (t.num_elements != static_cast<size_t>(num_values)) {
      throw Error(where + ": " + std::to_string(t.num_elements) + " values, expected " +
                  std::to_string(num_values) + " (meta_info.json num_experts)");
    }
    std::vector<double>& sum = (*sums)[key];
    sum.resize(static_cast<size_t>(num_values), 0.0);
    for (size_t i = 0; i < t.num_elements; ++i) {
      const double value = t.at(i);
      if (!std::isfinite(value) || value < 0) {
        throw Error(where + "[" + std::to_string(i) + "]: count " + number_text(value) +
                    " is not a finite non-negative number");
      }
      sum[i] += value;
    }
  }
}

// Slot counts [num_slots] of layer `layer_id` added to their logical experts in `row`.
void add_slot_counts(const std::vector<double>& slot_counts, const Placement& placement,
                     int layer_id, const std::string& dir, std::span<double> row) {
  const int layer_idx = placement.find_layer(layer_id);
  if (layer_idx < 0) {
    throw Error(dir + ": layer " + std::to_string(layer_id) +
                ": per-slot statistics, but the placement has no layer " +
                std::to_string(layer_id));
  }
  const auto phy2log = placement.layer_phy2log(layer_idx);
  for (size_t s = 0; s < slot_counts.size(); ++s) {
    const int32_t expert = phy2log[s];
    if (expert < 0 || expert >= placement.num_experts) {
      throw Error(dir + ": layer " + std::to_string(layer_id) + ": placement slot " +
                  std::to_string(s) + " holds expert " + std::to_string(expert) +
                  ", out of range [0, " + std::to_string(placement.num_experts) + ")");
    }
    row[static_cast<size_t>(expert)] += slot_counts[s];
  }
}

// Every rank file of `dir` read, summed over ranks and checked complete (every layer in every
// iteration); `placement` (may be null) decides whether the counts are per slot.
struct Collected {
  int num_values = 0;
  bool per_slot = false;
  std::map<StatKey, std::vector<double>> sums;  // summed over ranks
  std::set<int64_t> iters;
  std::set<int> layer_ids;
};

Collected collect(const std::string& dir, const Placement* placement) {
  Collected c;
  c.num_values = read_num_values(dir);
  if (placement != nullptr) {
    c.per_slot = c.num_values == placement->num_slots;
    if (!c.per_slot && c.num_values != placement->num_experts) {
      throw Error(join(dir, "meta_info.json") + ": num_experts " + std::to_string(c.num_values) +
                  " matches neither the placement's " + std::to_string(placement->num_experts) +
                  " experts nor its " + std::to_string(placement->num_slots) + " slots");
    }
  }
  for (const std::string& path : rank_files(dir)) add_rank_file(path, c.num_values, &c.sums);
  if (c.sums.empty()) throw Error(dir + ": the rank files hold no \"{iter}_{layer}\" tensors");
  for (const auto& [key, counts] : c.sums) {
    c.iters.insert(key.first);
    c.layer_ids.insert(key.second);
  }
  for (int64_t iter : c.iters) {
    for (int layer_id : c.layer_ids) {
      if (!c.sums.contains({iter, layer_id})) {
        throw Error(dir + ": no rank file has tensor \"" + std::to_string(iter) + "_" +
                    std::to_string(layer_id) + "\" (iterations " +
                    std::to_string(*c.iters.begin()) + ".." + std::to_string(*c.iters.rbegin()) +
                    ", layers " + std::to_string(*c.layer_ids.begin()) + ".." +
                    std::to_string(*c.layer_ids.rbegin()) + ")");
      }
    }
  }
  return c;
}

// Loads summed over the dumped iterations in [begin, end), rows sorted by layer id.
LoadMatrix sum_iterations(const Collected& c, int64_t begin, int64_t end,
                          const Placement* placement, const std::string& dir) {
  const int num_experts = c.per_slot ? placement->num_experts : c.num_values;
  LoadMatrix m = LoadMatrix::zeros(static_cast<int>(c.layer_ids.size()), num_experts);
  m.layer_ids.assign(c.layer_ids.begin(), c.layer_ids.end());
  std::vector<double> counts(static_cast<size_t>(c.num_values));
  for (int l = 0; l < m.num_layers; ++l) {
    const int layer_id = m.layer_ids[static_cast<size_t>(l)];
    std::fill(counts.begin(), counts.end(), 0.0);
    for (auto it = c.iters.lower_bound(begin); it != c.iters.end() && *it < end; ++it) {
      const std::vector<double>& v = c.sums.at({*it, layer_id});
      for (size_t i = 0; i < counts.size(); ++i) counts[i] += v[i];
    }
    if (c.per_slot) {
      add_slot_counts(counts, *placement, layer_id, dir, m.layer(l));
    } else {
      std::copy(counts.begin(), counts.end(), m.layer(l).begin());
    }
  }
  return m;
}

}  // namespace

LoadMatrix read_trtllm_stats(const std::string& dir, const LoadReadOptions& options) {
  const Collected c = collect(dir, options.placement);
  // --window by iteration number: a range within [first dumped, last dumped + 1).
  const int64_t first_iter = *c.iters.begin(), stop_iter = *c.iters.rbegin() + 1;
  int64_t begin = first_iter, end = stop_iter;
  if (options.window) {
    begin = options.window->begin;
    end = options.window->end.value_or(stop_iter);
    const auto selected = std::distance(c.iters.lower_bound(begin), c.iters.lower_bound(end));
    if (begin < first_iter || end > stop_iter || selected <= 0) {
      throw Error("--window " + index_range_text(*options.window) + ": " + dir +
                  " holds iterations " + std::to_string(first_iter) + ":" +
                  std::to_string(stop_iter) + " (the window counts iteration numbers)");
    }
  }
  return sum_iterations(c, begin, end, options.placement, dir);
}

std::vector<std::pair<int64_t, LoadMatrix>> read_trtllm_stats_iterations(
    const std::string& dir, const Placement* placement) {
  const Collected c = collect(dir, placement);
  std::vector<std::pair<int64_t, LoadMatrix>> out;
  for (const int64_t iter : c.iters) {
    out.emplace_back(iter, sum_iterations(c, iter, iter + 1, placement, dir));
  }
  return out;
}

}  // namespace eplb
