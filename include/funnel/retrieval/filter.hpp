#pragma once
/// @file filter.hpp
/// @brief Which items a search may return: everything, an allow-list, or a predicate on the id.
/// Also the `Retriever` concept and the metric/score conventions shared by funnel's vector indexes.

#include <funnel/core/enum_names.hpp>
#include <funnel/core/views.hpp>
#include <funnel/metrics/retrieval.hpp>
#include <funnel/retrieval/interactions.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace funnel::retrieval {

/// @brief Vector similarity of an index. Scores are always "higher is better":
/// l2 -> minus the squared Euclidean distance; inner_product -> the dot product;
/// cosine -> the cosine similarity (vectors and queries are normalized to unit length).
enum class metric : std::uint32_t { l2 = 0, inner_product = 1, cosine = 2 };

/// @brief Names "l2", "inner_product", "cosine" (`to_string`, `parse_enum`).
constexpr auto enum_names_of(metric) {
  return enum_names<metric, 3>{
      "metric",
      {{{metric::l2, "l2"}, {metric::inner_product, "inner_product"}, {metric::cosine, "cosine"}}}};
}
using funnel::to_string;

/// @brief A set of allowed external ids, built once and reused across queries (an open-addressing
/// hash set: membership costs one or two probes, which matters inside a graph search).
class allow_list {
 public:
  allow_list() = default;
  /// @brief The set of `ids` (duplicates are ignored).
  explicit allow_list(std::span<const std::uint64_t> ids) {
    std::size_t cap = 16;
    while (cap < ids.size() * 2 + 1) cap <<= 1;
    slots_.assign(cap, empty_slot);
    mask_ = cap - 1;
    for (const auto id : ids) insert(id);
  }
  /// @brief Whether `id` is allowed.
  [[nodiscard]] bool contains(std::uint64_t id) const noexcept {
    if (id == empty_slot) return has_max_;
    if (slots_.empty()) return false;
    for (std::size_t i = hash(id) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == id) return true;
      if (slots_[i] == empty_slot) return false;
    }
  }
  /// @brief The distinct allowed ids, in first-seen order.
  [[nodiscard]] std::span<const std::uint64_t> ids() const noexcept { return ids_; }
  /// @brief Number of distinct allowed ids.
  [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }

 private:
  static constexpr std::uint64_t empty_slot = ~std::uint64_t{0};
  static std::size_t hash(std::uint64_t x) noexcept {  // splitmix64 finalizer
    x ^= x >> 30U;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27U;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31U;
    return static_cast<std::size_t>(x);
  }
  void insert(std::uint64_t id) {
    if (id == empty_slot) {
      if (!has_max_) ids_.push_back(id);
      has_max_ = true;
      return;
    }
    for (std::size_t i = hash(id) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == id) return;
      if (slots_[i] == empty_slot) {
        slots_[i] = id;
        ids_.push_back(id);
        return;
      }
    }
  }
  std::vector<std::uint64_t> slots_;
  std::vector<std::uint64_t> ids_;
  std::size_t mask_ = 0;
  bool has_max_ = false;
};

/// @brief A non-owning view of "which ids may be returned": all, an `allow_list`, or a predicate
/// `bool(std::uint64_t)`. It refers to the list or callable it was made from, which must outlive
/// the search (a filter is built per query on the caller's stack, costs nothing to copy).
class filter {
 public:
  /// @brief Everything is allowed.
  constexpr filter() noexcept = default;
  /// @brief Only the ids of `list` (kept by reference).
  // NOLINTNEXTLINE(google-explicit-constructor): an allow-list is a filter wherever one is
  // expected.
  filter(const allow_list& list) noexcept : list_(&list) {}
  /// @brief Only ids for which `pred(id)` is true (kept by reference; must be thread-safe when the
  /// filter is shared by concurrent searches).
  template <class Pred>
  requires std::is_invocable_r_v<bool, const Pred&, std::uint64_t>
  [[nodiscard]] static filter where(const Pred& pred) noexcept {
    filter f;
    if constexpr (std::is_same_v<Pred, allow_all>) {
      return f;
    } else {
      f.object_ = &pred;
      f.call_ = [](const void* o, std::uint64_t id) -> bool {
        return (*static_cast<const Pred*>(o))(id);
      };
      return f;
    }
  }

  /// @brief Nothing is excluded.
  [[nodiscard]] bool allows_all() const noexcept { return list_ == nullptr && call_ == nullptr; }
  /// @brief The allow-list, or nullptr.
  [[nodiscard]] const allow_list* list() const noexcept { return list_; }
  /// @brief Whether `id` may be returned.
  [[nodiscard]] bool allows(std::uint64_t id) const noexcept {
    if (list_ != nullptr) return list_->contains(id);
    if (call_ != nullptr) return call_(object_, id);
    return true;
  }

 private:
  const allow_list* list_ = nullptr;
  const void* object_ = nullptr;
  bool (*call_)(const void*, std::uint64_t) = nullptr;
};

/// @brief Anything that returns the `k` best candidates for a query (best first, higher score =
/// better), restricted by a filter: HNSW and exact indexes (query = `row_view`) and the candidate
/// generators (query = `user_query`).
template <class R, class Query = row_view>
concept Retriever = requires(const R& r, const Query& q, std::size_t k) {
  { r.retrieve(q, k, allow_all{}) } -> std::same_as<candidate_list>;
};

/// @brief Moved to `funnel::metrics::recall_at_k` (`funnel/metrics/retrieval.hpp`); this name is
/// kept for 0.2 only and will be removed in the next release.
using metrics::recall_at_k;

}  // namespace funnel::retrieval
