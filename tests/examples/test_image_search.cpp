// Smoke test of the image-search example on a small slice of Fashion-MNIST (Debian's
// dataset-fashion-mnist, which scripts/install-deps.sh installs in CI): HNSW must find the exact
// neighbours, filtered search must respect the filter and still return k items, and PCA must
// keep most of the variance and most of the neighbours' classes.
#include <funnel/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

#include "funnel_catch.hpp"
#include "image_search.hpp"

namespace {

constexpr std::size_t k = 10;

/// The report of a 5000-image / 200-query run, or nullopt when the data is not installed.
const std::optional<image_search::report>& slice_run() {
  static const std::optional<image_search::report> r = []() -> std::optional<image_search::report> {
    if (!image_search::data_available(image_search::default_data_dir)) return std::nullopt;
    const auto base =
        image_search::load_fashion_mnist(image_search::default_data_dir, "train", 5000);
    const auto queries =
        image_search::load_fashion_mnist(image_search::default_data_dir, "t10k", 200);
    image_search::options opt;
    opt.pca_dims = 64;
    opt.ef_values = {10, 40, 80};
    return image_search::run_experiment(base, queries, opt);
  }();
  return r;
}

#define SKIP_WITHOUT_DATA()                                                                      \
  if (!slice_run()) {                                                                            \
    WARN("skipped: Fashion-MNIST not found in " << image_search::default_data_dir.string()       \
                                                << " (install Debian's dataset-fashion-mnist)"); \
    return;                                                                                      \
  }

}  // namespace

TEST_CASE("image search: HNSW at ef 80 finds >= 95% of the exact 10 nearest neighbours") {
  SKIP_WITHOUT_DATA();
  const auto& r = *slice_run();
  INFO(image_search::format_report(r));
  REQUIRE(r.hnsw.size() == 3);
  CHECK(r.hnsw.back().recall >= 0.95);
  // Recall does not fall as ef grows (same graph, wider beam).
  CHECK(r.hnsw[2].recall >= r.hnsw[0].recall);
  // Neighbours mostly share the query's class (kNN on Fashion-MNIST is ~85% accurate at 60k).
  CHECK(r.exact.label_precision > 0.6);
  CHECK(r.hnsw.back().label_precision > 0.6);
  CHECK(r.exact.p99_us >= r.exact.p50_us);
}

TEST_CASE("image search: on PCA vectors the 8-bit walk loses recall at small ef, not at large") {
  SKIP_WITHOUT_DATA();
  const auto& r = *slice_run();
  INFO(image_search::format_report(r));
  REQUIRE(r.hnsw_8bit.size() == r.hnsw.size());
  // One scale for all 64 PCA dimensions is set by the first component's range, so the small
  // components get few levels: the walk misses some neighbours at ef 10 (0.03 in this slice),
  // while a wide beam and the exact re-scoring recover them.
  for (std::size_t i = 0; i < r.hnsw.size(); ++i) {
    CAPTURE(r.hnsw[i].ef);
    CHECK(r.hnsw_8bit[i].ef == r.hnsw[i].ef);
    CHECK(r.hnsw_8bit[i].recall >= r.hnsw[i].recall - 0.06);
  }
  CHECK(r.hnsw_8bit.back().recall >= r.hnsw.back().recall - 0.01);
  CHECK(r.hnsw_8bit.back().recall >= 0.99);
}

TEST_CASE("image search: filtered results all carry the allowed class and the full k") {
  SKIP_WITHOUT_DATA();
  const auto& r = *slice_run();
  INFO(image_search::format_report(r));
  REQUIRE(r.filtered.size() == 3);
  for (const auto& f : r.filtered) {
    INFO(f.name);
    CHECK(f.in_filter == 1.0);
    CHECK(f.full_k == 1.0);
    CHECK(f.recall >= 0.95);
    CHECK(f.allowed_fraction > 0.05);
    CHECK(f.allowed_fraction < 0.5);
    CHECK(f.queries == 200);
    CHECK(f.queries_in_class > 0);
  }
  // The scan strategy is exact over the allowed items.
  CHECK(r.filtered[1].recall >= 0.999);
}

TEST_CASE("image search: PCA to 64 dims keeps most variance and most neighbours' classes") {
  SKIP_WITHOUT_DATA();
  const auto& r = *slice_run();
  INFO(image_search::format_report(r));
  CHECK(r.search_dim == 64);
  CHECK(r.pca_explained_variance > 0.8);
  CHECK(r.pca_explained_variance < 1.0);
  // The curve is increasing in the number of components.
  for (std::size_t i = 1; i < r.pca_curve.size(); ++i) {
    CHECK(r.pca_curve[i].second > r.pca_curve[i - 1].second);
  }
  CHECK(r.pca_recall_vs_raw > 0.5);
  CHECK(r.exact.label_precision > r.raw_label_precision - 0.05);
}

TEST_CASE("image search: fit_pca finds the direction of a planted dominant axis") {
  // 200 points spread along (1, 1, 0) with small noise elsewhere: the first component is that axis.
  funnel::matrix x(200, 3);
  for (std::size_t i = 0; i < 200; ++i) {
    const float t = static_cast<float>(i) / 20.0F - 5.0F;
    const float e = static_cast<float>((i * 7919) % 13) / 130.0F - 0.05F;
    x(i, 0) = t + e;
    x(i, 1) = t - e;
    x(i, 2) = 0.5F * e;
  }
  const auto m = image_search::fit_pca(x, 1);
  CHECK_THAT(std::abs(m.components(0, 0)), WithinAbs(std::sqrt(0.5), 1e-3));
  CHECK_THAT(std::abs(m.components(1, 0)), WithinAbs(std::sqrt(0.5), 1e-3));
  CHECK(m.explained_variance > 0.99);
  CHECK_THROWS_AS(image_search::fit_pca(x, 4), funnel::invalid_argument);
  CHECK_THROWS_AS(image_search::fit_pca(x, 0), funnel::invalid_argument);
}
