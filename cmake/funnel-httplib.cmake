# cpp-httplib (Debian's libcpp-httplib-dev: a compiled library, found through pkg-config) for the
# reference service example and its smoke test. Found once; FUNNEL_REQUIRE_HTTPLIB (the CI
# presets) turns "not found" into an error, else the service is skipped with a message.
if(NOT DEFINED FUNNEL_HTTPLIB_SEARCHED)
  set(FUNNEL_HTTPLIB_SEARCHED ON)
  option(FUNNEL_REQUIRE_HTTPLIB "Fail when cpp-httplib (the service example) is missing" OFF)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(FUNNEL_HTTPLIB QUIET IMPORTED_TARGET GLOBAL cpp-httplib)
  endif()
  if(NOT FUNNEL_HTTPLIB_FOUND)
    if(FUNNEL_REQUIRE_HTTPLIB)
      message(FATAL_ERROR "cpp-httplib not found (apt-get install libcpp-httplib-dev): the "
                          "recommendation service example and its smoke test need it")
    endif()
    message(STATUS "cpp-httplib not found (Debian: libcpp-httplib-dev): skipping the "
                   "recommendation service example and its smoke test")
  endif()
endif()
