#!/usr/bin/env bash
# The Python package's tests: installs the C++ dependencies (Debian packages), builds and
# installs eplb into a virtual environment under build/venv with `pip install .[test]`, then
# runs pytest on python/tests.
#   EPLB_PYTHON_TORCH=1 scripts/test_python.sh   # also install torch (PyPI's wheel brings CUDA
#                                                # libraries: ~3 GB) for the DLPack, gloo
#                                                # (TorchCommunicator) and example tests, which
#                                                # otherwise skip with a reason
#   CMAKE_BUILD_PARALLEL_LEVEL=1 scripts/test_python.sh   # fewer compile jobs (default: nproc)
# Extra arguments go to pytest (e.g. -k routing).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_deps.sh
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

venv=build/venv
pip_user=()
if [[ -x $venv/bin/python ]] || python3 -m venv "$venv" >/dev/null 2>&1; then
  python="$venv/bin/python"
else
  # No venv module (Debian without python3-venv): the user's site-packages instead.
  echo "eplb: python3 -m venv unavailable, installing with pip --user" >&2
  python=python3
  pip_user=(--user)
fi
pip=("$python" -m pip install -q --disable-pip-version-check "${pip_user[@]}")

# Build requirements installed once and reused (no build isolation), so the CMake tree under
# build/python/ is rebuilt incrementally by later runs.
"${pip[@]}" "scikit-build-core>=0.10" "nanobind>=2.0"
if [[ "${EPLB_PYTHON_TORCH:-0}" == 1 ]]; then
  "${pip[@]}" torch
fi
"${pip[@]}" --no-build-isolation ".[test]"

"$python" -m pytest python/tests -q "$@"
