#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/retrieval/covisitation.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/json_document.hpp"

namespace funnel::retrieval {

// The document this file writes and reads, with the type strings earlier releases wrote.
namespace {
constexpr funnel::detail::document_kind covisitation_document{"funnel.retrieval.covisitation_model",
                                                              1, "covisitation_model"};

bool better(const candidate& a, const candidate& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

}  // namespace

covisitation_model fit_covisitation(const interaction_log& log, const covisitation_options& o) {
  if (log.size() == 0)
    raise<invalid_argument>("retrieval.covisitation_model",
                            "cannot fit on an empty interaction log");
  if (o.window < 0)
    raise<invalid_argument>("retrieval.covisitation_model", "window {} must be >= 0", o.window);
  if (o.top_n == 0) raise<invalid_argument>("retrieval.covisitation_model", "top_n must be > 0");
  if (!(o.history_decay > 0.0 && o.history_decay <= 1.0)) {
    raise<invalid_argument>("retrieval.covisitation_model", "history_decay {} must be in (0, 1]",
                            o.history_decay);
  }
  covisitation_model m;
  m.options_ = o;
  m.item_ids_ = log.items();
  const auto n_items = log.num_items();

  // Each user's interactions in time order (stable: equal timestamps keep log order).
  std::vector<interaction> rows = log.interactions();
  std::stable_sort(rows.begin(), rows.end(), [](const interaction& a, const interaction& b) {
    return a.user != b.user ? a.user < b.user : a.timestamp < b.timestamp;
  });
  std::vector<double> frequency(n_items, 0.0);
  for (const auto& r : rows) frequency[r.item] += 1.0;

  // Pair counts, one hash map per item (items touched are sparse).
  std::vector<std::unordered_map<std::uint32_t, double>> counts(n_items);
  for (std::size_t begin = 0; begin < rows.size();) {
    std::size_t end = begin;
    while (end < rows.size() && rows[end].user == rows[begin].user) ++end;
    for (std::size_t i = begin; i < end; ++i) {
      for (std::size_t j = i + 1; j < end; ++j) {
        if (o.max_lag != 0 && j - i > o.max_lag) break;
        if (rows[j].timestamp - rows[i].timestamp > o.window) break;
        const auto a = rows[i].item;
        const auto b = rows[j].item;
        if (a == b) continue;
        counts[a][b] += 1.0;
        counts[b][a] += 1.0;
      }
    }
    begin = end;
  }

  m.offsets_.assign(1, 0);
  std::vector<candidate> list;
  for (std::uint32_t a = 0; a < n_items; ++a) {
    list.clear();
    for (const auto& [b, c] : counts[a]) {
      double s = c;
      if (o.normalization == covisit_normalization::cosine)
        s = c / std::sqrt(frequency[a] * frequency[b]);
      if (o.normalization == covisit_normalization::conditional) s = c / frequency[a];
      list.push_back({m.item_ids_.external(b), static_cast<float>(s)});
    }
    const auto keep = std::min(o.top_n, list.size());
    std::partial_sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(keep), list.end(),
                      better);
    m.neighbours_.insert(m.neighbours_.end(), list.begin(),
                         list.begin() + static_cast<std::ptrdiff_t>(keep));
    m.offsets_.push_back(m.neighbours_.size());
  }
  m.index_neighbours();
  return m;
}

std::span<const candidate> covisitation_model::neighbours(std::uint64_t item) const noexcept {
  const auto i = item_ids_.find(item);
  if (!i) return {};
  return {neighbours_.data() + offsets_[*i], offsets_[*i + 1] - offsets_[*i]};
}

candidate_list covisitation_model::accumulate(const user_query& query) const {
  // Dense sums over the slots (each item's, in the same order of additions as a map keyed by id
  // would get them), the slots touched listed once each.
  std::vector<double> sums(slot_ids_.size(), 0.0);
  std::vector<unsigned char> touched_flag(slot_ids_.size(), 0);
  std::vector<std::uint32_t> touched;
  double weight = 1.0;
  // Most recent first: the last history item weighs 1, the one before decay, and so on.
  for (std::size_t k = query.history.size(); k-- > 0;) {
    const double w = weight * (query.history_weights.empty() ? 1.0 : query.history_weights[k]);
    weight *= options_.history_decay;
    const auto row = item_ids_.find(query.history[k]);
    if (!row) continue;
    for (std::size_t j = offsets_[*row]; j < offsets_[*row + 1]; ++j) {
      const auto slot = neighbour_slots_[j];
      if (touched_flag[slot] == 0) {
        touched_flag[slot] = 1;
        touched.push_back(slot);
      }
      sums[slot] += w * neighbours_[j].score;
    }
  }
  std::vector<std::uint64_t> excluded;
  if (query.exclude_history) {
    excluded.assign(query.history.begin(), query.history.end());
    std::sort(excluded.begin(), excluded.end());
  }
  candidate_list out;
  out.reserve(touched.size());
  for (const auto slot : touched) {
    const auto id = slot_ids_[slot];
    if (!excluded.empty() && std::binary_search(excluded.begin(), excluded.end(), id)) continue;
    out.push_back({id, static_cast<float>(sums[slot])});
  }
  return out;
}

void covisitation_model::keep_best(candidate_list& c, std::size_t k) {
  const auto keep = static_cast<std::ptrdiff_t>(std::min(k, c.size()));
  std::partial_sort(c.begin(), c.begin() + keep, c.end(), better);
  c.resize(static_cast<std::size_t>(keep));
}

void covisitation_model::index_neighbours() {
  slot_ids_ = item_ids_.externals();
  std::unordered_map<std::uint64_t, std::uint32_t> extra;
  neighbour_slots_.clear();
  neighbour_slots_.reserve(neighbours_.size());
  for (const auto& c : neighbours_) {
    if (const auto row = item_ids_.find(c.id)) {
      neighbour_slots_.push_back(static_cast<std::uint32_t>(*row));
      continue;
    }
    const auto [it, added] = extra.try_emplace(c.id, static_cast<std::uint32_t>(slot_ids_.size()));
    if (added) slot_ids_.push_back(c.id);
    neighbour_slots_.push_back(it->second);
  }
}

json covisitation_model::to_json() const {
  json j = covisitation_document.header();
  j["window"] = options_.window;
  j["max_lag"] = options_.max_lag;
  j["normalization"] = std::string(to_string(options_.normalization));
  j["top_n"] = options_.top_n;
  j["history_decay"] = options_.history_decay;
  j["item_ids"] = item_ids_.externals();
  j["offsets"] = offsets_;
  std::vector<std::uint64_t> ids;
  std::vector<float> scores;
  for (const auto& c : neighbours_) {
    ids.push_back(c.id);
    scores.push_back(c.score);
  }
  j["neighbour_ids"] = ids;
  j["neighbour_scores"] = scores;
  return j;
}

covisitation_model covisitation_model::from_json(const json& j) {
  return funnel::detail::read_document(j, covisitation_document, [&](int /*version*/) {
    constexpr std::string_view ctx = "covisitation_model";
    covisitation_model m;
    m.options_.window = json_get<std::int64_t>(j, "window", ctx);
    m.options_.max_lag = json_get<std::size_t>(j, "max_lag", ctx);
    m.options_.normalization = parse_enum<covisit_normalization>(
        json_get<std::string>(j, "normalization", ctx), "retrieval.covisitation_model",
        "covisitation_model.normalization");
    m.options_.top_n = json_get<std::size_t>(j, "top_n", ctx);
    m.options_.history_decay = json_get_finite<double>(j, "history_decay", ctx);
    if (m.options_.window < 0 || m.options_.top_n == 0 ||
        !(m.options_.history_decay > 0.0 && m.options_.history_decay <= 1.0)) {
      raise<parse_error>("retrieval.covisitation_model",
                         "covisitation_model: window {} must be >= 0, top_n {} > 0 and "
                         "history_decay {} in (0, 1]",
                         m.options_.window, m.options_.top_n, m.options_.history_decay);
    }
    for (const auto id : json_get<std::vector<std::uint64_t>>(j, "item_ids", ctx))
      m.item_ids_.add(id);
    m.offsets_ = json_get<std::vector<std::size_t>>(j, "offsets", ctx);
    const auto ids = json_get<std::vector<std::uint64_t>>(j, "neighbour_ids", ctx);
    const auto scores = json_get<std::vector<float>>(j, "neighbour_scores", ctx);
    if (m.offsets_.size() != m.item_ids_.size() + 1 || m.offsets_.front() != 0 ||
        !std::is_sorted(m.offsets_.begin(), m.offsets_.end()) || m.offsets_.back() != ids.size() ||
        ids.size() != scores.size()) {
      raise<parse_error>("retrieval.covisitation_model",
                         "covisitation_model: offsets/neighbour arrays are inconsistent "
                         "({} offsets for {} items, {} ids, {} scores)",
                         m.offsets_.size(), m.item_ids_.size(), ids.size(), scores.size());
    }
    for (std::size_t k = 0; k < ids.size(); ++k) {
      if (!std::isfinite(scores[k])) {
        raise<parse_error>("retrieval.covisitation_model",
                           "covisitation_model.neighbour_scores[{}] is not finite", k);
      }
      m.neighbours_.push_back({ids[k], scores[k]});
    }
    m.index_neighbours();
    return m;
  });
}

}  // namespace funnel::retrieval
