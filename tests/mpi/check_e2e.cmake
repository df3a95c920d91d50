# ctest wrapper of the end-to-end demo: runs E2E_COMMAND (a ;-list: mpiexec, its flags, eplb-e2e
# and its arguments), then requires exit status 0 and a JSON line (the one line of rank 0 that
# starts with '{') with "output_mismatches": 0, "weight_mismatches": 0 and "rebalances" > 0.
#   cmake -DE2E_COMMAND="mpiexec;-n;4;build/eplb-e2e;--steps;60;--json" -P check_e2e.cmake
include(${CMAKE_CURRENT_LIST_DIR}/e2e_json.cmake)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "eplb-e2e exited with status ${status}")
endif()
expect(output_mismatches EQUAL 0)
expect(weight_mismatches EQUAL 0)
expect(rebalances GREATER 0)
json_get(rebalances rebalances)
message("eplb-e2e: ${rebalances} rebalances, no output or weight mismatch")
