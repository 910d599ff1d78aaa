#pragma once
// The SIMD kernels of the 8-bit codes (sq8.hpp), written once in sq8_kernel_body.hpp and built per
// instruction set in that set's translation unit (simd/isa.hpp). sq8.cpp offers each one the CPU
// can run.
#include <cstddef>

#include "retrieval/sq8.hpp"

namespace funnel::retrieval::detail {

// The kernels sum in 32-bit lanes and fold into 64 bits after every block: a lane gains at most
// 2 * 255^2 per step, so a block of 16,384 bytes keeps even the sum of all lanes below 2^31.
inline constexpr std::size_t sq8_block_bytes = 16384;

}  // namespace funnel::retrieval::detail
