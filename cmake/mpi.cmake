# The optional MPI edge of eplb: library eplb_mpi (src/mpi/*.cc, API eplb/mpi_comm.h), the
# end-to-end demo eplb-e2e (tools/e2e/*.cc) and the MPI tests, run under mpiexec with 4 ranks:
#   mpi.eplb_mpi_tests  GoogleTest suite tests/mpi/*.cc (backend: collectives, exchange, faults)
#   mpi.e2e             eplb-e2e --steps 60 --json, checked by tests/mpi/check_e2e.cmake
#   mpi.e2e_fail_rank*  the same with --fail-rank (tests/mpi/check_e2e_fail_rank.cmake)
# Included by the top-level CMakeLists.txt after eplb_lib is defined. The core never depends on
# it: without an MPI installation (Debian: libopenmpi-dev openmpi-bin), or with
# -DEPLB_WITH_MPI=OFF, nothing here is built.
get_filename_component(eplb_root ${CMAKE_CURRENT_LIST_DIR} DIRECTORY)
set(MPI_CXX_SKIP_MPICXX ON)  # the C API only; the deprecated C++ bindings are not used
find_package(MPI COMPONENTS CXX QUIET)
option(EPLB_WITH_MPI
       "Build the MPI backend, eplb-e2e and the MPI tests; default ON when MPI is found"
       ${MPI_CXX_FOUND})
if(NOT EPLB_WITH_MPI)
  message(STATUS "eplb: MPI backend off (EPLB_WITH_MPI=OFF or no MPI found)")
  return()
endif()
if(NOT MPI_CXX_FOUND)
  message(FATAL_ERROR "EPLB_WITH_MPI=ON but no MPI was found "
                      "(Debian: apt-get install libopenmpi-dev openmpi-bin)")
endif()
message(STATUS "eplb: MPI backend on (${MPIEXEC_EXECUTABLE})")

file(GLOB eplb_mpi_sources CONFIGURE_DEPENDS ${eplb_root}/src/mpi/*.cc)
add_library(eplb_mpi STATIC ${eplb_mpi_sources})
add_library(eplb::mpi ALIAS eplb_mpi)
target_include_directories(eplb_mpi
  PUBLIC $<BUILD_INTERFACE:${eplb_root}/include> $<INSTALL_INTERFACE:include>
  PRIVATE ${eplb_root}/src)
# eplb/mpi_comm.h does not include <mpi.h>: MPI is a private (link-only) dependency.
target_link_libraries(eplb_mpi PUBLIC eplb_lib PRIVATE MPI::MPI_CXX $<BUILD_INTERFACE:eplb_flags>)
set_target_properties(eplb_mpi PROPERTIES POSITION_INDEPENDENT_CODE ON EXPORT_NAME mpi)
# Installed as eplb::mpi (eplbConfig.cmake finds MPI for its link-only dependency).
include(GNUInstallDirs)
install(TARGETS eplb_mpi EXPORT eplbTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

if(NOT TARGET CLI11::CLI11)
  find_package(CLI11 REQUIRED)  # eplb-e2e's flags (the CLI may be off: EPLB_BUILD_CLI=OFF)
endif()
file(GLOB eplb_e2e_sources CONFIGURE_DEPENDS ${eplb_root}/tools/e2e/*.cc)
add_executable(eplb-e2e ${eplb_e2e_sources})
target_include_directories(eplb-e2e PRIVATE ${eplb_root}/src ${eplb_root}/tools)
target_link_libraries(eplb-e2e PRIVATE eplb_mpi eplb_lib MPI::MPI_CXX CLI11::CLI11
                      nlohmann_json::nlohmann_json eplb_flags)
include(GNUInstallDirs)
install(TARGETS eplb-e2e RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# How the tests start 4 ranks on a machine with fewer cores, in containers and as root:
#   --oversubscribe              OpenMPI: more ranks than cores (MPICH needs nothing)
#   OMPI_ALLOW_RUN_AS_ROOT*      OpenMPI refuses to run as root without them (CI containers)
#   btl_vader_single_copy_mechanism=none  CMA (process_vm_readv) is denied by Docker's default
#                                seccomp profile; plain shared-memory copies work everywhere
#   ASAN_OPTIONS=detect_leaks=0  OpenMPI's own allocations are reported as leaks under ASan
#   TSAN_OPTIONS                 lock-order reports inside OpenMPI (tests/mpi/tsan_openmpi.supp)
set(eplb_mpiexec_flags ${MPIEXEC_NUMPROC_FLAG} 4)
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE eplb_mpiexec_version
                ERROR_QUIET RESULT_VARIABLE eplb_mpiexec_status)
if(eplb_mpiexec_version MATCHES "Open MPI|OpenRTE")
  list(APPEND eplb_mpiexec_flags --oversubscribe)
endif()
list(APPEND eplb_mpiexec_flags ${MPIEXEC_PREFLAGS})
set(eplb_mpi_test_env
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_btl_vader_single_copy_mechanism=none
  ASAN_OPTIONS=detect_leaks=0
  TSAN_OPTIONS=suppressions=${eplb_root}/tests/mpi/tsan_openmpi.supp)

if(EPLB_BUILD_TESTS)
  find_package(GTest REQUIRED)
  enable_testing()
  file(GLOB eplb_mpi_test_sources CONFIGURE_DEPENDS ${eplb_root}/tests/mpi/*.cc)
  add_executable(eplb_mpi_tests ${eplb_mpi_test_sources})
  target_include_directories(eplb_mpi_tests PRIVATE ${eplb_root}/src ${eplb_root}/tests)
  # Its own main (tests/mpi/mpi_test_main.cc): MPI is initialised before GoogleTest runs.
  target_link_libraries(eplb_mpi_tests PRIVATE eplb_mpi eplb_lib MPI::MPI_CXX GTest::gtest
                        GTest::gmock eplb_flags)
  add_test(NAME mpi.eplb_mpi_tests
           COMMAND ${MPIEXEC_EXECUTABLE} ${eplb_mpiexec_flags} $<TARGET_FILE:eplb_mpi_tests>
                   ${MPIEXEC_POSTFLAGS})
  set(eplb_e2e_command ${MPIEXEC_EXECUTABLE} ${eplb_mpiexec_flags} $<TARGET_FILE:eplb-e2e>
                       --steps 60 --json)
  add_test(NAME mpi.e2e
           COMMAND ${CMAKE_COMMAND} "-DE2E_COMMAND=${eplb_e2e_command}"
                   -P ${eplb_root}/tests/mpi/check_e2e.cmake)
  # A lost rank (docs/e2e.md): rank 3 masked before step 5. With 16 redundant slots every
  # expert it holds has a replica elsewhere (covered: bit-identical, nothing dropped); with the
  # default redundancy, masked at step 30 it holds last replicas (restored, drops counted).
  add_test(NAME mpi.e2e_fail_rank
           COMMAND ${CMAKE_COMMAND}
                   "-DE2E_COMMAND=${eplb_e2e_command};--redundant;16;--fail-rank;3;--fail-at-step;5"
                   -P ${eplb_root}/tests/mpi/check_e2e_fail_rank.cmake)
  add_test(NAME mpi.e2e_fail_rank_uncovered
           COMMAND ${CMAKE_COMMAND}
                   "-DE2E_COMMAND=${eplb_e2e_command};--fail-rank;2;--fail-at-step;30"
                   -DCOVERED=OFF -P ${eplb_root}/tests/mpi/check_e2e_fail_rank.cmake)
  # Planned shares online: the balancer routes by them, outputs stay bit-identical.
  add_test(NAME mpi.e2e_weighted
           COMMAND ${CMAKE_COMMAND}
                   "-DE2E_COMMAND=${eplb_e2e_command};--routing;weighted;--route-policy;weighted"
                   -P ${eplb_root}/tests/mpi/check_e2e.cmake)
  set_tests_properties(mpi.eplb_mpi_tests mpi.e2e mpi.e2e_fail_rank mpi.e2e_fail_rank_uncovered
                       mpi.e2e_weighted
    PROPERTIES
    LABELS mpi TIMEOUT 300 PROCESSORS 4 ENVIRONMENT "${eplb_mpi_test_env}")
endif()
