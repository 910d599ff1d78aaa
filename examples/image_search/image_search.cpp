#include "image_search.hpp"

#include <funnel/core/error.hpp>
#include <funnel/core/idx.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/metrics/retrieval.hpp>
#include <funnel/retrieval/exact_index.hpp>
#include <funnel/retrieval/filter.hpp>
#include <funnel/retrieval/hnsw_index.hpp>

#include <Eigen/Dense>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace image_search {

namespace fr = funnel::retrieval;

namespace {

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

/// Share of each query's neighbours that carry the query's class.
double label_precision(const std::vector<funnel::candidate_list>& found,
                       const std::vector<std::uint8_t>& base_labels,
                       const std::vector<std::uint8_t>& query_labels, std::size_t k) {
  double total = 0.0;
  for (std::size_t q = 0; q < found.size(); ++q) {
    std::size_t same = 0;
    for (const auto& c : found[q]) same += base_labels[c.id] == query_labels[q] ? 1 : 0;
    total += static_cast<double>(same) / static_cast<double>(k);
  }
  return found.empty() ? 0.0 : total / static_cast<double>(found.size());
}

}  // namespace

bool data_available(const std::filesystem::path& dir) {
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    if (!std::filesystem::exists(dir / f)) return false;
  }
  return true;
}

image_set load_fashion_mnist(const std::filesystem::path& dir, std::string_view split,
                             std::size_t max_rows) {
  if (split != "train" && split != "t10k") {
    funnel::raise<funnel::invalid_argument>("app.image_search",
                                            "split '{}': expected train or t10k", split);
  }
  // read_idx rather than read_idx_images: only the first max_rows images become floats.
  const auto images = funnel::read_idx(dir / fmt::format("{}-images-idx3-ubyte.gz", split));
  auto labels = funnel::read_idx_labels(dir / fmt::format("{}-labels-idx1-ubyte.gz", split));
  if (images.dims.size() != 3 || images.dims[0] != labels.size()) {
    funnel::raise<funnel::dimension_mismatch>(
        "app.image_search", "{}: {} images for {} labels (or not 3-dimensional)", split,
        images.dims.empty() ? 0 : images.dims[0], labels.size());
  }
  const std::size_t n = std::min<std::size_t>(max_rows, labels.size());
  const std::size_t d = std::size_t{images.dims[1]} * images.dims[2];
  image_set out{funnel::matrix(n, d), {}};
  for (std::size_t i = 0; i < n * d; ++i) {
    out.images.data()[i] = static_cast<float>(images.data[i]) / 255.0F;
  }
  labels.resize(n);
  out.labels = std::move(labels);
  return out;
}

funnel::matrix pca_model::transform(funnel::matrix_view x) const {
  if (x.cols() != mean.size()) {
    funnel::raise<funnel::dimension_mismatch>("app.pca", "input has {} columns, PCA {}", x.cols(),
                                              mean.size());
  }
  using rm = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const rm> w(components.data(), static_cast<Eigen::Index>(components.rows()),
                               static_cast<Eigen::Index>(components.cols()));
  const Eigen::Map<const Eigen::RowVectorXf> mu(mean.data(),
                                                static_cast<Eigen::Index>(mean.size()));
  funnel::matrix out(x.rows(), components.cols());
  Eigen::Map<rm> y(out.data(), static_cast<Eigen::Index>(out.rows()),
                   static_cast<Eigen::Index>(out.cols()));
  y.noalias() = (x.as_eigen().rowwise() - mu) * w;
  return out;
}

pca_model fit_pca(funnel::matrix_view x, std::size_t dims) {
  const std::size_t d = x.cols();
  if (dims == 0 || dims > d) {
    funnel::raise<funnel::invalid_argument>("app.pca", "dims {} must be in [1, {}]", dims, d);
  }
  if (x.rows() < 2) {
    funnel::raise<funnel::invalid_argument>("app.pca", "need >= 2 rows, got {}", x.rows());
  }
  const Eigen::MatrixXd data = x.as_eigen().cast<double>();
  const Eigen::RowVectorXd mu = data.colwise().mean();
  const Eigen::MatrixXd centered = data.rowwise() - mu;
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(centered.cols(), centered.cols());
  cov.selfadjointView<Eigen::Lower>().rankUpdate(centered.transpose());
  cov = cov.selfadjointView<Eigen::Lower>();
  cov /= static_cast<double>(x.rows() - 1);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  if (eig.info() != Eigen::Success) {
    funnel::raise<funnel::invalid_argument>("app.pca", "eigen decomposition failed");
  }
  // Eigenvalues come in increasing order: the last `dims` columns are the components.
  const auto& values = eig.eigenvalues();
  const double total = std::max(values.sum(), 1e-300);
  pca_model m;
  m.mean.resize(d);
  for (std::size_t j = 0; j < d; ++j)
    m.mean[j] = static_cast<float>(mu(static_cast<Eigen::Index>(j)));
  m.components = funnel::matrix(d, dims);
  for (std::size_t c = 0; c < dims; ++c) {
    const auto col = static_cast<Eigen::Index>(d - 1 - c);
    const double share = std::max(values(col), 0.0) / total;
    m.explained_by_component.push_back(share);
    m.explained_variance += share;
    for (std::size_t j = 0; j < d; ++j) {
      m.components(j, c) =
          static_cast<float>(eig.eigenvectors()(static_cast<Eigen::Index>(j), col));
    }
  }
  return m;
}

report run_experiment(const image_set& base, const image_set& queries, const options& opt) {
  const funnel::stopwatch total;
  const auto say = [&](const std::string& line) {
    if (opt.progress) opt.progress(line);
  };
  if (base.images.rows() == 0 || queries.images.rows() == 0) {
    funnel::raise<funnel::invalid_argument>("app.image_search", "empty base ({}) or query ({}) set",
                                            base.images.rows(), queries.images.rows());
  }
  if (base.images.cols() != queries.images.cols() || base.labels.size() != base.images.rows() ||
      queries.labels.size() != queries.images.rows()) {
    funnel::raise<funnel::invalid_argument>("app.image_search",
                                            "base and queries disagree in shape");
  }
  if (opt.k == 0 || opt.k > base.images.rows() || opt.ef_values.empty()) {
    funnel::raise<funnel::invalid_argument>("app.image_search", "k {} must be in [1, {}]", opt.k,
                                            base.images.rows());
  }
  const std::size_t k = opt.k;
  const std::size_t nq = queries.images.rows();
  report r;
  r.base = base.images.rows();
  r.queries = nq;
  r.input_dim = base.images.cols();
  r.k = k;
  r.M = opt.M;
  r.ef_construction = opt.ef_construction;
  r.filter_ef = opt.filter_ef;

  std::vector<std::uint64_t> ids(r.base);
  std::iota(ids.begin(), ids.end(), std::uint64_t{0});

  // Ground truth on raw pixels: what PCA costs in neighbour quality.
  say(fmt::format("exact search on raw pixels: {} queries x {} images x {} dims", nq, r.base,
                  r.input_dim));
  const fr::exact_index raw_exact(ids, base.images, fr::metric::l2);
  const auto raw_truth = raw_exact.search_batch(queries.images, k);
  r.raw_label_precision = label_precision(raw_truth, base.labels, queries.labels, k);

  // Optional PCA: fitted on the base set only (queries are unseen images).
  funnel::matrix base_vectors;
  funnel::matrix query_vectors;
  if (opt.pca_dims > 0) {
    const std::size_t fit_rows = std::min(opt.pca_fit_rows, r.base);
    say(fmt::format("fitting PCA {} -> {} dims on {} images (Eigen)", r.input_dim, opt.pca_dims,
                    fit_rows));
    const funnel::stopwatch sw;
    const auto pca = fit_pca(base.images.view().middle_rows(0, fit_rows), opt.pca_dims);
    base_vectors = pca.transform(base.images);
    query_vectors = pca.transform(queries.images);
    r.pca_fit_s = sw.elapsed_s();
    r.pca_explained_variance = pca.explained_variance;
    double acc = 0.0;
    for (std::size_t c = 0; c < pca.explained_by_component.size(); ++c) {
      acc += pca.explained_by_component[c];
      const std::size_t n = c + 1;
      if (n == 8 || n == 16 || n == 32 || n == 64 || n == 128 || n == 256 ||
          n == pca.explained_by_component.size()) {
        if (r.pca_curve.empty() || r.pca_curve.back().first != n) r.pca_curve.emplace_back(n, acc);
      }
    }
  } else {
    base_vectors = base.images;
    query_vectors = queries.images;
    r.pca_explained_variance = 1.0;
  }
  r.search_dim = base_vectors.cols();

  // Exact search in the search space: the ground truth HNSW is measured against.
  const fr::exact_index exact(ids, base_vectors, fr::metric::l2);
  const auto truth = exact.search_batch(query_vectors, k);
  r.pca_recall_vs_raw = funnel::metrics::recall_at_k(truth, raw_truth, k);
  {
    std::vector<double> lat;
    lat.reserve(nq);
    for (std::size_t q = 0; q < nq; ++q) {
      const funnel::stopwatch sw;
      const auto found = exact.search(query_vectors.row(q), k);
      lat.push_back(sw.elapsed_us());
      if (found.size() != k) {
        funnel::raise<funnel::invalid_argument>("app.image_search",
                                                "exact search returned {} of {}", found.size(), k);
      }
    }
    r.exact = {"exact (brute force)",
               0,
               1.0,
               label_precision(truth, base.labels, queries.labels, k),
               percentile(lat, 0.5),
               percentile(lat, 0.99)};
  }

  // HNSW.
  say(fmt::format("building HNSW (M {}, ef_construction {}) over {} vectors of {} dims", opt.M,
                  opt.ef_construction, r.base, r.search_dim));
  fr::hnsw_index index({.dim = r.search_dim,
                        .metric = fr::metric::l2,
                        .M = opt.M,
                        .ef_construction = opt.ef_construction,
                        .capacity = r.base,
                        .seed = opt.seed});
  {
    const funnel::stopwatch sw;
    index.add_batch(ids, base_vectors, opt.build_threads);
    r.build_s = sw.elapsed_s();
  }
  r.bytes_per_node = index.bytes_per_node();
  say(fmt::format("built in {:.1f} s", r.build_s));

  // The same graph with the walk on 8-bit codes (a copy, so the filtered runs below stay on the
  // float walk and compare with earlier figures).
  fr::hnsw_index coded = fr::hnsw_index::deserialize(index.serialize(), "image_search copy");
  coded.quantize();
  funnel::candidate_list out;
  const auto run_unfiltered = [&](const fr::hnsw_index& idx, const std::string& name,
                                  std::size_t ef) {
    std::vector<funnel::candidate_list> found(nq);
    std::vector<double> lat;
    lat.reserve(nq);
    for (std::size_t q = 0; q < nq; ++q) {
      const funnel::stopwatch sw;
      idx.search_into(query_vectors.row(q), k, {.ef = ef}, {}, out);
      lat.push_back(sw.elapsed_us());
      found[q] = out;
    }
    return search_quality{name,
                          ef,
                          funnel::metrics::recall_at_k(found, truth, k),
                          label_precision(found, base.labels, queries.labels, k),
                          percentile(lat, 0.5),
                          percentile(lat, 0.99)};
  };
  for (const std::size_t ef : opt.ef_values) {
    r.hnsw.push_back(run_unfiltered(index, fmt::format("HNSW ef={}", ef), ef));
    r.hnsw_8bit.push_back(run_unfiltered(coded, fmt::format("HNSW 8-bit ef={}", ef), ef));
  }

  // Filtered search: an allow-list of one class, and a predicate over several classes.
  const std::size_t nf = std::min(opt.filter_queries, nq);
  const auto run_filtered = [&](const std::string& name, const fr::filter& allowed,
                                std::size_t allowed_count, const auto& class_allowed,
                                fr::filter_strategy strategy) {
    filtered_quality f;
    f.name = name;
    f.allowed_fraction = static_cast<double>(allowed_count) / static_cast<double>(r.base);
    std::vector<funnel::candidate_list> found(nf);
    std::vector<funnel::candidate_list> filtered_truth(nf);
    std::vector<double> lat, lat_in, lat_out;
    std::vector<double> exact_lat;
    std::size_t returned = 0, allowed_returned = 0, full = 0;
    for (std::size_t q = 0; q < nf; ++q) {
      {
        const funnel::stopwatch sw;
        filtered_truth[q] = exact.search(query_vectors.row(q), k, allowed);
        exact_lat.push_back(sw.elapsed_us());
      }
      const funnel::stopwatch sw;
      index.search_into(query_vectors.row(q), k, {.ef = opt.filter_ef, .strategy = strategy},
                        allowed, out);
      lat.push_back(sw.elapsed_us());
      (class_allowed(queries.labels[q]) ? lat_in : lat_out).push_back(lat.back());
      found[q] = out;
      returned += out.size();
      for (const auto& c : out) allowed_returned += allowed.allows(c.id) ? 1 : 0;
      full += out.size() == std::min(k, allowed_count) ? 1 : 0;
    }
    f.recall = funnel::metrics::recall_at_k(found, filtered_truth, k);
    f.in_filter =
        returned == 0 ? 0.0 : static_cast<double>(allowed_returned) / static_cast<double>(returned);
    f.full_k = static_cast<double>(full) / static_cast<double>(nf);
    f.queries = nf;
    f.queries_in_class = lat_in.size();
    f.p50_us_in_class = percentile(lat_in, 0.5);
    f.p50_us_other_class = percentile(lat_out, 0.5);
    f.p50_us = percentile(lat, 0.5);
    f.p99_us = percentile(lat, 0.99);
    f.exact_p50_us = percentile(exact_lat, 0.5);
    r.filtered.push_back(f);
  };
  {
    std::vector<std::uint64_t> allowed_ids;
    for (std::size_t i = 0; i < r.base; ++i) {
      if (base.labels[i] == opt.filter_class) allowed_ids.push_back(i);
    }
    const fr::allow_list list(allowed_ids);
    say(fmt::format("filtered search: only {} ({} images)", class_names.at(opt.filter_class),
                    allowed_ids.size()));
    const auto in_class = [&](std::uint8_t c) { return c == opt.filter_class; };
    run_filtered(fmt::format("allow-list: only {}", class_names.at(opt.filter_class)), list,
                 allowed_ids.size(), in_class, fr::filter_strategy::automatic);
    // The remedy when queries and filters are unrelated: scan the allowed items instead.
    run_filtered(fmt::format("allow-list: only {}, scan", class_names.at(opt.filter_class)), list,
                 allowed_ids.size(), in_class, fr::filter_strategy::scan);
  }
  if (!opt.predicate_classes.empty()) {
    std::array<bool, 256> wanted{};
    std::string names;
    for (const auto c : opt.predicate_classes) {
      wanted[c] = true;
      names += (names.empty() ? "" : "|") + std::string(class_names.at(c));
    }
    const auto& labels = base.labels;
    const auto pred = [&labels, &wanted](std::uint64_t id) { return wanted[labels[id]]; };
    const auto count = static_cast<std::size_t>(
        std::count_if(labels.begin(), labels.end(), [&](std::uint8_t l) { return wanted[l]; }));
    run_filtered(
        fmt::format("predicate: {}", names), fr::filter::where(pred), count,
        [&](std::uint8_t c) { return wanted[c]; }, fr::filter_strategy::automatic);
  }
  r.seconds = total.elapsed_s();
  return r;
}

std::string format_report(const report& r) {
  std::string s;
  s += fmt::format(
      "Fashion-MNIST image search: {} indexed images (train), {} queries (t10k), k = {}\n", r.base,
      r.queries, r.k);
  if (r.search_dim != r.input_dim) {
    s += fmt::format("PCA {} -> {} dims: explained variance {:.1f}% (fitted in {:.2f} s)\n",
                     r.input_dim, r.search_dim, 100.0 * r.pca_explained_variance, r.pca_fit_s);
    s += "  explained variance by components:";
    for (const auto& [n, v] : r.pca_curve) s += fmt::format(" {}: {:.1f}%", n, 100.0 * v);
    s += "\n";
    s += fmt::format(
        "  exact neighbours in PCA space vs exact on raw pixels: recall@{} {:.3f}; label "
        "precision@{} {:.3f} (raw pixels {:.3f})\n",
        r.k, r.pca_recall_vs_raw, r.k, r.exact.label_precision, r.raw_label_precision);
  } else {
    s += fmt::format("searching raw pixels ({} dims, no PCA)\n", r.input_dim);
  }
  s += fmt::format("HNSW: M {}, ef_construction {}, built in {:.1f} s, {} bytes per node\n\n", r.M,
                   r.ef_construction, r.build_s, r.bytes_per_node);
  s += fmt::format("{:<24} {:>10} {:>16} {:>10} {:>10} {:>9}\n", "search",
                   "recall@" + std::to_string(r.k), "label prec@" + std::to_string(r.k), "p50 us",
                   "p99 us", "speed-up");
  const auto line = [&](const search_quality& q) {
    s += fmt::format("{:<24} {:>10.4f} {:>16.3f} {:>10.1f} {:>10.1f} {:>8.1f}x\n", q.name, q.recall,
                     q.label_precision, q.p50_us, q.p99_us,
                     q.p50_us > 0 ? r.exact.p50_us / q.p50_us : 0.0);
  };
  line(r.exact);
  for (const auto& q : r.hnsw) line(q);
  for (const auto& q : r.hnsw_8bit) line(q);
  if (!r.filtered.empty()) {
    s += fmt::format(
        "\nfiltered search, first {} queries (HNSW ef {} vs exact with the same filter)\n",
        r.filtered.front().queries, r.filter_ef);
    s += fmt::format("{:<38} {:>8} {:>10} {:>10} {:>8} {:>9} {:>13} {:>13} {:>13}\n", "filter",
                     "allowed", "recall@" + std::to_string(r.k), "in filter", "full k", "p50 us",
                     "in-class p50", "other p50", "exact p50 us");
    for (const auto& f : r.filtered) {
      s += fmt::format(
          "{:<38} {:>7.1f}% {:>10.4f} {:>9.1f}% {:>7.1f}% {:>9.1f} {:>13.1f} {:>13.1f} {:>13.1f}\n",
          f.name, 100.0 * f.allowed_fraction, f.recall, 100.0 * f.in_filter, 100.0 * f.full_k,
          f.p50_us, f.p50_us_in_class, f.p50_us_other_class, f.exact_p50_us);
    }
    s += "(in-class: queries whose own class the filter allows; other: the beam must cross the "
         "graph to reach allowed items)\n";
  }
  s += fmt::format("\ntotal {:.1f} s\n", r.seconds);
  return s;
}

}  // namespace image_search
