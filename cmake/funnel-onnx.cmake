# funnel::onnx: the ONNX evaluator and neural scorers (include/funnel/onnx, src/onnx), a library
# of its own so that funnel::funnel stays free of protobuf. FUNNEL_ONNX: AUTO, ON or OFF.
set(FUNNEL_HAS_ONNX FALSE)
if(NOT FUNNEL_ONNX STREQUAL "OFF")
  include(cmake/funnel-onnx-dependencies.cmake)
  if(FUNNEL_ONNX_DEPS_FOUND)
    set(FUNNEL_HAS_ONNX TRUE)
  elseif(FUNNEL_ONNX STREQUAL "ON")
    message(FATAL_ERROR "funnel: FUNNEL_ONNX=ON but libonnx-dev / protobuf were not found "
                        "(scripts/install-deps.sh installs them)")
  else()
    message(STATUS "funnel: libonnx-dev not found, funnel::onnx is not built")
  endif()
endif()

if(FUNNEL_HAS_ONNX)
  file(GLOB funnel_onnx_sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/onnx/*.cpp")
  add_library(funnel_onnx ${funnel_onnx_sources})
  add_library(funnel::onnx ALIAS funnel_onnx)
  set_target_properties(funnel_onnx PROPERTIES
    EXPORT_NAME onnx
    OUTPUT_NAME funnel_onnx
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}
    POSITION_INDEPENDENT_CODE ON)
  target_include_directories(funnel_onnx PRIVATE "${PROJECT_SOURCE_DIR}/include"
                                                 "${PROJECT_SOURCE_DIR}/src")
  # protobuf and ONNX's generated headers are private: the public headers never include them.
  target_link_libraries(funnel_onnx PUBLIC funnel::funnel PRIVATE onnx_proto protobuf::libprotobuf)
  funnel_set_warnings(funnel_onnx)
  message(STATUS "funnel: building funnel::onnx")
endif()
