#include <funnel/core/error.hpp>
#include <funnel/retrieval/interactions.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/number_text.hpp"

namespace funnel::retrieval {

std::uint32_t id_map::add(std::uint64_t external) {
  const auto [it, inserted] =
      index_.try_emplace(external, static_cast<std::uint32_t>(external_.size()));
  if (inserted) {
    if (external_.size() >= std::numeric_limits<std::uint32_t>::max()) {
      raise<invalid_argument>("retrieval.id_map", "more than 2^32-1 distinct ids");
    }
    external_.push_back(external);
  }
  return it->second;
}

std::uint32_t id_map::at(std::uint64_t external, std::string_view what) const {
  const auto found = find(external);
  if (!found) raise<not_found>("retrieval.id_map", "unknown {} id {}", what, external);
  return *found;
}

void interaction_log::add(std::uint64_t user, std::uint64_t item, float weight,
                          std::int64_t timestamp) {
  if (!std::isfinite(weight) || weight < 0.0F) {
    raise<invalid_argument>("retrieval.interaction_log",
                            "interaction {} (user {}, item {}): weight {} must be finite and >= 0",
                            rows_.size(), user, item, weight);
  }
  rows_.push_back({users_.add(user), items_.add(item), weight, timestamp});
}

namespace {

std::uint64_t parse_id(const csv_table& t, std::size_t row, std::size_t col) {
  const auto text = t.cell(row, col);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (t.is_missing(row, col) || text.empty() || ec != std::errc() ||
      end != text.data() + text.size()) {
    raise<parse_error>("retrieval.interaction_log",
                       "{}:{}: column {}: {} is not a non-negative integer id", t.source(),
                       t.line_of(row), funnel::detail::quoted(t.columns()[col]),
                       funnel::detail::quoted(text));
  }
  return v;
}

}  // namespace

interaction_log interaction_log::from_table(const csv_table& t,
                                            const interaction_columns& columns) {
  const auto user_col = t.column_index(columns.user);
  const auto item_col = t.column_index(columns.item);
  std::vector<double> weights;
  std::vector<double> times;
  if (!columns.weight.empty()) weights = t.numeric(columns.weight);
  if (!columns.timestamp.empty()) times = t.numeric(columns.timestamp);
  interaction_log log;
  log.rows_.reserve(t.rows());
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const auto user = parse_id(t, r, user_col);
    const auto item = parse_id(t, r, item_col);
    double w = weights.empty() ? 1.0 : weights[r];
    if (!std::isfinite(w) || w < 0.0) {
      raise<parse_error>("retrieval.interaction_log",
                         "{}:{}: column '{}': weight must be finite and >= 0", t.source(),
                         t.line_of(r), columns.weight);
    }
    double ts = times.empty() ? 0.0 : times[r];
    if (!std::isfinite(ts)) {
      raise<parse_error>("retrieval.interaction_log",
                         "{}:{}: column '{}': missing or non-finite timestamp", t.source(),
                         t.line_of(r), columns.timestamp);
    }
    log.add(user, item, static_cast<float>(w), static_cast<std::int64_t>(ts));
  }
  return log;
}

interaction_log load_interactions_csv(const std::filesystem::path& path,
                                      const interactions_csv_options& options) {
  return interaction_log::from_table(read_csv(path, options.csv), options.columns);
}

std::int64_t interaction_log::time_quantile(double q) const {
  if (rows_.empty())
    raise<invalid_argument>("retrieval.interaction_log", "time_quantile of an empty log");
  if (!(q >= 0.0 && q <= 1.0))
    raise<invalid_argument>("retrieval.interaction_log", "quantile {} outside [0, 1]", q);
  std::vector<std::int64_t> ts(rows_.size());
  std::transform(rows_.begin(), rows_.end(), ts.begin(),
                 [](const interaction& i) { return i.timestamp; });
  const auto pos = static_cast<std::size_t>(q * static_cast<double>(ts.size() - 1));
  std::nth_element(ts.begin(), ts.begin() + static_cast<std::ptrdiff_t>(pos), ts.end());
  return ts[pos];
}

std::pair<interaction_log, interaction_log> interaction_log::split_by_time(
    std::int64_t cutoff) const {
  interaction_log train;
  interaction_log test;
  train.users_ = test.users_ = users_;
  train.items_ = test.items_ = items_;
  for (const auto& r : rows_) (r.timestamp < cutoff ? train : test).rows_.push_back(r);
  return {std::move(train), std::move(test)};
}

std::pair<interaction_log, interaction_log> interaction_log::split_per_user(
    double test_fraction) const {
  if (!(test_fraction > 0.0 && test_fraction < 1.0)) {
    raise<invalid_argument>("retrieval.interaction_log", "test_fraction {} must be in (0, 1)",
                            test_fraction);
  }
  std::vector<std::vector<std::size_t>> by_user(users_.size());
  for (std::size_t k = 0; k < rows_.size(); ++k) by_user[rows_[k].user].push_back(k);
  std::vector<unsigned char> in_test(rows_.size(), 0);
  for (auto& rows : by_user) {
    if (rows.size() < 2) continue;
    std::stable_sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) {
      return rows_[a].timestamp < rows_[b].timestamp;
    });
    auto n_test =
        static_cast<std::size_t>(std::floor(test_fraction * static_cast<double>(rows.size())));
    n_test = std::clamp<std::size_t>(n_test, 1, rows.size() - 1);
    // Interactions tied with the first test timestamp also go to test, so train stays earlier.
    std::size_t first = rows.size() - n_test;
    while (first > 1 && rows_[rows[first - 1]].timestamp == rows_[rows[first]].timestamp) --first;
    for (std::size_t k = first; k < rows.size(); ++k) in_test[rows[k]] = 1;
  }
  interaction_log train;
  interaction_log test;
  train.users_ = test.users_ = users_;
  train.items_ = test.items_ = items_;
  for (std::size_t k = 0; k < rows_.size(); ++k)
    (in_test[k] ? test : train).rows_.push_back(rows_[k]);
  return {std::move(train), std::move(test)};
}

csr_matrix interaction_log::user_items() const {
  std::vector<interaction> sorted = rows_;
  std::sort(sorted.begin(), sorted.end(), [](const interaction& a, const interaction& b) {
    return a.user != b.user ? a.user < b.user : a.item < b.item;
  });
  csr_matrix m;
  m.cols = items_.size();
  m.row_ptr.assign(users_.size() + 1, 0);
  for (std::size_t k = 0; k < sorted.size(); ++k) {
    const auto& r = sorted[k];
    if (!m.indices.empty() && k > 0 && sorted[k - 1].user == r.user &&
        sorted[k - 1].item == r.item) {
      m.values.back() += r.weight;  // repeated (user, item): weights add up
      continue;
    }
    m.indices.push_back(r.item);
    m.values.push_back(r.weight);
    m.row_ptr[r.user + 1] = m.indices.size();
  }
  // Users without interactions: carry the previous offset forward.
  for (std::size_t u = 1; u < m.row_ptr.size(); ++u)
    m.row_ptr[u] = std::max(m.row_ptr[u], m.row_ptr[u - 1]);
  return m;
}

}  // namespace funnel::retrieval
