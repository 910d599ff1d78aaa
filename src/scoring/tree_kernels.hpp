#pragma once
// The SIMD batch kernels of tree_ensemble: 16 rows at a time through the perfect-tree copies of
// compiled_forest. One kernel body (tree_kernel_body.hpp) is compiled once per instruction set in
// that set's translation unit (simd/isa.hpp), and tree_compile.cpp picks one at run time.
#include <cstddef>
#include <cstdint>

namespace funnel::scoring::detail {

/// Flag bits of a perfect-tree feature word (the same as fast_default_left / fast_feature_mask
/// of tree_ensemble.hpp; tree_compile.cpp checks they agree).
inline constexpr std::uint32_t kernel_default_left = 1U << 31;
inline constexpr std::uint32_t kernel_feature_mask = (1U << 30) - 1;

/// The perfect-tree copies a kernel reads: pointers into a compiled_forest.
struct perfect_forest {
  const float* threshold;        ///< perf_threshold
  const std::uint32_t* feature;  ///< perf_feature
  const float* leaf_f;           ///< perf_leaf_f
  const double* leaf_d;          ///< perf_leaf_d (float64 accumulation only)
  const std::uint32_t* node;     ///< perf_node, per tree
  const std::uint32_t* leaf;     ///< perf_leaf, per tree
  const std::uint32_t* depth;    ///< depths, per tree
  const std::uint32_t* group;    ///< groups, per tree
};

/// Trees [t0, t1) (all with perfect copies) for one block of 16 rows (row-major, `stride` floats
/// apart); `out` holds the running sums (`groups` per row) and receives each tree's leaf in tree
/// order, as the scalar path does.
template <class Acc>
using perfect_block_fn = void (*)(const perfect_forest& f, std::size_t t0, std::size_t t1,
                                  const float* rows, std::size_t stride, Acc* out,
                                  std::size_t groups) noexcept;

/// One kernel: its name (tree_ensemble::batch_kernel()), its compiled_forest::simd level and its
/// entry points per accumulation type.
struct perfect_kernel {
  const char* name;
  std::uint8_t level;
  perfect_block_fn<float> block_f32;
  perfect_block_fn<double> block_f64;
};

/// The kernel of a compiled_forest::simd level; nullptr for simd_none.
[[nodiscard]] const perfect_kernel* perfect_kernel_for(std::uint8_t level) noexcept;

/// The widest kernel this build has and this CPU runs, or nullptr for none; FUNNEL_TREES_KERNEL
/// (read at every call: tests and before/after benchmarks) picks "portable" (none), "avx2" or
/// "avx512" by the rule of funnel::detail::isa_named().
[[nodiscard]] const perfect_kernel* perfect_kernel_choose() noexcept;

}  // namespace funnel::scoring::detail
