#pragma once
// Float distance kernels of the HNSW walk and scans (internal to src/retrieval; the tests include
// it), chosen once at run time like the 8-bit ones (sq8.hpp): AVX-512F, AVX2 + FMA, or a portable
// loop, so a build without -march still walks at the speed of the CPU it runs on.
//
// Each kernel is written once (float_kernel_body.hpp) and built per instruction set in that set's
// translation unit (simd/isa.hpp). The kernels sum in several lanes and fuse multiply-adds, so
// their results differ from one another (and from hnswlib's SSE loop) in the last bits; on values
// whose products and partial sums are exact in float (small integers, as 8-bit pixels) they are
// equal.
#include <cstddef>
#include <span>
#include <string_view>

namespace funnel::retrieval::detail {

/// One implementation of the float kernels, over `n` values (any n >= 0).
struct float_kernel {
  std::string_view name;
  /// sum (a_i - b_i)^2
  float (*l2)(const float* a, const float* b, std::size_t n) noexcept;
  /// sum a_i * b_i (inner product; cosine on normalized vectors)
  float (*dot)(const float* a, const float* b, std::size_t n) noexcept;
  /// l2(a, b, n) when that is below `bound` (the same bits); otherwise some partial sum that is
  /// already >= bound. The walk passes the distance a node must beat to enter its results, so
  /// most rejected nodes are read only in part.
  float (*l2_bounded)(const float* a, const float* b, std::size_t n, float bound) noexcept;
};

/// How many values the bounded kernels sum between two looks at the bound.
inline constexpr std::size_t float_check_every = 128;

/// Every float kernel this CPU can run, the portable one first, the widest last.
[[nodiscard]] std::span<const float_kernel> float_kernels() noexcept;
/// The kernel searches use: the one FUNNEL_FLOAT_KERNEL picks ("portable", "avx2", "avx512"; read
/// once; the rule of funnel::detail::isa_named()); unset: AVX2 where the CPU runs it, else the
/// widest. Not AVX-512 by default because it measured slower: on this project's AMD EPYC the
/// AVX2 kernel walks Fashion-MNIST 6-10% faster and batches scans faster (docs/benchmarks.md).
/// Why is not settled: a stored vector sits 132 bytes into its hnswlib node, so nearly every
/// 64-byte load spans two cache lines (a 32-byte load one in two), and the bound check folds a
/// 512-bit sum every 128 values; hnswlib's own simpler AVX-512 loop is not slower than AVX2 there.
/// The 8-bit codes keep the widest (AVX-512 measured faster there).
[[nodiscard]] const float_kernel& float_best() noexcept;

}  // namespace funnel::retrieval::detail
