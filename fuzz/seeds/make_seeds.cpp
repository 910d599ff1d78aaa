// Writes the seed inputs of the fuzz targets whose formats have no committed fixture (funnel's
// own JSON documents and index files), from the small fitted objects of fuzz/samples.hpp, into
// <out>/<target>/. fuzz/seeds/make_corpus.sh runs it and copies the committed fixtures beside.
//   make_seeds <tests/data dir> <out dir>

#include <funnel/core/file.hpp>
#include <funnel/drift/detectors.hpp>
#include <funnel/experiments/sequential.hpp>
#include <funnel/scoring/lightgbm.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include "../samples.hpp"

namespace fs = std::filesystem;
using funnel::json;

namespace {

fs::path out_dir;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  const auto dir = out_dir / target;
  fs::create_directories(dir);
  funnel::write_file_atomic(dir / name, bytes);
  std::printf("%s/%s (%zu bytes)\n", target.c_str(), name.c_str(), bytes.size());
}
void put(const std::string& target, const std::string& name, const json& j) {
  put(target, name, j.dump());
}

// Pipeline configurations over the fuzz registry (fuzz/pipeline_config.cpp).
json pipeline_plain() {
  return funnel::parse_json(R"({
    "type": "pipeline", "version": 1,
    "retrievers": [{"stage": "ann", "quota": 8}, {"stage": "popular", "quota": 2, "weight": 0.5}],
    "fusion": "reciprocal_rank", "rrf_k": 60,
    "filters": ["seen", "blocked"],
    "features": "ids",
    "ranker": {"models": "ranker", "light": "lr", "cascade_top_n": 4},
    "rerankers": ["drop_last"],
    "budgets_us": {"retrieval": 100000, "ranking": 100000, "rerank": 100000}
  })",
                            "seed");
}
json pipeline_rerankers() {
  return funnel::parse_json(R"({
    "type": "pipeline", "version": 1,
    "retrievers": ["ann", "popular"], "fusion": "normalized_score",
    "features": "ids", "ranker": {"models": "ranker"},
    "rerankers": [
      {"type": "mmr", "items": "items", "lambda": 0.7, "similarity": "cosine", "unknown_items": "drop"},
      {"type": "dpp", "items": "items", "theta": 0.5, "quality": "exp_theta", "kernel": "direct",
       "similarity": "dot", "window": 4, "min_gain": 0.0, "unknown_items": "drop"},
      {"type": "group_cap", "items": "items", "group": "genre", "max_per_group": 2, "unknown_items": "drop"},
      {"type": "sliding_window", "items": "items", "group": "genre", "window": 3,
       "max_per_window": 1, "drop_unplaced": false, "unknown_items": "drop"}
    ],
    "trace_cpu": true, "score_block": 4
  })",
                            "seed");
}
json pipeline_features(const json& features) {
  auto j = funnel::parse_json(R"({
    "type": "pipeline", "version": 1,
    "retrievers": ["ann"], "filters": ["seen"],
    "features": {"type": "features", "users": "users", "items": "items",
                 "context": ["hour"], "score": "retrieval_score", "unknown_items": "drop"},
    "ranker": {"models": "ranker", "light": "lr", "cascade_top_n": 6}
  })",
                              "seed");
  j["features"]["pipeline"] = features;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds <tests/data dir> <out dir>\n");
    return 2;
  }
  const fs::path data = argv[1];
  out_dir = argv[2];
  namespace fs_ = funnel::samples;
  using funnel::bandits::policy_kind;

  const auto xgb = funnel::scoring::load_xgboost(data / "trees/xgb/agaricus_logistic.json");
  put("tree_ensemble", "agaricus_logistic.json", xgb.to_json());
  put("tree_ensemble", "lending_multi_softprob.json",
      funnel::scoring::load_xgboost(data / "trees/xgb/lending_multi_softprob.json").to_json());
  put("tree_ensemble", "lending_categorical.json",
      funnel::scoring::load_xgboost(data / "trees/xgb/lending_categorical.json").to_json());
  // The LightGBM models make_corpus.sh cut to their first trees (each must load).
  for (const auto* cut : {"binary_missing", "multiclass", "linear_tree", "lambdarank"}) {
    const auto m =
        funnel::scoring::load_lightgbm(out_dir / "lightgbm" / (std::string(cut) + "_2trees.txt"));
    put("tree_ensemble", std::string("lightgbm_") + cut + ".json", m.to_json());
  }

  put("logistic", "sample.json", fs_::logistic().to_json());
  // scikit-learn exports ({"coef": [[...]], "intercept": [b], "classes": [0, 1]}) of the
  // fixture's fitted cases (tests/data/logistic/lending_sklearn.json).
  const auto lending = funnel::load_json_file(data / "logistic/lending_sklearn.json");
  for (std::size_t c = 0; c < 2; ++c) {
    const auto& fitted = lending["cases"][c];
    json sk;
    sk["coef"] = json::array({fitted["coef"]});
    sk["intercept"] = json::array({fitted["intercept"]});
    sk["classes"] = {0, 1};
    const auto name = fitted["name"].get<std::string>() + ".json";
    put("logistic_sklearn", name, sk);
    put("logistic", name, funnel::scoring::from_sklearn_json(sk).to_json());
  }
  put("ftrl", "sample.json", fs_::ftrl().to_json());

  put("features", "unfitted.json", fs_::features_unfitted().to_json());
  const auto fitted = fs_::features_fitted();
  put("features", "fitted.json", fitted.to_json());

  put("pipeline_config", "plain.json", pipeline_plain());
  put("pipeline_config", "rerankers.json", pipeline_rerankers());
  put("pipeline_config", "features.json", pipeline_features(fitted.to_json()));

  for (const auto k :
       {policy_kind::epsilon_greedy, policy_kind::ucb1, policy_kind::thompson_bernoulli,
        policy_kind::thompson_gaussian, policy_kind::softmax}) {
    put("mab", std::string(funnel::bandits::to_string(k)) + ".json", fs_::mab(k).to_json());
  }
  put("linear_bandit", "lin_ucb.json",
      fs_::linear(funnel::bandits::linear_kind::lin_ucb).to_json());
  put("linear_bandit", "lin_thompson.json",
      fs_::linear(funnel::bandits::linear_kind::lin_thompson).to_json());

  put("drift_profile", "sample.json", fs_::drift_profile().to_json());
  put("calibration", "platt.json", fs_::platt().to_json());
  put("calibration", "isotonic.json", fs_::isotonic().to_json());

  {
    // Detectors fresh and mid-stream (a stream with a shift, so ADWIN has cut and holds rows).
    funnel::drift::adwin ad;
    funnel::drift::page_hinkley ph({.min_instances = 10, .delta = 0.005, .threshold = 3.0});
    funnel::drift::ddm dd;
    funnel::experiments::msprt t(0.01);
    put("drift_detectors", "adwin_fresh.json", ad.to_json());
    put("drift_detectors", "page_hinkley_fresh.json", ph.to_json());
    put("drift_detectors", "ddm_fresh.json", dd.to_json());
    put("drift_detectors", "msprt_fresh.json", t.to_json());
    for (int i = 0; i < 500; ++i) {
      const double x = (i < 250 ? 0.2 : 0.8) + 0.1 * ((i * 37) % 11) / 11.0;
      (void)ad.update(x);
      (void)ph.update(x);
      (void)dd.update((i * 37) % 11 < (i < 250 ? 2 : 6));
      t.add_a(x);
      t.add_b(x + 0.05);
      (void)t.look();
    }
    put("drift_detectors", "adwin_500.json", ad.to_json());
    put("drift_detectors", "page_hinkley_500.json", ph.to_json());
    put("drift_detectors", "ddm_500.json", dd.to_json());
    put("drift_detectors", "msprt_500.json", t.to_json());
  }

  put("als", "sample.json", fs_::als().to_json());
  put("popularity", "sample.json", fs_::popularity().to_json());
  put("covisitation", "sample.json", fs_::covisitation().to_json());

  put("hnsw", "l2_20.hnsw", fs_::hnsw(20).serialize());
  put("hnsw", "cosine_10.hnsw", fs_::hnsw(10, funnel::retrieval::metric::cosine).serialize());
  put("hnsw", "ip_1.hnsw", fs_::hnsw(1, funnel::retrieval::metric::inner_product).serialize());
  auto q = fs_::hnsw(12);
  q.remove(3);
  q.quantize();
  put("hnsw", "quantized_deleted_12.hnsw", q.serialize());
  q.project(2);
  put("hnsw", "quantized_projected_deleted_12.hnsw", q.serialize());
  auto ip = fs_::hnsw(9, funnel::retrieval::metric::inner_product);
  ip.project(3);
  put("hnsw", "ip_projected_9.hnsw", ip.serialize());
  return 0;
}
