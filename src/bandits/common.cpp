#include <funnel/bandits/common.hpp>

#include <array>
#include <cstring>
#include <type_traits>

namespace funnel::bandits::detail {

static_assert(std::is_trivially_copyable_v<rng>, "rng state is serialized by its bytes");

std::string rng_to_hex(const rng& g) {
  std::array<unsigned char, sizeof(rng)> bytes{};
  std::memcpy(bytes.data(), &g, sizeof(rng));
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (const unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

rng rng_from_hex(const std::string& hex, std::string_view context) {
  if (hex.size() != 2 * sizeof(rng)) {
    raise<parse_error>("bandits", "{}.rng: expected {} hex digits, found {}", context,
                       2 * sizeof(rng), hex.size());
  }
  std::array<unsigned char, sizeof(rng)> bytes{};
  const auto nibble = [&](char c) -> unsigned {
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
    raise<parse_error>("bandits", "{}.rng: '{}' is not a lowercase hex digit", context, c);
  };
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<unsigned char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  // Layout (core/random.hpp): 4 x uint64 state, double spare, bool has_spare, padding. The bool's
  // byte must be 0 or 1 for the object to be valid.
  static_assert(sizeof(rng) == 48, "update rng_from_hex for the new rng layout");
  if (bytes[40] > 1) raise<parse_error>("bandits", "{}.rng: corrupt generator state", context);
  rng g;
  std::memcpy(static_cast<void*>(&g), bytes.data(), sizeof(rng));
  return g;
}

}  // namespace funnel::bandits::detail
