#pragma once
/// @file enum_names.hpp
/// @brief One name table per enum, and the two generic conversions every JSON document and
/// message uses: `to_string(e)` and `parse_enum<E>(text, where)`.
///
/// A module declares its enum's table next to the enum, as a constexpr function found by
/// argument-dependent lookup, and brings the generic to_string into its namespace:
/// @code
/// enum class policy_kind { epsilon_greedy, ucb1 };
/// constexpr auto enum_names_of(policy_kind) {
///   return enum_names<policy_kind, 2>{"policy kind", {{{policy_kind::epsilon_greedy,
///   "epsilon_greedy"}, {policy_kind::ucb1, "ucb1"}}}};
/// }
/// using funnel::to_string;
/// @endcode
/// The first name of a value is the one to_string writes; a value may have further names that
/// parse_enum also accepts (spellings of earlier releases).

#include <funnel/core/error.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace funnel {

/// @brief One entry of an enum's name table.
template <class E>
struct enum_name {
  E value;
  std::string_view name;
};

/// @brief The name table of an enum: `what` (a noun for messages, "policy kind") and `names`.
template <class E, std::size_t N>
struct enum_names {
  std::string_view what;
  std::array<enum_name<E>, N> names;
};

/// @brief An enum with a name table: `enum_names_of(E{})` is found by argument-dependent lookup.
template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  { enum_names_of(e).what } -> std::convertible_to<std::string_view>;
  enum_names_of(e).names.size();
};

/// @brief The name of `e` in its table ("unknown" for a value outside the enum).
template <NamedEnum E>
[[nodiscard]] constexpr std::string_view to_string(E e) noexcept {
  for (const auto& n : enum_names_of(E{}).names) {
    if (n.value == e) return n.name;
  }
  return "unknown";
}

/// @brief The allowed names of E, comma-separated (each value's first name), for messages.
template <NamedEnum E>
[[nodiscard]] std::string enum_names_list() {
  std::string out;
  for (const auto& n : enum_names_of(E{}).names) {
    if (to_string(n.value) != n.name) continue;  // an alternative spelling
    if (!out.empty()) out += ", ";
    out += n.name;
  }
  return out;
}

/// @brief The value named `text`. @throws parse_error with id `parse_error.<where>`, naming the
/// field (when given, e.g. "mab.config.kind"), the text (at most 48 characters) and the allowed
/// names.
template <NamedEnum E>
[[nodiscard]] E parse_enum(std::string_view text, std::string_view where,
                           std::string_view field = {}) {
  for (const auto& n : enum_names_of(E{}).names) {
    if (n.name == text) return n.value;
  }
  raise<parse_error>(where, "{}{}unknown {} '{}' (expected one of: {})", field,
                     field.empty() ? "" : ": ", enum_names_of(E{}).what, text.substr(0, 48),
                     enum_names_list<E>());
}

}  // namespace funnel
