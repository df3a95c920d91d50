#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang in build/fuzz and runs each for FUZZ_SECONDS
# (default 10), seeded from the fixtures in tests/data. Needs clang-14 and libclang-rt-14-dev
# (scripts/install_deps.sh). Usage: scripts/fuzz.sh [target...]   (default: all eight)
# A crash leaves its input as build/fuzz/crash-* and fails the script.
# Extra libFuzzer flags go in FUZZ_FLAGS; the one-off long run was
#   FUZZ_SECONDS=1800 FUZZ_FLAGS=-runs=1000000 scripts/fuzz.sh   (stops at whichever comes first)
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/fuzz
seconds=${FUZZ_SECONDS:-10}
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(csv_loads npy sglang_json safetensors trtllm_stats eplb_json ascend_json trtllm_yaml)
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${CXX:-clang++-14}" -DEPLB_BUILD_FUZZERS=ON -DEPLB_BUILD_TESTS=OFF \
  -DEPLB_BUILD_BENCHMARKS=OFF -DEPLB_BUILD_CLI=OFF -DEPLB_WITH_CUDA=OFF -DEPLB_WITH_MPI=OFF >/dev/null
cmake --build "$build" -j"${FUZZ_JOBS:-2}" --target "${targets[@]/#/fuzz_}"

# Seeds: links to the fixtures (the statistics reader's input is meta_info.json, NUL, rank0).
seeds=$build/seeds
link_seeds() {  # name files...
  local dir=$seeds/$1
  shift
  rm -rf "$dir" && mkdir -p "$dir"
  for f in "$@"; do ln -s "$PWD/$f" "$dir/${f//\//_}"; done
}
link_seeds csv_loads tests/data/loads/*.csv tests/data/cli/*.csv
link_seeds npy tests/data/loads/*.npy
link_seeds sglang_json tests/data/loads/sglang_*.json
link_seeds safetensors tests/data/loads/*/*.safetensors
link_seeds eplb_json tests/data/placements/toy_eplb.json
link_seeds ascend_json tests/data/placements/toy_ascend*.json
link_seeds trtllm_yaml tests/data/placements/*.yaml
rm -rf "$seeds/trtllm_stats" && mkdir -p "$seeds/trtllm_stats"
for d in tests/data/loads/trtllm_*/; do
  { cat "$d/meta_info.json"; printf '\0'; cat "$d/rank0.safetensors"; } \
    >"$seeds/trtllm_stats/$(basename "$d")"
done

status=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  mkdir -p "$corpus"
  echo "== fuzz_$t (${seconds}s)" >&2
  # -rss_limit_mb: a parser that allocates what a hostile header claims is a finding.
  if ! (cd "$build" && "./fuzz/fuzz_$t" "corpus/$t" "seeds/$t" -max_total_time="$seconds" \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
        ${FUZZ_FLAGS:-}); then
    echo "fuzz_$t: FAILED (see build/fuzz/crash-* / oom-* / timeout-*)" >&2
    status=1
  fi
done
exit $status
