#pragma once
/// @file error.hpp
/// @brief funnel's exception hierarchy: one type per kind of failure, each message carrying a
/// stable id (`[funnel.parse_error.csv] ...`) and naming the file, field, row or feature at fault.

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace funnel {

/// @brief Base of every exception funnel throws. `id()` is stable across releases
/// ("parse_error.csv"); `what()` is "[funnel.<id>] <message>".
class error : public std::runtime_error {
 public:
  error(std::string_view kind, std::string_view where, const std::string& message)
      : std::runtime_error(fmt::format("[funnel.{}.{}] {}", kind, where, message)),
        id_(fmt::format("{}.{}", kind, where)) {}

  /// @brief The stable id, e.g. "parse_error.xgboost".
  [[nodiscard]] const std::string& id() const noexcept { return id_; }

 private:
  std::string id_;
};

/// @brief An argument or configuration value is out of its domain.
class invalid_argument : public error {
 public:
  invalid_argument(std::string_view where, const std::string& message)
      : error("invalid_argument", where, message) {}
};

/// @brief A file or JSON document is malformed; the message names file, line or field.
class parse_error : public error {
 public:
  parse_error(std::string_view where, const std::string& message)
      : error("parse_error", where, message) {}
};

/// @brief A file cannot be opened, read or written.
class io_error : public error {
 public:
  io_error(std::string_view where, const std::string& message)
      : error("io_error", where, message) {}
};

/// @brief Sizes disagree: a row's width, a vector's dimension, a buffer's length.
class dimension_mismatch : public error {
 public:
  dimension_mismatch(std::string_view where, const std::string& message)
      : error("dimension_mismatch", where, message) {}
};

/// @brief A component was used before `fit` (or load).
class not_fitted : public error {
 public:
  not_fitted(std::string_view where, const std::string& message)
      : error("not_fitted", where, message) {}
};

/// @brief An id, name or key is unknown (an unknown category, arm, item or stage).
class not_found : public error {
 public:
  not_found(std::string_view where, const std::string& message)
      : error("not_found", where, message) {}
};

/// @brief A valid input asks for something funnel does not support (an objective, a format
/// version).
class unsupported : public error {
 public:
  unsupported(std::string_view where, const std::string& message)
      : error("unsupported", where, message) {}
};

/// @brief An iterative algorithm did not converge within its budget.
class convergence_error : public error {
 public:
  convergence_error(std::string_view where, const std::string& message)
      : error("convergence_error", where, message) {}
};

/// @brief Throws `Error(where, fmt::format(format, args...))`.
///
/// @code
/// funnel::raise<funnel::parse_error>("csv", "{}:{}: expected {} fields, found {}", file, line, n,
/// m);
/// @endcode
template <class Error, class... Args>
[[noreturn]] void raise(std::string_view where, fmt::format_string<Args...> format,
                        Args&&... args) {
  throw Error(where, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace funnel
