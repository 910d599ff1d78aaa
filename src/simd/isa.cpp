// Which instruction-set kernel tables this CPU runs (simd/isa.hpp).
#include "simd/isa.hpp"

#include <array>
#include <cstddef>
#include <cstdlib>
#include <string_view>

namespace funnel::detail {
namespace {

struct available_tables {
  std::array<const isa_kernels*, 2> tables{};
  std::size_t count = 0;
  available_tables() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0;
    const bool avx512 =
        __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0;
    if (isa_avx2() != nullptr && avx2) tables[count++] = isa_avx2();
    if (isa_avx512() != nullptr && avx512) tables[count++] = isa_avx512();
#endif
  }
};

}  // namespace

std::span<const isa_kernels* const> isa_available() noexcept {
  static const available_tables available;
  return {available.tables.data(), available.count};
}

const isa_kernels* isa_named(std::string_view name) noexcept {
  if (name == "portable") return nullptr;
  const auto available = isa_available();
  for (const auto* isa : available) {
    if (name == isa->name) return isa;
  }
  return available.empty() ? nullptr : available.back();
}

const isa_kernels* isa_from_env(const char* variable, std::string_view preferred) noexcept {
  const char* value = std::getenv(variable);
  return isa_named(value != nullptr ? std::string_view(value) : preferred);
}

}  // namespace funnel::detail
