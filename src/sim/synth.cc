#include "eplb/sim/synth.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "eplb/error.h"

namespace eplb::sim {
namespace {

// splitmix64: small, fast, and the same on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {  // Box-Muller, one value per call
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t state_;
};

// Binomial(n, p): inversion for small means, a rounded normal approximation otherwise.
int64_t binomial(Rng& rng, int64_t n, double p) {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const double mean = static_cast<double>(n) * p;
  if (mean < 30) {
    const double q = 1 - p;
    double prob = std::pow(q, static_cast<double>(n));
    double cdf = prob;
    const double u = rng.uniform();
    int64_t k = 0;
    while (u > cdf && k < n) {
      prob *= (static_cast<double>(n - k) / static_cast<double>(k + 1)) * (p / q);
      cdf += prob;
      ++k;
      if (prob < 1e-300 && k > mean) break;
    }
    return k;
  }
  const double sd = std::sqrt(mean * (1 - p));
  const auto k = static_cast<int64_t>(std::llround(mean + sd * rng.normal()));
  return std::clamp<int64_t>(k, 0, n);
}

void shuffle(Rng& rng, std::vector<int>& v) {
  for (size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[static_cast<size_t>(rng.below(static_cast<int>(i)))]);
}

// Caps every probability at `cap` and renormalises the rest (water-filling).
void cap_probabilities(std::vector<double>& p, double cap) {
  for (int iter = 0; iter < 64; ++iter) {
    double capped_mass = 0, free_mass = 0;
    for (double v : p) (v >= cap ? capped_mass : free_mass) += (v >= cap ? cap : v);
    bool changed = false;
    const double scale = free_mass > 0 ? (1 - capped_mass) / free_mass : 1;
    for (double& v : p) {
      if (v >= cap) {
        if (v != cap) changed = true;
        v = cap;
      } else {
        v *= scale;
        if (v > cap) changed = true;
      }
    }
    if (!changed) return;
  }
}

}  // namespace

void validate_synth_options(const SynthOptions& o) {
  auto need = [](bool ok, const std::string& message) {
    if (!ok) throw Error(message);
  };
  need(o.num_steps > 0, "--steps " + std::to_string(o.num_steps) + " must be > 0");
  need(o.num_layers > 0, "--layers " + std::to_string(o.num_layers) + " must be > 0");
  need(o.num_experts > 0, "--experts " + std::to_string(o.num_experts) + " must be > 0");
  need(o.top_k > 0 && o.top_k <= o.num_experts, "--top-k " + std::to_string(o.top_k) +
                                                    " must be in [1, --experts " +
                                                    std::to_string(o.num_experts) + "]");
  need(o.tokens >= 0, "--tokens " + std::to_string(o.tokens) + " must be >= 0");
  need(std::isfinite(o.skew) && o.skew >= 0, "--skew must be finite and >= 0");
  need(o.num_groups > 0 && o.num_experts % o.num_groups == 0,
       "--groups " + std::to_string(o.num_groups) + " must divide --experts " +
           std::to_string(o.num_experts));
  need(std::isfinite(o.drift) && o.drift >= 0, "--drift must be finite and >= 0");
  need(o.regime_every >= 0, "--regime-every " + std::to_string(o.regime_every) + " must be >= 0");
  need(static_cast<int64_t>(o.num_steps) * o.num_layers * o.num_experts <= (int64_t{1} << 31),
       "--steps x --layers x --experts exceeds 2^31 values");
}

std::vector<int64_t> synth_trace(const SynthOptions& o) {
  validate_synth_options(o);
  const int num_experts = o.num_experts;
  const int per_group = num_experts / o.num_groups;
  std::vector<int64_t> out(static_cast<size_t>(o.num_steps) * o.num_layers * num_experts);
  std::vector<double> base(static_cast<size_t>(num_experts));  // zipf weights of the regime
  std::vector<double> x(static_cast<size_t>(num_experts));     // drift state
  std::vector<double> p(static_cast<size_t>(num_experts));
  std::vector<int> perm;
  for (int l = 0; l < o.num_layers; ++l) {
    // One stream per layer: layers can be generated independently of each other.
    Rng rng(o.seed * 0x100000001b3ULL + static_cast<uint64_t>(l) * 0x9e3779b97f4a7c15ULL + 1);
    for (int t = 0; t < o.num_steps; ++t) {
      if (t == 0 || (o.regime_every > 0 && t % o.regime_every == 0)) {
        perm.resize(static_cast<size_t>(o.num_groups));
        std::iota(perm.begin(), perm.end(), 0);
        shuffle(rng, perm);
        std::vector<double> group_w(static_cast<size_t>(o.num_groups), 1.0);
        if (o.num_groups > 1) {
          for (int g = 0; g < o.num_groups; ++g) {
            group_w[static_cast<size_t>(g)] = std::pow(perm[static_cast<size_t>(g)] + 1.0, -o.skew);
          }
        }
        perm.resize(static_cast<size_t>(per_group));
        for (int g = 0; g < o.num_groups; ++g) {
          std::iota(perm.begin(), perm.end(), 0);
          shuffle(rng, perm);
          for (int i = 0; i < per_group; ++i) {
            base[static_cast<size_t>(g * per_group + i)] =
                group_w[static_cast<size_t>(g)] *
                std::pow(perm[static_cast<size_t>(i)] + 1.0, -o.skew);
          }
        }
        std::fill(x.begin(), x.end(), 0.0);
      } else if (o.drift > 0) {
        for (double& v : x) v += o.drift * rng.normal();
      }
      double sum = 0;
      for (int e = 0; e < num_experts; ++e) {
        p[static_cast<size_t>(e)] =
            base[static_cast<size_t>(e)] * std::exp(x[static_cast<size_t>(e)]);
        sum += p[static_cast<size_t>(e)];
      }
      for (double& v : p) v /= sum;
      cap_probabilities(p, 1.0 / o.top_k);
      // Multinomial by conditional binomials.
      int64_t left = o.tokens * o.top_k;
      double mass_left = 1.0;
      int64_t* row = out.data() + (static_cast<size_t>(t) * o.num_layers + l) * num_experts;
      for (int e = 0; e < num_experts; ++e) {
        const double pe = p[static_cast<size_t>(e)];
        const int64_t c =
            e + 1 == num_experts
                ? left
                : binomial(rng, left, std::min(1.0, pe / std::max(mass_left, 1e-300)));
        row[e] = std::min(c, o.tokens);
        left -= c;
        mass_left -= pe;
      }
    }
  }
  return out;
}

}  // namespace eplb::sim
