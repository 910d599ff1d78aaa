#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <unordered_set>

#include "core/number_text.hpp"

namespace funnel {
namespace {

/// The texts read as missing; looked up by string_view, without a copy per cell.
struct text_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using text_set = std::unordered_set<std::string, text_hash, std::equal_to<>>;

/// Where a record's fields go: the table's text and per-field end offsets (see csv_table).
struct cell_sink {
  std::string& text;
  std::vector<std::uint64_t>& ends;
  const text_set& missing;
};

/// Splits `text` into records of fields (RFC 4180), tracking the line each record starts on.
class csv_lexer {
 public:
  csv_lexer(std::string_view text, std::string_view source, char delimiter)
      : text_(text), source_(source), delimiter_(delimiter) {
    if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);  // UTF-8 byte-order mark
  }

  /// The unread input, for the caller's size estimates.
  [[nodiscard]] std::string_view rest() const noexcept { return text_.substr(pos_); }

  /// Reads the next record, appending its fields to `out`; returns false at end of input. Blank
  /// lines are skipped. At most `max_fields` fields are kept (memory stays bounded by them,
  /// whatever the line's length); `count` receives the record's full field count, which the
  /// caller checks.
  bool next(const cell_sink& out, std::size_t& start_line, std::size_t max_fields,
            std::size_t& count) {
    count = 0;
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
    if (pos_ >= text_.size()) return false;
    start_line = line_;
    for (;;) {
      const bool keep = count < max_fields;
      const std::size_t begin_out = out.text.size();
      bool quoted = false;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        quoted = true;
        const std::size_t quote_line = line_;
        ++pos_;
        for (;;) {
          // Copy the run up to the next quote at once.
          const std::size_t quote = text_.find('"', pos_);
          const std::size_t run_end = quote == std::string_view::npos ? text_.size() : quote;
          const auto run = text_.substr(pos_, run_end - pos_);
          line_ += static_cast<std::size_t>(std::count(run.begin(), run.end(), '\n'));
          if (keep) out.text.append(run);
          pos_ = run_end;
          if (pos_ >= text_.size()) {
            raise<parse_error>("core.csv", "{}:{}: unterminated quoted field", source_, quote_line);
          }
          ++pos_;  // the quote
          if (pos_ < text_.size() && text_[pos_] == '"') {
            if (keep) out.text.push_back('"');
            ++pos_;
          } else {
            break;
          }
        }
        if (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '\n' &&
            text_[pos_] != '\r') {
          raise<parse_error>("core.csv",
                             "{}:{}: unexpected character '{}' after closing quote in field {}",
                             source_, line_, text_[pos_], count + 1);
        }
      } else {
        const std::size_t begin = pos_;
        while (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '\n' &&
               text_[pos_] != '\r') {
          if (text_[pos_] == '"') {
            raise<parse_error>("core.csv", "{}:{}: stray quote inside unquoted field {}", source_,
                               line_, count + 1);
          }
          ++pos_;
        }
        if (keep) out.text.append(text_.substr(begin, pos_ - begin));
      }
      ++count;
      if (keep) {
        const std::string_view cell = std::string_view(out.text).substr(begin_out);
        const bool missing = !quoted && out.missing.contains(cell);
        out.ends.push_back((static_cast<std::uint64_t>(out.text.size()) << 1) |
                           (missing ? 1U : 0U));
      }
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == delimiter_) {
        ++pos_;
        continue;
      }
      // end of record: \n, \r\n or \r
      if (text_[pos_] == '\r') ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      return true;
    }
  }

 private:
  std::string_view text_;
  std::string_view source_;
  char delimiter_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

}  // namespace

std::size_t csv_table::column_index(std::string_view name) const {
  const auto it = std::find(columns_.begin(), columns_.end(), name);
  if (it == columns_.end()) {
    std::string known;
    for (std::size_t i = 0; i < columns_.size() && i < 12; ++i) {
      known += (i ? ", " : "") + detail::clipped(columns_[i]);
    }
    if (columns_.size() > 12) known += ", ...";
    raise<not_found>("core.csv", "{}: no column {} (columns: {})", source_, detail::quoted(name),
                     known);
  }
  return static_cast<std::size_t>(it - columns_.begin());
}

bool csv_table::has_column(std::string_view name) const noexcept {
  return std::find(columns_.begin(), columns_.end(), name) != columns_.end();
}

std::vector<double> csv_table::numeric(std::size_t col) const {
  if (col >= cols())
    raise<not_found>("core.csv", "{}: column index {} out of range ({} columns)", source_, col,
                     cols());
  std::vector<double> out(rows());
  for (std::size_t r = 0; r < rows(); ++r) {
    if (is_missing(r, col)) {
      out[r] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    std::string_view s = cell(r, col);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    double v = 0;
    switch (detail::parse_real(s, v)) {
      case detail::real_text::ok:
        break;
      case detail::real_text::not_a_number:
        raise<parse_error>("core.csv", "{}:{}: column {}: {} is not a number", source_, line_of(r),
                           detail::quoted(columns_[col]), detail::quoted(cell(r, col)));
      case detail::real_text::nan:  // from_chars reads it; missing values are the listed texts only
        raise<parse_error>("core.csv",
                           "{}:{}: column {}: {} is not a number (missing values are the texts in "
                           "csv_options::missing)",
                           source_, line_of(r), detail::quoted(columns_[col]),
                           detail::quoted(cell(r, col)));
      case detail::real_text::infinite:
        raise<parse_error>("core.csv", "{}:{}: column {}: {} is not a finite number", source_,
                           line_of(r), detail::quoted(columns_[col]), detail::quoted(cell(r, col)));
      case detail::real_text::out_of_range:
        raise<parse_error>("core.csv", "{}:{}: column {}: {} is out of the range of a double",
                           source_, line_of(r), detail::quoted(columns_[col]),
                           detail::quoted(cell(r, col)));
    }
    out[r] = v;
  }
  return out;
}

std::vector<std::string> csv_table::strings(std::size_t col) const {
  if (col >= cols())
    raise<not_found>("core.csv", "{}: column index {} out of range ({} columns)", source_, col,
                     cols());
  std::vector<std::string> out(rows());
  for (std::size_t r = 0; r < rows(); ++r) {
    if (!is_missing(r, col)) out[r] = std::string(cell(r, col));
  }
  return out;
}

csv_table parse_csv(std::string_view text, std::string_view source, const csv_options& options) {
  if (options.delimiter == '"' || options.delimiter == '\n' || options.delimiter == '\r') {
    raise<invalid_argument>("core.csv", "delimiter cannot be a quote or a line break");
  }
  csv_table table;
  table.source_ = std::string(source);
  if (options.max_columns == 0) raise<invalid_argument>("core.csv", "max_columns must be > 0");
  const text_set missing(options.missing.begin(), options.missing.end());
  const cell_sink sink{table.text_, table.ends_, missing};
  csv_lexer lexer(text, source, options.delimiter);
  std::size_t line = 0;
  std::size_t count = 0;
  if (!lexer.next(sink, line, options.max_columns, count))
    raise<parse_error>("core.csv", "{}: empty input (no header or rows)", source);
  if (count > options.max_columns) {
    raise<parse_error>("core.csv", "{}:{}: {} fields exceed max_columns = {}", source, line, count,
                       options.max_columns);
  }

  if (options.header) {
    std::unordered_set<std::string_view> seen;
    for (std::size_t i = 0; i < table.ends_.size(); ++i) {
      const std::size_t begin = i == 0 ? 0 : static_cast<std::size_t>(table.ends_[i - 1] >> 1);
      const std::string_view name =
          std::string_view(table.text_)
              .substr(begin, static_cast<std::size_t>(table.ends_[i] >> 1) - begin);
      if (name.empty())
        raise<parse_error>("core.csv", "{}:{}: header field {} is empty", source, line, i + 1);
      if (!seen.insert(name).second) {
        raise<parse_error>("core.csv", "{}:{}: duplicate column name {}", source, line,
                           detail::quoted(name));
      }
      table.columns_.emplace_back(name);
    }
    table.text_.clear();
    table.ends_.clear();
  } else {
    for (std::size_t i = 0; i < count; ++i) table.columns_.push_back(std::to_string(i));
    table.lines_.push_back(line);
  }
  // Room for the rest at once, so the vectors never reallocate (a copy would double the peak):
  // each record ends at a line break or the end, so there are at most (line breaks + 1) x columns
  // cells, and one per delimiter or line break; no more text than the input has. Pages are
  // touched only as cells are stored.
  const auto rest = lexer.rest();
  const auto newlines = static_cast<std::size_t>(std::count(rest.begin(), rest.end(), '\n'));
  const auto delimiters =
      static_cast<std::size_t>(std::count(rest.begin(), rest.end(), options.delimiter));
  const std::size_t width = table.columns_.size();
  const std::size_t most_cells = std::min(
      delimiters + newlines + 1, newlines + 1 > std::numeric_limits<std::size_t>::max() / width
                                     ? std::numeric_limits<std::size_t>::max()
                                     : (newlines + 1) * width);
  table.ends_.reserve(table.ends_.size() + most_cells);
  table.text_.reserve(table.text_.size() + rest.size());
  // A data record keeps at most as many fields as the header has: a line of millions of
  // delimiters is counted, not stored.
  const std::size_t keep = table.columns_.size();
  while (lexer.next(sink, line, keep, count)) {
    if (count != keep) {
      raise<parse_error>("core.csv", "{}:{}: expected {} fields, found {}", source, line, keep,
                         count);
    }
    table.lines_.push_back(line);
  }
  return table;
}

csv_table read_csv(const std::filesystem::path& path, const csv_options& options) {
  return parse_csv(read_file(path), path.string(), options);
}

}  // namespace funnel
