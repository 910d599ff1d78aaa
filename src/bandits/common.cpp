#include <funnel/bandits/common.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace funnel::bandits::detail {
namespace {

// Byte layout of the text (kept from the first format, which copied the object representation
// on little-endian x86-64): words[0..3] at 0..31, spare at 32..39, has_spare at 40, zeros 41..47.
constexpr std::size_t state_bytes = 48;

void put_u64(std::array<unsigned char, state_bytes>& b, std::size_t at, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) b[at + i] = static_cast<unsigned char>(v >> (8 * i));
}

std::uint64_t get_u64(const std::array<unsigned char, state_bytes>& b, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[at + i]) << (8 * i);
  return v;
}

}  // namespace

std::string rng_to_hex(const rng& g) {
  const rng::state_type st = g.state();
  std::array<unsigned char, state_bytes> bytes{};
  for (std::size_t w = 0; w < 4; ++w) put_u64(bytes, 8 * w, st.words[w]);
  put_u64(bytes, 32, std::bit_cast<std::uint64_t>(st.spare));
  bytes[40] = st.has_spare ? 1 : 0;
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
  if (hex.size() != 2 * state_bytes) {
    raise<parse_error>("bandits.rng_from_hex", "{}.rng: expected {} hex digits, found {}", context,
                       2 * state_bytes, hex.size());
  }
  std::array<unsigned char, state_bytes> bytes{};
  const auto nibble = [&](char c) -> unsigned {
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
    raise<parse_error>("bandits.rng_from_hex", "{}.rng: '{}' is not a lowercase hex digit", context,
                       c);
  };
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<unsigned char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  if (bytes[40] > 1)
    raise<parse_error>("bandits.rng_from_hex", "{}.rng: corrupt generator state", context);
  rng::state_type st;
  for (std::size_t w = 0; w < 4; ++w) st.words[w] = get_u64(bytes, 8 * w);
  st.spare = std::bit_cast<double>(get_u64(bytes, 32));
  st.has_spare = bytes[40] == 1;
  if ((st.words[0] | st.words[1] | st.words[2] | st.words[3]) == 0) {
    raise<parse_error>("bandits.rng_from_hex", "{}.rng: corrupt generator state (all-zero words)",
                       context);
  }
  rng g;
  g.set_state(st);
  return g;
}

}  // namespace funnel::bandits::detail
