#pragma once
// Number and message text shared by the text readers (CSV, libsvm): one grammar for a number
// cell, and one way to quote a cell in a message.
#include <fmt/format.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace funnel::detail {

/// What parse_real made of a text.
enum class real_text {
  ok,            ///< a finite number (an underflow reads as its correctly rounded value, 0 or -0)
  not_a_number,  ///< not a decimal number
  nan,           ///< a NaN spelling ("nan", "NAN", "-nan", "nan(123)", ...)
  infinite,      ///< an infinity spelling ("inf", "-Infinity", ...)
  out_of_range,  ///< a decimal number beyond the largest finite value of the type
};

namespace number_text_detail {

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// True when the decimal number `s` (digits, an optional '.', an optional exponent, no sign;
/// already matched by from_chars) is below 1 in magnitude: its leading digit's power of ten is
/// negative. Decides whether an out-of-range result underflowed or overflowed.
inline bool below_one(std::string_view s) noexcept {
  // Saturate: cap * 10 + 9 still fits an int64, and dwarfs any count of digits in memory.
  constexpr std::int64_t cap = 100'000'000'000'000'000;
  std::size_t i = 0;
  std::int64_t magnitude = 0;  // power of ten of the leading non-zero digit
  bool found = false;
  while (i < s.size() && s[i] == '0') ++i;
  const std::size_t int_begin = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i > int_begin) {
    found = true;
    magnitude = static_cast<std::int64_t>(i - int_begin) - 1;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t frac_begin = i;
    while (i < s.size() && s[i] == '0') ++i;
    if (!found && i < s.size() && is_digit(s[i])) {
      found = true;
      magnitude = -static_cast<std::int64_t>(i - frac_begin) - 1;
    }
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  std::int64_t exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    const bool negative = i < s.size() && s[i] == '-';
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (exponent < cap) exponent = exponent * 10 + (s[i] - '0');
    }
    if (negative) exponent = -exponent;
  }
  return found && magnitude + exponent < 0;
}

}  // namespace number_text_detail

/// Parses the whole of `s` as a decimal number of type T: an optional '+' or '-' (not both),
/// digits with an optional '.', an optional exponent. NaN and infinity spellings, which
/// std::from_chars accepts, are reported as such and `out` is left alone; so is a number beyond
/// T's range. A number too small for T reads as its correctly rounded value (0, -0 or a
/// denormal), as strtod and XGBoost's readers give it.
template <class T>
[[nodiscard]] real_text parse_real(std::string_view s, T& out) noexcept {
  using number_text_detail::is_digit;
  const bool plus = !s.empty() && s.front() == '+';
  if (plus) s.remove_prefix(1);  // from_chars takes '-' but not '+'
  const bool negative = !s.empty() && s.front() == '-';
  const std::string_view body = negative ? s.substr(1) : s;
  if (body.empty() || (plus && negative)) return real_text::not_a_number;
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (end != s.data() + s.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return real_text::not_a_number;
  }
  if (!is_digit(body.front()) && body.front() != '.') {
    // the whole text matched, yet it starts with a letter: one of from_chars' inf or nan spellings
    return body.front() == 'i' || body.front() == 'I' ? real_text::infinite : real_text::nan;
  }
  if (ec == std::errc()) {
    out = value;
    return real_text::ok;
  }
  if (number_text_detail::below_one(body)) {
    out = negative ? -T{0} : T{0};
    return real_text::ok;
  }
  return real_text::out_of_range;
}

namespace number_text_detail {
/// Where a shown text is cut: 40 bytes, moved back to the start of a UTF-8 character.
inline std::size_t message_cut(std::string_view text) noexcept {
  constexpr std::size_t keep = 40;
  if (text.size() <= keep) return text.size();
  std::size_t cut = keep;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return cut;
}
}  // namespace number_text_detail

/// `text` quoted as a message shows it: "'text'" up to 40 bytes; beyond, its first 40 bytes (not
/// cutting a UTF-8 character) as "'first 40...' (N bytes)". A 10 MB cell then makes a message of
/// about 70 bytes, not 10 MB.
[[nodiscard]] inline std::string quoted(std::string_view text) {
  const std::size_t cut = number_text_detail::message_cut(text);
  // fmt, not operator+: GCC 12 at -O3 warns (-Wrestrict, a false positive) on "'" + string.
  if (cut == text.size()) return fmt::format("'{}'", text);
  return fmt::format("'{}...' ({} bytes)", text.substr(0, cut), text.size());
}

/// As quoted, without the quotes (for lists of names): "text" or "first 40... (N bytes)".
[[nodiscard]] inline std::string clipped(std::string_view text) {
  const std::size_t cut = number_text_detail::message_cut(text);
  if (cut == text.size()) return std::string(text);
  return fmt::format("{}... ({} bytes)", text.substr(0, cut), text.size());
}

}  // namespace funnel::detail
