# The family files (analyzer/ir/families/NAME.cpp, each defining `Family family_NAME()`) and the
# generated list the registry includes (llmcost_families.inc in OUT_DIR). Used by the analyzer
# build and the standalone fuzz build, so a new family is one new file for both.
function(llmcost_families out_sources out_dir)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/families/*.cpp)
  set(list "")
  foreach(src ${srcs})
    get_filename_component(family ${src} NAME_WE)
    string(APPEND list "LLMCOST_FAMILY(${family})\n")
  endforeach()
  file(CONFIGURE OUTPUT ${out_dir}/llmcost_families.inc CONTENT "${list}")
  set(${out_sources} ${srcs} PARENT_SCOPE)
endfunction()
