# The example's system is compiled into the test executable so the smoke test can run it on a
# synthetic log (examples may be disabled with FUNNEL_BUILD_EXAMPLES=OFF; the test still builds).
target_sources(test_examples PRIVATE "${PROJECT_SOURCE_DIR}/examples/movie_recommendation/recommender.cpp")
target_include_directories(test_examples PRIVATE "${PROJECT_SOURCE_DIR}/examples/movie_recommendation")
