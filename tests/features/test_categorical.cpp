// Categorical encoders against scikit-learn 1.2 and independent numpy computations.
#include "features_fixture.hpp"

namespace ff = funnel::features;
using ftest::close;
using ftest::data;
using ftest::ref;
using ftest::sk;

namespace {
template <class C>
ff::pipeline<C> fitted(C c, std::span<const float> target = {}) {
  ff::pipeline<C> p(data().schema, std::move(c));
  p.fit(data().head(300), target);
  return p;
}
}  // namespace

TEST_CASE("one_hot: min_frequency and policy other equal sklearn infrequent_if_exist") {
  const auto& fx = sk()["one_hot_other"];
  auto p = fitted(
      ff::one_hot("addr_state", {.handle_unknown = ff::unknown_policy::other, .min_frequency = 8}));
  const auto m = p.transform(data().all());
  const auto names = fx["names"].get<std::vector<std::string>>();
  REQUIRE(m.cols() == names.size());
  const auto ours = p.output_names();
  for (std::size_t k = 0; k + 1 < names.size(); ++k) {
    CHECK(ours[k] == "addr_state=" + names[k].substr(std::string("addr_state_").size()));
  }
  CHECK(names.back() == "addr_state_infrequent_sklearn");
  CHECK(ours.back() == "addr_state=<other>");
  for (std::size_t i = 0; i < m.size(); ++i) CHECK(m.data()[i] == ref(fx["output"], i));
}

TEST_CASE("one_hot: policy ignore equals sklearn handle_unknown='ignore' (unseen -> zeros)") {
  const auto& fx = sk()["one_hot_ignore"];
  auto p = fitted(ff::one_hot("sub_grade", {.handle_unknown = ff::unknown_policy::ignore}));
  const auto m = p.transform(data().all());
  REQUIRE(m.cols() == fx["names"].size());
  for (std::size_t i = 0; i < m.size(); ++i) CHECK(m.data()[i] == ref(fx["output"], i));
}

TEST_CASE("one_hot: unknown category with policy error names the column, row and value") {
  ff::schema s({{"c", ff::column_type::string}});
  std::vector<std::string_view> v = {"a", "b", "a"};
  ff::batch b(s);
  b.set(0, std::span<const std::string_view>(v));
  ff::pipeline p(s, ff::one_hot("c"));
  p.fit(b);
  ff::row r(p.get_schema());
  r.set(0, std::string_view("zzz"));
  std::vector<float> out(p.width());
  CHECK_THROWS_AS(p.transform(r, out, 17), funnel::not_found);
  CHECK_THROWS_WITH(p.transform(r, out, 17),
                    ContainsSubstring("column 'c', row 17") && ContainsSubstring("'zzz'"));
  r.set_missing(0);
  CHECK_THROWS_WITH(p.transform(r, out, 3), ContainsSubstring("missing value was never seen"));
}

TEST_CASE("one_hot: missing is its own category when seen in fit") {
  ff::schema s({{"c", ff::column_type::integer}});
  std::vector<std::int64_t> v = {5, ff::missing_integer, 7, 5};
  ff::batch b(s);
  b.set(0, std::span<const std::int64_t>(v));
  ff::pipeline p(s, ff::one_hot("c"));
  p.fit(b);
  CHECK(p.output_names() == std::vector<std::string>{"c=5", "c=7", "c=<missing>"});
  const auto m = p.transform(b);
  CHECK(m(1, 2) == 1.0F);
  CHECK(m(1, 0) + m(1, 1) == 0.0F);
}

TEST_CASE("one_hot: fitting again depends on the new data only (rare missing does not stick)") {
  ff::schema s({{"c", ff::column_type::integer}});
  // First fit: missing appears once, below min_frequency 2, so it is an infrequent category.
  std::vector<std::int64_t> first = {5, ff::missing_integer, 7, 5, 7};
  // Second fit: no missing value at all.
  std::vector<std::int64_t> second = {5, 7, 5, 7, 5};
  ff::batch b1(s), b2(s);
  b1.set(0, std::span<const std::int64_t>(first));
  b2.set(0, std::span<const std::int64_t>(second));
  const ff::one_hot_options o{.handle_unknown = ff::unknown_policy::other, .min_frequency = 2};
  ff::pipeline refit(s, ff::one_hot("c", o));
  refit.fit(b1);
  refit.fit(b2);
  ff::pipeline fresh(s, ff::one_hot("c", o));
  fresh.fit(b2);
  CHECK(refit.to_json() == fresh.to_json());
  CHECK(refit.output_names() == fresh.output_names());
}

TEST_CASE("ordinal_encoder: equals sklearn OrdinalEncoder(use_encoded_value, -1)") {
  const auto& fx = sk()["ordinal"];
  auto p = fitted(ff::ordinal_encoder(
      "sub_grade", {.handle_unknown = ff::unknown_policy::ignore, .unknown_value = -1.0F}));
  const auto m = p.transform(data().all());
  for (std::size_t i = 0; i < m.size(); ++i) CHECK(m.data()[i] == ref(fx["output"], i));
}

TEST_CASE("murmurhash3_32: equals sklearn.utils.murmurhash3_32 on ASCII, UTF-8 and seeds") {
  for (const auto& e : sk()["murmurhash3_32"]) {
    const auto text = e["text"].get<std::string>();
    const auto seed = e["seed"].get<std::uint32_t>();
    INFO(text << " seed " << seed);
    CHECK(ff::murmurhash3_32(text, seed) == e["hash"].get<std::uint32_t>());
    // Streaming in pieces gives the same hash.
    ff::murmur3_32 m(seed);
    for (std::size_t i = 0; i < text.size(); i += 3) {
      m.update(std::string_view(text).substr(i, 3));
    }
    CHECK(m.finish() == e["hash"].get<std::uint32_t>());
  }
}

TEST_CASE("feature_hasher: equals sklearn FeatureHasher(input_type='dict'), missing skipped") {
  const auto& fx = sk()["feature_hasher"];
  auto p = fitted(
      ff::feature_hasher(fx["columns"].get<std::vector<std::string>>(), {.num_features = 32}));
  const auto m = p.transform(data().all());
  REQUIRE(m.size() == fx["output"].size());
  for (std::size_t i = 0; i < m.size(); ++i) CHECK(m.data()[i] == ref(fx["output"], i));
}

TEST_CASE("count_encoder: counts and frequencies equal numpy, unseen -> 0") {
  const auto& fx = sk()["count"];
  auto p = fitted(ff::count_encoder("addr_state"));
  auto m = p.transform(data().all());
  for (std::size_t i = 0; i < m.rows(); ++i) CHECK(m(i, 0) == ref(fx["output"], i));
  auto q = fitted(ff::count_encoder("addr_state", {.normalize = true}));
  m = q.transform(data().all());
  for (std::size_t i = 0; i < m.rows(); ++i) CHECK(close(m(i, 0), ref(fx["frequency"], i)));
}

TEST_CASE("target_encoder: smoothed means and out-of-fold encodings equal numpy") {
  const auto& fx = sk()["target"];
  const auto y = data().y();
  ff::pipeline p(data().schema,
                 ff::target_encoder("addr_state", {.smoothing = fx["smoothing"].get<double>()}));
  std::vector<std::uint32_t> folds(300);
  for (std::size_t i = 0; i < folds.size(); ++i) folds[i] = static_cast<std::uint32_t>(i % 5);
  const auto train = p.fit_transform(data().head(300), y.first(300), folds);
  for (std::size_t i = 0; i < 300; ++i) CHECK(close(train(i, 0), ref(fx["oof"], i)));
  CHECK(p.get<0>().prior() == Approx(fx["prior"].get<double>()).epsilon(1e-14));
  const auto m = p.transform(data().all());
  for (std::size_t i = 0; i < m.rows(); ++i) CHECK(close(m(i, 0), ref(fx["output"], i)));
  // Out of fold differs from in-sample on training rows (the row's own label is excluded).
  std::size_t differ = 0;
  for (std::size_t i = 0; i < 300; ++i) differ += train(i, 0) != m(i, 0) ? 1 : 0;
  CHECK(differ > 250);
}

TEST_CASE("target_encoder: fit without a target is an error naming the component") {
  ff::pipeline p(data().schema, ff::target_encoder("addr_state"));
  CHECK_THROWS_AS(p.fit(data().head(10)), funnel::invalid_argument);
  CHECK_THROWS_WITH(p.fit(data().head(10)), ContainsSubstring("target_encoder"));
  std::vector<float> y(10, 0.0F);
  y[4] = std::nanf("");
  CHECK_THROWS_WITH(p.fit(data().head(10), y), ContainsSubstring("target, row 4"));
  CHECK_THROWS_AS(p.fit(data().head(10), std::span<const float>(y).first(9)),
                  funnel::dimension_mismatch);
}

TEST_CASE("make_folds: balanced, seeded, reproducible") {
  const auto a = ff::make_folds(103, 5, 7);
  const auto b = ff::make_folds(103, 5, 7);
  const auto c = ff::make_folds(103, 5, 8);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<int> n(5, 0);
  for (auto f : a) ++n[f];
  for (int k : n) CHECK((k == 20 || k == 21));
  CHECK_THROWS_AS(ff::make_folds(3, 5, 1), funnel::invalid_argument);
}

TEST_CASE("hashed_cross: bucket is murmur3 of 'a=x^b=y' mod n; missing input -> zeros") {
  auto p = fitted(ff::hashed_cross({"term", "addr_state"}, {.num_buckets = 16, .seed = 3}));
  const auto& b = data().all();
  const auto m = p.transform(b);
  for (std::size_t i = 0; i < 20; ++i) {
    const std::string token =
        "term=" + std::string(b.string_column(data().schema.index("term"))[i]) +
        "^addr_state=" + std::string(b.string_column(data().schema.index("addr_state"))[i]);
    const auto bucket = ff::murmurhash3_32(token, 3) % 16;
    for (std::size_t k = 0; k < 16; ++k) CHECK(m(i, k) == (k == bucket ? 1.0F : 0.0F));
  }
  auto q = fitted(ff::hashed_cross({"term", "emp_length"}, {.num_buckets = 8}));
  const auto mm = q.transform(b);
  const auto emp = b.string_column(data().schema.index("emp_length"));
  for (std::size_t i = 0; i < b.rows(); ++i) {
    float sum = 0;
    for (std::size_t k = 0; k < 8; ++k) sum += mm(i, k);
    CHECK(sum == (ff::is_missing(emp[i]) ? 0.0F : 1.0F));
  }
}

TEST_CASE("interaction: product, sum, difference, ratio; x/0 and missing give NaN") {
  ff::schema s({{"a", ff::column_type::numeric}, {"b", ff::column_type::numeric}});
  std::vector<float> a = {2, 3, std::nanf(""), 5};
  std::vector<float> bv = {4, 0, 1, -2};
  ff::batch b(s);
  b.set(0, std::span<const float>(a));
  b.set(1, std::span<const float>(bv));
  ff::pipeline p(s, ff::interaction("a", "b"),
                 ff::interaction("a", "b", {.op = ff::interaction_op::sum}),
                 ff::interaction("a", "b", {.op = ff::interaction_op::difference}),
                 ff::interaction("a", "b", {.op = ff::interaction_op::ratio}));
  p.fit(b);
  CHECK(p.output_names() == std::vector<std::string>{"a*b", "a+b", "a-b", "a/b"});
  const auto m = p.transform(b);
  CHECK(m(0, 0) == 8.0F);
  CHECK(m(0, 1) == 6.0F);
  CHECK(m(0, 2) == -2.0F);
  CHECK(m(0, 3) == 0.5F);
  CHECK(std::isnan(m(1, 3)));
  for (std::size_t k = 0; k < 4; ++k) CHECK(std::isnan(m(2, k)));
  CHECK(m(3, 3) == -2.5F);
}

TEST_CASE("feature_hasher: integer categories hash their decimal text, 'column=123'") {
  ff::schema s({{"shop", ff::column_type::integer}});
  std::vector<std::int64_t> v = {123, -7, ff::missing_integer};
  ff::batch b(s);
  b.set(0, std::span<const std::int64_t>(v));
  ff::pipeline p(s, ff::feature_hasher({"shop"}, {.num_features = 1024, .seed = 9}));
  p.fit(b);
  const auto m = p.transform(b);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto h =
        static_cast<std::int32_t>(ff::murmurhash3_32(i == 0 ? "shop=123" : "shop=-7", 9));
    const auto index = static_cast<std::size_t>(std::abs(static_cast<std::int64_t>(h)) % 1024);
    CHECK(m(i, index) == (h >= 0 ? 1.0F : -1.0F));
  }
  float sum = 0;
  for (std::size_t k = 0; k < 1024; ++k) sum += std::fabs(m(2, k));
  CHECK(sum == 0.0F);
}

TEST_CASE("hashing steps and value encoders: JSON fields, and corrupt documents are parse_errors") {
  const auto hasher = fitted(ff::feature_hasher(
      {"term", "addr_state"}, {.num_features = 64, .seed = 7, .alternate_sign = false}));
  const auto cross =
      fitted(ff::hashed_cross({"term", "addr_state"}, {.num_buckets = 16, .seed = 3}));
  const auto hj = hasher.to_json()["components"][0];
  const auto cj = cross.to_json()["components"][0];
  auto keys = [](const funnel::json& j) {
    std::vector<std::string> k;
    for (const auto& [key, v] : j.items()) k.push_back(key);
    return k;
  };
  CHECK(keys(hj) == std::vector<std::string>{"alternate_sign", "columns", "fitted", "num_features",
                                             "seed", "type", "version"});
  CHECK(keys(cj) ==
        std::vector<std::string>{"columns", "fitted", "num_buckets", "seed", "type", "version"});
  CHECK(hj["num_features"] == 64);
  CHECK(hj["seed"] == 7);
  CHECK(hj["alternate_sign"] == false);
  CHECK(cj["num_buckets"] == 16);
  CHECK(cj["seed"] == 3);
  CHECK(ff::feature_hasher::from_json(hj).to_json() == hj);
  CHECK(ff::hashed_cross::from_json(cj).to_json() == cj);

  auto with = [](funnel::json j, const std::string& key, const funnel::json& v) {
    j[key] = v;
    return j;
  };
  CHECK_THROWS_WITH(ff::feature_hasher::from_json(with(hj, "seed", 1ULL << 32)),
                    ContainsSubstring("feature_hasher.seed: number 4294967296 is out of range"));
  CHECK_THROWS_AS(ff::feature_hasher::from_json(with(hj, "num_features", std::size_t{0})),
                  funnel::parse_error);
  CHECK_THROWS_WITH(
      ff::feature_hasher::from_json(with(hj, "num_features", std::size_t{0})),
      ContainsSubstring("feature_hasher.num_features: 0 is out of range [1, 16777216]"));
  CHECK_THROWS_WITH(
      ff::feature_hasher::from_json(with(hj, "alternate_sign", 1)),
      ContainsSubstring("feature_hasher.alternate_sign: wrong type (number 1), expected boolean"));
  CHECK_THROWS_WITH(ff::hashed_cross::from_json(with(cj, "seed", -1)),
                    ContainsSubstring("hashed_cross.seed: number -1 is out of range"));
  CHECK_THROWS_AS(ff::hashed_cross::from_json(with(cj, "columns", std::vector<std::string>{"t"})),
                  funnel::parse_error);
  CHECK_THROWS_WITH(
      ff::hashed_cross::from_json(with(cj, "columns", std::vector<std::string>{"t"})),
      ContainsSubstring("hashed_cross: ") && ContainsSubstring("at least 2 columns, got 1"));
  CHECK_THROWS_WITH(
      ff::hashed_cross::from_json(with(cj, "fitted", "yes")),
      ContainsSubstring("hashed_cross.fitted: wrong type (string \"yes\"), expected boolean"));

  const std::vector<float> y(300, 1.0F);
  const auto counts = fitted(ff::count_encoder("term")).to_json()["components"][0];
  const auto target = fitted(ff::target_encoder("term"), y).to_json()["components"][0];
  CHECK(ff::count_encoder::from_json(counts).to_json() == counts);
  CHECK(ff::target_encoder::from_json(target).to_json() == target);
  CHECK_THROWS_WITH(ff::count_encoder::from_json(with(counts, "values", std::vector<double>{1})),
                    ContainsSubstring("count_encoder.values: 1 values for "));
  CHECK_THROWS_WITH(ff::target_encoder::from_json(with(target, "values", std::vector<double>{})),
                    ContainsSubstring("target_encoder.values: 0 values for "));
}

TEST_CASE("hashing steps: 0.1 documents (\"n_features\", \"n_buckets\") load and are rewritten") {
  const auto hasher = fitted(ff::feature_hasher(
      {"term", "addr_state"}, {.num_features = 64, .seed = 7, .alternate_sign = false}));
  const auto cross =
      fitted(ff::hashed_cross({"term", "addr_state"}, {.num_buckets = 16, .seed = 3}));
  auto hj = hasher.to_json()["components"][0];
  auto cj = cross.to_json()["components"][0];
  const auto new_h = hj;
  const auto new_c = cj;
  hj["n_features"] = hj["num_features"];
  hj.erase("num_features");
  cj["n_buckets"] = cj["num_buckets"];
  cj.erase("num_buckets");
  const auto h = ff::feature_hasher::from_json(hj);
  const auto c = ff::hashed_cross::from_json(cj);
  CHECK(h.width() == 64);
  CHECK(c.width() == 16);
  CHECK(h.to_json() == new_h);  // the writer writes the new key
  CHECK(c.to_json() == new_c);
  hj["n_features"] = 0;
  CHECK_THROWS_WITH(
      ff::feature_hasher::from_json(hj),
      ContainsSubstring(std::string("feature_hasher.") + "n_features: 0 is out of range"));
  hj.erase("n_features");
  CHECK_THROWS_WITH(ff::feature_hasher::from_json(hj), ContainsSubstring("num_features"));
}

TEST_CASE(
    "encoder options: one aggregate per encoder, defaults, read back, errors name the field") {
  CHECK(ff::one_hot("c").options().handle_unknown == ff::unknown_policy::error);
  CHECK(ff::one_hot("c").options().min_frequency == 1);
  const ff::one_hot o("c", {.handle_unknown = ff::unknown_policy::other, .min_frequency = 5});
  CHECK(o.options().handle_unknown == ff::unknown_policy::other);
  CHECK(o.options().min_frequency == 5);
  CHECK(o.column() == "c");
  CHECK(ff::ordinal_encoder("c").options().unknown_value == -1.0F);
  CHECK_FALSE(ff::count_encoder("c").options().normalize);
  CHECK(ff::target_encoder("c").options().smoothing == 1.0);
  const std::vector<std::string> c{"c"};
  const std::vector<std::string> cd{"c", "d"};
  CHECK(ff::feature_hasher(c).options().num_features == 1024);
  CHECK(ff::feature_hasher(c).options().alternate_sign);
  CHECK(ff::hashed_cross(cd).options().num_buckets == 1024);
  const ff::feature_hasher h({"c"}, {.num_features = 8, .seed = 3, .alternate_sign = false});
  CHECK(h.options().num_features == 8);
  CHECK(h.options().seed == 3);
  CHECK_FALSE(h.options().alternate_sign);
  CHECK(ff::numeric_column("x", {}, {.output = "y"}).options().output == "y");
  CHECK(ff::numeric_column("x", {}).options().output == "x");
  CHECK(ff::interaction("a", "b", {.op = ff::interaction_op::sum}).options().op ==
        ff::interaction_op::sum);

  CHECK_THROWS_WITH(ff::ordinal_encoder("c", {.handle_unknown = ff::unknown_policy::other}),
                    ContainsSubstring("ordinal_encoder_options.handle_unknown"));
  CHECK_THROWS_WITH(ff::target_encoder("c", {.smoothing = -1.0}),
                    ContainsSubstring("target_encoder_options.smoothing -1"));
  CHECK_THROWS_WITH(ff::feature_hasher({"c"}, {.num_features = 0}),
                    ContainsSubstring("feature_hasher_options.num_features 0"));
  CHECK_THROWS_WITH(ff::feature_hasher(std::vector<std::string>{}),
                    ContainsSubstring("at least 1 column"));
  CHECK_THROWS_WITH(ff::hashed_cross({"c", "d"}, {.num_buckets = 0}),
                    ContainsSubstring("hashed_cross_options.num_buckets 0"));
  CHECK_THROWS_WITH(ff::hashed_cross(c), ContainsSubstring("at least 2 columns, got 1"));
}
