#pragma once
/// @file chain.hpp
/// @brief The Reranker concept and the two ways to compose re-rankers in order: a compile-time
/// chain (zero overhead) and a run-time list of type-erased re-rankers.

#include <funnel/rerank/slate.hpp>

#include <concepts>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace funnel::rerank {

/// @brief Anything with `rerank(slate&, const context&) const`: reorders, rescores or removes
/// the slate's items and records on each item the rule that acted on it.
template <class R>
concept Reranker = requires(const R& r, slate& s, const context& c) {
  r.rerank(s, c);
};

/// @brief Applies re-rankers left to right; itself a Reranker.
template <Reranker... Rs>
class chain {
 public:
  explicit chain(Rs... parts) : parts_(std::move(parts)...) {}
  /// @throws whatever a part throws (the slate is then partially re-ranked).
  void rerank(slate& s, const context& ctx) const {
    std::apply([&](const auto&... p) { (p.rerank(s, ctx), ...); }, parts_);
  }
  /// @brief The I-th part.
  template <std::size_t I>
  [[nodiscard]] const auto& get() const noexcept {
    return std::get<I>(parts_);
  }

 private:
  std::tuple<Rs...> parts_;
};

/// @brief A type-erased Reranker with a name (for traces and configuration); cheap to copy
/// (shares the immutable re-ranker).
class any_reranker {
 public:
  template <Reranker R>
  requires(!std::same_as<std::remove_cvref_t<R>, any_reranker>) any_reranker(std::string name, R r)
      : name_(std::move(name)), impl_(std::make_shared<const model<R>>(std::move(r))) {}

  void rerank(slate& s, const context& ctx) const { impl_->rerank(s, ctx); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual void rerank(slate& s, const context& ctx) const = 0;
  };
  template <class R>
  struct model final : concept_t {
    explicit model(R r) : value(std::move(r)) {}
    void rerank(slate& s, const context& ctx) const override { value.rerank(s, ctx); }
    R value;
  };
  std::string name_;
  std::shared_ptr<const concept_t> impl_;
};

/// @brief Re-rankers applied in order, chosen at run time; itself a Reranker.
class reranker_list {
 public:
  /// @brief Appends a re-ranker. Not thread-safe: build the list before serving.
  reranker_list& add(any_reranker r) {
    parts_.push_back(std::move(r));
    return *this;
  }
  template <Reranker R>
  reranker_list& add(std::string name, R r) {
    return add(any_reranker(std::move(name), std::move(r)));
  }
  void rerank(slate& s, const context& ctx) const {
    for (const auto& p : parts_) p.rerank(s, ctx);
  }
  [[nodiscard]] std::size_t size() const noexcept { return parts_.size(); }
  [[nodiscard]] const any_reranker& operator[](std::size_t i) const noexcept { return parts_[i]; }

 private:
  std::vector<any_reranker> parts_;
};

}  // namespace funnel::rerank
