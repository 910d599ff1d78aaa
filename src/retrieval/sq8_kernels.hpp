#pragma once
// The SIMD kernels of the 8-bit codes (sq8.hpp), written once in sq8_kernel_body.hpp and built per
// instruction set, each in its own translation unit (sq8_kernels_avx2.cpp with -mavx2,
// sq8_kernels_avx512.cpp with -mavx512f -mavx512bw; see CMakeLists.txt). sq8.cpp offers each one
// the CPU can run.
#include <cstddef>

#include "retrieval/sq8.hpp"

namespace funnel::retrieval::detail {

// The kernels sum in 32-bit lanes and fold into 64 bits after every block: a lane gains at most
// 2 * 255^2 per step, so a block of 16,384 bytes keeps even the sum of all lanes below 2^31.
inline constexpr std::size_t sq8_block_bytes = 16384;

/// The AVX2 kernels ("avx2"), or nullptr when this build has none (not x86-64 GCC / Clang).
[[nodiscard]] const sq8_kernel* sq8_kernel_avx2() noexcept;
/// The AVX-512BW kernels ("avx512bw"), or nullptr when this build has none.
[[nodiscard]] const sq8_kernel* sq8_kernel_avx512() noexcept;

}  // namespace funnel::retrieval::detail
