# The smoke tests link every example's system library (examples/CMakeLists.txt: all of an
# example's files but its programs), so they call the same code on small slices without compiling
# it a second time. The recommendation service needs cpp-httplib: without it its library and
# smoke test are left out (FUNNEL_EXAMPLES_HTTPLIB undefined).
get_property(example_systems GLOBAL PROPERTY FUNNEL_EXAMPLE_SYSTEMS)
target_link_libraries(test_examples PRIVATE ${example_systems})
if(TARGET example_recommendation_service_system)
  target_compile_definitions(test_examples PRIVATE FUNNEL_EXAMPLES_HTTPLIB=1)
  add_test(NAME examples.service COMMAND test_examples "[service]")
  set_tests_properties(examples.service PROPERTIES LABELS "examples" TIMEOUT 120)
endif()
