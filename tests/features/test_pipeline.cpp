// Pipelines: batch == single row bit for bit, JSON round trip, zero allocation on the serving
// path, and every bad-input case named by column and row.
#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

#include "features_fixture.hpp"

// Counting global operator new: defined in test_alloc_counter.cpp (its own translation unit,
// so that GCC does not inline the replacement into library code and misreport new/free pairs).
long funnel_test_allocations() noexcept;

namespace ff = funnel::features;
using ftest::data;
using ftest::same_bits;

namespace {

ff::imputer median_imputer() {
  ff::imputer i;
  i.strategy = ff::impute_strategy::median;
  return i;
}

// Every component kind, on the fixture columns.
auto make_static() {
  ff::quantile_bucketizer q;
  q.num_bins = 6;
  ff::log_transform sl;
  sl.signed_log = true;
  ff::winsorizer w;
  return ff::pipeline(
      data().schema,
      ff::numeric_column("annual_inc",
                         {median_imputer(), w, ff::log_transform{}, ff::standard_scaler{}},
                         {.missing_indicator = true}),
      ff::numeric_column("revol_util", {median_imputer(), ff::robust_scaler{}},
                         {.missing_indicator = true}),
      ff::numeric_column("funded_amnt", {ff::min_max_scaler{}}),
      ff::numeric_column("int_rate", {q}, {.output = "int_rate_bucket"}),
      ff::numeric_column("total_bal_il", {sl, ff::clip{-1e30, 12.0}}),
      ff::interaction("funded_amnt", "int_rate"),
      ff::one_hot("addr_state", {.handle_unknown = ff::unknown_policy::other, .min_frequency = 8}),
      ff::one_hot("emp_length", {.handle_unknown = ff::unknown_policy::ignore}),
      ff::ordinal_encoder("sub_grade", {.handle_unknown = ff::unknown_policy::ignore}),
      ff::count_encoder("addr_state", {.normalize = true}),
      ff::target_encoder("sub_grade", {.smoothing = 5.0}),
      ff::feature_hasher({"verification_status", "term"}, {.num_features = 8, .seed = 11}),
      ff::hashed_cross({"term", "sub_grade"}, {.num_buckets = 16, .seed = 5}));
}

// Sets every column of `r` from row i of `b`.
void copy_row(const ff::batch& b, std::size_t i, ff::row& r) {
  const auto& s = b.get_schema();
  for (std::size_t c = 0; c < s.size(); ++c) {
    if (s[c].type == ff::column_type::numeric) {
      r.set(c, b.numeric_column(c)[i]);
    } else {
      const auto v = b.string_column(c)[i];
      if (ff::is_missing(v)) {
        r.set_missing(c);
      } else {
        r.set(c, v);
      }
    }
  }
}

template <class P>
void check_rows_equal_batch(const P& p, const ff::batch& b) {
  const auto m = p.transform(b);
  ff::row r(p.get_schema());
  std::vector<float> out(p.width());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < b.rows(); ++i) {
    copy_row(b, i, r);
    p.transform(r, out, i);
    for (std::size_t k = 0; k < out.size(); ++k) differ += same_bits(out[k], m(i, k)) ? 0 : 1;
  }
  CHECK(differ == 0);
}

bool same_matrix_bits(const funnel::matrix& a, const funnel::matrix& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same_bits(a.data()[i], b.data()[i])) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("pipeline: single-row output equals batch output bit for bit (static and any)") {
  auto p = make_static();
  p.fit(data().head(300), data().y().first(300));
  CHECK(p.output_names().size() == p.width());
  check_rows_equal_batch(p, data().all());
  const auto q = ff::any_pipeline::from_json(p.to_json());
  check_rows_equal_batch(q, data().all());
  CHECK(same_matrix_bits(p.transform(data().all()), q.transform(data().all())));
}

TEST_CASE("pipeline: JSON round trip is bit exact through text, file and both pipeline types") {
  auto p = make_static();
  p.fit(data().head(300), data().y().first(300));
  const auto dir = funnel::test::scratch_dir("features-json");
  p.save(dir / "p.json");
  const auto loaded = ff::any_pipeline::load(dir / "p.json");
  const auto text = loaded.to_json().dump();
  CHECK(text == p.to_json().dump());
  const auto back = decltype(p)::from_json(funnel::parse_json(text, "test"));
  CHECK(back.to_json() == p.to_json());
  CHECK(same_matrix_bits(p.transform(data().all()), back.transform(data().all())));
  CHECK(same_matrix_bits(p.transform(data().all()), loaded.transform(data().all())));
  CHECK(loaded.output_names() == p.output_names());
}

TEST_CASE("any_pipeline: an unfitted JSON configuration fits to the same result as code") {
  auto p = make_static();
  auto config = p.to_json();  // unfitted: parameters only
  auto q = ff::any_pipeline::from_json(config);
  CHECK_FALSE(q.fitted());
  p.fit(data().head(300), data().y().first(300));
  q.fit(data().head(300), data().y().first(300));
  CHECK(q.to_json() == p.to_json());
}

TEST_CASE("pipeline: serving transform of one row makes no heap allocation") {
  auto p = make_static();
  p.fit(data().head(300), data().y().first(300));
  const auto q = ff::any_pipeline::from_json(p.to_json());
  ff::row r(p.get_schema());
  ff::row rq(q.get_schema());
  std::vector<float> out(p.width());
  const auto& b = data().all();
  long during = 0;
  for (std::size_t i = 0; i < b.rows(); ++i) {
    copy_row(b, i, r);
    copy_row(b, i, rq);
    const long before = funnel_test_allocations();
    p.transform(r, out, i);
    q.transform(rq, out, i);
    during += funnel_test_allocations() - before;
  }
  CHECK(during == 0);
  // The counter does count: a vector allocation is seen.
  const long before = funnel_test_allocations();
  std::vector<float> v(3);
  CHECK(funnel_test_allocations() - before >= 1);
}

TEST_CASE("pipeline: transform before fit is not_fitted naming the component") {
  auto p = make_static();
  ff::row r(p.get_schema());
  std::vector<float> out(4);
  CHECK_THROWS_AS(p.transform(r, out), funnel::not_fitted);
  CHECK_THROWS_WITH(p.transform(data().all()), ContainsSubstring("numeric_column"));
  CHECK_THROWS_AS(p.output_names(), funnel::not_fitted);
}

TEST_CASE("pipeline: NaN under policy error and Inf anywhere name the column and row") {
  ff::schema s({{"a", ff::column_type::numeric, ff::missing_policy::error},
                {"b", ff::column_type::numeric},
                {"c", ff::column_type::string, ff::missing_policy::error}});
  std::vector<float> a = {1, 2, 3};
  std::vector<float> bv = {1, std::nanf(""), 3};
  std::vector<std::string_view> c = {"x", "y", "x"};
  ff::batch b(s);
  b.set(0, std::span<const float>(a));
  b.set(1, std::span<const float>(bv));
  b.set(2, std::span<const std::string_view>(c));
  ff::pipeline p(s, ff::numeric_column("a", {ff::standard_scaler{}}),
                 ff::numeric_column("b", {ff::standard_scaler{}}), ff::one_hot("c"));
  p.fit(b);
  ff::row r(p.get_schema());
  r.set(0, std::nanf(""));
  r.set(1, 1.0F);
  r.set(2, std::string_view("x"));
  std::vector<float> out(p.width());
  CHECK_THROWS_AS(p.transform(r, out, 9), funnel::invalid_argument);
  CHECK_THROWS_WITH(p.transform(r, out, 9), ContainsSubstring("column 'a', row 9"));
  r.set(0, 1.0F);
  r.set(1, std::numeric_limits<float>::infinity());
  CHECK_THROWS_WITH(p.transform(r, out, 4),
                    ContainsSubstring("column 'b', row 4") && ContainsSubstring("non-finite"));
  r.set(1, 1.0F);
  r.set_missing(2);
  CHECK_THROWS_WITH(p.transform(r, out, 2), ContainsSubstring("column 'c', row 2"));
  // Batch: the offending row is named.
  a[2] = std::nanf("");
  CHECK_THROWS_WITH(p.transform(b), ContainsSubstring("column 'a', row 2"));
  CHECK_THROWS_WITH(p.fit(b), ContainsSubstring("column 'a', row 2"));
}

TEST_CASE("pipeline: wrong column count, type, or buffer size is a typed error") {
  auto p = make_static();
  p.fit(data().head(300), data().y().first(300));
  ff::schema fewer({{"funded_amnt", ff::column_type::numeric}});
  ff::row r(fewer);
  std::vector<float> out(p.width());
  CHECK_THROWS_AS(p.transform(r, out), funnel::dimension_mismatch);
  CHECK_THROWS_WITH(p.transform(r, out), ContainsSubstring("1 columns"));

  auto cols = data().schema.columns();
  cols[7].type = ff::column_type::integer;  // "term" as integer
  ff::schema retyped(cols);
  ff::row r2(retyped);
  CHECK_THROWS_WITH(p.transform(r2, out), ContainsSubstring("'term'"));

  ff::row ok(p.get_schema());
  std::vector<float> small(p.width() - 1);
  CHECK_THROWS_AS(p.transform(ok, small), funnel::dimension_mismatch);

  CHECK_THROWS_WITH(ok.set(0, std::string_view("x")),
                    ContainsSubstring("'funded_amnt' is numeric"));
  ff::batch b(p.get_schema());
  std::vector<std::string_view> txt(3, "x");
  CHECK_THROWS_AS(b.set(0, std::span<const std::string_view>(txt)), funnel::invalid_argument);
  std::vector<float> f3(3, 1.0F);
  std::vector<float> f4(4, 1.0F);
  b.set(0, std::span<const float>(f3));
  CHECK_THROWS_WITH(b.set(1, std::span<const float>(f4)),
                    ContainsSubstring("'int_rate' has 4 rows"));
  CHECK_THROWS_WITH(p.transform(b), ContainsSubstring("never set"));
}

TEST_CASE("pipeline: components naming absent or mistyped columns fail at construction") {
  CHECK_THROWS_AS(ff::pipeline(data().schema, ff::one_hot("nope")), funnel::not_found);
  CHECK_THROWS_WITH(ff::pipeline(data().schema, ff::one_hot("int_rate")),
                    ContainsSubstring("'int_rate' is numeric"));
  CHECK_THROWS_WITH(ff::pipeline(data().schema, ff::numeric_column("term", {})),
                    ContainsSubstring("'term' is string"));
}

TEST_CASE("pipeline: fitting on an empty or all-missing column is an error naming it") {
  ff::schema s({{"a", ff::column_type::numeric}, {"c", ff::column_type::string}});
  std::vector<float> a = {std::nanf(""), std::nanf("")};
  std::vector<std::string_view> c = {"x", "y"};
  ff::batch b(s);
  b.set(0, std::span<const float>(a));
  b.set(1, std::span<const std::string_view>(c));
  ff::pipeline p(s, ff::numeric_column("a", {ff::standard_scaler{}}));
  CHECK_THROWS_AS(p.fit(b), funnel::invalid_argument);
  CHECK_THROWS_WITH(p.fit(b),
                    ContainsSubstring("column 'a'") && ContainsSubstring("no non-missing"));
  // A constant imputer needs no data: the column becomes the constant.
  ff::imputer k;
  k.strategy = ff::impute_strategy::constant;
  k.value = 7;
  ff::pipeline q(s, ff::numeric_column("a", {k, ff::standard_scaler{}}));
  q.fit(b);
  CHECK(q.transform(b)(0, 0) == 0.0F);
  ff::batch empty(s);
  empty.set(0, std::span<const float>());
  empty.set(1, std::span<const std::string_view>());
  ff::pipeline o(s, ff::one_hot("c"));
  CHECK_THROWS_WITH(o.fit(empty), ContainsSubstring("column 'c'") && ContainsSubstring("0 rows"));
}

TEST_CASE("numeric_column: log1p of x <= -1 is an error naming column and row") {
  ff::schema s({{"a", ff::column_type::numeric}});
  std::vector<float> a = {0, 1, 2};
  ff::batch b(s);
  b.set(0, std::span<const float>(a));
  ff::pipeline p(s, ff::numeric_column("a", {ff::log_transform{}}));
  p.fit(b);
  ff::row r(p.get_schema());
  r.set(0, -3.0F);
  std::vector<float> out(1);
  CHECK_THROWS_WITH(p.transform(r, out, 12),
                    ContainsSubstring("column 'a', row 12") && ContainsSubstring("log"));
}

TEST_CASE(
    "pipeline JSON: wrong type, version, missing field or unknown component is a parse_error") {
  auto p = make_static();
  p.fit(data().head(300), data().y().first(300));
  const auto good = p.to_json();
  using P = decltype(p);

  auto j = good;
  j["type"] = "funnel.features.other";
  CHECK_THROWS_AS(ff::any_pipeline::from_json(j), funnel::parse_error);
  j = good;
  j["version"] = 99;
  CHECK_THROWS_WITH(ff::any_pipeline::from_json(j), ContainsSubstring("version"));
  j = good;
  j["components"][0].erase("steps");
  CHECK_THROWS_WITH(ff::any_pipeline::from_json(j), ContainsSubstring("'steps'"));
  j = good;
  j["components"][0]["steps"][0]["type"] = "nope";
  CHECK_THROWS_WITH(ff::any_pipeline::from_json(j),
                    ContainsSubstring("unknown numeric step 'nope'"));
  j = good;
  j["components"][1]["type"] = "funnel.features.mystery";
  CHECK_THROWS_WITH(ff::any_pipeline::from_json(j),
                    ContainsSubstring("components[1]") && ContainsSubstring("mystery"));
  j = good;
  j["components"][6]["min_frequency"] = "eight";
  CHECK_THROWS_WITH(ff::any_pipeline::from_json(j), ContainsSubstring("min_frequency"));
  j = good;
  j["components"][2]["steps"][0]["scale"] = "x";
  CHECK_THROWS_WITH(ff::any_pipeline::from_json(j), ContainsSubstring("scale"));
  j = good;
  j["components"].erase(0);
  CHECK_THROWS_WITH(P::from_json(j), ContainsSubstring("components"));
  j = good;
  j["schema"]["columns"][0]["type"] = "complex";
  CHECK_THROWS_WITH(ff::any_pipeline::from_json(j), ContainsSubstring("complex"));
  j = good;
  j["components"][6]["categories"]["categories"] = {"b", "a"};
  CHECK_THROWS_WITH(ff::any_pipeline::from_json(j), ContainsSubstring("not strictly increasing"));
}

namespace {
// A user-defined component (namespace scope: local classes cannot have member templates).
struct twice {
  static constexpr std::string_view type_name = "test.twice";
  std::size_t col = 0;
  bool is_fitted = false;
  void bind(const ff::schema& s) { col = s.index("int_rate"); }
  void fit(const ff::batch&, std::span<const float>) { is_fitted = true; }
  bool fitted() const { return is_fitted; }
  std::size_t width() const { return 1; }
  void append_output_names(std::vector<std::string>& n) const { n.push_back("twice"); }
  template <class Row>
  void transform_row(const Row& r, std::size_t, float* out) const {
    out[0] = 2 * r.numeric(col);
  }
  funnel::json to_json() const {
    auto j = funnel::json_header(type_name, 1);
    j["fitted"] = is_fitted;
    return j;
  }
  static twice from_json(const funnel::json& j) {
    funnel::check_json_header(j, type_name, 1);
    twice t;
    t.is_fitted = j.at("fitted").get<bool>();
    return t;
  }
};
}  // namespace

TEST_CASE("registry: a user component registers by type name and loads in any_pipeline") {
  ff::registry reg = ff::registry::builtin();
  reg.add<twice>();
  ff::pipeline p(data().schema, twice{});
  p.fit(data().head(10));
  CHECK_THROWS_AS(ff::any_pipeline::from_json(p.to_json()), funnel::parse_error);
  const auto q = ff::any_pipeline::from_json(p.to_json(), reg);
  CHECK(q.transform(data().head(10))(3, 0) == 2 * data().all().numeric_column(1)[3]);
}

TEST_CASE("pipeline: const transform is safe from many threads at once", "[concurrency]") {
  auto p = make_static();
  p.fit(data().head(300), data().y().first(300));
  const auto want = p.transform(data().all());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ff::row r(p.get_schema());
      std::vector<float> out(p.width());
      for (std::size_t i = static_cast<std::size_t>(t); i < data().all().rows(); i += 4) {
        copy_row(data().all(), i, r);
        p.transform(r, out, i);
        for (std::size_t k = 0; k < out.size(); ++k) {
          if (!same_bits(out[k], want(i, k))) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches == 0);
}
