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
