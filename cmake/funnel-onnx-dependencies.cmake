# What funnel::onnx needs: ONNX's protobuf schema (Debian libonnx-dev: target onnx_proto) and
# protobuf. Used by the build (cmake/funnel-onnx.cmake) and by the installed funnelConfig.cmake
# when funnel::onnx was installed. ONNX's config file links protobuf::libprotobuf without finding
# it, so protobuf is found first. Sets FUNNEL_ONNX_DEPS_FOUND.
set(FUNNEL_ONNX_DEPS_FOUND FALSE)
if(NOT TARGET protobuf::libprotobuf)
  find_package(Protobuf QUIET)
endif()
if(TARGET protobuf::libprotobuf AND NOT TARGET onnx_proto)
  find_package(ONNX CONFIG QUIET)
endif()
if(TARGET protobuf::libprotobuf AND TARGET onnx_proto)
  set(FUNNEL_ONNX_DEPS_FOUND TRUE)
endif()
