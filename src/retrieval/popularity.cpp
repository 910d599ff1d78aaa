#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/retrieval/popularity.hpp>

#include <algorithm>
#include <cmath>

#include "core/json_document.hpp"

namespace funnel::retrieval {

// The document this file writes and reads, with the type strings earlier releases wrote.
namespace {
constexpr funnel::detail::document_kind popularity_document{"funnel.retrieval.popularity_model", 1,
                                                            "popularity_model"};
}  // namespace

popularity_model fit_popularity(const interaction_log& log, const popularity_options& o,
                                const segment_map& segments) {
  if (log.size() == 0)
    raise<invalid_argument>("retrieval.popularity_model", "cannot fit on an empty interaction log");
  if (!(o.half_life >= 0.0))
    raise<invalid_argument>("retrieval.popularity_model", "half_life {} must be >= 0", o.half_life);
  if (o.top_n == 0) raise<invalid_argument>("retrieval.popularity_model", "top_n must be > 0");
  std::int64_t now = std::numeric_limits<std::int64_t>::min();
  for (const auto& r : log.interactions()) now = std::max(now, r.timestamp);
  if (o.now) now = *o.now;

  std::vector<double> score(log.num_items(), 0.0);
  for (const auto& r : log.interactions()) {
    double w = o.use_weights ? r.weight : 1.0;
    if (o.half_life > 0.0) {
      // Interactions after `now` count fully: decay never amplifies.
      const double age = std::max<double>(0.0, static_cast<double>(now - r.timestamp));
      w *= std::exp2(-age / o.half_life);
    }
    score[r.item] += w;
  }
  auto better = [](const candidate& a, const candidate& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  };
  std::map<std::string, candidate_list> all;
  auto& global = all[""];
  for (std::uint32_t i = 0; i < score.size(); ++i) {
    if (score[i] <= 0.0) continue;
    const auto id = log.items().external(i);
    const candidate c{id, static_cast<float>(score[i])};
    global.push_back(c);
    if (const auto it = segments.find(id); it != segments.end()) {
      for (const auto& s : it->second) {
        if (!s.empty()) all[s].push_back(c);
      }
    }
  }
  popularity_model m;
  for (auto& [name, list] : all) {
    const auto keep = std::min(o.top_n, list.size());
    std::partial_sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(keep), list.end(),
                      better);
    list.resize(keep);
    m.rankings_[name] = std::move(list);
  }
  return m;
}

const candidate_list& popularity_model::top(const std::string& segment) const {
  const auto it = rankings_.find(segment);
  if (it == rankings_.end())
    raise<not_found>("retrieval.popularity_model", "unknown segment '{}'", segment);
  return it->second;
}

std::vector<std::string> popularity_model::segments() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : rankings_) out.push_back(name);
  return out;
}

json popularity_model::to_json() const {
  json j = popularity_document.header();
  json seg = json::object();
  for (const auto& [name, list] : rankings_) {
    std::vector<std::uint64_t> ids;
    std::vector<float> scores;
    for (const auto& c : list) {
      ids.push_back(c.id);
      scores.push_back(c.score);
    }
    seg[name] = {{"ids", ids}, {"scores", scores}};
  }
  j["segments"] = seg;
  return j;
}

popularity_model popularity_model::from_json(const json& j) {
  return funnel::detail::read_document(j, popularity_document, [&](int /*version*/) {
    const auto& seg = json_field(j, "segments", "popularity_model");
    if (!seg.is_object()) {
      raise<parse_error>("retrieval.popularity_model",
                         "popularity_model.segments: expected an object, found {}",
                         json_preview(seg));
    }
    popularity_model m;
    for (const auto& [name, v] : seg.items()) {
      const auto ctx = fmt::format("popularity_model.segments.{}", name);
      const auto ids = json_get<std::vector<std::uint64_t>>(v, "ids", ctx);
      const auto scores = json_get<std::vector<float>>(v, "scores", ctx);
      if (ids.size() != scores.size())
        raise<parse_error>("retrieval.popularity_model", "{}: {} ids but {} scores", ctx,
                           ids.size(), scores.size());
      auto& list = m.rankings_[name];
      for (std::size_t k = 0; k < ids.size(); ++k) {
        if (!std::isfinite(scores[k])) {
          raise<parse_error>("retrieval.popularity_model", "{}.scores[{}] is not finite", ctx, k);
        }
        list.push_back({ids[k], scores[k]});
      }
    }
    if (!m.rankings_.contains(""))
      raise<parse_error>("retrieval.popularity_model",
                         "popularity_model.segments: missing the global segment \"\"");
    return m;
  });
}

}  // namespace funnel::retrieval
