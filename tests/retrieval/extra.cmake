# The float-kernel tests again with the portable kernel forced (FUNNEL_FLOAT_KERNEL), so the walk
# and the selection are also exercised on the kernel a CPU without AVX2 would run.
add_test(NAME retrieval.portable_float_kernel COMMAND test_retrieval "[float_kernels]")
set_tests_properties(retrieval.portable_float_kernel PROPERTIES
  LABELS "retrieval" ENVIRONMENT "FUNNEL_FLOAT_KERNEL=portable")
