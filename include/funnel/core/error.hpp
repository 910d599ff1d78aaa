#pragma once
/// @file error.hpp
/// @brief funnel's exception hierarchy: one type per kind of failure, each message carrying a
/// stable id (`[funnel.parse_error.core.csv] ...`) and naming the file, field, row or feature at
/// fault.
///
/// **Error ids.** An id is `<kind>.<module>.<component>`:
/// - `kind` is the exception class (`parse_error`, `invalid_argument`, ...);
/// - `module` is the namespace the raising code lives in, one of `core`, `features`, `scoring`,
///   `retrieval`, `rerank`, `bandits`, `experiments`, `drift`, `metrics`, `pipeline`, `stats`, or
///   `app` for code outside funnel (an application, an example or a test raising funnel's errors);
/// - `component` is the type or function at fault, in snake_case (`xgboost`, `tree_ensemble`,
///   `one_hot`, `hnsw_index`, `config`).
///
/// e.g. `parse_error.scoring.xgboost`, `invalid_argument.drift.psi`,
/// `io_error.core.write_file_atomic`. The `where` argument of every constructor and of raise() is
/// `<module>.<component>`; its shape is checked by valid_error_where(), which an assert enforces in
/// builds without NDEBUG (the Debug and sanitizer builds every test runs in), so a malformed id
/// fails the first test that raises it.

#include <fmt/format.h>

#include <array>
#include <cassert>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace funnel {

/// @brief The modules an error id may name (see the file comment); `app` is code outside funnel.
inline constexpr std::array<std::string_view, 12> error_modules = {
    "core",        "features", "scoring", "retrieval", "rerank", "bandits",
    "experiments", "drift",    "metrics", "pipeline",  "stats",  "app"};

/// @brief True when `where` is `<module>.<component>`: module one of error_modules, component a
/// non-empty snake_case word (`[a-z0-9_]`, starting with a letter), and nothing else.
[[nodiscard]] constexpr bool valid_error_where(std::string_view where) noexcept {
  const auto dot = where.find('.');
  if (dot == std::string_view::npos) return false;
  const auto module = where.substr(0, dot);
  const auto component = where.substr(dot + 1);
  bool known = false;
  for (const auto m : error_modules) known = known || m == module;
  if (!known || component.empty() || component.front() < 'a' || component.front() > 'z') {
    return false;
  }
  for (const char c : component) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

/// @brief Base of every exception funnel throws. `id()` is stable across releases
/// ("parse_error.core.csv"); `what()` is "[funnel.<id>] <message>". `where` is
/// `<module>.<component>` (asserted, see valid_error_where).
class error : public std::runtime_error {
 public:
  error(std::string_view kind, std::string_view where, const std::string& message)
      : std::runtime_error(fmt::format("[funnel.{}.{}] {}", kind, where, message)),
        id_(fmt::format("{}.{}", kind, where)) {
    assert(valid_error_where(where) && "funnel error id: `where` must be <module>.<component>");
  }

  /// @brief The stable id, e.g. "parse_error.scoring.xgboost".
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
/// funnel::raise<funnel::parse_error>("core.csv", "{}:{}: expected {} fields, found {}", file,
///                                    line, n, m);
/// @endcode
template <class Error, class... Args>
[[noreturn]] void raise(std::string_view where, fmt::format_string<Args...> format,
                        Args&&... args) {
  throw Error(where, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace funnel
