#pragma once
// funnel's SIMD kernels, one translation unit per instruction set: simd/avx2.cpp (compiled with
// -mavx2 -mfma) and simd/avx512.cpp (-mavx512f -mavx512bw), each instantiating every module's
// kernel body (scoring/tree_kernel_body.hpp, retrieval/sq8_kernel_body.hpp,
// retrieval/float_kernel_body.hpp) with that set's
// vector operations, so the intrinsics of a set are written once and its compile flags name one
// file (CMakeLists.txt). The modules pick a table at run time (isa_available()).
//
// The instruction-set translation units include only this header, <immintrin.h> and the kernel
// bodies: nothing they compile may be an inline function another translation unit also emits (the
// linker would keep one copy, possibly the one built for an instruction set the CPU lacks). They
// are built with -ffp-contract=off so a kernel's floating point is the portable path's unless it
// asks for a fused multiply-add by name.
#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "retrieval/float_kernels.hpp"
#include "retrieval/sq8_kernels.hpp"
#include "scoring/tree_kernels.hpp"

namespace funnel::detail {

/// The kernels one instruction set provides, one entry per module.
struct isa_kernels {
  const char* name;                               ///< "avx2" or "avx512"
  const retrieval::detail::sq8_kernel* sq8;       ///< 8-bit code distances
  const scoring::detail::perfect_kernel* trees;   ///< perfect-tree batch walk
  const retrieval::detail::float_kernel* floats;  ///< float distances (HNSW walk, scans)
};

/// The tables of this build: nullptr when the translation unit was not compiled for the set
/// (another architecture or compiler). Whether this CPU runs one is isa_available()'s question.
[[nodiscard]] const isa_kernels* isa_avx2() noexcept;
[[nodiscard]] const isa_kernels* isa_avx512() noexcept;

/// The tables this build has and this CPU runs (AVX2 needs avx2 and fma; AVX-512 needs avx512f
/// and avx512bw), narrowest first; empty on other architectures.
[[nodiscard]] std::span<const isa_kernels* const> isa_available() noexcept;

/// The one rule of the FUNNEL_<MODULE>_KERNEL variables (FUNNEL_TREES_KERNEL, FUNNEL_SQ8_KERNEL,
/// FUNNEL_FLOAT_KERNEL; for tests and before/after benchmarks): the table called `name` ("avx2",
/// "avx512") when this CPU runs it, nullptr (the portable kernels) for "portable", and the widest
/// available table for any other name, an empty one included (nullptr when none is available).
[[nodiscard]] const isa_kernels* isa_named(std::string_view name) noexcept;
/// isa_named() of the value of environment variable `variable`, read now; unset: isa_named() of
/// `preferred` (empty: the widest), the module's own default.
[[nodiscard]] const isa_kernels* isa_from_env(const char* variable,
                                              std::string_view preferred = {}) noexcept;

/// A module's kernels this CPU runs: its portable kernel first, then the kernel `member` of every
/// available table, narrowest first (the widest last). Built once by the module, in a static.
template <class Kernel>
class kernel_list {
 public:
  kernel_list(const Kernel& portable, const Kernel* isa_kernels::*member) : member_(member) {
    all_[count_++] = portable;
    for (const auto* isa : isa_available()) all_[count_++] = *(isa->*member);
  }
  [[nodiscard]] std::span<const Kernel> kernels() const noexcept { return {all_.data(), count_}; }
  /// The kernel environment variable `variable` picks (isa_from_env(), unset: `preferred`).
  [[nodiscard]] const Kernel& chosen(const char* variable,
                                     std::string_view preferred = {}) const noexcept {
    const isa_kernels* isa = isa_from_env(variable, preferred);
    return isa != nullptr ? *(isa->*member_) : all_[0];
  }

 private:
  const Kernel* isa_kernels::*member_;
  std::array<Kernel, 3> all_{};
  std::size_t count_ = 0;
};

}  // namespace funnel::detail
