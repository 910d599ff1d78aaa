#pragma once
/// @file similarity.hpp
/// @brief How MMR and DPP measure item similarity: cosine or dot product over the slate's
/// embeddings, or the slate's similarity callback.

#include <funnel/rerank/slate.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

namespace funnel::rerank {

/// @brief Similarity measure over embeddings.
enum class similarity_kind {
  cosine,  ///< dot product of L2-normalised rows (a zero row is similar to nothing)
  dot,     ///< raw dot product (embeddings already normalised, or magnitudes meaningful)
};

namespace detail {

/// @brief Similarities among the first `n` entries of a slate, one row at a time.
///
/// With embeddings, the rows of the entries are gathered once into a contiguous, optionally
/// normalised block (part of the timed work: a real request has to do it too), so that one
/// similarity row is a single vectorised matrix-vector product.
class similarity_rows {
 public:
  /// @throws invalid_argument when the slate has neither embeddings nor a similarity callback.
  similarity_rows(slate& s, std::size_t n, similarity_kind kind, std::string_view who)
      : s_(s), n_(n), buf_(s.scratch().f0), norms_(s.scratch().f1) {
    if (s.has_embeddings()) {
      d_ = s.embeddings().cols();
      buf_.resize(n * d_);
      norms_.resize(n);
      const auto e = s.entries();
      for (std::size_t i = 0; i < n; ++i) {
        const auto r = s.embedding(e[i].origin);
        float* dst = buf_.data() + i * d_;
        double sq = 0;
        for (std::size_t c = 0; c < d_; ++c) {
          dst[c] = r[c];
          sq += static_cast<double>(r[c]) * r[c];
        }
        norms_[i] = static_cast<float>(sq);  // squared norm of the raw row
        if (kind == similarity_kind::cosine) {
          const float inv = sq > 0 ? static_cast<float>(1.0 / std::sqrt(sq)) : 0.0F;
          for (std::size_t c = 0; c < d_; ++c) dst[c] *= inv;
        }
      }
    } else if (!s.similarity()) {
      raise<invalid_argument>(who, "the slate has neither embeddings nor a similarity callback");
    }
  }

  [[nodiscard]] bool uses_embeddings() const noexcept { return d_ != 0 || s_.has_embeddings(); }
  /// @brief Squared norm of entry i's raw embedding (embeddings only).
  [[nodiscard]] float squared_norm(std::size_t i) const noexcept { return norms_[i]; }

  /// @brief out[i] = sim(entry j, entry i) for i in [0, n).
  void row(std::size_t j, std::span<float> out) const {
    if (s_.has_embeddings()) {
      using mat =
          Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
      using vec = Eigen::Map<const Eigen::VectorXf>;
      const auto rows = static_cast<Eigen::Index>(n_);
      const auto cols = static_cast<Eigen::Index>(d_);
      const mat m(buf_.data(), rows, cols);
      const vec v(buf_.data() + j * d_, cols);
      Eigen::Map<Eigen::VectorXf>(out.data(), rows).noalias() = m * v;
    } else {
      const auto e = s_.entries();
      const auto& f = s_.similarity();
      for (std::size_t i = 0; i < n_; ++i) out[i] = f(e[j].origin, e[i].origin);
    }
  }
  /// @brief sim(entry i, entry i).
  [[nodiscard]] float self(std::size_t i) const {
    if (s_.has_embeddings()) {
      const float* r = buf_.data() + i * d_;
      float acc = 0;
      for (std::size_t c = 0; c < d_; ++c) acc += r[c] * r[c];
      return acc;
    }
    const auto o = s_.entries()[i].origin;
    return s_.similarity()(o, o);
  }

 private:
  slate& s_;
  std::size_t n_;
  std::size_t d_ = 0;
  std::vector<float>& buf_;
  std::vector<float>& norms_;
};

}  // namespace detail
}  // namespace funnel::rerank
