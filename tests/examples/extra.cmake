# The smoke tests link every example's system library (examples/CMakeLists.txt: all of an
# example's files but its programs), so they call the same code on small slices without compiling
# it a second time. The service's smoke test speaks HTTP with cpp-httplib's client: without it that
# test is left out (FUNNEL_EXAMPLES_HTTPLIB undefined).
get_property(example_systems GLOBAL PROPERTY FUNNEL_EXAMPLE_SYSTEMS)
target_link_libraries(test_examples PRIVATE ${example_systems})
include("${PROJECT_SOURCE_DIR}/cmake/funnel-httplib.cmake")
if(FUNNEL_HTTPLIB_FOUND)
  target_link_libraries(test_examples PRIVATE PkgConfig::FUNNEL_HTTPLIB)
  target_compile_definitions(test_examples PRIVATE FUNNEL_EXAMPLES_HTTPLIB=1)
  add_test(NAME examples.service COMMAND test_examples "[service]")
  set_tests_properties(examples.service PROPERTIES LABELS "examples" TIMEOUT 120)
endif()
# The movie example's two-tower retriever (towers.cpp, in its program only: it needs funnel::onnx,
# the examples and python3-torch; skipped with a message without torch). The whole loop (write
# the data, train_towers.py, serve) on the synthetic log: ~20 s.
if(FUNNEL_HAS_ONNX AND TARGET example_movie_recommendation)
  add_test(NAME examples.towers
           COMMAND sh "${CMAKE_CURRENT_LIST_DIR}/towers.sh"
                   "$<TARGET_FILE:example_movie_recommendation>"
                   "${PROJECT_SOURCE_DIR}/examples/movie_recommendation/train_towers.py"
                   "${CMAKE_CURRENT_BINARY_DIR}/examples_towers")
  set_tests_properties(examples.towers PROPERTIES LABELS "examples" TIMEOUT 120
                                                  SKIP_RETURN_CODE 77)
endif()
