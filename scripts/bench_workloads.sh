#!/usr/bin/env bash
# plan_ms and balance (max/mean rank load, mean and worst over layers) of every policy on the
# public workloads, through the CLI's --json output. Numbers for issue notes:
#   scripts/bench_workloads.sh [WORKLOADS_DIR] > table.md
# WORKLOADS_DIR defaults to ../shared/workloads beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
workloads=${1:-../shared/workloads}
eplb=${EPLB:-build/release/eplb}
[[ -x $eplb ]] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }

# name | load file | extra flags | ranks | slots
configs=(
  "ds-v3 global|synthetic/deepseek-v3-static-s101.npy||32|288"
  "ds-v3 global s102|synthetic/deepseek-v3-static-s102.npy||32|288"
  "ds-v3 4 nodes x 8 groups|synthetic/deepseek-v3-static-s101.npy|--nodes 4 --groups 8|32|288"
  "ds-v3 8 nodes x 8 groups|synthetic/deepseek-v3-static-s101.npy|--nodes 8 --groups 8|32|288"
  "ds-v3 2 slots/rank|synthetic/deepseek-v3-static-s101.npy||144|288"
  "qwen3-235b|synthetic/qwen3-235b-static-s103.npy||16|144"
  "mixtral-8x7b|synthetic/mixtral-8x7b-static-s104.npy||4|12"
  "ds-v3 trace (all steps)|synthetic/deepseek-v3-trace-s105.npy||32|288"
  "qwen3-30b trace (all steps)|synthetic/qwen3-30b-trace-s106.npy||8|144"
)
for task in intent law summary translation; do
  configs+=("esft-v2-lite $task|data/esft-v2-lite-$task.csv||8|72")
done

echo "| workload | ranks | slots | policy | plan_ms | before mean | after mean | after worst |"
echo "|---|---|---|---|---|---|---|---|"
for config in "${configs[@]}"; do
  IFS='|' read -r name file extra ranks slots <<<"$config"
  path=$workloads/$file
  [[ -e $path ]] || path=$file
  for policy in deepseek greedy balanced; do
    # shellcheck disable=SC2086
    json=$("$eplb" plan --load "$path" --ranks "$ranks" --slots "$slots" $extra --policy "$policy" --json)
    python3 - "$name" "$ranks" "$slots" "$policy" "$json" <<'PY'
import json, sys
name, ranks, slots, policy, text = sys.argv[1:]
j = json.loads(text)
print(f"| {name} | {ranks} | {slots} | {policy} | {j['plan_ms']:.3f} | {j['before']['mean']:.4f} "
      f"| {j['after']['mean']:.4f} | {j['after']['max']:.4f} |")
PY
  done
done
