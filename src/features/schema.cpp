#include <funnel/features/schema.hpp>

#include <charconv>
#include <set>

#include "core/number_text.hpp"

namespace funnel::features {

schema::schema(std::vector<column_spec> columns) : columns_(std::move(columns)) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].name.empty()) {
      raise<invalid_argument>("features.schema", "column {} has an empty name", i);
    }
    if (!seen.insert(columns_[i].name).second) {
      raise<invalid_argument>("features.schema", "duplicate column name '{}'", columns_[i].name);
    }
  }
}

std::size_t schema::index(std::string_view name) const {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].name == name) return i;
  }
  raise<not_found>("features.schema", "no column named '{}'", name);
}

std::size_t schema::index(std::string_view name, column_type expected,
                          std::string_view user) const {
  const std::size_t i = index(name);
  if (columns_[i].type != expected) {
    raise<invalid_argument>("features.schema", "{}: column '{}' is {}, expected {}", user, name,
                            to_string(columns_[i].type), to_string(expected));
  }
  return i;
}

json schema::to_json() const {
  json j = json_header("funnel.features.schema", 1);
  json cols = json::array();
  for (const auto& c : columns_) {
    cols.push_back({{"name", c.name},
                    {"type", std::string(to_string(c.type))},
                    {"missing", std::string(to_string(c.missing))}});
  }
  j["columns"] = std::move(cols);
  return j;
}

schema schema::from_json(const json& j) {
  check_json_header(j, "funnel.features.schema", 1);
  const json& cols = json_field(j, "columns", "schema");
  if (!cols.is_array()) raise<parse_error>("features.schema", "schema.columns: expected an array");
  std::vector<column_spec> out;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const std::string ctx = fmt::format("schema.columns[{}]", i);
    column_spec c;
    c.name = json_get<std::string>(cols[i], "name", ctx);
    c.type = parse_enum<column_type>(json_get<std::string>(cols[i], "type", ctx), "features.schema",
                                     ctx + ".type");
    c.missing = parse_enum<missing_policy>(json_get<std::string>(cols[i], "missing", ctx),
                                           "features.schema", ctx + ".missing");
    out.push_back(std::move(c));
  }
  try {
    return schema(std::move(out));
  } catch (const invalid_argument& e) {
    raise<parse_error>("features.schema", "schema.columns: {}", e.what());
  }
}

row::row(const schema& s)
    : schema_(&s),
      set_gen_(s.size(), 0),
      num_(s.size(), std::numeric_limits<float>::quiet_NaN()),
      text_(s.size()),
      str_missing_(s.size(), 1),
      int_(s.size(), missing_integer) {}

void row::check(std::size_t col, column_type t) const {
  if (col >= schema_->size()) {
    raise<dimension_mismatch>("features.row", "column index {} out of range (schema has {})", col,
                              schema_->size());
  }
  if ((*schema_)[col].type != t) {
    raise<invalid_argument>("features.row", "column '{}' is {}, cannot set a {} value",
                            (*schema_)[col].name, to_string((*schema_)[col].type), to_string(t));
  }
}

void row::set_missing(std::size_t col) {
  if (col >= schema_->size()) {
    raise<dimension_mismatch>("features.row", "column index {} out of range (schema has {})", col,
                              schema_->size());
  }
  num_[col] = std::numeric_limits<float>::quiet_NaN();
  str_missing_[col] = 1;
  int_[col] = missing_integer;
  set_gen_[col] = generation_;
}

void row::clear() noexcept {
  ++generation_;
}

void row::check_complete(std::size_t row_id) const {
  for (std::size_t c = 0; c < set_gen_.size(); ++c) {
    if (set_gen_[c] != generation_) {
      raise<invalid_argument>("features.row",
                              "column '{}', row {}: not set since the row was built or last "
                              "cleared (set a value, or set_missing for a missing one)",
                              (*schema_)[c].name, row_id);
    }
  }
}

batch::batch(const schema& s)
    : schema_(&s), is_set_(s.size(), 0), num_(s.size()), str_(s.size()), int_(s.size()) {}

void batch::check_set(std::size_t col, column_type t, std::size_t n) {
  if (col >= schema_->size()) {
    raise<dimension_mismatch>("features.batch", "column index {} out of range (schema has {})", col,
                              schema_->size());
  }
  const column_spec& spec = (*schema_)[col];
  if (spec.type != t) {
    raise<invalid_argument>("features.batch", "column '{}' is {}, cannot set {} values", spec.name,
                            to_string(spec.type), to_string(t));
  }
  bool any = false;
  for (std::size_t c = 0; c < is_set_.size(); ++c) any = any || (is_set_[c] != 0 && c != col);
  if (any && n != rows_) {
    raise<dimension_mismatch>("features.batch", "column '{}' has {} rows, other columns have {}",
                              spec.name, n, rows_);
  }
  rows_ = n;
  is_set_[col] = 1;
}

void batch::set(std::size_t col, std::span<const float> values) {
  check_set(col, column_type::numeric, values.size());
  num_[col] = values;
}
void batch::set(std::size_t col, std::span<const std::string_view> values) {
  check_set(col, column_type::string, values.size());
  str_[col] = values;
}
void batch::set(std::size_t col, std::span<const std::int64_t> values) {
  check_set(col, column_type::integer, values.size());
  int_[col] = values;
}

void batch::check_complete() const {
  for (std::size_t c = 0; c < is_set_.size(); ++c) {
    if (is_set_[c] == 0) {
      raise<invalid_argument>("features.batch", "column '{}' was never set", (*schema_)[c].name);
    }
  }
}

table::table(const schema& s, const csv_table& csv)
    : schema_(std::make_unique<schema>(s)),
      num_(s.size()),
      text_(s.size()),
      str_(s.size()),
      int_(s.size()),
      batch_(*schema_) {
  for (std::size_t c = 0; c < s.size(); ++c) {
    const column_spec& spec = s[c];
    const std::size_t k = csv.column_index(spec.name);
    switch (spec.type) {
      case column_type::numeric: {
        const auto d = csv.numeric(k);
        num_[c].reserve(d.size());
        for (double v : d) num_[c].push_back(static_cast<float>(v));
        batch_.set(c, std::span<const float>(num_[c]));
        break;
      }
      case column_type::string: {
        text_[c] = csv.strings(k);
        str_[c].resize(text_[c].size());
        for (std::size_t i = 0; i < text_[c].size(); ++i) {
          str_[c][i] = csv.is_missing(i, k) ? missing_string : std::string_view(text_[c][i]);
        }
        batch_.set(c, std::span<const std::string_view>(str_[c]));
        break;
      }
      case column_type::integer: {
        int_[c].resize(csv.rows());
        for (std::size_t i = 0; i < csv.rows(); ++i) {
          if (csv.is_missing(i, k)) {
            int_[c][i] = missing_integer;
            continue;
          }
          const std::string_view cell = csv.cell(i, k);
          std::int64_t v = 0;
          const auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
          if (ec != std::errc() || p != cell.data() + cell.size() || v == missing_integer) {
            raise<parse_error>("features.table", "{}:{}: column {}: {} is not an integer",
                               csv.source(), csv.line_of(i), funnel::detail::quoted(spec.name),
                               funnel::detail::quoted(cell));
          }
          int_[c][i] = v;
        }
        batch_.set(c, std::span<const std::int64_t>(int_[c]));
        break;
      }
    }
  }
}

}  // namespace funnel::features
