#include "fraud.hpp"

#include <funnel/core/contract.hpp>
#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/drift/monitor.hpp>
#include <funnel/drift/profile.hpp>
#include <funnel/features/pipeline.hpp>
#include <funnel/metrics/classification.hpp>
#include <funnel/scoring/gbdt.hpp>
#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/treeshap.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <type_traits>

namespace fraud {

namespace ff = funnel::features;
namespace fs = funnel::scoring;
namespace fm = funnel::metrics;

namespace {

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();

// Numeric inputs as they are in the file; emp_years and loan_to_income are derived at load.
const std::vector<std::string> raw_numeric = {"funded_amnt",
                                              "int_rate",
                                              "annual_inc",
                                              "delinq_2yrs",
                                              "inq_last_6mths",
                                              "revol_util",
                                              "acc_now_delinq",
                                              "open_il_6m",
                                              "open_il_12m",
                                              "open_il_24m",
                                              "total_bal_il",
                                              "all_util",
                                              "inq_fi",
                                              "inq_last_12m",
                                              "delinq_amnt",
                                              "num_il_tl",
                                              "total_il_high_credit_limit"};
const std::vector<std::string> categorical_inputs = {"term", "sub_grade", "addr_state",
                                                     "verification_status"};
// Heavy-tailed amounts: the logistic model sees log1p of them.
const std::vector<std::string> log_columns = {
    "funded_amnt",   "annual_inc", "total_bal_il", "delinq_amnt", "total_il_high_credit_limit",
    "loan_to_income"};

/// A features::batch over a slice of `loans` (it views the slice's storage, which must outlive it).
struct batch_view {
  ff::schema schema;
  std::vector<std::vector<std::string_view>> text;
  std::unique_ptr<ff::batch> batch;

  explicit batch_view(const loans& d) {
    std::vector<ff::column_spec> cols;
    for (const auto& n : d.numeric_names) cols.push_back({n, ff::column_type::numeric, {}});
    for (const auto& n : d.categorical_names) cols.push_back({n, ff::column_type::string, {}});
    schema = ff::schema(std::move(cols));
    batch = std::make_unique<ff::batch>(schema);
    for (std::size_t c = 0; c < d.numeric.size(); ++c) batch->set(c, d.numeric[c]);
    text.resize(d.categorical.size());
    for (std::size_t c = 0; c < d.categorical.size(); ++c) {
      for (const auto& s : d.categorical[c]) text[c].emplace_back(s);
      batch->set(d.numeric.size() + c, text[c]);
    }
  }
  batch_view(const batch_view&) = delete;
  batch_view& operator=(const batch_view&) = delete;
};

bool has_missing(const std::vector<float>& v) {
  return std::any_of(v.begin(), v.end(), [](float x) { return std::isnan(x); });
}

/// Logistic regression needs every value present, on comparable scales, categories one-hot.
ff::any_pipeline logistic_features(const loans& train, const ff::schema& s) {
  std::vector<ff::any_component> comps;
  for (std::size_t c = 0; c < train.numeric_names.size(); ++c) {
    const auto& name = train.numeric_names[c];
    ff::imputer median;
    median.strategy = ff::impute_strategy::median;
    std::vector<ff::numeric_step> steps{median};
    if (std::find(log_columns.begin(), log_columns.end(), name) != log_columns.end())
      steps.emplace_back(ff::log_transform{});
    steps.emplace_back(ff::standard_scaler{});
    comps.emplace_back(
        ff::numeric_column(name, steps, {.missing_indicator = has_missing(train.numeric[c])}));
  }
  for (const auto& name : train.categorical_names) {
    // Rare states share "<other>": a one-hot column per 20 loans would only fit noise.
    comps.emplace_back(ff::one_hot(name, {.handle_unknown = ff::unknown_policy::other,
                                          .min_frequency = name == "addr_state" ? 30U : 1U}));
  }
  return ff::any_pipeline(s, std::move(comps));
}

/// Trees split raw values and route missing values themselves; categories become one number
/// each, so a SHAP explanation names the input, not one of its indicator columns.
ff::any_pipeline gbdt_features(const loans& train, const ff::schema& s) {
  std::vector<ff::any_component> comps;
  for (const auto& name : train.numeric_names)
    comps.emplace_back(ff::numeric_column(name, std::vector<ff::numeric_step>{}));
  for (const auto& name : train.categorical_names) {
    if (name == "addr_state") {
      comps.emplace_back(ff::target_encoder(name, {.smoothing = 50.0}));
    } else {
      // sub_grade A1 < A2 < ... < G5 sorts in risk order; term and verification have 2-3 levels.
      comps.emplace_back(ff::ordinal_encoder(
          name, {.handle_unknown = ff::unknown_policy::ignore, .unknown_value = -1.0F}));
    }
  }
  return ff::any_pipeline(s, std::move(comps));
}

std::vector<double> to_double(std::span<const float> v) {
  return {v.begin(), v.end()};
}

/// Undoes the class weighting: a model trained with positives weighted w estimates odds w times
/// too high, so p = q / (q + (1 - q) w).
double prior_correct(double q, double w) {
  return q / (q + (1.0 - q) * w);
}

double policy_cost(std::span<const float> y, std::span<const float> p, double threshold,
                   const costs& c, double* review_share = nullptr, double* recall = nullptr) {
  double cost = 0, flagged = 0, caught = 0, bads = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const bool flag = p[i] >= threshold;
    bads += y[i];
    if (flag) {
      cost += c.review;
      flagged += 1;
      caught += y[i];
    } else if (y[i] == 1.0F) {
      cost += c.missed_bad;
    }
  }
  if (review_share) *review_share = flagged / static_cast<double>(y.size());
  if (recall) *recall = bads > 0 ? caught / bads : 0.0;
  return cost;
}

void require_both_classes(std::span<const float> y, std::string_view what) {
  const auto pos = std::count(y.begin(), y.end(), 1.0F);
  if (pos == 0 || pos == static_cast<std::ptrdiff_t>(y.size())) {
    funnel::raise<funnel::invalid_argument>(
        "app.run", "the {} slice has {} rows and {} bad loans: both classes are needed", what,
        y.size(), pos);
  }
}

application application_of(const loans& d, std::size_t i, double probability) {
  application a;
  a.funded_amnt = d.column("funded_amnt")[i];
  a.annual_inc = d.column("annual_inc")[i];
  a.loan_to_income = d.column("loan_to_income")[i];
  a.inq_last_6mths = d.column("inq_last_6mths")[i];
  a.acc_now_delinq = d.column("acc_now_delinq")[i];
  const auto v =
      std::find(d.categorical_names.begin(), d.categorical_names.end(), "verification_status") -
      d.categorical_names.begin();
  a.verification_status = d.categorical[static_cast<std::size_t>(v)][i];
  a.probability = probability;
  return a;
}

}  // namespace

loans loans::slice(std::size_t begin, std::size_t end) const {
  if (begin > end || end > rows()) {
    funnel::raise<funnel::invalid_argument>("app.loans", "slice [{}, {}) of {} rows", begin, end,
                                            rows());
  }
  loans out;
  out.numeric_names = numeric_names;
  out.categorical_names = categorical_names;
  const auto b = static_cast<std::ptrdiff_t>(begin), e = static_cast<std::ptrdiff_t>(end);
  for (const auto& c : numeric) out.numeric.emplace_back(c.begin() + b, c.begin() + e);
  for (const auto& c : categorical) out.categorical.emplace_back(c.begin() + b, c.begin() + e);
  out.bad.assign(bad.begin() + b, bad.begin() + e);
  return out;
}

const std::vector<float>& loans::column(std::string_view name) const {
  for (std::size_t c = 0; c < numeric_names.size(); ++c)
    if (numeric_names[c] == name) return numeric[c];
  funnel::raise<funnel::not_found>("app.loans", "no numeric column '{}'", name);
}

loans load_lending_club(const std::filesystem::path& path) {
  const auto t = funnel::read_csv(path);
  loans d;
  for (const auto& name : raw_numeric) {
    const auto v = t.numeric(name);
    std::vector<float> col(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      // An income of 0 is "not stated" here: no applicant borrows with no income.
      col[i] = name == "annual_inc" && v[i] <= 0.0 ? nan_f : static_cast<float>(v[i]);
    }
    d.numeric_names.push_back(name);
    d.numeric.push_back(std::move(col));
  }
  const auto emp = t.strings("emp_length");
  std::vector<float> years(emp.size());
  for (std::size_t i = 0; i < emp.size(); ++i) {
    const auto& e = emp[i];
    if (e == "emp_lt_1") {
      years[i] = 0.0F;
    } else if (e == "emp_ge_10") {
      years[i] = 10.0F;
    } else if (e.rfind("emp_", 0) == 0 && e.size() > 4 && e.substr(4) != "unk") {
      years[i] = std::stof(e.substr(4));
    } else {
      years[i] = nan_f;  // emp_unk: not stated
    }
  }
  d.numeric_names.emplace_back("emp_years");
  d.numeric.push_back(std::move(years));
  const auto& amount = d.column("funded_amnt");
  const auto& income = d.column("annual_inc");
  std::vector<float> lti(amount.size());
  for (std::size_t i = 0; i < lti.size(); ++i) lti[i] = amount[i] / income[i];  // NaN stays NaN
  d.numeric_names.emplace_back("loan_to_income");
  d.numeric.push_back(std::move(lti));
  for (const auto& name : categorical_inputs) {
    d.categorical_names.push_back(name);
    d.categorical.push_back(t.strings(name));
  }
  const auto cls = t.strings("Class");
  d.bad.resize(cls.size());
  for (std::size_t i = 0; i < cls.size(); ++i) {
    if (cls[i] != "good" && cls[i] != "bad") {
      funnel::raise<funnel::invalid_argument>("app.load_lending_club",
                                              "{}:{}: Class is '{}', expected good or bad",
                                              path.string(), t.line_of(i), cls[i]);
    }
    d.bad[i] = cls[i] == "bad" ? 1.0F : 0.0F;
  }
  return d;
}

std::string_view to_string(action a) noexcept {
  switch (a) {
    case action::approve:
      return "approve";
    case action::review:
      return "review";
    case action::decline:
      return "decline";
  }
  return "?";
}

std::vector<rule> default_rules(double review_threshold, double decline_probability) {
  std::vector<rule> r;
  r.push_back({"score >= review threshold", action::review,
               [=](const application& a) { return a.probability >= review_threshold; },
               [=](const application& a) {
                 return fmt::format("default probability {:.3f} >= review threshold {:.3f}",
                                    a.probability, review_threshold);
               }});
  r.push_back({"score >= auto-decline", action::decline,
               [=](const application& a) { return a.probability >= decline_probability; },
               [=](const application& a) {
                 return fmt::format("default probability {:.3f} >= auto-decline {:.2f}",
                                    a.probability, decline_probability);
               }});
  r.push_back({"income not stated", action::decline,
               [](const application& a) { return std::isnan(a.annual_inc); },
               [](const application&) { return std::string("annual income not stated"); }});
  r.push_back({"loan > 50% of income", action::decline,
               [](const application& a) { return a.loan_to_income > 0.5F; },
               [](const application& a) {
                 return fmt::format("loan is {:.0f}% of annual income (limit 50%)",
                                    100.0F * a.loan_to_income);
               }});
  r.push_back({"unverified income, loan >= $30k", action::review,
               [](const application& a) {
                 return a.verification_status == "Not_Verified" && a.funded_amnt >= 30000.0F;
               },
               [](const application& a) {
                 return fmt::format("income not verified on a ${:.0f} loan", a.funded_amnt);
               }});
  r.push_back({">= 3 credit inquiries in 6 months", action::review,
               [](const application& a) { return a.inq_last_6mths >= 3.0F; },
               [](const application& a) {
                 return fmt::format("{:.0f} credit inquiries in the last 6 months",
                                    a.inq_last_6mths);
               }});
  r.push_back({"account delinquent now", action::review,
               [](const application& a) { return a.acc_now_delinq > 0.0F; },
               [](const application& a) {
                 return fmt::format("{:.0f} account(s) delinquent now", a.acc_now_delinq);
               }});
  return r;
}

decision decide(const application& a, const std::vector<rule>& rules) {
  decision d;
  for (const auto& r : rules) {
    if (!r.applies(a)) continue;
    d.reasons.push_back(r.reason(a));
    if (static_cast<int>(r.outcome) > static_cast<int>(d.outcome)) d.outcome = r.outcome;
  }
  return d;
}

std::vector<drift_line> drift_check(const loans& reference, std::span<const float> reference_scores,
                                    const loans& live, std::span<const float> live_scores) {
  if (reference.rows() == 0 || live.rows() == 0 || reference.numeric_names != live.numeric_names ||
      reference.categorical_names != live.categorical_names ||
      reference_scores.size() != reference.rows() || live_scores.size() != live.rows()) {
    funnel::raise<funnel::invalid_argument>(
        "app.drift_check",
        "need non-empty slices with the same columns and one score per row (reference {} rows, "
        "{} scores; live {} rows, {} scores)",
        reference.rows(), reference_scores.size(), live.rows(), live_scores.size());
  }
  funnel::drift::reference_profile profile;
  for (std::size_t c = 0; c < reference.numeric.size(); ++c)
    profile.add_numeric(reference.numeric_names[c], to_double(reference.numeric[c]));
  // Category codes come from the reference; a category first seen live gets a code of its own,
  // which the profile counts in its "other" bin.
  std::vector<std::map<std::string, double>> codes(reference.categorical.size());
  const auto code_of = [&](std::size_t c, const std::string& v) {
    const auto [it, _] = codes[c].emplace(v, static_cast<double>(codes[c].size()));
    return it->second;
  };
  for (std::size_t c = 0; c < reference.categorical.size(); ++c) {
    std::vector<double> col;
    for (const auto& v : reference.categorical[c]) col.push_back(code_of(c, v));
    profile.add_categorical(reference.categorical_names[c], col);
  }
  profile.add_numeric("model score", to_double(reference_scores));
  auto ref = std::make_shared<const funnel::drift::reference_profile>(std::move(profile));
  funnel::drift::window_options w;
  w.kind = funnel::drift::window_options::kind_t::unbounded;
  w.reservoir = live.rows();  // exact KS on the whole slice
  funnel::drift::live_profile lp(ref, w);
  std::vector<double> row(ref->size());
  for (std::size_t i = 0; i < live.rows(); ++i) {
    std::size_t k = 0;
    for (const auto& c : live.numeric) row[k++] = c[i];
    for (std::size_t c = 0; c < live.categorical.size(); ++c)
      row[k++] = code_of(c, live.categorical[c][i]);
    row[k] = live_scores[i];
    (void)lp.observe(std::span<const double>(row));
  }
  funnel::drift::monitor_options mo;
  mo.min_live_count = 30;
  const auto rep = funnel::drift::evaluate(*ref, lp.window(), lp.window_rows(), mo);
  std::vector<drift_line> out;
  for (const auto& f : rep.features) {
    out.push_back({f.name, f.kind == funnel::drift::feature_kind::categorical, f.psi, f.test,
                   f.statistic, f.pvalue, std::string(funnel::drift::to_string(f.verdict))});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const drift_line& a, const drift_line& b) { return a.psi > b.psi; });
  return out;
}

report run(const loans& data, const options& opt) {
  funnel::stopwatch total;
  const auto say = [&](const std::string& line) {
    if (opt.progress) opt.progress(fmt::format("[{:5.1f} s] {}", total.elapsed_us() * 1e-6, line));
  };
  report r;
  r.cost = opt.cost;
  const std::size_t n = data.rows();
  const auto n_train = static_cast<std::size_t>(opt.train_fraction * static_cast<double>(n));
  const auto n_valid = static_cast<std::size_t>(opt.valid_fraction * static_cast<double>(n));
  if (n_train < 100 || n_valid < 50 || n_train + n_valid + 50 > n) {
    funnel::raise<funnel::invalid_argument>(
        "app.run", "{} rows split {} / {} / rest leave a slice too small (need >= 100 / 50 / 50)",
        n, n_train, n_valid);
  }
  const auto train = data.slice(0, n_train);
  const auto valid = data.slice(n_train, n_train + n_valid);
  const auto test = data.slice(n_train + n_valid, n);
  require_both_classes(train.bad, "training");
  require_both_classes(valid.bad, "validation");
  require_both_classes(test.bad, "later (test)");
  r.train_rows = train.rows();
  r.valid_rows = valid.rows();
  r.test_rows = test.rows();
  const auto rate = [](const std::vector<float>& y) {
    return std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(y.size());
  };
  r.train_bad_rate = rate(train.bad);
  r.test_bad_rate = rate(test.bad);
  say(fmt::format("row-order split: {} training / {} validation / {} later rows", train.rows(),
                  valid.rows(), test.rows()));

  const batch_view btrain(train), bvalid(valid), btest(test);
  // Features: fitted on the training rows only.
  auto lp = logistic_features(train, btrain.schema);
  lp.fit(*btrain.batch);
  const auto lx_train = lp.transform(*btrain.batch);
  const auto lx_valid = lp.transform(*bvalid.batch);
  const auto lx_test = lp.transform(*btest.batch);
  r.logistic_inputs = lp.width();
  auto gp = gbdt_features(train, btrain.schema);
  const auto folds = ff::make_folds(train.rows(), 5, opt.seed);
  // Out of fold: a training row's addr_state encoding never includes its own outcome.
  const auto gx_train = gp.fit_transform(*btrain.batch, train.bad, folds);
  const auto gx_valid = gp.transform(*bvalid.batch);
  const auto gx_test = gp.transform(*btest.batch);
  r.gbdt_inputs = gp.width();

  // Class imbalance: bad loans weigh n_good / n_bad, in both models.
  const double pos = std::accumulate(train.bad.begin(), train.bad.end(), 0.0);
  const double w = (static_cast<double>(train.rows()) - pos) / pos;
  r.positive_weight = w;
  say(fmt::format("logistic regression on {} one-hot/scaled inputs (balanced class weights)",
                  lp.width()));
  fs::logistic_options lo;
  lo.C = 0.1;
  lo.balanced = true;
  const auto logistic = fs::fit_logistic(lx_train.view(), train.bad, lo).model;

  fs::gbdt_options go;
  go.objective = fs::gbdt_objective::binary_logistic;
  go.rounds = opt.gbdt_rounds;
  go.learning_rate = opt.gbdt_learning_rate;
  go.max_depth = opt.gbdt_depth;
  go.min_child_weight = 5.0;
  go.subsample = 0.8;
  go.colsample_bytree = 0.8;
  go.lambda = 5.0;
  go.seed = opt.seed;
  go.early_stopping_rounds = opt.early_stopping_rounds;
  std::vector<float> weights(train.rows());
  for (std::size_t i = 0; i < weights.size(); ++i)
    weights[i] = train.bad[i] == 1.0F ? static_cast<float>(w) : 1.0F;
  fs::gbdt_data dtrain{gx_train.view(), train.bad, weights, {}};
  fs::gbdt_data dvalid{gx_valid.view(), valid.bad, {}, {}};
  const auto auc_metric = fs::eval_metric::auc();
  say(
      fmt::format("GBDT on {} inputs: up to {} rounds, depth {}, bad loans weighted x{:.1f}, "
                  "early stopping on validation AUC",
                  gp.width(), go.rounds, go.max_depth, w));
  // The model keeps the names of the columns it is trained on, in order (saved with it, and
  // exported to XGBoost JSON): what every row it scores must hold.
  go.feature_names = gp.output_names();
  const auto trained = fs::fit_gbdt(dtrain, go, &dvalid, &auc_metric);
  const fs::tree_ensemble& gbdt = trained.model;
  // Bind the serving features to the model by name and position (a reordered or renamed column
  // is an error naming it, a different width a dimension_mismatch), before any row is scored.
  if (!funnel::check_feature_binding(gp.output_names(), gbdt.feature_names(), gbdt.num_features(),
                                     "fraud_detection.gbdt")) {
    throw std::logic_error("fraud_detection: the GBDT lost its feature names");
  }
  r.gbdt_trees = gbdt.num_trees();
  say(fmt::format("GBDT kept {} trees", r.gbdt_trees));

  const auto probabilities = [&](const auto& model, const funnel::matrix& x) {
    std::vector<float> p(x.rows());
    for (std::size_t i = 0; i < x.rows(); ++i) {
      const double q = model.predict(x.row(i));  // probability for both models
      p[i] = static_cast<float>(prior_correct(q, w));
    }
    return p;
  };
  const auto pl_valid = probabilities(logistic, lx_valid);
  const auto pl_test = probabilities(logistic, lx_test);
  const auto pg_train = probabilities(gbdt, gx_train);
  const auto pg_valid = probabilities(gbdt, gx_valid);
  const auto pg_test = probabilities(gbdt, gx_test);
  const auto quality = [&](std::string name, const std::vector<float>& pv,
                           const std::vector<float>& pt) {
    return model_quality{std::move(name),
                         fm::roc_auc(valid.bad, pv),
                         fm::average_precision(valid.bad, pv),
                         fm::roc_auc(test.bad, pt),
                         fm::average_precision(test.bad, pt),
                         fm::brier_score(test.bad, pt)};
  };
  r.models.push_back(quality("logistic regression", pl_valid, pl_test));
  r.models.push_back(quality("GBDT", pg_valid, pg_test));

  // Threshold: reviewing costs `review` per case and catches the bad loan; a bad loan not
  // reviewed costs `missed_bad`. Cost = review x flagged + missed x missed bads
  //                                   = review x fp + (missed - review) x fn + review x bads.
  const auto& c = opt.cost;
  const auto choice = fm::best_threshold(valid.bad, pg_valid, c.review, c.missed_bad - c.review);
  r.threshold = choice.threshold;
  r.valid_cost_at_threshold = policy_cost(valid.bad, pg_valid, r.threshold, c);
  r.test_cost_threshold =
      policy_cost(test.bad, pg_test, r.threshold, c, &r.test_review_share, &r.test_recall);
  r.test_cost_flag_all = policy_cost(test.bad, pg_test, -1.0, c);
  r.test_cost_flag_none = policy_cost(test.bad, pg_test, 2.0, c);
  for (const double f : {0.25, 0.5, 0.7, 0.85, 1.0, 1.2, 1.5, 2.0, 3.0}) {
    cost_point pt;
    pt.threshold = r.threshold * f;
    pt.cost = policy_cost(test.bad, pg_test, pt.threshold, c, &pt.review_share, &pt.recall);
    r.curve.push_back(pt);
  }
  say(fmt::format("review threshold {:.4f} (validation cost ${:.0f})", r.threshold,
                  r.valid_cost_at_threshold));

  // Rules on the later slice.
  const auto rules = default_rules(r.threshold, opt.auto_decline_probability);
  std::vector<std::size_t> hits(rules.size(), 0);
  std::vector<decision> decisions;
  double bad_in[3] = {0, 0, 0};
  std::size_t count_in[3] = {0, 0, 0};
  for (std::size_t i = 0; i < test.rows(); ++i) {
    const auto a = application_of(test, i, pg_test[i]);
    for (std::size_t k = 0; k < rules.size(); ++k) hits[k] += rules[k].applies(a) ? 1 : 0;
    auto d = decide(a, rules);
    const auto slot = static_cast<std::size_t>(d.outcome);
    count_in[slot] += 1;
    bad_in[slot] += test.bad[i];
    switch (d.outcome) {
      case action::approve:
        r.test_cost_with_rules += test.bad[i] == 1.0F ? c.missed_bad : 0.0;
        break;
      case action::review:
        r.test_cost_with_rules += c.review;
        break;
      case action::decline:
        r.test_cost_with_rules += test.bad[i] == 1.0F ? 0.0 : c.declined_good;
        break;
    }
    decisions.push_back(std::move(d));
  }
  for (std::size_t k = 0; k < rules.size(); ++k) r.rule_hits.emplace_back(rules[k].name, hits[k]);
  r.approved = count_in[0];
  r.reviewed = count_in[1];
  r.declined = count_in[2];
  const auto share = [](double b, std::size_t k) { return k ? b / static_cast<double>(k) : 0.0; };
  r.bad_rate_approved = share(bad_in[0], count_in[0]);
  r.bad_rate_reviewed = share(bad_in[1], count_in[1]);
  r.bad_rate_declined = share(bad_in[2], count_in[2]);

  // Review queue: the expected loss of approving unseen decides who is looked at first.
  std::vector<queue_entry> queue;
  const auto& amount = test.column("funded_amnt");
  for (std::size_t i = 0; i < test.rows(); ++i) {
    if (decisions[i].outcome != action::review) continue;
    queue_entry e;
    e.row = i;
    e.probability = pg_test[i];
    e.funded_amnt = amount[i];
    e.expected_loss = pg_test[i] * c.loss_given_default * static_cast<double>(amount[i]);
    e.went_bad = test.bad[i] == 1.0F;
    e.reasons = decisions[i].reasons;
    queue.push_back(std::move(e));
  }
  std::stable_sort(queue.begin(), queue.end(), [](const queue_entry& a, const queue_entry& b) {
    return a.expected_loss > b.expected_loss;
  });
  if (queue.size() > opt.queue_size) queue.resize(opt.queue_size);
  const fs::tree_explainer shap(gbdt);
  const std::size_t width = gbdt.num_features();
  std::vector<double> phi(shap.output_size());
  for (auto& e : queue) {
    const auto x = gx_test.row(e.row);
    shap.contributions(x, std::span<double>(phi));
    e.margin = gbdt.score(x);
    e.shap_sum = std::accumulate(phi.begin(), phi.end(), 0.0);
    std::vector<std::size_t> order(width);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::abs(phi[a]) > std::abs(phi[b]);
    });
    for (std::size_t k = 0; k < std::min(opt.shap_top, width); ++k) {
      const auto j = order[k];
      std::string shown;
      if (j < test.numeric.size()) {
        shown = fmt::format("{} = {:g}", test.numeric_names[j], test.numeric[j][e.row]);
      } else {
        const auto cat = j - test.numeric.size();
        shown = fmt::format("{} = {}", test.categorical_names[cat], test.categorical[cat][e.row]);
      }
      e.top_features.emplace_back(std::move(shown), phi[j]);
    }
  }
  r.queue = std::move(queue);

  say("drift check: later slice against the training rows");
  r.drift = drift_check(train, pg_train, test, pg_test);
  r.seconds = total.elapsed_us() * 1e-6;
  say("done");
  return r;
}

std::string format_report(const report& r) {
  std::string s;
  s += fmt::format(
      "lending_club: {} training / {} validation / {} later rows (row order); bad-loan rate "
      "{:.2f}% "
      "in training, {:.2f}% later ({:.1f} s end to end)\n",
      r.train_rows, r.valid_rows, r.test_rows, 100 * r.train_bad_rate, 100 * r.test_bad_rate,
      r.seconds);
  s += fmt::format(
      "features: {} logistic inputs (median imputation + indicators, log, scaling, one-hot), {} "
      "GBDT inputs (raw, ordinal, out-of-fold target encoding); bad loans weighted x{:.1f}; "
      "GBDT kept {} trees\n",
      r.logistic_inputs, r.gbdt_inputs, r.positive_weight, r.gbdt_trees);
  s += "\n== models ==\n";
  s += fmt::format("{:<22} {:>10} {:>12} {:>10} {:>12} {:>12}\n", "model", "valid AUC",
                   "valid PR-AUC", "later AUC", "later PR-AUC", "later Brier");
  for (const auto& m : r.models) {
    s += fmt::format("{:<22} {:>10.4f} {:>12.4f} {:>10.4f} {:>12.4f} {:>12.4f}\n", m.model,
                     m.valid_auc, m.valid_pr_auc, m.test_auc, m.test_pr_auc, m.test_brier);
  }
  s += fmt::format("(PR-AUC of a random score = the bad-loan rate, {:.4f})\n", r.test_bad_rate);
  const auto& c = r.cost;
  s += fmt::format(
      "\n== review threshold (GBDT) ==\ncosts: a missed bad loan ${:.0f}, a manual review ${:.0f} "
      "(a review catches the case)\nthreshold chosen on validation: probability >= {:.4f} "
      "(validation cost ${:.0f})\n",
      c.missed_bad, c.review, r.threshold, r.valid_cost_at_threshold);
  s += fmt::format("cost curve on the later slice ({} applications):\n", r.test_rows);
  s += fmt::format("  {:>10} {:>12} {:>14} {:>12} {:>14}\n", "threshold", "review load",
                   "bads reviewed", "cost", "per 1000 apps");
  for (const auto& p : r.curve) {
    const bool chosen = std::abs(p.threshold - r.threshold) < 1e-12;
    s += fmt::format("  {:>10.4f} {:>11.1f}% {:>13.1f}% {:>12.0f} {:>14.0f}{}\n", p.threshold,
                     100 * p.review_share, 100 * p.recall, p.cost,
                     1000 * p.cost / static_cast<double>(r.test_rows), chosen ? "  <- chosen" : "");
  }
  s += fmt::format(
      "chosen: review {:.1f}% of applications, catching {:.1f}% of bad loans, cost ${:.0f}; "
      "review everything ${:.0f}; review nothing ${:.0f}\n",
      100 * r.test_review_share, 100 * r.test_recall, r.test_cost_threshold, r.test_cost_flag_all,
      r.test_cost_flag_none);
  s += "\n== rules engine on the later slice ==\n";
  for (const auto& [name, k] : r.rule_hits)
    s += fmt::format("  {:<36} {:>6} applications\n", name, k);
  s += fmt::format(
      "decisions: {} approve (bad rate {:.2f}%), {} review (bad rate {:.2f}%), {} decline (bad "
      "rate {:.2f}%)\n",
      r.approved, 100 * r.bad_rate_approved, r.reviewed, 100 * r.bad_rate_reviewed, r.declined,
      100 * r.bad_rate_declined);
  s += fmt::format(
      "cost with rules ${:.0f} (a declined good applicant costs ${:.0f}) vs ${:.0f} with the "
      "threshold alone\n",
      r.test_cost_with_rules, c.declined_good, r.test_cost_threshold);
  s += fmt::format(
      "\n== review queue: top {} by expected loss (probability x {:.0f}% x amount) ==\n",
      r.queue.size(), 100 * c.loss_given_default);
  for (std::size_t k = 0; k < r.queue.size(); ++k) {
    const auto& e = r.queue[k];
    s += fmt::format(
        "{:>2}. row {:>4}  ${:>6.0f}  p = {:.3f}  expected loss ${:>5.0f}  outcome: {}\n", k + 1,
        e.row, e.funded_amnt, e.probability, e.expected_loss, e.went_bad ? "went bad" : "good");
    for (const auto& why : e.reasons) s += fmt::format("      rule: {}\n", why);
    std::string top;
    for (const auto& [name, v] : e.top_features)
      top += fmt::format("{}{} ({:+.2f})", top.empty() ? "" : ", ", name, v);
    s += fmt::format("      SHAP (log-odds): {}; sum {:+.3f} = margin {:+.3f}\n", top, e.shap_sum,
                     e.margin);
  }
  s += "\n== drift: later slice vs training (PSI; KS for numbers, chi-square for categories) ==\n";
  s += fmt::format("  {:<28} {:>8} {:>6} {:>10} {:>10}  {}\n", "feature", "PSI", "test",
                   "statistic", "p-value", "verdict");
  for (const auto& d : r.drift) {
    s += fmt::format("  {:<28} {:>8.4f} {:>6} {:>10.4f} {:>10.3g}  {}\n", d.feature, d.psi, d.test,
                     d.statistic, d.pvalue, d.verdict);
  }
  return s;
}

}  // namespace fraud
