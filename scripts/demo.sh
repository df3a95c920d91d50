#!/usr/bin/env bash
# The main job on the bundled default data: install, build, then report the imbalance of the
# default deployment and plan a balanced placement (before/after table).
#   DeepSeek-V3-like loads, 58 layers x 256 experts -> 288 slots on 32 ranks (8 + 1 per rank).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target eplb

eplb=build/release/eplb
out=build/demo
mkdir -p "$out"
echo
echo "== Imbalance of the default deployment (256 experts contiguous on 32 ranks), last rows:"
"$eplb" report --load data/deepseek-v3-static.npy --ranks 32 | tail -n 4
echo
echo "== Balanced placement with 32 redundant slots (TensorRT-LLM YAML and eplb JSON):"
"$eplb" plan --load data/deepseek-v3-static.npy --ranks 32 --slots 288 --out "$out/placement.yaml"
"$eplb" plan --load data/deepseek-v3-static.npy --ranks 32 --slots 288 --out "$out/placement.json" \
  --policy deepseek --json | sed 's/^/deepseek policy, for comparison: /'
"$eplb" validate "$out/placement.yaml" --ranks 32 --experts 256
