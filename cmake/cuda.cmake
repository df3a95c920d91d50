# The optional CUDA edge of eplb: library eplb_cuda (src/cuda/*.cu, API eplb/cuda/kernels.h),
# its GoogleTest suite eplb_cuda_tests (tests/cuda) and benchmark eplb_cuda_bench (bench/cuda).
# With NCCL (EPLB_WITH_NCCL, default ON when nccl.h and libnccl are found) eplb_cuda also holds
# the NCCL backend of eplb/comm.h (src/cuda/nccl_*.cc, API eplb/cuda/nccl_comm.h) and defines
# EPLB_WITH_NCCL for itself and its users.
#   -DNCCL_ROOT=/opt/nccl            # or env NCCL_ROOT / NCCL_HOME; default: next to the toolkit
# Included by the top-level CMakeLists.txt after eplb_lib is defined. The core never depends on
# it: without nvcc, or with -DEPLB_WITH_CUDA=OFF, nothing here is built.
#   -DCMAKE_CUDA_ARCHITECTURES=90   # default "80;90" (A100, H100/H200)
# Paths are taken from this file's place (cmake/ under the repository root), so the file also
# works when included from another project.
get_filename_component(eplb_root ${CMAKE_CURRENT_LIST_DIR} DIRECTORY)
include(CheckLanguage)
check_language(CUDA)
if(CMAKE_CUDA_COMPILER)
  set(eplb_cuda_default ON)
else()
  set(eplb_cuda_default OFF)
endif()
option(EPLB_WITH_CUDA "Build the CUDA kernels (eplb_cuda); default ON when nvcc is found"
       ${eplb_cuda_default})
if(NOT EPLB_WITH_CUDA)
  message(STATUS "eplb: CUDA kernels off (EPLB_WITH_CUDA=OFF or no CUDA compiler)")
  return()
endif()
if(NOT CMAKE_CUDA_COMPILER)
  message(FATAL_ERROR "EPLB_WITH_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "80;90" CACHE STRING "CUDA architectures of eplb_cuda")
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
# CMake < 3.26 does not know nvcc's C++20 flag (nvcc >= 12 has it); the targets below are C++20
# like the rest of eplb (and CUDA_STANDARD falls back to CXX_STANDARD when unset).
if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION AND CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
endif()
message(STATUS "eplb: CUDA kernels on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
               "architectures ${CMAKE_CUDA_ARCHITECTURES})")

# Flags of the .cu targets: nvcc takes host-compiler warnings through -Xcompiler (no -Wpedantic:
# nvcc's generated host code uses GCC extensions such as its line markers).
add_library(eplb_cuda_flags INTERFACE)
target_compile_options(eplb_cuda_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Wshadow>
  $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${EPLB_WERROR}>>:-Werror=all-warnings>
  $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${EPLB_WERROR}>>:-Xcompiler=-Werror>)

file(GLOB eplb_cuda_sources CONFIGURE_DEPENDS ${eplb_root}/src/cuda/*.cu)
add_library(eplb_cuda STATIC ${eplb_cuda_sources})
add_library(eplb::cuda ALIAS eplb_cuda)
target_include_directories(eplb_cuda
  PUBLIC $<BUILD_INTERFACE:${eplb_root}/include> $<INSTALL_INTERFACE:include>
  PRIVATE ${eplb_root}/src)
target_link_libraries(eplb_cuda PUBLIC eplb_lib CUDA::cudart
                      PRIVATE $<BUILD_INTERFACE:eplb_cuda_flags>)
set_target_properties(eplb_cuda PROPERTIES CUDA_STANDARD 20 CUDA_STANDARD_REQUIRED ON
                      CUDA_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON EXPORT_NAME cuda)
# Installed as eplb::cuda (eplbConfig.cmake finds the CUDA toolkit; NCCL by its library path).
include(GNUInstallDirs)
install(TARGETS eplb_cuda EXPORT eplbTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

# ---- NCCL backend -------------------------------------------------------------------------
# NAMES libnccl.so.2: pip's nvidia-nccl wheels ship no unversioned libnccl.so.
find_path(NCCL_INCLUDE_DIR nccl.h
  HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} $ENV{NCCL_HOME} ${CUDAToolkit_INCLUDE_DIRS}
  PATH_SUFFIXES include)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2
  HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} $ENV{NCCL_HOME} ${CUDAToolkit_LIBRARY_DIR}
  PATH_SUFFIXES lib lib64)
if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
  set(eplb_nccl_default ON)
else()
  set(eplb_nccl_default OFF)
endif()
option(EPLB_WITH_NCCL "Build the NCCL backend into eplb_cuda; default ON when NCCL is found"
       ${eplb_nccl_default})
if(EPLB_WITH_NCCL)
  if(NOT (NCCL_INCLUDE_DIR AND NCCL_LIBRARY))
    message(FATAL_ERROR "EPLB_WITH_NCCL=ON but nccl.h or libnccl was not found "
                        "(set NCCL_ROOT, or NCCL_INCLUDE_DIR and NCCL_LIBRARY)")
  endif()
  message(STATUS "eplb: NCCL backend on (${NCCL_LIBRARY})")
  if(NOT TARGET eplb_nccl_dep)
    # Imported, so nccl.h is a system header (no project warnings from it).
    add_library(eplb_nccl_dep UNKNOWN IMPORTED)
    set_target_properties(eplb_nccl_dep PROPERTIES IMPORTED_LOCATION ${NCCL_LIBRARY}
                          INTERFACE_INCLUDE_DIRECTORIES ${NCCL_INCLUDE_DIR})
  endif()
  # Host C++ compiled by the C++ compiler with the project's warnings (eplb_flags is not linked
  # into eplb_cuda: its flags would reach nvcc).
  file(GLOB eplb_nccl_sources CONFIGURE_DEPENDS ${eplb_root}/src/cuda/nccl_*.cc)
  target_sources(eplb_cuda PRIVATE ${eplb_nccl_sources})
  target_compile_options(eplb_cuda PRIVATE
    "$<$<COMPILE_LANGUAGE:CXX>:-Wall;-Wextra;-Wpedantic;-Wshadow>"
    "$<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${EPLB_WERROR}>>:-Werror>")
  # eplb/cuda/nccl_comm.h includes no NCCL header: NCCL is a link-only dependency.
  target_link_libraries(eplb_cuda PRIVATE $<BUILD_INTERFACE:eplb_nccl_dep>
                        $<INSTALL_INTERFACE:${NCCL_LIBRARY}>)
  target_compile_definitions(eplb_cuda PUBLIC EPLB_WITH_NCCL)
else()
  message(STATUS "eplb: NCCL backend off (EPLB_WITH_NCCL=OFF or NCCL not found)")
endif()

if(EPLB_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
  enable_testing()
  # Host C++ (g++, the project's warnings) calling the kernels through eplb/cuda/kernels.h.
  file(GLOB eplb_cuda_test_sources CONFIGURE_DEPENDS ${eplb_root}/tests/cuda/*.cc)
  if(NOT EPLB_WITH_NCCL)
    list(FILTER eplb_cuda_test_sources EXCLUDE REGEX "/nccl_[^/]*\\.cc$")
  endif()
  add_executable(eplb_cuda_tests ${eplb_cuda_test_sources})
  target_include_directories(eplb_cuda_tests PRIVATE ${eplb_root}/src
                             ${eplb_root}/tests)
  target_link_libraries(eplb_cuda_tests PRIVATE eplb_cuda eplb_lib CUDA::cudart
                        GTest::gtest_main eplb_flags)
  if(EPLB_WITH_NCCL)
    target_link_libraries(eplb_cuda_tests PRIVATE eplb_nccl_dep)  # the tests build comms
  endif()
  # Listing tests needs no GPU, so discovery works on build machines without one.
  gtest_discover_tests(eplb_cuda_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS cuda)
endif()

if(EPLB_BUILD_BENCHMARKS)
  file(GLOB eplb_cuda_bench_sources CONFIGURE_DEPENDS ${eplb_root}/bench/cuda/*.cu)
  add_executable(eplb_cuda_bench ${eplb_cuda_bench_sources})
  target_include_directories(eplb_cuda_bench PRIVATE ${eplb_root}/src)
  target_link_libraries(eplb_cuda_bench PRIVATE eplb_cuda eplb_lib CUDA::cudart eplb_cuda_flags)
  set_target_properties(eplb_cuda_bench PROPERTIES CUDA_STANDARD 20 CUDA_STANDARD_REQUIRED ON
                        CUDA_EXTENSIONS OFF)
endif()
