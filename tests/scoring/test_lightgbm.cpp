#include <funnel/core/file.hpp>
#include <funnel/core/random.hpp>
#include <funnel/scoring/lightgbm.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "test_trees_util.hpp"

using namespace funnel::scoring;
using funnel::test::data;
using funnel::test::read_rows;

namespace {

std::filesystem::path lgb(const std::string& name) {
  return data("trees/lightgbm/" + name);
}

// Test rows as LightGBM read them: TSV with the label first, or libsvm (absent = 0).
std::vector<std::vector<double>> lgb_rows(const std::string& model, std::size_t num_features) {
  std::vector<std::vector<double>> out;
  if (std::filesystem::exists(lgb(model + "/test.tsv"))) {
    for (auto r : read_rows<double>(lgb(model + "/test.tsv"), '\t')) {
      r.erase(r.begin());
      r.resize(num_features, 0.0);
      out.push_back(std::move(r));
    }
    return out;
  }
  std::istringstream in(funnel::read_file(lgb(model + "/test.svm")));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> r(num_features, 0.0);
    std::istringstream ls(line);
    std::string tok;
    ls >> tok;  // label
    while (ls >> tok) {
      const auto c = tok.find(':');
      const auto f = std::stoul(tok.substr(0, c));
      if (f < num_features) r[f] = std::stod(tok.substr(c + 1));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

TEST_CASE("lightgbm: margins equal LightGBM's raw scores within 1e-9 relative") {
  for (const char* name : {"binary", "binary_missing", "binary_zero_as_missing", "multiclass", "rf",
                           "linear_tree", "lambdarank"}) {
    INFO(name);
    const auto m = load_lightgbm(lgb(std::string(name) + "/model.txt"));
    const auto rows = lgb_rows(name, m.num_features());
    auto raw = read_rows<double>(lgb(std::string(name) + "/raw_scores.txt"), '\t');
    // LightGBM's raw-score path does not average random forests (see the fixture README).
    if (m.header().average_output) {
      for (auto& r : raw) {
        for (auto& v : r) v /= static_cast<double>(m.num_trees() / m.num_groups());
      }
    }
    const auto pred = read_rows<double>(lgb(std::string(name) + "/predictions.txt"), '\t');
    REQUIRE(rows.size() == raw.size());
    std::vector<double> out(m.num_groups());
    std::size_t bit_exact = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      m.margins(std::span<const double>(rows[i]), out);
      REQUIRE(raw[i].size() == m.num_groups());
      for (std::size_t g = 0; g < out.size(); ++g) {
        INFO("row " << i << " group " << g);
        REQUIRE_THAT(out[g], WithinRel(raw[i][g], 1e-9) || WithinAbs(raw[i][g], 1e-12));
        bit_exact += out[g] == raw[i][g] ? 1 : 0;
      }
      m.transform(std::span<double>(out));
      for (std::size_t g = 0; g < out.size(); ++g) {
        REQUIRE_THAT(out[g], WithinRel(pred[i][g], 1e-9) || WithinAbs(pred[i][g], 1e-12));
      }
    }
    CHECK(bit_exact == rows.size() * m.num_groups());
  }
}

TEST_CASE("lightgbm: the float fast path equals the reference walk on float rows") {
  for (const char* name :
       {"binary", "binary_missing", "binary_zero_as_missing", "multiclass", "rf", "lambdarank"}) {
    INFO(name);
    const auto m = load_lightgbm(lgb(std::string(name) + "/model.txt"));
    const auto rows = lgb_rows(name, m.num_features());
    std::vector<float> flat;
    for (const auto& r : rows) {
      for (const auto v : r) flat.push_back(static_cast<float>(v));
    }
    const auto g = m.num_groups();
    std::vector<float> batch(rows.size() * g);
    m.margins_batch(funnel::matrix_view(flat.data(), rows.size(), m.num_features()), batch);
    std::vector<float> a(g);
    std::vector<float> b(g);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const funnel::row_view row(flat.data() + i * m.num_features(), m.num_features());
      m.margins(row, a);
      m.margins_reference(row, b);
      for (std::size_t k = 0; k < g; ++k) {
        REQUIRE(a[k] == b[k]);
        REQUIRE(batch[i * g + k] == b[k]);
      }
    }
  }
}

TEST_CASE("lightgbm: predicted leaf indices equal LightGBM's") {
  const auto m = load_lightgbm(lgb("binary/model.txt"));
  const auto rows = lgb_rows("binary", m.num_features());
  const auto leaves = read_rows<double>(lgb("binary/leaf_index.txt"), '\t');
  std::vector<std::int32_t> out(m.num_trees());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::vector<float> r(rows[i].begin(), rows[i].end());
    m.predict_leaf(r, out);
    for (std::size_t t = 0; t < out.size(); ++t)
      REQUIRE(out[t] == static_cast<std::int32_t>(leaves[i][t]));
  }
}

TEST_CASE("lightgbm: decision_type bits, categorical bitsets and negative leaf encoding") {
  // Hand-written two-node model: node 0 categorical on feature 1 (bitset {1, 3, 33} goes left in
  // LightGBM), node 1 numeric on feature 0 with missing type Zero and default_left.
  const std::string text = R"(tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=regression
feature_names=a b

Tree=0
num_leaves=3
num_cat=1
split_feature=1 0
split_gain=1 1
threshold=0 0.5
decision_type=1 6
left_child=1 -1
right_child=-2 -3
leaf_value=10 20 30
leaf_weight=1 1 1
leaf_count=1 1 1
internal_value=0 0
internal_weight=1 1
internal_count=3 2
cat_boundaries=0 2
cat_threshold=10 2
is_linear=0
shrinkage=1


end of trees
)";
  const auto m = parse_lightgbm(text);
  auto margin = [&](double a, double b) {
    const double row[] = {a, b};
    double out = 0;
    m.margins(std::span<const double>(row, 2), std::span<double>(&out, 1));
    return out;
  };
  CHECK(margin(0.25, 1) == 10);   // category 1 in bitset -> left -> node 1 -> 0.25 <= 0.5 -> leaf 0
  CHECK(margin(0.75, 3) == 30);   // category 3 -> left; 0.75 > 0.5 -> leaf 2
  CHECK(margin(0.75, 33) == 30);  // second bitset word
  CHECK(margin(0.75, 2) == 20);   // not in set -> right -> leaf 1
  CHECK(margin(0.75, -1) == 20);  // negative category -> right
  CHECK(margin(0.75, 1.9) == 30);  // truncated to 1
  CHECK(margin(0.0, 1) == 10);     // zero is missing -> default_left
  CHECK(margin(NAN, 1) == 10);     // NaN -> zero -> missing -> default_left
  CHECK(margin(0.75, NAN) == 20);  // NaN category (missing type None) -> category 0 -> not in set
  const float frow[] = {0.75F, 3.0F};
  CHECK(m.score(frow) == 30.0F);
  const float frow2[] = {0.0F, 1.0F};
  CHECK(m.score(frow2) == 10.0F);
}

TEST_CASE("lightgbm: bad model files raise typed errors naming the tree") {
  const auto text = funnel::read_file(lgb("binary/model.txt"));
  CHECK_THROWS_WITH(parse_lightgbm(text.substr(0, text.size() / 2), "half"),
                    ContainsSubstring("truncated"));
  auto replace = [&](const std::string& from, const std::string& to) {
    auto s = text;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return s;
  };
  CHECK_THROWS_AS(
      parse_lightgbm(replace("objective=binary sigmoid:1", "objective=cross_entropy_lambda")),
      funnel::unsupported);
  CHECK_THROWS_WITH(parse_lightgbm(replace("split_feature=", "split_feature=99 ")),
                    ContainsSubstring("Tree=0"));
  CHECK_THROWS_WITH(parse_lightgbm(replace("left_child=", "left_child=77 ")),
                    ContainsSubstring("Tree=0"));
}

TEST_CASE("lightgbm: corrupted copies of real models never crash the loader (fuzz)") {
  funnel::rng gen(7);
  auto pick = [&gen](std::size_t n) { return static_cast<std::size_t>(gen.below(n)); };
  const auto original = funnel::read_file(lgb("multiclass/model.txt"));
  int loaded = 0;
  int rejected = 0;
  for (int it = 0; it < 60; ++it) {
    auto bytes = original;
    const auto kind = pick(3);
    if (kind == 0) {
      bytes.resize(pick(bytes.size()));
    } else {
      for (std::size_t k = 0, n = 1 + pick(6); k < n; ++k) {
        bytes[pick(bytes.size())] =
            kind == 1 ? static_cast<char>(pick(256)) : "0123456789- =.e\n"[pick(16)];
      }
    }
    try {
      const auto m = parse_lightgbm(bytes, "fuzz");
      std::vector<double> row(m.num_features(), 0.5);
      std::vector<double> out(m.num_groups());
      m.margins(std::span<const double>(row), out);
      ++loaded;
    } catch (const funnel::error&) {
      ++rejected;
    }
  }
  CHECK(loaded + rejected == 60);
  CHECK(rejected > 0);
}

TEST_CASE("lightgbm: feature names and the format version are imported") {
  const auto m = load_lightgbm(data("trees/lightgbm/binary/model.txt"));
  REQUIRE(m.feature_names().size() == m.num_features());
  CHECK(m.feature_names()[0] == "Column_0");
  CHECK(m.feature_names()[27] == "Column_27");
  CHECK(m.header().source_version == "lightgbm v4");
  CHECK(m.scale() == funnel::score_scale::log_odds);
  const auto back = tree_ensemble::from_json(m.to_json());
  CHECK(back.feature_names() == m.feature_names());
}
