#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/libsvm.hpp>

#include <charconv>
#include <cmath>
#include <limits>

#include "core/number_text.hpp"

namespace funnel {
namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/// What a label or value that is not a finite float is, for the message ("" when it is one).
/// The grammar is detail::parse_real's: a sign, digits, '.', exponent; NaN and infinity spellings
/// are rejected (missing is expressed by omitting the entry); an underflow reads as 0 or -0.
std::string_view parse_float(std::string_view s, float& out) noexcept {
  switch (detail::parse_real(s, out)) {
    case detail::real_text::ok:
      return {};
    case detail::real_text::out_of_range:
      return "is out of the range of a float";
    default:
      return "is not a finite number";
  }
}

/// Parses the whole of `s` as a non-negative decimal integer (digits only).
bool parse_uint(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.front() < '0' || s.front() > '9') return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// One line's tokens, split at white space.
struct line_tokens {
  std::string_view line;
  std::size_t i = 0;
  std::string_view next() {
    while (i < line.size() && is_space(line[i])) ++i;
    const std::size_t b = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    return line.substr(b, i - b);
  }
};

// A row's optional qid and its index:value pairs after the label.
struct row_entries {
  bool has_qid = false;
  std::uint64_t qid = 0;
  std::int64_t last_index = -1;  ///< -1 for a row without features
};

// Reads the rest of a row (after its label) into x's indices and values.
row_entries read_row(line_tokens& tokens, csr_matrix& x, std::string_view source,
                     std::size_t line_no) {
  constexpr std::uint64_t max_index = std::numeric_limits<std::uint32_t>::max() - 1;
  row_entries row;
  bool& row_has_qid = row.has_qid;
  std::uint64_t& qid = row.qid;
  std::int64_t& previous = row.last_index;
  bool first_token = true;
  for (std::string_view tok = tokens.next(); !tok.empty(); tok = tokens.next()) {
    const auto colon = tok.find(':');
    if (colon == std::string_view::npos) {
      raise<parse_error>("core.libsvm", "{}:{}: token {} has no ':' (expected index:value)", source,
                         line_no, detail::quoted(tok));
    }
    const auto key = tok.substr(0, colon);
    const auto value_text = tok.substr(colon + 1);
    if (key == "qid") {
      if (!first_token) {
        raise<parse_error>("core.libsvm", "{}:{}: 'qid:' must directly follow the label, found {}",
                           source, line_no, detail::quoted(tok));
      }
      if (!parse_uint(value_text, qid)) {
        raise<parse_error>("core.libsvm", "{}:{}: qid {} is not a non-negative integer", source,
                           line_no, detail::quoted(value_text));
      }
      row_has_qid = true;
      first_token = false;
      continue;
    }
    first_token = false;
    std::uint64_t index = 0;
    if (!parse_uint(key, index)) {
      raise<parse_error>("core.libsvm", "{}:{}: index {} in {} is not a non-negative integer",
                         source, line_no, detail::quoted(key), detail::quoted(tok));
    }
    if (index > max_index) {
      raise<parse_error>("core.libsvm", "{}:{}: index {} exceeds the largest supported index {}",
                         source, line_no, index, max_index);
    }
    float value = 0;
    if (const auto fault = parse_float(value_text, value); !fault.empty()) {
      raise<parse_error>("core.libsvm", "{}:{}: value {} of index {} {}", source, line_no,
                         detail::quoted(value_text), index, fault);
    }
    const auto signed_index = static_cast<std::int64_t>(index);
    if (signed_index == previous) {
      raise<parse_error>("core.libsvm", "{}:{}: duplicate index {}", source, line_no, index);
    }
    if (signed_index < previous) {
      raise<parse_error>("core.libsvm", "{}:{}: index {} after {}: indices must ascend", source,
                         line_no, index, previous);
    }
    previous = signed_index;
    x.indices.push_back(static_cast<std::uint32_t>(index));
    x.values.push_back(value);
  }
  return row;
}

}  // namespace

libsvm_data parse_libsvm(std::string_view text, std::string_view source,
                         const libsvm_options& options) {
  libsvm_data data;
  auto& x = data.features;
  std::size_t max_col_plus_one = 0;
  std::size_t line_no = 0;
  bool first_row = true;
  bool file_has_qid = false;

  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);

    line_tokens tokens{line};
    const std::string_view label_text = tokens.next();
    if (label_text.empty()) continue;  // blank or comment-only line
    float label = 0;
    if (const auto fault = parse_float(label_text, label); !fault.empty()) {
      raise<parse_error>("core.libsvm", "{}:{}: label {} {}", source, line_no,
                         detail::quoted(label_text), fault);
    }

    const row_entries row = read_row(tokens, x, source, line_no);
    const bool row_has_qid = row.has_qid;
    const std::int64_t previous = row.last_index;
    if (first_row) {
      file_has_qid = row_has_qid;
      first_row = false;
    } else if (row_has_qid != file_has_qid) {
      raise<parse_error>("core.libsvm",
                         "{}:{}: row {} qid:, unlike the first row (mix of rows with and "
                         "without qid)",
                         source, line_no, row_has_qid ? "has" : "has no");
    }
    if (row_has_qid) data.qids.push_back(row.qid);
    if (previous >= 0) {
      max_col_plus_one = std::max(max_col_plus_one, static_cast<std::size_t>(previous) + 1);
    }
    data.labels.push_back(label);
    x.row_ptr.push_back(x.values.size());
  }
  x.cols = std::max(options.min_cols, max_col_plus_one);
  return data;
}

libsvm_data read_libsvm(const std::filesystem::path& path, const libsvm_options& options) {
  return parse_libsvm(read_file(path), path.string(), options);
}

}  // namespace funnel
