#pragma once
/// @file image_search.hpp
/// @brief The image-search example's system: Fashion-MNIST images (read with funnel's IDX reader),
/// optionally reduced by PCA (Eigen), indexed by funnel's HNSW index and by exact search; recall
/// of HNSW against exact search for several ef, label precision as a human-readable quality
/// figure, filtered search by category (an allow-list and a predicate), and query latency.
/// Compiled into the example and into its smoke test.

#include <funnel/core/views.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace image_search {

/// @brief Where Debian's `dataset-fashion-mnist` installs the four IDX files.
inline const std::filesystem::path default_data_dir = "/usr/share/datasets/fashion-mnist";

/// @brief Fashion-MNIST's ten classes, by label.
inline constexpr std::array<std::string_view, 10> class_names = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/// @brief Images (one row per image, pixels scaled to [0, 1]) and their class labels.
struct image_set {
  funnel::matrix images;
  std::vector<std::uint8_t> labels;
};

/// @brief Whether `dir` holds the four Fashion-MNIST files (train/t10k images and labels).
[[nodiscard]] bool data_available(const std::filesystem::path& dir);

/// @brief Reads the first `max_rows` images of the "train" or "t10k" split from `dir`.
/// @throws funnel::io_error, funnel::parse_error (from the IDX reader), funnel::invalid_argument
/// for another split name.
[[nodiscard]] image_set load_fashion_mnist(const std::filesystem::path& dir, std::string_view split,
                                           std::size_t max_rows);

/// @brief A PCA projection fitted with Eigen: x -> (x - mean) * components.
struct pca_model {
  std::vector<float> mean;        ///< input_dim
  funnel::matrix components;      ///< input_dim x output_dim, orthonormal columns
  double explained_variance = 0;  ///< share of the total variance the kept components explain
  std::vector<double> explained_by_component;  ///< each component's share, largest first

  /// @brief Projects every row of `x`. @throws funnel::dimension_mismatch on a wrong width.
  [[nodiscard]] funnel::matrix transform(funnel::matrix_view x) const;
};

/// @brief Fits PCA on the rows of `x`: the covariance matrix (double precision) and its top
/// `dims` eigenvectors (Eigen's SelfAdjointEigenSolver).
/// @throws funnel::invalid_argument when dims is 0 or above the input width, or x has < 2 rows.
[[nodiscard]] pca_model fit_pca(funnel::matrix_view x, std::size_t dims);

/// @brief Knobs of the experiment (defaults: the full run of main.cpp).
struct options {
  std::size_t base = 60000;          ///< indexed images (from the train split)
  std::size_t queries = 1000;        ///< query images (from the t10k split)
  std::size_t pca_dims = 64;         ///< 0 = search the raw 784 pixels
  std::size_t pca_fit_rows = 10000;  ///< PCA is fitted on the first rows of the base set
  std::size_t k = 10;
  std::size_t M = 16;
  std::size_t ef_construction = 100;
  std::vector<std::size_t> ef_values = {10, 20, 40, 80, 160};
  std::size_t filter_ef = 80;        ///< ef of the filtered searches
  std::size_t filter_queries = 300;  ///< the first queries are also run filtered
  std::uint8_t filter_class = 7;     ///< "only Sneakers"
  std::vector<std::uint8_t> predicate_classes = {5, 7, 9};  ///< footwear: a predicate filter
  std::size_t build_threads = 1;  ///< 1 = a deterministic graph for the seed
  std::uint64_t seed = 42;
  std::function<void(std::string_view)> progress;  ///< optional progress lines
};

/// @brief Quality and latency of one way of answering the queries.
struct search_quality {
  std::string name;
  std::size_t ef = 0;            ///< 0 for exact search
  double recall = 0.0;           ///< recall@k against exact search in the same space
  double label_precision = 0.0;  ///< share of the k neighbours with the query's class
  double p50_us = 0.0;           ///< single-query latency, one thread
  double p99_us = 0.0;
};

/// @brief Filtered search ("only class c"): quality and the two guarantees a caller relies on.
struct filtered_quality {
  std::string name;
  double allowed_fraction = 0.0;  ///< share of the base set the filter allows
  double recall = 0.0;            ///< against exact search with the same filter
  double in_filter = 0.0;         ///< share of returned items the filter allows (must be 1)
  double full_k = 0.0;            ///< share of queries that got all k results (must be 1)
  double p50_us = 0.0;
  double p99_us = 0.0;
  double exact_p50_us = 0.0;  ///< exact filtered search, for comparison
  std::size_t queries = 0;
  std::size_t queries_in_class = 0;  ///< queries whose own class the filter allows
  double p50_us_in_class = 0.0;      ///< HNSW p50 of those (the beam starts near allowed items)
  double p50_us_other_class = 0.0;   ///< HNSW p50 of the others (it must travel to reach them)
};

/// @brief Everything measured.
struct report {
  std::size_t base = 0, queries = 0, input_dim = 0, search_dim = 0, k = 0;
  double pca_explained_variance = 0.0;                    ///< 1 without PCA
  std::vector<std::pair<std::size_t, double>> pca_curve;  ///< (components, explained variance)
  double pca_fit_s = 0.0;
  double pca_recall_vs_raw = 1.0;    ///< exact search in PCA space against exact in pixel space
  double raw_label_precision = 0.0;  ///< exact search on raw pixels
  double build_s = 0.0;
  std::size_t M = 0, ef_construction = 0, bytes_per_node = 0, filter_ef = 0;
  search_quality exact;
  std::vector<search_quality> hnsw;  ///< one per ef
  /// one per ef: the same graph after `hnsw_index::quantize()` (walk on 8-bit codes, exact scores)
  std::vector<search_quality> hnsw_8bit;
  std::vector<filtered_quality> filtered;
  double seconds = 0.0;
};

/// @brief Runs the experiment on `base` (indexed) and `queries`.
/// @throws funnel::invalid_argument on empty sets, mismatched widths, or options out of range.
[[nodiscard]] report run_experiment(const image_set& base, const image_set& queries,
                                    const options& opt = {});

/// @brief The report as aligned text.
[[nodiscard]] std::string format_report(const report& r);

}  // namespace image_search
