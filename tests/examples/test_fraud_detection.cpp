// Smoke test of the fraud/default detection example on the first 8,000 rows of the committed
// lending_club.csv: the figures asserted here are properties the system must have (a useful
// model, a threshold that beats the trivial policies, explanations that add up, a drift check
// that sees a planted shift), not values copied from its output.
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>

#include <cmath>
#include <string>

#include "fraud.hpp"
#include "funnel_catch.hpp"

namespace {

const fraud::loans& slice() {
  static const fraud::loans d =
      fraud::load_lending_club(funnel::test::data("lending_club.csv")).slice(0, 8000);
  return d;
}

const fraud::report& small_run() {
  static const fraud::report r = [] {
    fraud::options opt;
    opt.gbdt_rounds = 200;
    return fraud::run(slice(), opt);
  }();
  return r;
}

}  // namespace

TEST_CASE("fraud example: GBDT separates bad loans at least as well as the logistic baseline") {
  const auto& r = small_run();
  INFO(fraud::format_report(r));
  REQUIRE(r.models.size() == 2);
  const auto& logistic = r.models[0];
  const auto& gbdt = r.models[1];
  CHECK(gbdt.test_auc > 0.6);
  CHECK(gbdt.test_auc > logistic.test_auc - 0.03);
  CHECK(logistic.test_auc > 0.6);
  // Better than a random score, whose PR-AUC is the bad-loan rate.
  CHECK(gbdt.test_pr_auc > 1.3 * r.test_bad_rate);
  CHECK(r.gbdt_trees > 0);
  CHECK(r.train_rows + r.valid_rows + r.test_rows == 8000);
}

TEST_CASE("fraud example: the cost-chosen threshold beats reviewing all and reviewing none") {
  const auto& r = small_run();
  INFO(fraud::format_report(r));
  CHECK(r.test_cost_threshold < r.test_cost_flag_all);
  CHECK(r.test_cost_threshold < r.test_cost_flag_none);
  CHECK(r.test_review_share > 0.0);
  CHECK(r.test_review_share < 1.0);
  // Reviewing everything costs exactly one review per application.
  CHECK_THAT(r.test_cost_flag_all,
             WithinRel(r.cost.review * static_cast<double>(r.test_rows), 1e-12));
  // The curve is monotone in review load.
  for (std::size_t k = 1; k < r.curve.size(); ++k)
    CHECK(r.curve[k].review_share <= r.curve[k - 1].review_share);
}

TEST_CASE("fraud example: queued cases are ordered by expected loss and their SHAP adds up") {
  const auto& r = small_run();
  INFO(fraud::format_report(r));
  REQUIRE(!r.queue.empty());
  for (std::size_t k = 0; k < r.queue.size(); ++k) {
    const auto& e = r.queue[k];
    INFO("queue entry " << k);
    if (k > 0) CHECK(e.expected_loss <= r.queue[k - 1].expected_loss);
    CHECK(!e.reasons.empty());
    CHECK(e.top_features.size() == 3);
    CHECK_THAT(e.shap_sum, WithinAbs(e.margin, 1e-4));
    CHECK_THAT(e.expected_loss, WithinRel(e.probability * r.cost.loss_given_default *
                                              static_cast<double>(e.funded_amnt),
                                          1e-9));
  }
  CHECK(r.approved + r.reviewed + r.declined == r.test_rows);
}

TEST_CASE("fraud rules: the strongest outcome wins and every applying rule gives its reason") {
  const auto rules = fraud::default_rules(/*review_threshold=*/0.1, /*decline_probability=*/0.3);
  fraud::application clean;
  clean.funded_amnt = 10000;
  clean.annual_inc = 60000;
  clean.loan_to_income = 10000.0F / 60000.0F;
  clean.verification_status = "Verified";
  clean.probability = 0.02;
  const auto ok = fraud::decide(clean, rules);
  CHECK(ok.outcome == fraud::action::approve);
  CHECK(ok.reasons.empty());

  auto risky = clean;
  risky.probability = 0.15;
  risky.inq_last_6mths = 4;
  const auto review = fraud::decide(risky, rules);
  CHECK(review.outcome == fraud::action::review);
  CHECK(review.reasons.size() == 2);

  risky.loan_to_income = 0.8F;
  const auto declined = fraud::decide(risky, rules);
  CHECK(declined.outcome == fraud::action::decline);
  REQUIRE(declined.reasons.size() == 3);
  CHECK_THAT(declined.reasons.back(), ContainsSubstring("credit inquiries"));
}

TEST_CASE(
    "fraud drift check: a planted shift in int_rate is flagged, the same slice unshifted is not") {
  const auto& d = slice();
  const auto ref = d.slice(0, 4000);
  auto live = d.slice(4000, 8000);
  const std::vector<float> ref_scores(ref.rows(), 0.5F);
  const std::vector<float> live_scores(live.rows(), 0.5F);
  const auto find = [](const std::vector<fraud::drift_line>& lines, const std::string& name) {
    for (const auto& l : lines)
      if (l.feature == name) return l;
    FAIL("no drift line for " << name);
    return lines.front();
  };
  const auto before = fraud::drift_check(ref, ref_scores, live, live_scores);
  CHECK(find(before, "int_rate").verdict == "stable");
  for (auto& v : live.numeric[1]) v += 4.0F;  // int_rate: 4 points up for everyone
  REQUIRE(live.numeric_names[1] == "int_rate");
  const auto after = fraud::drift_check(ref, ref_scores, live, live_scores);
  const auto shifted = find(after, "int_rate");
  CHECK(shifted.verdict == "drift");
  CHECK(shifted.pvalue < 1e-6);
  CHECK(after.front().feature == "int_rate");  // sorted by PSI
  CHECK(find(after, "sub_grade").verdict == "stable");
}

TEST_CASE("fraud example: a Class value other than good/bad is named with its line") {
  const auto dir = funnel::test::scratch_dir("fraud-bad-class");
  auto text = funnel::read_file(funnel::test::data("lending_club.csv"));
  text = text.substr(0, text.find('\n', text.find('\n') + 1) + 1);  // header + first row
  text.replace(text.rfind("\"good\""), 6, "\"maybe\"");
  funnel::write_file_atomic(dir / "lc.csv", text);
  CHECK_THROWS_WITH(fraud::load_lending_club(dir / "lc.csv"),
                    ContainsSubstring("Class is 'maybe'") && ContainsSubstring(":2"));
}

TEST_CASE("fraud example: too few rows to split is an error, not a silent result") {
  CHECK_THROWS_AS(fraud::run(slice().slice(0, 150)), funnel::invalid_argument);
}
