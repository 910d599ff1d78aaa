// The slate's request setup, lookups and traces (its per-item hot path is inline in slate.hpp).
#include <funnel/rerank/slate.hpp>

namespace funnel::rerank {

void slate::reset(std::span<const candidate> items) {
  if (items.size() >= std::numeric_limits<std::uint32_t>::max()) {
    raise<invalid_argument>("rerank.slate", "{} candidates exceed the 2^32 - 1 limit",
                            items.size());
  }
  entries_.clear();
  trace_.clear();
  groups_.clear();
  timestamps_ = {};
  dedup_keys_ = {};
  embeddings_ = {};
  embedding_rows_ = {};
  similarity_ = nullptr;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (std::isnan(items[i].score)) {
      raise<invalid_argument>("rerank.slate", "candidate {} (id {}) has a NaN score", i,
                              items[i].id);
    }
    entries_.push_back({items[i], static_cast<std::uint32_t>(i)});
    item_trace t;
    t.id = items[i].id;
    t.original_rank = i;
    t.original_score = items[i].score;
    trace_.push_back(t);
  }
}

void slate::set_groups(std::string_view name, std::span<const std::uint64_t> keys) {
  check_size("groups '" + std::string(name) + "'", keys.size());
  for (auto& g : groups_) {
    if (g.first == name) {
      g.second = keys;
      return;
    }
  }
  groups_.emplace_back(std::string(name), keys);
}

void slate::set_embeddings(matrix_view m, std::span<const std::uint32_t> rows) {
  if (rows.empty()) {
    check_size("embedding rows", m.rows());
  } else {
    check_size("embedding row indices", rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i] >= m.rows()) {
        raise<invalid_argument>("rerank.slate", "item {}: embedding row {} out of range ({} rows)",
                                i, rows[i], m.rows());
      }
    }
  }
  embeddings_ = m;
  embedding_rows_ = rows;
}

std::span<const std::uint64_t> slate::groups(std::string_view name) const {
  for (const auto& g : groups_) {
    if (g.first == name) return g.second;
  }
  raise<not_found>("rerank.slate", "no group column '{}' was set on the slate", name);
}

candidate_list slate::candidates() const {
  candidate_list out;
  write(out);
  return out;
}

std::span<const item_trace> slate::trace() noexcept {
  for (auto& t : trace_) t.final_rank = npos;
  for (std::size_t r = 0; r < entries_.size(); ++r) {
    auto& t = trace_[entries_[r].origin];
    t.final_rank = r;
    t.final_score = entries_[r].item.score;
  }
  return trace_;
}

std::string slate::explain() {
  std::string s;
  for (const auto& t : trace()) {
    fmt::format_to(std::back_inserter(s), "id {}: rank {} -> ", t.id, t.original_rank);
    if (t.removed()) {
      s += "removed";
    } else {
      fmt::format_to(std::back_inserter(s), "{}", t.final_rank);
    }
    s += " [";
    bool first = true;
    for (std::uint32_t b = 0; b < 11; ++b) {
      if ((t.rules >> b) & 1U) {
        if (!first) s += ',';
        s += to_string(static_cast<rule>(1U << b));
        first = false;
      }
    }
    s += ']';
    if (t.has(rule::exploration)) fmt::format_to(std::back_inserter(s), " p={:.6g}", t.propensity);
    s += '\n';
  }
  return s;
}

void slate::check_size(std::string_view what, std::size_t n) const {
  if (n != trace_.size()) {
    raise<dimension_mismatch>("rerank.slate", "{} has {} entries, the slate has {} items", what, n,
                              trace_.size());
  }
}

}  // namespace funnel::rerank
