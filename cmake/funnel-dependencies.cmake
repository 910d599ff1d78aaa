# funnel's dependencies, found in one place. Included by the top-level CMakeLists.txt and by the
# installed funnelConfig.cmake, so a consumer gets exactly the targets funnel was built against.
include(CMakeFindDependencyMacro)

find_dependency(Threads)
find_dependency(Eigen3 3.3 NO_MODULE)
find_dependency(nlohmann_json 3.10)
# fmt: any version >= 9 (Debian 12 has 9.1; Conan Center has 10 and 11). Not `find_dependency(fmt 9)`:
# Conan's generated config files accept the same major version only, which would refuse fmt 10.
find_dependency(fmt)
if(fmt_VERSION VERSION_LESS 9)
  set(${CMAKE_FIND_PACKAGE_NAME}_FOUND FALSE)
  set(${CMAKE_FIND_PACKAGE_NAME}_NOT_FOUND_MESSAGE "fmt ${fmt_VERSION} found, funnel needs fmt >= 9")
  if(NOT CMAKE_FIND_PACKAGE_NAME)
    message(FATAL_ERROR "funnel: fmt ${fmt_VERSION} found, funnel needs fmt >= 9")
  endif()
  return()
endif()
# zlib reads the gzipped IDX files that Fashion-MNIST and MNIST ship as (core/idx.hpp).
find_dependency(ZLIB)

# hnswlib: upstream >= 0.8 and Conan ship a package config with hnswlib::hnswlib. Debian's 0.6.2
# ships bare headers, so locate them and create the same target. funnel includes hnswlib from one
# translation unit only (src/retrieval), because 0.6.2's header defines non-inline functions.
if(NOT TARGET hnswlib::hnswlib)
  find_package(hnswlib CONFIG QUIET)
endif()
if(NOT TARGET hnswlib::hnswlib)
  find_path(FUNNEL_HNSWLIB_INCLUDE_DIR NAMES hnswlib/hnswlib.h)
  if(FUNNEL_HNSWLIB_INCLUDE_DIR)
    add_library(hnswlib::hnswlib INTERFACE IMPORTED)
    set_target_properties(hnswlib::hnswlib PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${FUNNEL_HNSWLIB_INCLUDE_DIR}")
  else()
    set(${CMAKE_FIND_PACKAGE_NAME}_FOUND FALSE)
    set(${CMAKE_FIND_PACKAGE_NAME}_NOT_FOUND_MESSAGE "hnswlib headers (hnswlib/hnswlib.h) not found")
    return()
  endif()
endif()
