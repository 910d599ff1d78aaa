#include <funnel/core/file.hpp>
#include <funnel/core/random.hpp>
#include <funnel/scoring/tree_ensemble.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "test_trees_util.hpp"

using namespace funnel::scoring;
using funnel::test::data;
using funnel::test::read_meta;
using funnel::test::read_rows;

namespace {

struct fixture {
  const char* model;
  const char* rows;
};

const fixture fixtures[] = {
    {"agaricus_logistic", "agaricus"},      {"credit_logistic", "credit"},
    {"credit_squarederror", "credit_reg"},  {"credit_poisson", "credit"},
    {"credit_rank_pairwise", "credit"},     {"credit_rank_ndcg", "credit"},
    {"lending_multi_softprob", "lending"},  {"lending_multi_softmax", "lending"},
    {"lending_categorical", "lending_reg"},
};

std::filesystem::path xgb(const std::string& name) {
  return data("trees/xgb/" + name);
}

void check_against_xgboost(const tree_ensemble& m, const fixture& f) {
  const auto rows = read_rows<float>(xgb(std::string(f.rows) + ".rows.txt"));
  const auto margins = read_rows<float>(xgb(std::string(f.model) + ".margin.txt"));
  const auto preds = read_rows<float>(xgb(std::string(f.model) + ".pred.txt"));
  const auto leaves = read_rows<double>(xgb(std::string(f.model) + ".leaf.txt"));
  REQUIRE(rows.size() == margins.size());
  const auto g = m.num_groups();
  REQUIRE(margins[0].size() == g);
  std::vector<float> flat;
  for (const auto& r : rows) {
    REQUIRE(r.size() == m.num_features());
    flat.insert(flat.end(), r.begin(), r.end());
  }
  const funnel::matrix_view view(flat.data(), rows.size(), m.num_features());
  std::vector<float> batch(rows.size() * g);
  m.margins_batch(view, batch);
  std::vector<float> out(g);
  std::vector<float> ref(g);
  std::vector<std::int32_t> leaf(m.num_trees());
  std::size_t exact = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    m.margins(rows[i], out);
    m.margins_reference(rows[i], ref);
    for (std::size_t k = 0; k < g; ++k) {
      // XGBoost sums float32 leaves in tree order: the same order gives the same bits.
      INFO(f.model << " row " << i << " group " << k);
      REQUIRE(out[k] == margins[i][k]);
      REQUIRE(ref[k] == margins[i][k]);
      REQUIRE(batch[i * g + k] == margins[i][k]);
      exact += out[k] == margins[i][k] ? 1 : 0;
    }
    m.predict(rows[i], out);
    const auto& p = preds[i];
    if (m.header().transform == output_transform::argmax) {
      REQUIRE(p.size() == 1);
      REQUIRE(out[0] == p[0]);
    } else {
      REQUIRE(p.size() == g);
      for (std::size_t k = 0; k < g; ++k) REQUIRE_THAT(out[k], WithinAbs(p[k], 1e-6));
    }
    m.predict_leaf(rows[i], leaf);
    for (std::size_t t = 0; t < m.num_trees(); ++t) {
      REQUIRE(leaf[t] == static_cast<std::int32_t>(leaves[i][t]));
    }
  }
  CHECK(exact == rows.size() * g);
}

}  // namespace

TEST_CASE("xgboost: margins are bit-exact with XGBoost 1.7.4 for every objective, JSON and UBJ") {
  for (const auto& f : fixtures) {
    for (const char* ext : {".json", ".ubj"}) {
      INFO(f.model << ext);
      const auto m = load_xgboost(xgb(std::string(f.model) + ext));
      check_against_xgboost(m, f);
    }
  }
}

TEST_CASE("xgboost: objectives map to the XGBoost output transform") {
  CHECK(load_xgboost(xgb("agaricus_logistic.json")).header().transform ==
        output_transform::sigmoid);
  CHECK(load_xgboost(xgb("credit_poisson.json")).header().transform == output_transform::exp);
  CHECK(load_xgboost(xgb("lending_multi_softprob.json")).header().transform ==
        output_transform::softmax);
  CHECK(load_xgboost(xgb("lending_multi_softprob.json")).num_groups() == 3);
  CHECK(load_xgboost(xgb("credit_rank_ndcg.json")).header().transform ==
        output_transform::identity);
}

TEST_CASE("xgboost: categorical splits are imported from pandas-style categorical models") {
  const auto m = load_xgboost(xgb("lending_categorical.json"));
  std::size_t cat = 0;
  for (const auto& t : m.trees()) {
    for (const auto& n : t.nodes) cat += n.categorical ? 1 : 0;
  }
  CHECK(cat > 0);
}

TEST_CASE("xgboost: importance (weight, gain, cover) equals XGBoost's get_score") {
  for (const char* name : {"credit_logistic", "lending_categorical", "agaricus_logistic"}) {
    INFO(name);
    const auto m = load_xgboost(xgb(std::string(name) + ".json"));
    const auto meta = read_meta(xgb(std::string(name) + ".meta.txt"));
    const std::pair<const char*, importance_type> kinds[] = {{"gain", importance_type::gain},
                                                             {"weight", importance_type::weight},
                                                             {"cover", importance_type::cover}};
    for (const auto& [key, type] : kinds) {
      const auto imp = m.importance(type);
      std::string list = meta.at(key);
      std::size_t seen = 0;
      while (!list.empty()) {
        const auto comma = list.find(',');
        const auto item = list.substr(0, comma);
        const auto colon = item.find(':');
        const auto feat = std::stoul(item.substr(1, colon - 1));  // "f12"
        const auto val = std::stod(item.substr(colon + 1));
        INFO(key << " f" << feat);
        // XGBoost stores gain/cover as float and averages in double.
        CHECK_THAT(imp[feat], WithinRel(val, 1e-6));
        ++seen;
        if (comma == std::string::npos) break;
        list = list.substr(comma + 1);
      }
      std::size_t nonzero = 0;
      for (const auto v : m.importance(importance_type::weight)) nonzero += v > 0 ? 1 : 0;
      CHECK(nonzero == seen);
    }
  }
}

TEST_CASE("xgboost: funnel JSON round-trips an imported model bit for bit") {
  for (const auto& f : fixtures) {
    const auto m = load_xgboost(xgb(std::string(f.model) + ".json"));
    const auto back = tree_ensemble::from_json(funnel::parse_json(m.to_json().dump(), "mem"));
    CHECK(back == m);
    const auto dir = funnel::test::scratch_dir("trees_roundtrip");
    m.save(dir / "m.json");
    CHECK(tree_ensemble::load(dir / "m.json") == m);
  }
}

TEST_CASE("xgboost: exported XGBoost JSON re-imports to the same margins") {
  for (const auto& f : fixtures) {
    INFO(f.model);
    const auto m = load_xgboost(xgb(std::string(f.model) + ".json"));
    const auto again = from_xgboost_json(to_xgboost_json(m));
    check_against_xgboost(again, f);
  }
}

namespace {
// A minimal one-tree document in the 2.x/3.x schema: stump on feature 0 at 0.5.
std::string doc_v2(const std::string& base_score, const std::string& objective,
                   const std::string& extra_model = R"("iteration_indptr": [0, 1],)",
                   const std::string& num_class = "0") {
  return R"({"learner": {"attributes": {}, "feature_names": [], "feature_types": [],
    "gradient_booster": {"model": {"gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "1"},
      )" +
         extra_model + R"(
      "tree_info": [0],
      "trees": [{"base_weights": [0.0, -0.25, 0.5], "categories": [], "categories_nodes": [],
        "categories_segments": [], "categories_sizes": [], "default_left": [1, 0, 0], "id": 0,
        "left_children": [1, -1, -1], "loss_changes": [3.0, 0.0, 0.0], "parents": [2147483647, 0, 0],
        "right_children": [2, -1, -1], "split_conditions": [0.5, -0.25, 0.5], "split_indices": [0, 0, 0],
        "split_type": [0, 0, 0], "sum_hessian": [10.0, 4.0, 6.0],
        "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "3", "size_leaf_vector": "1"}}]},
      "name": "gbtree"},
    "learner_model_param": {"base_score": ")" +
         base_score + R"(", "boost_from_average": "1",
      "num_class": ")" +
         num_class + R"(", "num_feature": "2", "num_target": "1"},
    "objective": {"name": ")" +
         objective + R"(", "reg_loss_param": {"scale_pos_weight": "1"}}},
  "version": [2, 1, 0]})";
}
}  // namespace

TEST_CASE("xgboost: 2.x/3.x documents with base_score \"[5E-1]\" and iteration_indptr load") {
  const auto a = parse_xgboost_json(doc_v2("5E-1", "binary:logistic"));
  const auto b = parse_xgboost_json(doc_v2("[5E-1]", "binary:logistic"));
  CHECK(a == b);
  const float row[] = {0.25F, 1.0F};
  CHECK(a.score(row) == -0.25F);  // logit(0.5) == 0
  const float miss[] = {NAN, 1.0F};
  CHECK(a.score(miss) == -0.25F);  // default_left
  // An estimated intercept (2.x writes the fitted base_score): margin = logit(p) in float.
  const auto c = parse_xgboost_json(doc_v2("[6.1290324E-1]", "binary:logistic"));
  const float p = 6.1290324E-1F;
  CHECK(c.score(row) == -std::log(1.0F / p - 1.0F) + -0.25F);
  const auto d = parse_xgboost_json(doc_v2("[2.5E0]", "reg:squarederror", ""));
  CHECK(d.score(row) == 2.25F);
  const auto e = parse_xgboost_json(doc_v2("5E-1", "count:poisson"));
  CHECK(e.score(row) == std::log(0.5F) + -0.25F);
}

TEST_CASE("xgboost: a vector base_score gives one intercept per output") {
  // Multi-class documents with one tree for class 0 only.
  auto text = doc_v2("[1E-1,2E-1,3E-1]", "multi:softprob", R"("iteration_indptr": [0, 1],)", "3");
  const auto m = parse_xgboost_json(text);
  REQUIRE(m.num_groups() == 3);
  const float row[] = {0.9F, 0.0F};
  std::vector<float> out(3);
  m.margins(row, out);
  CHECK(out[0] == 0.1F + 0.5F);
  CHECK(out[1] == 0.2F);
  CHECK(out[2] == 0.3F);
}

TEST_CASE("xgboost: bad documents raise typed errors naming tree and node") {
  const auto good = doc_v2("5E-1", "binary:logistic");
  auto with = [&](const std::string& from, const std::string& to) {
    auto s = good;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return s;
  };
  CHECK_THROWS_WITH(
      parse_xgboost_json(with(R"("split_indices": [0, 0, 0])", R"("split_indices": [7, 0, 0])")),
      ContainsSubstring("trees[0].split_indices[0] = 7 out of range"));
  CHECK_THROWS_WITH(parse_xgboost_json(
                        with(R"("left_children": [1, -1, -1])", R"("left_children": [5, -1, -1])")),
                    ContainsSubstring("trees[0].nodes[0]"));
  // A cycle: node 1 points back at the root.
  CHECK_THROWS_WITH(
      parse_xgboost_json(with(
          R"("left_children": [1, -1, -1], "loss_changes": [3.0, 0.0, 0.0], "parents": [2147483647, 0, 0],
        "right_children": [2, -1, -1])",
          R"("left_children": [1, 2, -1], "loss_changes": [3.0, 0.0, 0.0], "parents": [2147483647, 0, 0],
        "right_children": [2, 0, -1])")),
      ContainsSubstring("trees[0].nodes["));
  CHECK_THROWS_AS(parse_xgboost_json(with("binary:logistic", "survival:aft")), funnel::unsupported);
  CHECK_THROWS_WITH(parse_xgboost_json(with("binary:logistic", "survival:aft")),
                    ContainsSubstring("survival:aft"));
  CHECK_THROWS_AS(parse_xgboost_json(with(R"("name": "gbtree")", R"("name": "dart")")),
                  funnel::unsupported);
  CHECK_THROWS_AS(parse_xgboost_json(good.substr(0, good.size() / 2)), funnel::parse_error);
  CHECK_THROWS_WITH(parse_xgboost_json(with(R"("num_nodes": "3")", R"("num_nodes": "4")")),
                    ContainsSubstring("expected num_nodes = 4"));
  CHECK_THROWS_WITH(parse_xgboost_json(with(R"("base_score": "5E-1")", R"("base_score": "[5E-1")")),
                    ContainsSubstring("base_score"));
  CHECK_THROWS_WITH(
      parse_xgboost_json(with(R"("iteration_indptr": [0, 1])", R"("iteration_indptr": [0, 2])")),
      ContainsSubstring("iteration_indptr"));
  CHECK_THROWS_AS(parse_xgboost_json(with(R"("tree_info": [0])", R"("tree_info": [3])")),
                  funnel::parse_error);
}

TEST_CASE("xgboost: rows shorter than the model are rejected by the checked paths") {
  const auto m = load_xgboost(xgb("credit_logistic.json"));
  std::vector<float> row(m.num_features() - 1, 1.0F);
  float out = 0.0F;
  CHECK_THROWS_AS(m.margins(row, std::span<float>(&out, 1)), funnel::dimension_mismatch);
  std::vector<float> out2(2);
  CHECK_THROWS_AS(m.score_batch(funnel::matrix_view(row.data(), 1, row.size()),
                                std::span<float>(out2.data(), 1)),
                  funnel::dimension_mismatch);
}

TEST_CASE("xgboost: corrupted copies of real models never crash the loaders (fuzz)") {
  // Deterministic mutations of real JSON and UBJ files: every outcome is either a valid model or
  // a funnel::error; ASan/UBSan catch anything else.
  funnel::rng gen(20261123);
  auto pick = [&gen](std::size_t n) { return static_cast<std::size_t>(gen.below(n)); };
  for (const char* name :
       {"credit_logistic.json", "lending_categorical.ubj", "agaricus_logistic.ubj"}) {
    const auto original = funnel::read_file(xgb(name));
    int loaded = 0;
    int rejected = 0;
    for (int it = 0; it < 60; ++it) {
      auto bytes = original;
      const auto kind = pick(3);
      if (kind == 0) {
        bytes.resize(pick(bytes.size()));
      } else {
        const auto flips = 1 + pick(8);
        for (std::size_t k = 0; k < flips; ++k) {
          const auto pos = pick(bytes.size());
          bytes[pos] = kind == 1 ? static_cast<char>(pick(256)) : "0123456789-[]{},.eE\""[pick(20)];
        }
      }
      const auto dir = funnel::test::scratch_dir("trees_fuzz");
      funnel::write_file_atomic(dir / name, bytes);
      try {
        const auto m = load_xgboost(dir / name);
        std::vector<float> row(m.num_features(), 0.5F);
        std::vector<float> out(m.num_groups());
        m.margins(row, out);
        ++loaded;
      } catch (const funnel::error&) {
        ++rejected;
      }
    }
    CHECK(loaded + rejected == 60);
    CHECK(rejected > 0);
  }
}

TEST_CASE("tree: expand grows a tree a trainer can hand to tree_ensemble") {
  tree t = tree::leaf_only(0.0, 10.0);
  const auto [l, r] = t.expand(0, 1, 2.5, true, -1.0, 1.0, 4.0, 6.0, 4.0);
  t.expand_categorical(r, 0, {3, 1, 3}, false, 0.25, 0.75, 1.0, 2.0, 2.0);
  CHECK_THROWS_AS(t.expand(0, 0, 0.0, true, 0, 0, 0, 0, 0), funnel::invalid_argument);
  ensemble_header p;
  p.num_features = 2;
  p.base_margin = {0.5};
  const tree_ensemble m(p, {t});
  const float a[] = {0.0F, 1.0F};
  CHECK(m.score(a) == 0.5F + -1.0F);
  const float b[] = {1.0F, 3.0F};
  CHECK(m.score(b) == 0.5F + 0.75F);  // category 1 is in the set: right
  const float c[] = {2.0F, 3.0F};
  CHECK(m.score(c) == 0.5F + 0.25F);
  const float d[] = {-1.0F, 3.0F};
  CHECK(m.score(d) == 0.5F + 0.25F);  // invalid category: left
  const float e[] = {1.0F, NAN};
  CHECK(m.score(e) == 0.5F + -1.0F);  // default_left
  CHECK(m.trees()[0].depth() == 2);
  CHECK(tree_ensemble::from_json(m.to_json()) == m);
}

TEST_CASE("xgboost: feature names and types are imported, kept by funnel JSON and exported") {
  auto doc = funnel::parse_json(doc_v2("5E-1", "binary:logistic"), "doc");
  doc["learner"]["feature_names"] = {"amount", "age"};
  doc["learner"]["feature_types"] = {"float", "int"};
  const auto m = from_xgboost_json(doc);
  CHECK(m.feature_names() == std::vector<std::string>{"amount", "age"});
  CHECK(m.feature_types() == std::vector<std::string>{"float", "int"});
  const auto back = tree_ensemble::from_json(m.to_json());
  CHECK(back.feature_names() == m.feature_names());
  const auto exported = to_xgboost_json(m);
  CHECK(exported["learner"]["feature_names"] == doc["learner"]["feature_names"]);
  CHECK(exported["learner"]["feature_types"] == doc["learner"]["feature_types"]);
  CHECK(from_xgboost_json(exported).feature_names() == m.feature_names());
  // The fixtures carry types (categorical model) and no names.
  const auto cat = load_xgboost(xgb("lending_categorical.ubj"));
  CHECK(cat.feature_names().empty());
  REQUIRE(cat.feature_types().size() == cat.num_features());
  CHECK(cat.feature_types()[1] == "c");
}

TEST_CASE("xgboost: feature names that do not match num_feature are a parse_error") {
  auto doc = funnel::parse_json(doc_v2("5E-1", "binary:logistic"), "doc");
  doc["learner"]["feature_names"] = {"amount"};
  CHECK_THROWS_AS(from_xgboost_json(doc), funnel::parse_error);
  doc["learner"]["feature_names"] = {"a", "a"};
  CHECK_THROWS_AS(from_xgboost_json(doc), funnel::parse_error);
  doc["learner"]["feature_names"] = {"a", 7};
  CHECK_THROWS_AS(from_xgboost_json(doc), funnel::parse_error);
}

TEST_CASE("xgboost: a version outside the tested range loads with a warning and is reported") {
  std::vector<std::string> warnings;
  const xgboost_load_options options{[&](std::string_view w) { warnings.emplace_back(w); }};
  auto doc = funnel::parse_json(doc_v2("5E-1", "binary:logistic"), "doc");
  const auto tested = from_xgboost_json(doc, "doc", options);
  CHECK(warnings.empty());
  CHECK(tested.header().source_version == "xgboost 2.1.0");
  CHECK(load_xgboost(xgb("credit_logistic.json")).header().source_version == "xgboost 1.7.4");

  doc["version"] = {9, 0, 0};
  const auto newer = from_xgboost_json(doc, "doc", options);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], ContainsSubstring("9.0.0") && ContainsSubstring("tested"));
  CHECK(newer.header().source_version == "xgboost 9.0.0");
  const float row[] = {0.75F, 0.0F};
  CHECK(newer.score(row) == tested.score(row));
  CHECK(from_xgboost_json(doc).num_trees() == 1);  // no callback: loads silently as before

  // A newer version still has to validate.
  auto broken = doc;
  broken["learner"]["gradient_booster"]["model"]["tree_info"] = {5};
  CHECK_THROWS_AS(from_xgboost_json(broken, "doc", options), funnel::parse_error);

  auto unversioned = funnel::parse_json(doc_v2("5E-1", "binary:logistic"), "doc");
  unversioned.erase("version");
  warnings.clear();
  (void)from_xgboost_json(unversioned, "doc", options);
  CHECK(warnings.size() == 1);
  for (const auto& bad : {funnel::json("2.1.0"), funnel::json({2, 1}), funnel::json({-1, 0, 0}),
                          funnel::json({1.5, 0, 0})}) {
    auto d = funnel::parse_json(doc_v2("5E-1", "binary:logistic"), "doc");
    d["version"] = bad;
    CHECK_THROWS_AS(from_xgboost_json(d), funnel::parse_error);
  }
}

TEST_CASE("xgboost: num_class larger than the trees and base scores can back is a parse_error") {
  // 100,000 outputs from one tree used to load (and size per-output buffers from that number).
  CHECK_THROWS_WITH(parse_xgboost_json(doc_v2("5E-1", "multi:softprob",
                                              R"("iteration_indptr": [0, 1],)", "100000")),
                    ContainsSubstring("num_groups"));
}

TEST_CASE("xgboost: hostile category segments are parse_errors, not overflows or copies") {
  auto doc = funnel::parse_json(doc_v2("5E-1", "binary:logistic"), "doc");
  auto& t = doc["learner"]["gradient_booster"]["model"]["trees"][0];
  t["split_type"] = {1, 0, 0};
  t["categories"] = {1, 2, 3};
  t["categories_nodes"] = {0};
  t["categories_segments"] = {0};
  t["categories_sizes"] = {3};
  CHECK(from_xgboost_json(doc).trees()[0].nodes[0].categories.size() == 3);
  // segment + size overflowed int64 (UBSan) before the bound was checked.
  t["categories_segments"] = {std::numeric_limits<std::int64_t>::max()};
  CHECK_THROWS_AS(from_xgboost_json(doc), funnel::parse_error);
  t["categories_segments"] = {1};
  t["categories_sizes"] = {std::numeric_limits<std::int64_t>::max()};
  CHECK_THROWS_AS(from_xgboost_json(doc), funnel::parse_error);
  // One node listed many times would copy the category list once per listing.
  t["categories_segments"] = {0, 0};
  t["categories_sizes"] = {3, 3};
  t["categories_nodes"] = {0, 0};
  CHECK_THROWS_AS(from_xgboost_json(doc), funnel::parse_error);
}

TEST_CASE("xgboost: deep, non-UTF-8 and huge values are parse_errors with short messages") {
  // A 10^6-deep UBJ document overflowed the stack inside the UBJSON parser.
  std::vector<std::uint8_t> deep(1000000, '[');
  CHECK_THROWS_AS(parse_xgboost_ubj(deep), funnel::parse_error);
  CHECK_THROWS_AS(parse_xgboost_json(std::string(1000000, '[')), funnel::parse_error);
  // A non-UTF-8 string whose dump() would throw nlohmann's type_error.316.
  auto doc = funnel::parse_json(doc_v2("5E-1", "binary:logistic"), "doc");
  doc["learner"]["gradient_booster"]["name"] = funnel::json::array({std::string("\xff\xfe")});
  const auto ubj = funnel::json::to_ubjson(doc);
  CHECK_THROWS_AS(parse_xgboost_ubj(ubj), funnel::error);
  auto named = funnel::parse_json(doc_v2("5E-1", "binary:logistic"), "doc");
  named["learner"]["feature_names"] = {"a", std::string("\xff")};
  CHECK_THROWS_AS(parse_xgboost_ubj(funnel::json::to_ubjson(named)), funnel::parse_error);
  // A huge value in a field is previewed.
  auto big = funnel::parse_json(doc_v2("5E-1", "binary:logistic"), "doc");
  big["learner"]["learner_model_param"]["num_feature"] =
      funnel::json::array({std::string(100000, 'x')});
  try {
    (void)from_xgboost_json(big);
    FAIL("accepted");
  } catch (const funnel::parse_error& e) {
    CHECK(std::string(e.what()).size() < 400);
  }
  auto inf = doc_v2("5E-1", "binary:logistic");
  inf.replace(inf.find("\"num_feature\": \"2\""), 18, "\"num_feature\": 1e999");
  CHECK_THROWS_AS(parse_xgboost_json(inf), funnel::parse_error);
}
