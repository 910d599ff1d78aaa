# Configures, builds and runs a consumer that adds funnel's source tree (add_subdirectory or
# FetchContent, both given FUNNEL_SOURCE_DIR).
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}")
  endif()
endfunction()
file(REMOVE_RECURSE "${WORK_DIR}")
run(${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build"
    "-DFUNNEL_SOURCE_DIR=${FUNNEL_SOURCE_DIR}" ${FORWARD_FLAGS})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build" --parallel 2)
run("${WORK_DIR}/build/consumer")
