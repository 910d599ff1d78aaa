#pragma once
/// @file filters.hpp
/// @brief Filters every pipeline needs: drop what the user has already seen, drop blocked items,
/// and a predicate filter for business rules.

#include <funnel/pipeline/stages.hpp>

#include <algorithm>
#include <functional>
#include <unordered_set>
#include <vector>

namespace funnel::pipeline {

/// @brief Removes candidates in the request's history (already seen).
struct seen_filter {
  void filter(const request& q, candidate_list& c) const {
    if (q.query.history.empty()) return;
    std::vector<std::uint64_t> seen(q.query.history.begin(), q.query.history.end());
    std::sort(seen.begin(), seen.end());
    std::erase_if(
        c, [&](const candidate& x) { return std::binary_search(seen.begin(), seen.end(), x.id); });
  }
};

/// @brief Removes a fixed set of blocked items (policy, out of stock, legal).
class blocklist_filter {
 public:
  explicit blocklist_filter(std::vector<std::uint64_t> blocked)
      : blocked_(blocked.begin(), blocked.end()) {}
  void filter(const request& /*q*/, candidate_list& c) const {
    std::erase_if(c, [&](const candidate& x) { return blocked_.contains(x.id); });
  }

 private:
  std::unordered_set<std::uint64_t> blocked_;
};

/// @brief Keeps candidates for which `keep(request, id)` is true (a business rule).
class predicate_filter {
 public:
  explicit predicate_filter(std::function<bool(const request&, std::uint64_t)> keep)
      : keep_(std::move(keep)) {}
  void filter(const request& q, candidate_list& c) const {
    std::erase_if(c, [&](const candidate& x) { return !keep_(q, x.id); });
  }

 private:
  std::function<bool(const request&, std::uint64_t)> keep_;
};

}  // namespace funnel::pipeline
