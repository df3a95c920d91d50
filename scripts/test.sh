#!/usr/bin/env bash
# Every test: installs what is needed, builds the release preset and runs all unit, property,
# CLI and MPI tests plus a short benchmark smoke run; the Python package's tests (pip install
# into build/venv, pytest); then the C++ tests again under ASan + UBSan, the runtime's threaded
# tests under ThreadSanitizer, and a short libFuzzer run of every parser (scripts/fuzz.sh).
#   EPLB_SKIP_SANITIZERS=1 scripts/test.sh   # release tests only (quick local loop)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_deps.sh
jobs=$(nproc)

cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"
# Benchmarks are measured in full runs (see README); here they only have to run.
build/release/bench/eplb_bench --benchmark_min_time=0.01 --benchmark_filter='.' >/dev/null
build/release/bench/eplb_policy_compare --deployments 5 >/dev/null
build/release/bench/eplb_policy_compare --deployments 5 --hierarchical --slots-per-rank 2 >/dev/null
echo "benchmark smoke run: ok"

scripts/test_python.sh

if [[ "${EPLB_SKIP_SANITIZERS:-0}" != 1 ]]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs"

  cmake --preset tsan >/dev/null
  cmake --build --preset tsan -j "$jobs" --target eplb_runtime_tests
  ctest --preset tsan -j "$jobs" -L runtime

  FUZZ_SECONDS="${FUZZ_SECONDS:-5}" FUZZ_JOBS="$jobs" scripts/fuzz.sh
fi
