# test_onnx links the optional funnel::onnx, and the counting operator new of the
# allocation-free test.
target_link_libraries(test_onnx PRIVATE funnel::onnx)
target_sources(test_onnx PRIVATE "${PROJECT_SOURCE_DIR}/tests/support/alloc_counter.cpp")
# test_onnx_graphs.cpp builds models with ONNX's own protobuf classes.
target_link_libraries(test_onnx PRIVATE onnx_proto protobuf::libprotobuf)
