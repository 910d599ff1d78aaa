#include <funnel/pipeline/adapters.hpp>

#include <algorithm>
#include <numeric>

namespace funnel::pipeline {

namespace detail {

id_index::id_index(std::span<const std::uint64_t> ids, std::string_view who) : n_(ids.size()) {
  if (ids.size() >= absent) {
    raise<invalid_argument>(who, "{} ids exceed the 2^32 - 1 limit", ids.size());
  }
  for (std::size_t i = 0; i < ids.size() && dense_; ++i) dense_ = ids[i] == i;
  if (dense_) return;
  rows_.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!rows_.emplace(ids[i], static_cast<std::uint32_t>(i)).second) {
      raise<invalid_argument>(who, "id {} appears twice (rows {} and {})", ids[i], rows_[ids[i]],
                              i);
    }
  }
}

}  // namespace detail

namespace {

/// The ids 0 .. n-1: the table of `dense(n)`, where an id is its row.
std::vector<std::uint64_t> iota_ids(std::size_t n) {
  std::vector<std::uint64_t> ids(n);
  std::iota(ids.begin(), ids.end(), std::uint64_t{0});
  return ids;
}

}  // namespace

// ---- item_attributes -------------------------------------------------------------------------

item_attributes::item_attributes(std::span<const std::uint64_t> ids)
    : index_(ids, "pipeline.item_attributes") {}

item_attributes item_attributes::dense(std::size_t n) {
  return item_attributes(iota_ids(n));
}

void item_attributes::check_rows(std::size_t n, std::string_view what) const {
  if (n != size()) {
    raise<dimension_mismatch>("pipeline.item_attributes", "{} has {} rows, the table has {} items",
                              what, n, size());
  }
}

item_attributes& item_attributes::set_embeddings(matrix_view m) {
  check_rows(m.rows(), "embeddings");
  embeddings_ = m;
  owned_embeddings_.reset();
  return *this;
}

item_attributes& item_attributes::set_embeddings(std::shared_ptr<const matrix> m) {
  if (!m) raise<invalid_argument>("pipeline.item_attributes", "null embeddings");
  check_rows(m->rows(), "embeddings");
  embeddings_ = m->view();
  owned_embeddings_ = std::move(m);
  return *this;
}

item_attributes& item_attributes::set_groups(std::string name, std::vector<std::uint64_t> keys) {
  if (name.empty()) raise<invalid_argument>("pipeline.item_attributes", "empty group name");
  check_rows(keys.size(), "groups '" + name + "'");
  for (auto& g : groups_) {
    if (g.first == name) {
      g.second = std::move(keys);
      return *this;
    }
  }
  groups_.emplace_back(std::move(name), std::move(keys));
  return *this;
}

item_attributes& item_attributes::set_timestamps(std::vector<double> t) {
  check_rows(t.size(), "timestamps");
  timestamps_ = std::move(t);
  return *this;
}

item_attributes& item_attributes::set_dedup_keys(std::vector<std::uint64_t> keys) {
  check_rows(keys.size(), "dedup keys");
  dedup_ = std::move(keys);
  return *this;
}

void item_attributes::attach(rerank::slate& s, std::span<const std::uint32_t> rows,
                             gather_buffers& buf) const {
  if (!embeddings_.empty()) s.set_embeddings(embeddings_, rows);
  buf.groups.resize(std::max(buf.groups.size(), groups_.size()));
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    auto& out = buf.groups[g];
    out.clear();
    for (const auto r : rows) out.push_back(groups_[g].second[r]);
    s.set_groups(groups_[g].first, out);
  }
  if (!timestamps_.empty()) {
    buf.timestamps.clear();
    for (const auto r : rows) buf.timestamps.push_back(timestamps_[r]);
    s.set_timestamps(buf.timestamps);
  }
  if (!dedup_.empty()) {
    buf.dedup.clear();
    for (const auto r : rows) buf.dedup.push_back(dedup_[r]);
    s.set_dedup_keys(buf.dedup);
  }
}

// ---- feature_table ---------------------------------------------------------------------------

feature_table::feature_table(std::span<const std::uint64_t> ids)
    : index_(ids, "pipeline.feature_table") {}

feature_table feature_table::dense(std::size_t n) {
  return feature_table(iota_ids(n));
}

void feature_table::check_new(const std::string& name, std::size_t n) const {
  if (name.empty()) raise<invalid_argument>("pipeline.feature_table", "empty column name");
  if (find(name)) {
    raise<invalid_argument>("pipeline.feature_table", "column '{}' is already in the table", name);
  }
  if (n != size()) {
    raise<dimension_mismatch>("pipeline.feature_table", "column '{}' has {} rows, the table has {}",
                              name, n, size());
  }
}

feature_table& feature_table::set_numeric(std::vector<std::string> names, matrix values) {
  numeric_names_.clear();
  numeric_ = matrix();
  if (values.cols() != names.size()) {
    raise<dimension_mismatch>("pipeline.feature_table", "numeric block has {} columns for {} names",
                              values.cols(), names.size());
  }
  for (const auto& n : names) check_new(n, values.rows());
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (names[i] == names[j]) {
        raise<invalid_argument>("pipeline.feature_table", "numeric column '{}' named twice",
                                names[i]);
      }
    }
  }
  numeric_names_ = std::move(names);
  numeric_ = std::move(values);
  return *this;
}

feature_table& feature_table::add_integer(std::string name, std::vector<std::int64_t> values) {
  check_new(name, values.size());
  integers_.emplace_back(std::move(name), std::move(values));
  return *this;
}

feature_table& feature_table::add_string(std::string name, std::vector<std::string> values) {
  check_new(name, values.size());
  strings_.emplace_back(std::move(name), std::move(values));
  return *this;
}

std::optional<feature_table::column_ref> feature_table::find(std::string_view name) const {
  for (std::size_t i = 0; i < numeric_names_.size(); ++i) {
    if (numeric_names_[i] == name) return column_ref{features::column_type::numeric, i};
  }
  for (std::size_t i = 0; i < integers_.size(); ++i) {
    if (integers_[i].first == name) return column_ref{features::column_type::integer, i};
  }
  for (std::size_t i = 0; i < strings_.size(); ++i) {
    if (strings_[i].first == name) return column_ref{features::column_type::string, i};
  }
  return std::nullopt;
}

// ---- feature_stage binding -------------------------------------------------------------------

namespace detail {
namespace {

constexpr std::string_view who = "pipeline.feature_stage";

std::string_view source_name(column_binding::source s) {
  switch (s) {
    case column_binding::source::user:
      return "the user table";
    case column_binding::source::item:
      return "the item table";
    case column_binding::source::context:
      return "the request context";
    case column_binding::source::score:
      return "the retrieval score";
    case column_binding::source::missing:
      return "the missing list";
  }
  return "?";
}

void set_missing_value(features::row& r, const column_binding& b) {
  r.set_missing(b.schema_col);
}

void set_from_table(features::row& r, const column_binding& b, const feature_table& t,
                    std::uint32_t row) {
  switch (b.type) {
    case features::column_type::numeric:
      r.set(b.schema_col, t.numeric(row, b.index));
      break;
    case features::column_type::integer:
      r.set(b.schema_col, t.integer(row, b.index));
      break;
    case features::column_type::string:
      r.set(b.schema_col, t.string(row, b.index));
      break;
  }
}

}  // namespace

std::vector<column_binding> bind_columns(const features::schema& s, const feature_join& join) {
  std::vector<std::optional<column_binding>> found(s.size());
  auto bind = [&](std::size_t col, column_binding b) {
    b.schema_col = col;
    b.type = s[col].type;
    if (found[col]) {
      raise<invalid_argument>(who, "schema column '{}' is fed by both {} and {}", s[col].name,
                              source_name(found[col]->from), source_name(b.from));
    }
    found[col] = b;
  };
  auto schema_index = [&](const std::string& name, std::string_view field) {
    for (std::size_t c = 0; c < s.size(); ++c) {
      if (s[c].name == name) return c;
    }
    raise<not_found>(who, "{} names column '{}', which the features schema does not have", field,
                     name);
  };
  for (std::size_t c = 0; c < s.size(); ++c) {
    const auto& name = s[c].name;
    for (const auto& [table, from] : {std::pair{join.users.get(), column_binding::source::user},
                                      std::pair{join.items.get(), column_binding::source::item}}) {
      if (table == nullptr) continue;
      if (const auto ref = table->find(name)) {
        if (ref->type != s[c].type) {
          raise<invalid_argument>(who, "schema column '{}' is {} but {} has it as {}", name,
                                  features::to_string(s[c].type), source_name(from),
                                  features::to_string(ref->type));
        }
        column_binding b;
        b.from = from;
        b.index = ref->index;
        bind(c, b);
      }
    }
  }
  for (std::size_t i = 0; i < join.context.size(); ++i) {
    const auto c = schema_index(join.context[i], "feature_join.context[" + std::to_string(i) + "]");
    if (s[c].type == features::column_type::string) {
      raise<invalid_argument>(who,
                              "context column '{}' is a string column; the request context "
                              "holds floats (numeric or integer columns only)",
                              s[c].name);
    }
    column_binding b;
    b.from = column_binding::source::context;
    b.index = i;
    bind(c, b);
  }
  if (!join.score.empty()) {
    const auto c = schema_index(join.score, "feature_join.score");
    if (s[c].type != features::column_type::numeric) {
      raise<invalid_argument>(who, "score column '{}' must be numeric, it is {}", s[c].name,
                              features::to_string(s[c].type));
    }
    column_binding b;
    b.from = column_binding::source::score;
    bind(c, b);
  }
  for (std::size_t i = 0; i < join.missing.size(); ++i) {
    const auto c = schema_index(join.missing[i], "feature_join.missing[" + std::to_string(i) + "]");
    column_binding b;
    b.from = column_binding::source::missing;
    bind(c, b);
  }
  std::vector<column_binding> out;
  for (std::size_t c = 0; c < s.size(); ++c) {
    if (!found[c]) {
      raise<not_found>(who,
                       "schema column '{}' is fed by no source (user table, item table, "
                       "context, score, or feature_join.missing)",
                       s[c].name);
    }
    out.push_back(*found[c]);
  }
  return out;
}

void fill_request_columns(features::row& r, std::span<const column_binding> bindings,
                          const feature_join& join, const request& q) {
  if (q.context.size() != join.context.size()) {
    raise<dimension_mismatch>(who, "request {} has {} context values, the feature stage reads {}",
                              q.id, q.context.size(), join.context.size());
  }
  std::uint32_t user_row = id_index::absent;
  if (join.users && q.query.user) user_row = join.users->row(*q.query.user);
  for (const auto& b : bindings) {
    switch (b.from) {
      case column_binding::source::user:
        // A new or unknown user: its columns are missing (the features decide what that means).
        if (user_row == id_index::absent) {
          set_missing_value(r, b);
        } else {
          set_from_table(r, b, *join.users, user_row);
        }
        break;
      case column_binding::source::context: {
        const float v = q.context[b.index];
        if (b.type == features::column_type::numeric) {
          r.set(b.schema_col, v);
        } else if (std::isnan(v)) {
          r.set_missing(b.schema_col);
        } else if (!(std::fabs(v) < 9.0e18F)) {
          raise<invalid_argument>(who,
                                  "request {}: context value {} for integer column '{}' is "
                                  "out of range",
                                  q.id, v, r.get_schema()[b.schema_col].name);
        } else {
          r.set(b.schema_col, static_cast<std::int64_t>(v));
        }
        break;
      }
      case column_binding::source::missing:
        set_missing_value(r, b);
        break;
      case column_binding::source::item:
      case column_binding::source::score:
        break;
    }
  }
}

void fill_candidate_columns(features::row& r, std::span<const column_binding> bindings,
                            const feature_join& join, const candidate& c) {
  std::uint32_t item_row = id_index::absent;
  if (join.items) {
    item_row = join.items->row(c.id);
    if (item_row == id_index::absent && join.unknown == unknown_item::error) {
      raise<not_found>(who, "candidate id {} is not in the item table", c.id);
    }
  }
  for (const auto& b : bindings) {
    if (b.from == column_binding::source::item) {
      if (item_row == id_index::absent) {
        set_missing_value(r, b);
      } else {
        set_from_table(r, b, *join.items, item_row);
      }
    } else if (b.from == column_binding::source::score) {
      r.set(b.schema_col, c.score);
    }
  }
}

}  // namespace detail
}  // namespace funnel::pipeline
