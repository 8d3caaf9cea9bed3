# Fails when ptxas reports register spills in the CUDA backend's kernels.
#   cmake -DNVCC=... -DSRC=kernels.cu -DARCHS="80;90;100" -DINCLUDES="a;b" -P check_ptxas_spills.cmake
# compiles SRC for each architecture with --resource-usage and parses the log;
#   cmake -DLOG=file -P check_ptxas_spills.cmake
# parses a saved log instead (the test of the parser itself).
# Every "Function properties for <kernel>" is followed by "<n> bytes spill stores, <m> bytes spill
# loads"; any non-zero n or m fails, naming the kernel and the architecture.
cmake_minimum_required(VERSION 3.25)

if(DEFINED LOG)
  file(READ "${LOG}" out)
else()
  set(out "")
  foreach(arch IN LISTS ARCHS)
    string(REGEX REPLACE "-.*" "" num "${arch}")  # "90-real" -> 90
    set(args -std=c++17 -c "${SRC}" -o "${CMAKE_CURRENT_BINARY_DIR}/ptxas_check_sm${num}.o"
             --resource-usage -Xptxas=-warn-spills --expt-relaxed-constexpr
             "-gencode=arch=compute_${num},code=sm_${num}")
    foreach(inc IN LISTS INCLUDES)
      list(APPEND args "-I${inc}")
    endforeach()
    execute_process(COMMAND "${NVCC}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE o ERROR_VARIABLE e)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "nvcc failed for sm_${num}:\n${o}${e}")
    endif()
    string(APPEND out "== sm_${num}\n${o}${e}")
  endforeach()
endif()

string(REPLACE "\n" ";" lines "${out}")
set(kernel "?")
set(arch "?")
set(kernels 0)
set(bad "")
foreach(line IN LISTS lines)
  if(line MATCHES "^== (sm_[0-9]+)")
    set(arch "${CMAKE_MATCH_1}")
  elseif(line MATCHES "Function properties for ([A-Za-z0-9_]+)")
    set(kernel "${CMAKE_MATCH_1}")
  elseif(line MATCHES "([0-9]+) bytes spill stores, ([0-9]+) bytes spill loads")
    math(EXPR kernels "${kernels} + 1")
    if(NOT CMAKE_MATCH_1 EQUAL 0 OR NOT CMAKE_MATCH_2 EQUAL 0)
      string(APPEND bad "  ${arch} ${kernel}: ${CMAKE_MATCH_1} bytes spill stores, ${CMAKE_MATCH_2} bytes spill loads\n")
    endif()
  endif()
endforeach()
if(kernels EQUAL 0)
  message(FATAL_ERROR "ptxas spill check: no \"bytes spill\" lines in the log (was --resource-usage passed?)")
endif()
if(NOT bad STREQUAL "")
  message(FATAL_ERROR "ptxas spill check: register spills in ${bad}")
endif()
message(STATUS "ptxas spill check: ${kernels} kernel compilations, no spills")
