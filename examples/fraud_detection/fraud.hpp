#pragma once
/// @file fraud.hpp
/// @brief The fraud/default detection example's system: loan applications from lending_club.csv
/// go through two funnel::features pipelines fitted on the earliest rows, a logistic baseline and a
/// class-weighted GBDT, a cost-minimising review threshold, a small rules engine, a review queue
/// with TreeSHAP reasons, and a drift check of the later slice against training. Compiled into
/// the example and into its smoke test.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fraud {

/// @brief Loan applications, column by column (rows in file order: the order is the timeline).
struct loans {
  std::vector<std::string> numeric_names;   ///< numeric inputs (NaN = not stated)
  std::vector<std::vector<float>> numeric;  ///< per numeric column, one value per row
  std::vector<std::string> categorical_names;
  std::vector<std::vector<std::string>> categorical;  ///< per categorical column
  std::vector<float> bad;  ///< label: 1 = the loan went bad (the event), 0 = it did not

  [[nodiscard]] std::size_t rows() const noexcept { return bad.size(); }
  /// @brief Rows [begin, end). @throws funnel::invalid_argument when the range is invalid.
  [[nodiscard]] loans slice(std::size_t begin, std::size_t end) const;
  /// @brief Column `name` of the numeric inputs. @throws funnel::not_found naming it.
  [[nodiscard]] const std::vector<float>& column(std::string_view name) const;
};

/// @brief Reads modeldata's lending_club.csv. Derives `emp_years` from emp_length (emp_unk ->
/// missing) and `loan_to_income`; an annual income of 0 counts as not stated (missing).
/// @throws funnel::io_error, funnel::parse_error (file, line, column), funnel::not_found (a
/// column is absent), funnel::invalid_argument (a Class value other than good/bad).
[[nodiscard]] loans load_lending_club(const std::filesystem::path& path);

/// @brief What decisions cost (the figures the threshold is chosen for).
struct costs {
  double missed_bad = 5000.0;       ///< an approved loan that goes bad (loss after recovery)
  double review = 400.0;            ///< one manual review (analyst time); a review catches the case
  double declined_good = 800.0;     ///< margin lost when a rule declines a good applicant
  double loss_given_default = 0.6;  ///< share of the funded amount lost (review queue ordering)
};

/// @brief Knobs of the experiment (defaults: the full-data run).
struct options {
  double train_fraction = 0.6;  ///< earliest rows: fit features and models
  double valid_fraction = 0.2;  ///< next rows: early stopping and the threshold; the rest is the
                                ///< later slice, held out
  costs cost;
  std::size_t gbdt_rounds = 400;  ///< upper bound; early stopping on validation AUC
  double gbdt_learning_rate = 0.05;
  std::size_t gbdt_depth = 3;
  std::size_t early_stopping_rounds = 40;
  double auto_decline_probability = 0.2;  ///< the score rule that declines outright
  std::size_t queue_size = 10;            ///< review-queue entries printed with reasons
  std::size_t shap_top = 3;               ///< contributions shown per case
  std::uint64_t seed = 7;
  std::function<void(std::string_view)> progress;  ///< optional progress lines
};

/// @brief AUC and PR-AUC of one model on one slice.
struct model_quality {
  std::string model;
  double valid_auc = 0.0, valid_pr_auc = 0.0;
  double test_auc = 0.0, test_pr_auc = 0.0;
  double test_brier = 0.0;  ///< of the prior-corrected probabilities
};

/// @brief One point of the cost curve.
struct cost_point {
  double threshold = 0.0;  ///< review when probability >= threshold
  double review_share = 0.0;
  double recall = 0.0;  ///< share of bad loans reviewed
  double cost = 0.0;    ///< total on the slice
};

/// @brief What happens to an application.
enum class action { approve, review, decline };

/// @brief "approve", "review" or "decline".
[[nodiscard]] std::string_view to_string(action a) noexcept;

/// @brief One application as the rules see it (raw inputs plus the model's probability).
struct application {
  float funded_amnt = 0, annual_inc = 0, loan_to_income = 0, inq_last_6mths = 0, acc_now_delinq = 0;
  std::string_view verification_status;
  double probability = 0.0;  ///< prior-corrected GBDT probability of going bad
};

/// @brief A hard rule: when `applies`, the application gets at least `outcome`, for `reason`.
struct rule {
  std::string name;
  action outcome = action::review;
  std::function<bool(const application&)> applies;
  std::function<std::string(const application&)> reason;
};

/// @brief A decision with every reason that led to it.
struct decision {
  action outcome = action::approve;
  std::vector<std::string> reasons;
};

/// @brief The rules of the example: score threshold (review), auto-decline probability,
/// income not stated, loan above half the annual income, unverified income on a large loan,
/// many recent credit inquiries, an account delinquent now.
[[nodiscard]] std::vector<rule> default_rules(double review_threshold, double decline_probability);

/// @brief The strongest outcome of the rules that apply (decline > review > approve), with the
/// reasons of every rule that applied.
[[nodiscard]] decision decide(const application& a, const std::vector<rule>& rules);

/// @brief A case in the review queue.
struct queue_entry {
  std::size_t row = 0;  ///< row in the later slice
  double probability = 0.0;
  double expected_loss = 0.0;  ///< probability x loss_given_default x funded amount
  float funded_amnt = 0;
  bool went_bad = false;  ///< the outcome, known only afterwards
  std::vector<std::string> reasons;
  std::vector<std::pair<std::string, double>> top_features;  ///< "name = value", SHAP (log-odds)
  double margin = 0.0;                                       ///< GBDT margin of the case
  double shap_sum = 0.0;  ///< bias + sum of every contribution (equals margin)
};

/// @brief Drift of one input (or the score) between training and the later slice.
struct drift_line {
  std::string feature;
  bool categorical = false;
  double psi = 0.0;
  std::string test;  ///< "ks" or "chi2"
  double statistic = 0.0, pvalue = 1.0;
  std::string verdict;
};

/// @brief Compares every input of `live` and its scores with `reference` (funnel::drift: PSI
/// plus KS or chi-square per feature, and on the score). Sorted by PSI, highest first.
/// @throws funnel::invalid_argument when a slice is empty or the columns differ.
[[nodiscard]] std::vector<drift_line> drift_check(const loans& reference,
                                                  std::span<const float> reference_scores,
                                                  const loans& live,
                                                  std::span<const float> live_scores);

/// @brief Everything the example measures.
struct report {
  std::size_t train_rows = 0, valid_rows = 0, test_rows = 0;
  double train_bad_rate = 0.0, test_bad_rate = 0.0;
  std::size_t logistic_inputs = 0, gbdt_inputs = 0;  ///< pipeline output widths
  double positive_weight = 1.0;                      ///< class weight of bad loans
  std::size_t gbdt_trees = 0;
  std::vector<model_quality> models;  ///< logistic first, then GBDT
  costs cost;
  double threshold = 0.0;  ///< chosen on the validation slice
  double valid_cost_at_threshold = 0.0;
  std::vector<cost_point> curve;  ///< on the later slice, around the threshold (ascending)
  double test_cost_threshold = 0.0, test_cost_flag_all = 0.0, test_cost_flag_none = 0.0;
  double test_review_share = 0.0, test_recall = 0.0;
  std::vector<std::pair<std::string, std::size_t>> rule_hits;  ///< rule name -> applications
  std::size_t approved = 0, reviewed = 0, declined = 0;
  double bad_rate_approved = 0.0, bad_rate_reviewed = 0.0, bad_rate_declined = 0.0;
  double test_cost_with_rules = 0.0;
  std::vector<queue_entry> queue;
  std::vector<drift_line> drift;
  double seconds = 0.0;
};

/// @brief Runs the whole experiment. @throws funnel::invalid_argument when a slice is too small
/// or holds a single class, plus what the stages throw on bad input.
[[nodiscard]] report run(const loans& data, const options& opt = {});

/// @brief The report as aligned text.
[[nodiscard]] std::string format_report(const report& r);

}  // namespace fraud
