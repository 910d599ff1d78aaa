#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/libsvm.hpp>
#include <funnel/core/random.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

TEST_CASE("libsvm: reads XGBoost's agaricus test set with indices as written") {
  const auto data = funnel::read_libsvm(funnel::test::data("core/agaricus.txt.test"));
  const auto ref = funnel::load_json_file(funnel::test::data("core/agaricus_test_reference.json"));
  const auto& x = data.features;
  CHECK(x.rows() == 1611);
  CHECK(x.rows() == ref["rows"].get<std::size_t>());
  CHECK(x.rows() == ref["xgboost_num_row"].get<std::size_t>());
  // Feature ids 1..126 as written, so column 0 exists but is empty: 127 columns, like XGBoost.
  CHECK(x.cols == 127);
  CHECK(x.cols == ref["xgboost_num_col"].get<std::size_t>());
  CHECK(x.nonzeros() == ref["xgboost_num_nonmissing"].get<std::size_t>());
  const std::set<std::uint32_t> ids(x.indices.begin(), x.indices.end());
  CHECK(ids.size() == ref["distinct_ids"].get<std::size_t>());
  CHECK(*ids.begin() == 1);
  CHECK(*ids.rbegin() == 126);
  CHECK(std::count(data.labels.begin(), data.labels.end(), 0.0F) == ref["labels"]["0"].get<long>());
  CHECK(std::count(data.labels.begin(), data.labels.end(), 1.0F) == ref["labels"]["1"].get<long>());
  const auto first = ref["first_row_indices"].get<std::vector<std::uint32_t>>();
  const auto r0 = x.row(0);
  CHECK(std::vector<std::uint32_t>(r0.indices.begin(), r0.indices.end()) == first);
  CHECK(std::all_of(x.values.begin(), x.values.end(), [](float v) { return v == 1.0F; }));
  CHECK(data.qids.empty());
  const auto dense = x.to_dense(0.0F);
  for (std::size_t i = 0; i < dense.rows(); ++i) CHECK(dense(i, 0) == 0.0F);
}

TEST_CASE("libsvm: qid, comments, blank lines, CRLF, tabs, signs and min_cols") {
  const std::string text =
      "# header comment\n"
      "+1 qid:3 1:0.5 4:-2e-1 # trailing comment\r\n"
      "\n"
      "-1\tqid:3\t2:1.5\n"
      "   \n"
      "0.25 qid:7\n";
  funnel::libsvm_options o;
  o.min_cols = 10;
  const auto d = funnel::parse_libsvm(text, "rank.svm", o);
  REQUIRE(d.features.rows() == 3);
  CHECK(d.labels == std::vector<float>{1.0F, -1.0F, 0.25F});
  CHECK(d.qids == std::vector<std::uint64_t>{3, 3, 7});
  CHECK(d.features.cols == 10);
  CHECK(d.features.row(0).indices[1] == 4);
  CHECK(d.features.row(0).values[1] == -0.2F);
  CHECK(d.features.row(1).values[0] == 1.5F);
  CHECK(d.features.row(2).indices.empty());
  CHECK(funnel::parse_libsvm(text, "rank.svm").features.cols == 5);  // max index + 1
  CHECK(funnel::parse_libsvm("", "empty.svm").features.rows() == 0);
}

TEST_CASE("libsvm: every malformed input gets a parse_error naming file and line") {
  auto fails = [](const std::string& text, const std::string& expected) {
    INFO(text);
    CHECK_THROWS_AS(funnel::parse_libsvm(text, "bad.svm"), funnel::parse_error);
    CHECK_THROWS_WITH(funnel::parse_libsvm(text, "bad.svm"), ContainsSubstring(expected));
    try {
      (void)funnel::parse_libsvm(text, "bad.svm");
    } catch (const funnel::error& e) {
      CHECK(e.id() == "parse_error.core.libsvm");
    }
  };
  fails("1 1:1\nabc 1:1\n", "bad.svm:2: label 'abc' is not a finite number");
  fails("nan 1:1\n", "bad.svm:1: label 'nan' is not a finite number");
  fails("1 1:1\n1 3:x\n", "bad.svm:2: value 'x' of index 3 is not a finite number");
  fails("1 3:\n", "bad.svm:1: value '' of index 3");
  fails("1 3:inf\n", "bad.svm:1: value 'inf' of index 3 is not a finite number");
  // Attack report M7 in the libsvm reader: every NaN and infinity spelling is rejected.
  for (const std::string& v : std::vector<std::string>{"nan", "NAN", "-nan", "nan(1)", "+nan",
                                                       "-Infinity", "INF", "+inf"}) {
    fails("1 3:" + v + "\n", "bad.svm:1: value '" + v + "' of index 3 is not a finite number");
    fails(v + " 3:1\n", "bad.svm:1: label '" + v + "' is not a finite number");
  }
  fails("1 3:+-1\n", "bad.svm:1: value '+-1' of index 3 is not a finite number");
  fails("1 3:1e39\n", "bad.svm:1: value '1e39' of index 3 is out of the range of a float");
  fails("1e39 3:1\n", "bad.svm:1: label '1e39' is out of the range of a float");
  // Attack report L10: a message shows at most 40 characters of a token.
  const std::string big(1u << 20, '7');
  try {
    (void)funnel::parse_libsvm("1 3:" + big + "x\n", "big.svm");
    FAIL("a 1 MB value parsed");
  } catch (const funnel::parse_error& e) {
    CHECK(std::string(e.what()).size() < 200);
    CHECK_THAT(std::string(e.what()),
               ContainsSubstring("big.svm:1: value '" + std::string(40, '7') +
                                 "...' (1048577 bytes) of index 3 is not a finite number"));
  }
  for (const std::string& text : std::vector<std::string>{
           big + " 1:1\n", "1 " + big + "\n", "1 " + big + ":1\n", "1 qid:" + big + "x 1:1\n"}) {
    try {
      (void)funnel::parse_libsvm(text, "big.svm");
      FAIL("accepted");
    } catch (const funnel::parse_error& e) {
      CHECK(std::string(e.what()).size() < 300);
    }
  }
  fails("1 a:1\n", "bad.svm:1: index 'a' in 'a:1' is not a non-negative integer");
  fails("1 -3:1\n", "bad.svm:1: index '-3'");
  fails("1 :1\n", "bad.svm:1: index '' in ':1'");
  fails("1 99999999999:1\n", "bad.svm:1: index 99999999999 exceeds the largest supported index");
  fails("1 5:1 3:1\n", "bad.svm:1: index 3 after 5: indices must ascend");
  fails("\n\n1 2:1 2:3\n", "bad.svm:3: duplicate index 2");
  fails("1 2:1 7\n", "bad.svm:1: token '7' has no ':' (expected index:value)");
  fails("1 qid:x 1:1\n", "bad.svm:1: qid 'x' is not a non-negative integer");
  fails("1 qid:-1 1:1\n", "bad.svm:1: qid '-1' is not a non-negative integer");
  fails("1 1:1 qid:3\n", "bad.svm:1: 'qid:' must directly follow the label");
  fails("1 qid:1 1:1\n0 1:1\n", "bad.svm:2: row has no qid:");
  fails("1 1:1\n0 qid:1 1:1\n", "bad.svm:2: row has qid:");
  CHECK_THROWS_AS(funnel::read_libsvm("/nonexistent/x.svm"), funnel::io_error);
}

TEST_CASE(
    "libsvm: a value that underflows reads as 0 or the nearest denormal, as XGBoost reads it") {
  // Attack report L9: "1e-50" was "not a finite number" (from_chars reports underflow).
  const auto d = funnel::parse_libsvm("1e-50 1:1e-50 2:-1e-50 3:1e-40 4:1e-45 5:1e-46\n", "u.svm");
  REQUIRE(d.features.values.size() == 5);
  CHECK(d.labels[0] == 0.0F);
  CHECK(d.features.values[0] == 0.0F);
  CHECK(d.features.values[1] == 0.0F);
  CHECK(std::signbit(d.features.values[1]));
  CHECK(d.features.values[2] == 1e-40F);                                    // a denormal float
  CHECK(d.features.values[3] == std::numeric_limits<float>::denorm_min());  // 1e-45 rounds up
  CHECK(d.features.values[4] == 0.0F);  // below half the smallest denormal
}

TEST_CASE(
    "libsvm: random bytes and mutated real lines never crash, only parse or throw parse_error") {
  const std::string seed_text = "1 qid:2 1:0.5 3:1e3 # c\n0 qid:2 2:1\n";
  funnel::rng r(20261123);
  const std::string alphabet = "0123456789:.-+eqid# \t\n\rxn";
  for (int trial = 0; trial < 3000; ++trial) {
    const std::string text = funnel::test::mutated(seed_text, r, alphabet, 6, trial % 2 != 0);
    try {
      const auto d = funnel::parse_libsvm(text, "fuzz.svm");
      // Whatever parsed is a well-formed CSR matrix.
      REQUIRE(d.features.row_ptr.size() == d.labels.size() + 1);
      REQUIRE(d.features.row_ptr.back() == d.features.values.size());
      for (std::size_t i = 0; i < d.features.rows(); ++i) {
        const auto row = d.features.row(i);
        REQUIRE(std::is_sorted(row.indices.begin(), row.indices.end()));
        for (const auto c : row.indices) REQUIRE(c < d.features.cols);
      }
      REQUIRE((d.qids.empty() || d.qids.size() == d.labels.size()));
    } catch (const funnel::parse_error& e) {
      REQUIRE(std::string(e.what()).find("fuzz.svm:") != std::string::npos);
    }
  }
}
