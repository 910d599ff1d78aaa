// The serving contract of tree_ensemble (checked by default, unchecked by name, feature names,
// scale) and its defences against hostile model files.
#include <funnel/core/json.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

using namespace funnel::scoring;

namespace {

tree stump(std::int32_t feature, double threshold, double left, double right,
           std::int32_t group = 0) {
  auto t = tree::leaf_only(0.0, 10.0, group);
  t.expand(0, feature, threshold, true, left, right, 1.0, 4.0, 6.0);
  return t;
}

// 18 features, binary logistic, 3 stumps.
tree_ensemble fraud_like() {
  ensemble_header p;
  p.num_features = 18;
  p.transform = output_transform::sigmoid;
  return tree_ensemble(
      p, {stump(0, 0.5, -1.0, 1.0), stump(17, 2.0, 0.25, -0.5), stump(9, -1.0, 0.125, 0.75)});
}

// `groups` outputs, one stump per group whose leaves differ by group, summed as `sum`.
tree_ensemble many_groups(std::size_t groups, output_transform tr, accumulation sum) {
  ensemble_header p;
  p.num_features = 3;
  p.num_groups = groups;
  p.transform = tr;
  p.sum = sum;
  p.rule = sum == accumulation::float64 ? split_rule::less_equal : split_rule::less;
  std::vector<tree> trees;
  for (std::size_t g = 0; g < groups; ++g) {
    const auto v = static_cast<double>(g % 7) * 0.1 - 0.3;
    trees.push_back(stump(static_cast<std::int32_t>(g % 3), 0.5, v,
                          -v + 0.01 * static_cast<double>(g), static_cast<std::int32_t>(g)));
  }
  // A second round for some groups, so per-group sums have more than one term.
  for (std::size_t g = 0; g < groups; g += 5) {
    trees.push_back(stump(1, 0.0, 0.05, -0.07, static_cast<std::int32_t>(g)));
  }
  return tree_ensemble(p, std::move(trees));
}

}  // namespace

TEST_CASE("trees: a row narrower or wider than the model is a dimension_mismatch naming both") {
  const auto m = fraud_like();
  const std::vector<float> five(5, 1.0F);
  const std::vector<float> nineteen(19, 1.0F);
  float one = 0.0F;
  std::int32_t leaves[3] = {};
  for (const auto* row : {&five, &nineteen}) {
    const funnel::row_view r(*row);
    CHECK_THROWS_AS((void)m.score(r), funnel::dimension_mismatch);
    CHECK_THROWS_AS((void)m.predict(r), funnel::dimension_mismatch);
    CHECK_THROWS_AS(m.margins(r, std::span<float>(&one, 1)), funnel::dimension_mismatch);
    CHECK_THROWS_AS(m.predict(r, std::span<float>(&one, 1)), funnel::dimension_mismatch);
    CHECK_THROWS_AS(m.predict_leaf(r, leaves), funnel::dimension_mismatch);
    CHECK_THROWS_AS(m.margins_reference(r, std::span<float>(&one, 1)), funnel::dimension_mismatch);
  }
  CHECK_THROWS_WITH((void)m.predict(five), ContainsSubstring("5") && ContainsSubstring("18"));
  const std::vector<double> five_d(5, 1.0);
  double one_d = 0.0;
  CHECK_THROWS_AS(m.margins(five_d, std::span<double>(&one_d, 1)), funnel::dimension_mismatch);
}

TEST_CASE("trees: the checked and unchecked one-row paths agree on a row of the right width") {
  const auto m = fraud_like();
  std::vector<float> row(18, 0.0F);
  row[0] = 1.0F;
  row[17] = 3.0F;
  row[9] = std::numeric_limits<float>::quiet_NaN();
  CHECK(m.score(row) == m.score_unchecked(row));
  CHECK(m.score(row) == static_cast<float>(1.0 - 0.5 + 0.125));
  CHECK(m.predict(row) == m.predict_unchecked(row));
  float a = 0.0F;
  float b = 0.0F;
  m.margins(row, std::span<float>(&a, 1));
  m.margins_unchecked(row, std::span<float>(&b, 1));
  CHECK(a == b);
  CHECK_THROWS_AS(m.margins(row, std::span<float>()), funnel::dimension_mismatch);
}

TEST_CASE("trees: batches must have exactly num_features columns") {
  const auto m = fraud_like();
  std::vector<float> wide(2 * 25, 0.0F);
  const funnel::matrix_view rows(wide.data(), 2, 25);
  std::vector<float> out(2);
  std::vector<std::int32_t> leaves(2 * 3);
  CHECK_THROWS_WITH(m.score_batch(rows, out), ContainsSubstring("25") && ContainsSubstring("18"));
  CHECK_THROWS_AS(m.predict_batch(rows, out), funnel::dimension_mismatch);
  CHECK_THROWS_AS(m.margins_batch(rows, out), funnel::dimension_mismatch);
  CHECK_THROWS_AS(m.predict_leaf_batch(rows, leaves), funnel::dimension_mismatch);
  std::vector<float> exact(2 * 18, 0.0F);
  m.score_batch(funnel::matrix_view(exact.data(), 2, 18), out);
  CHECK(out[0] == m.score(std::span<const float>(exact.data(), 18)));
}

TEST_CASE("trees: sparse batches are checked before they are indexed") {
  const auto m = fraud_like();  // 18 features
  const float nan = std::numeric_limits<float>::quiet_NaN();
  funnel::csr_matrix x;
  x.cols = 18;
  x.indices = {0, 17, 3};
  x.values = {1.0F, 2.0F, 3.0F};
  x.row_ptr = {0, 2, 3};
  std::vector<float> out(2);
  m.margins_batch(x, out, nan);
  std::vector<float> dense_out(2);
  const auto dense = x.to_dense(nan);
  m.margins_batch(dense, dense_out);
  CHECK(out == dense_out);
  std::vector<float> p(2);
  m.predict_batch(x, p, nan);
  CHECK(p[0] == m.predict(dense.row(0)));
  auto bad = x;
  bad.cols = 19;  // wider than the model
  CHECK_THROWS_WITH(m.margins_batch(bad, out, nan),
                    ContainsSubstring("19") && ContainsSubstring("18"));
  bad = x;
  bad.row_ptr = {0, 100, 3};  // a row running past the values
  CHECK_THROWS_WITH(m.margins_batch(bad, out, nan),
                    ContainsSubstring("row_ptr at row 0 goes from 0 to 100"));
  bad = x;
  bad.row_ptr = {0, 2, 4};
  CHECK_THROWS_WITH(m.margins_batch(bad, out, nan), ContainsSubstring("sizes disagree"));
  bad = x;
  bad.indices[1] = 18;
  CHECK_THROWS_WITH(m.predict_batch(bad, out, nan), ContainsSubstring("column 18"));
  bad = x;
  bad.row_ptr = {1, 2, 3};
  CHECK_THROWS_AS(m.margins_batch(bad, out, nan), funnel::dimension_mismatch);
  std::vector<float> short_out(1);
  CHECK_THROWS_WITH(m.margins_batch(x, short_out, nan), ContainsSubstring("output has 1 slots"));
}

TEST_CASE("trees: scale() names what score() returns for each output transform") {
  const std::pair<output_transform, funnel::score_scale> cases[] = {
      {output_transform::identity, funnel::score_scale::raw},
      {output_transform::sigmoid, funnel::score_scale::log_odds},
      {output_transform::exp, funnel::score_scale::log},
      {output_transform::softmax, funnel::score_scale::multiclass_logits},
      {output_transform::argmax, funnel::score_scale::multiclass_logits},
  };
  for (const auto& [tr, scale] : cases) {
    ensemble_header p;
    p.num_features = 1;
    p.num_groups = tr == output_transform::softmax || tr == output_transform::argmax ? 2 : 1;
    p.base_margin.assign(p.num_groups, 0.0);
    p.transform = tr;
    CHECK(tree_ensemble(p, {}).scale() == scale);
  }
}

TEST_CASE("trees: a model with more than 64 outputs predicts one row like the batch path") {
  // A 64-float stack buffer used to hold every output of predict(row): 65 overflowed it.
  const std::vector<float> rows = {0.25F, 1.0F, -2.0F, 0.75F, -1.0F, 0.5F};
  for (const auto sum : {accumulation::float32, accumulation::float64}) {
    for (const auto tr : {output_transform::softmax, output_transform::argmax,
                          output_transform::sigmoid, output_transform::identity}) {
      for (const std::size_t groups : {3U, 64U, 65U, 130U}) {
        INFO("groups " << groups << " transform " << static_cast<int>(tr) << " sum "
                       << static_cast<int>(sum));
        const auto m = many_groups(groups, tr, sum);
        std::vector<float> batch(2 * groups);
        m.predict_batch(funnel::matrix_view(rows.data(), 2, 3), batch);
        std::vector<float> margins(2 * groups);
        m.margins_batch(funnel::matrix_view(rows.data(), 2, 3), margins);
        for (std::size_t r = 0; r < 2; ++r) {
          const std::span<const float> row(rows.data() + 3 * r, 3);
          CHECK(m.predict(row) == batch[r * groups]);
          CHECK(m.score(row) == margins[r * groups]);
          std::vector<float> all(groups);
          m.predict(row, all);
          CHECK(all ==
                std::vector<float>(batch.begin() + static_cast<std::ptrdiff_t>(r * groups),
                                   batch.begin() + static_cast<std::ptrdiff_t>((r + 1) * groups)));
          m.margins(row, all);
          std::vector<float> ref(groups);
          m.margins_reference(row, ref);
          CHECK(all == ref);
        }
      }
    }
  }
}

TEST_CASE("trees: num_groups beyond what the model holds is a parse_error, not an allocation") {
  auto j = fraud_like().to_json();
  for (const auto& bad : {funnel::json(-1), funnel::json(std::uint64_t{1} << 31),
                          funnel::json(std::uint64_t{1} << 62), funnel::json(4)}) {
    j["num_groups"] = bad;
    CHECK_THROWS_AS(tree_ensemble::from_json(j), funnel::parse_error);
  }
  ensemble_header p;
  p.num_features = 2;
  p.num_groups = 100000;
  CHECK_THROWS_WITH(tree_ensemble(p, {stump(0, 0.5, 1, 2)}), ContainsSubstring("num_groups"));
  // Backed by the model's content: one base margin per group is enough (a tree-less model).
  p.base_margin.assign(3, 0.5);
  p.num_groups = 3;
  CHECK(tree_ensemble(p, {}).num_groups() == 3);
}

TEST_CASE("trees: a leaf_index_offset outside its tree is a parse_error") {
  auto j = fraud_like().to_json();
  for (const auto bad : {std::numeric_limits<std::int32_t>::min(), -1, 4,
                         std::numeric_limits<std::int32_t>::max()}) {
    j["trees"][0]["leaf_index_offset"] = bad;
    CHECK_THROWS_AS(tree_ensemble::from_json(j), funnel::parse_error);
  }
}

TEST_CASE("trees: sparse categorical splits on large ids cost memory in proportion to the file") {
  // 1,500 nodes each listing category 2^24 - 1 used to take a 2 MiB bitset each (3 GiB).
  ensemble_header p;
  p.num_features = 2;
  std::vector<tree> trees;
  for (int k = 0; k < 1500; ++k) {
    auto t = tree::leaf_only(0.0, 10.0);
    t.expand_categorical(0, k % 2, {16777215U, static_cast<std::uint32_t>(k)}, false, -1.0, 1.0,
                         1.0, 5.0, 5.0);
    trees.push_back(std::move(t));
  }
  trees.push_back(stump(0, 0.5, 0.0, 0.0));
  // A dense split keeps the bitset.
  auto dense = tree::leaf_only(0.0, 10.0);
  dense.expand_categorical(0, 1, {1, 3, 5, 60}, false, -0.5, 0.5, 1.0, 5.0, 5.0);
  trees.push_back(std::move(dense));
  const tree_ensemble m(p, std::move(trees));
  CHECK(m.memory_bytes() < 2 * 1024 * 1024);
  const float rows[] = {16777215.0F, 16777215.0F, 16777214.0F, 60.0F, 7.0F, 3.0F, 0.0F, 2.0F};
  std::vector<float> batch(4);
  m.score_batch(funnel::matrix_view(rows, 4, 2), batch);
  for (std::size_t r = 0; r < 4; ++r) {
    const std::span<const float> row(rows + 2 * r, 2);
    float ref = 0.0F;
    m.margins_reference(row, std::span<float>(&ref, 1));
    CHECK(m.score(row) == ref);
    CHECK(batch[r] == ref);
  }
  // Every listed node goes right (+1 x 1,500); the dense split sends 2^24 - 1 left (-0.5).
  CHECK(m.score(std::span<const float>(rows, 2)) == 1500.0F - 0.5F);
}

TEST_CASE("trees: feature names and types survive funnel JSON; version 1 files still load") {
  ensemble_header p;
  p.num_features = 2;
  p.feature_names = {"amount", "country"};
  p.feature_types = {"q", "c"};
  p.source_version = "xgboost 2.1.0";
  const tree_ensemble m(p, {stump(0, 0.5, 1, 2)});
  const auto j = m.to_json();
  CHECK(j["version"] == 2);
  const auto back = tree_ensemble::from_json(funnel::parse_json(j.dump(), "mem"));
  CHECK(back == m);
  CHECK(back.feature_names() == std::vector<std::string>{"amount", "country"});
  CHECK(back.feature_types() == std::vector<std::string>{"q", "c"});
  CHECK(back.header().source_version == "xgboost 2.1.0");
  auto v1 = j;
  v1["version"] = 1;
  v1.erase("feature_names");
  v1.erase("feature_types");
  v1.erase("source_version");
  const auto old = tree_ensemble::from_json(v1);
  CHECK(old.feature_names().empty());
  CHECK(old.score(std::vector<float>{0.0F, 0.0F}) == m.score(std::vector<float>{0.0F, 0.0F}));
}

TEST_CASE("trees: feature names must be one unique non-empty name per feature") {
  ensemble_header p;
  p.num_features = 2;
  for (const auto& names :
       {std::vector<std::string>{"a"}, std::vector<std::string>{"a", "a"},
        std::vector<std::string>{"a", ""}, std::vector<std::string>{"a", "b", "c"}}) {
    p.feature_names = names;
    CHECK_THROWS_AS(tree_ensemble(p, {}), funnel::parse_error);
  }
  p.feature_names = {};
  p.feature_types = {"q"};
  CHECK_THROWS_AS(tree_ensemble(p, {}), funnel::parse_error);
}

TEST_CASE("trees: untrusted values in error messages are previewed, not dumped") {
  auto j = fraud_like().to_json();
  j["trees"][0]["threshold"][0] = std::string(100000, 'x');
  try {
    (void)tree_ensemble::from_json(j);
    FAIL("accepted");
  } catch (const funnel::parse_error& e) {
    CHECK(std::string(e.what()).size() < 400);
  }
  j = fraud_like().to_json();
  j["trees"][0]["categories"][std::string(100000, '7') + "x"] = std::vector<int>{1};
  try {
    (void)tree_ensemble::from_json(j);
    FAIL("accepted");
  } catch (const funnel::parse_error& e) {
    CHECK(std::string(e.what()).size() < 400);
  }
}

TEST_CASE("trees: a model whose strings are not UTF-8 is rejected at load, so it always saves") {
  ensemble_header p;
  p.num_features = 2;
  p.feature_names = {"ok", std::string("\xff\xfe")};
  CHECK_THROWS_AS(tree_ensemble(p, {}), funnel::parse_error);
  p.feature_names = {"ok", "caf\xc3\xa9"};  // valid two-byte UTF-8
  const tree_ensemble m(p, {});
  CHECK(tree_ensemble::from_json(funnel::parse_json(m.to_json().dump(), "mem")) == m);
  p.feature_names.clear();
  p.objective = std::string("\xc0\xaf");  // overlong encoding
  CHECK_THROWS_AS(tree_ensemble(p, {}), funnel::parse_error);
}
