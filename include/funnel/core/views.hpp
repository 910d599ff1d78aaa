#pragma once
/// @file views.hpp
/// @brief The shared vocabulary of funnel: row and matrix views over caller-owned floats, an owning
/// row-major matrix, sparse rows, and scored candidates.

#include <funnel/core/error.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace funnel {

/// @brief One dense row of features; NaN means missing.
using row_view = std::span<const float>;

/// @brief Row-major Eigen matrix of floats (the layout every funnel matrix uses).
using row_major_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// @brief A non-owning, read-only, row-major matrix of floats with a row stride.
class matrix_view {
 public:
  matrix_view() = default;
  /// @brief Views `rows` x `cols` floats at `data`, rows `stride` floats apart (stride >= cols).
  matrix_view(const float* data, std::size_t rows, std::size_t cols, std::size_t stride)
      : data_(data), rows_(rows), cols_(cols), stride_(stride) {
    if (stride < cols) {
      raise<dimension_mismatch>("core.matrix_view", "stride {} is smaller than column count {}",
                                stride, cols);
    }
  }
  /// @brief Views a contiguous row-major block.
  matrix_view(const float* data, std::size_t rows, std::size_t cols)
      : matrix_view(data, rows, cols, cols) {}
  /// @brief Views a contiguous span as rows x cols. @throws dimension_mismatch on size mismatch.
  matrix_view(std::span<const float> data, std::size_t rows, std::size_t cols)
      : matrix_view(data.data(), rows, cols, cols) {
    if (data.size() != rows * cols) {
      raise<dimension_mismatch>("core.matrix_view", "span of {} floats cannot be viewed as {} x {}",
                                data.size(), rows, cols);
    }
  }

  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
  [[nodiscard]] std::size_t stride() const noexcept { return stride_; }
  [[nodiscard]] const float* data() const noexcept { return data_; }
  [[nodiscard]] bool empty() const noexcept { return rows_ == 0; }

  /// @brief Row `i` (unchecked).
  [[nodiscard]] row_view row(std::size_t i) const noexcept { return {data_ + i * stride_, cols_}; }
  /// @brief Element (i, j) (unchecked).
  [[nodiscard]] float operator()(std::size_t i, std::size_t j) const noexcept {
    return data_[i * stride_ + j];
  }
  /// @brief Rows [first, first + count) as a view (unchecked).
  [[nodiscard]] matrix_view middle_rows(std::size_t first, std::size_t count) const noexcept {
    matrix_view v;
    v.data_ = data_ + first * stride_;
    v.rows_ = count;
    v.cols_ = cols_;
    v.stride_ = stride_;
    return v;
  }

  /// @brief The same memory as an Eigen map (no copy).
  [[nodiscard]] auto as_eigen() const {
    using map = Eigen::Map<const row_major_matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
    return map(data_, static_cast<Eigen::Index>(rows_), static_cast<Eigen::Index>(cols_),
               Eigen::OuterStride<>(static_cast<Eigen::Index>(stride_)));
  }

 private:
  const float* data_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  std::size_t stride_ = 0;
};

/// @brief An owning, contiguous, row-major matrix of floats (a value type).
class matrix {
 public:
  matrix() = default;
  /// @brief rows x cols, every element `fill`.
  matrix(std::size_t rows, std::size_t cols, float fill = 0.0F)
      : data_(rows * cols, fill), rows_(rows), cols_(cols) {}
  /// @brief Takes `data` as rows x cols. @throws dimension_mismatch when sizes disagree.
  matrix(std::vector<float> data, std::size_t rows, std::size_t cols)
      : data_(std::move(data)), rows_(rows), cols_(cols) {
    if (data_.size() != rows * cols) {
      raise<dimension_mismatch>("core.matrix", "{} values cannot form a {} x {} matrix",
                                data_.size(), rows, cols);
    }
  }

  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
  [[nodiscard]] std::size_t size() const noexcept { return data_.size(); }
  [[nodiscard]] float* data() noexcept { return data_.data(); }
  [[nodiscard]] const float* data() const noexcept { return data_.data(); }
  [[nodiscard]] const std::vector<float>& values() const noexcept { return data_; }

  [[nodiscard]] float& operator()(std::size_t i, std::size_t j) noexcept {
    return data_[i * cols_ + j];
  }
  [[nodiscard]] float operator()(std::size_t i, std::size_t j) const noexcept {
    return data_[i * cols_ + j];
  }
  [[nodiscard]] std::span<float> row(std::size_t i) noexcept {
    return {data_.data() + i * cols_, cols_};
  }
  [[nodiscard]] row_view row(std::size_t i) const noexcept {
    return {data_.data() + i * cols_, cols_};
  }

  /// @brief Appends one row. @throws dimension_mismatch if its width differs from cols().
  void push_row(row_view r) {
    if (rows_ == 0 && cols_ == 0) cols_ = r.size();
    if (r.size() != cols_) {
      raise<dimension_mismatch>("core.matrix", "row {} has {} values, expected {}", rows_, r.size(),
                                cols_);
    }
    data_.insert(data_.end(), r.begin(), r.end());
    ++rows_;
  }

  [[nodiscard]] matrix_view view() const noexcept { return {data_.data(), rows_, cols_, cols_}; }
  // NOLINTNEXTLINE(google-explicit-constructor): a matrix is usable wherever a view is expected.
  operator matrix_view() const noexcept { return view(); }

  friend bool operator==(const matrix&, const matrix&) = default;

 private:
  std::vector<float> data_;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
};

/// @brief One sparse row: parallel spans of column indices (ascending) and values.
struct sparse_row_view {
  std::span<const std::uint32_t> indices;
  std::span<const float> values;
};

/// @brief An owning compressed-sparse-row matrix (libsvm data, hashed features).
struct csr_matrix {
  std::vector<std::size_t> row_ptr{0};  ///< rows() + 1 offsets into indices/values
  std::vector<std::uint32_t> indices;   ///< column of each stored value
  std::vector<float> values;            ///< stored values
  std::size_t cols = 0;                 ///< number of columns (max index + 1 unless set wider)

  [[nodiscard]] std::size_t rows() const noexcept { return row_ptr.size() - 1; }
  [[nodiscard]] std::size_t nonzeros() const noexcept { return values.size(); }
  /// @brief Row `i` (unchecked).
  [[nodiscard]] sparse_row_view row(std::size_t i) const noexcept {
    const auto b = row_ptr[i];
    const auto n = row_ptr[i + 1] - b;
    return {{indices.data() + b, n}, {values.data() + b, n}};
  }
  /// @brief Dense copy; entries not stored become `absent` (NaN = missing, as XGBoost reads
  /// libsvm).
  [[nodiscard]] matrix to_dense(float absent) const {
    matrix m(rows(), cols, absent);
    for (std::size_t i = 0; i < rows(); ++i) {
      for (std::size_t k = row_ptr[i]; k < row_ptr[i + 1]; ++k) m(i, indices[k]) = values[k];
    }
    return m;
  }
  friend bool operator==(const csr_matrix&, const csr_matrix&) = default;
};

/// @brief An item with a score: what retrievers return, rankers rescore and re-rankers reorder.
struct candidate {
  std::uint64_t id = 0;  ///< external item id
  float score = 0.0F;    ///< higher is better
  friend bool operator==(const candidate&, const candidate&) = default;
};

/// @brief A list of candidates, usually best first.
using candidate_list = std::vector<candidate>;

}  // namespace funnel
