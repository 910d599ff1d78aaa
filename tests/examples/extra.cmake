# Each example keeps its system in files other than its programs (main.cpp, main_<name>.cpp: every
# file with a main() is named so), so its smoke test can call it on a small slice. Those files are
# compiled into test_examples (examples may be disabled with FUNNEL_BUILD_EXAMPLES=OFF; the smoke
# tests still build). Every example's headers have names of their own (recommender.hpp,
# fraud.hpp, ...) and its code sits in a namespace of its own.
# The recommendation service needs cpp-httplib: without it its sources and smoke test are left
# out (FUNNEL_EXAMPLES_HTTPLIB undefined).
include("${PROJECT_SOURCE_DIR}/cmake/funnel-httplib.cmake")
file(GLOB example_dirs LIST_DIRECTORIES true CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/examples/*")
foreach(dir IN LISTS example_dirs)
  if(IS_DIRECTORY "${dir}" AND EXISTS "${dir}/CMakeLists.txt")
    if(dir MATCHES "/recommendation_service$" AND NOT FUNNEL_HTTPLIB_FOUND)
      continue()
    endif()
    file(GLOB system_sources CONFIGURE_DEPENDS "${dir}/*.cpp")
    list(FILTER system_sources EXCLUDE REGEX "/main[^/]*\\.cpp$")
    # The movie example's two-tower retriever needs funnel::onnx and towers trained by
    # train_towers.py: the ctest examples.towers (below) runs it through the example itself.
    list(FILTER system_sources EXCLUDE REGEX "/movie_recommendation/towers\\.cpp$")
    target_sources(test_examples PRIVATE ${system_sources})
    target_include_directories(test_examples PRIVATE "${dir}")
  endif()
endforeach()
if(FUNNEL_HTTPLIB_FOUND)
  target_link_libraries(test_examples PRIVATE PkgConfig::FUNNEL_HTTPLIB)
  target_compile_definitions(test_examples PRIVATE FUNNEL_EXAMPLES_HTTPLIB=1)
  add_test(NAME examples.service COMMAND test_examples "[service]")
  set_tests_properties(examples.service PROPERTIES LABELS "examples" TIMEOUT 120)
endif()
# The movie example's two-tower retriever (needs funnel::onnx, the examples and python3-torch;
# skipped with a message without torch). Trains on the synthetic log: ~20 s.
if(FUNNEL_HAS_ONNX AND FUNNEL_BUILD_EXAMPLES)
  add_test(NAME examples.towers
           COMMAND sh "${dir}/towers.sh"
                   "$<TARGET_FILE:example_movie_recommendation>"
                   "${PROJECT_SOURCE_DIR}/examples/movie_recommendation/train_towers.py"
                   "${CMAKE_CURRENT_BINARY_DIR}/examples_towers")
  set_tests_properties(examples.towers PROPERTIES LABELS "examples" TIMEOUT 120
                                                  SKIP_RETURN_CODE 77)
endif()
