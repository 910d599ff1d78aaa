# The counting operator new behind "serving transform of one row makes no heap allocation".
target_sources(test_features PRIVATE "${PROJECT_SOURCE_DIR}/tests/support/alloc_counter.cpp")
