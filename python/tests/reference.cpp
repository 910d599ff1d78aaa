// The C++ side of the Python bindings' bit-identity tests: the same funnel calls the Python
// tests make, on the same inputs (files the test writes), printed as C hex floats ("%a", exact)
// for pytest to compare with what the Python call returned.
//
//   funnel_py_reference features <pipeline.json> <data.csv>            transform of every row
//   funnel_py_reference margins <xgboost|lightgbm|funnel> <model> <rows.f32> <cols>
//   funnel_py_reference shap <xgboost|lightgbm|funnel> <model> <rows.f32> <cols>
//   funnel_py_reference logistic <model.json> <rows.f32> <cols>          margins
//   funnel_py_reference ks <a.f64> <b.f64>                                statistic, p-value
//   funnel_py_reference hnsw <vectors.f32> <dim> <queries.f32> <k> <seed> <metric>
#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/drift/ks.hpp>
#include <funnel/features/pipeline.hpp>
#include <funnel/retrieval/hnsw_index.hpp>
#include <funnel/scoring/lightgbm.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/tree_ensemble.hpp>
#include <funnel/scoring/treeshap.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

namespace {

namespace fs = funnel::scoring;

template <class T>
std::vector<T> read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<T> v(bytes.size() / sizeof(T));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
  return v;
}

void print_rows(const float* values, std::size_t rows, std::size_t cols) {
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      std::printf(j == 0 ? "%a" : " %a", static_cast<double>(values[i * cols + j]));
    }
    std::printf("\n");
  }
}

fs::tree_ensemble load_model(const std::string& format, const std::string& path) {
  if (format == "xgboost") return fs::load_xgboost(path);
  if (format == "lightgbm") return fs::load_lightgbm(path);
  return fs::tree_ensemble::load(path);
}

int features(const std::string& pipeline, const std::string& csv) {
  const auto p = funnel::features::any_pipeline::load(pipeline);
  const funnel::features::table data(p.get_schema(), funnel::read_csv(csv));
  const funnel::matrix m = p.transform(data.view());
  print_rows(m.data(), m.rows(), m.cols());
  return 0;
}

int trees(bool shap, const std::string& format, const std::string& model, const std::string& rows,
          std::size_t cols) {
  const auto t = load_model(format, model);
  const auto x = read_binary<float>(rows);
  const funnel::matrix_view view(x, x.size() / cols, cols);
  if (shap) {
    const fs::tree_explainer explainer(t);
    std::vector<float> phi(view.rows() * explainer.output_size());
    for (std::size_t i = 0; i < view.rows(); ++i) {
      explainer.contributions(
          view.row(i),
          std::span<float>(phi).subspan(i * explainer.output_size(), explainer.output_size()));
    }
    print_rows(phi.data(), view.rows(), explainer.output_size());
  } else {
    std::vector<float> out(view.rows() * t.num_groups());
    t.margins_batch(view, out);
    print_rows(out.data(), view.rows(), t.num_groups());
  }
  return 0;
}

int logistic(const std::string& model, const std::string& rows, std::size_t cols) {
  const auto m = fs::logistic_model::load(model);
  const auto x = read_binary<float>(rows);
  const funnel::matrix_view view(x, x.size() / cols, cols);
  std::vector<float> out(view.rows());
  m.score_batch(view, out);
  print_rows(out.data(), out.size(), 1);
  return 0;
}

int ks(const std::string& a, const std::string& b) {
  const auto r = funnel::drift::ks_2samp(read_binary<double>(a), read_binary<double>(b));
  std::printf("%a %a\n", r.statistic, r.pvalue);
  return 0;
}

int hnsw(char** argv) {
  funnel::retrieval::hnsw_options o;
  o.dim = std::stoul(argv[3]);
  o.seed = std::stoull(argv[6]);
  o.metric = funnel::parse_enum<funnel::retrieval::metric>(argv[7], "app.reference");
  funnel::retrieval::hnsw_index index(o);
  const auto v = read_binary<float>(argv[2]);
  std::vector<std::uint64_t> ids(v.size() / o.dim);
  std::iota(ids.begin(), ids.end(), std::uint64_t{0});
  index.add_batch(ids, funnel::matrix_view(v, ids.size(), o.dim));
  const auto q = read_binary<float>(argv[4]);
  const auto found =
      index.search_batch(funnel::matrix_view(q, q.size() / o.dim, o.dim), std::stoul(argv[5]));
  for (const auto& list : found) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      std::printf(i == 0 ? "%llu:%a" : " %llu:%a", static_cast<unsigned long long>(list[i].id),
                  static_cast<double>(list[i].score));
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "features" && argc == 4) return features(argv[2], argv[3]);
    if ((cmd == "margins" || cmd == "shap") && argc == 6) {
      return trees(cmd == "shap", argv[2], argv[3], argv[4], std::stoul(argv[5]));
    }
    if (cmd == "logistic" && argc == 5) return logistic(argv[2], argv[3], std::stoul(argv[4]));
    if (cmd == "ks" && argc == 4) return ks(argv[2], argv[3]);
    if (cmd == "hnsw" && argc == 8) return hnsw(argv);
  } catch (const funnel::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: see the comment at the top of python/tests/reference.cpp\n");
  return 2;
}
