// funnel.drift: two-sample statistics equal to scipy's (KS, chi-square, Jensen-Shannon,
// Wasserstein), PSI, reference profiles and two-batch drift reports (JSON, HTML, Prometheus);
// funnel.metrics: classification, regression and ranking metrics.
#include <funnel/drift/ks.hpp>
#include <funnel/drift/monitor.hpp>
#include <funnel/drift/profile.hpp>
#include <funnel/drift/stats.hpp>
#include <funnel/metrics/classification.hpp>
#include <funnel/metrics/ranking.hpp>
#include <funnel/metrics/regression.hpp>

#include <pybind11/stl.h>
#include <string>
#include <vector>

#include "bindings.hpp"

namespace funnel::python {

namespace {

namespace fd = drift;
constexpr std::string_view where_ks = "drift.ks_2samp";
constexpr std::string_view where_report = "drift.drift_report";

fd::ks_result ks_2samp(const double_array& a, const double_array& b, const std::string& alternative,
                       const std::string& method, const std::string& nan_policy) {
  fd::ks_options o;
  o.alternative = pick<fd::alternative>(alternative, where_ks, "alternative");
  o.method = pick<fd::ks_method>(method, where_ks, "method");
  o.nan_policy = pick<fd::nan_policy>(nan_policy, where_ks, "nan_policy");
  const auto x = as_span(a, where_ks);
  const auto y = as_span(b, where_ks);
  py::gil_scoped_release nogil;
  return fd::ks_2samp(x, y, o);
}

std::vector<fd::feature_spec> feature_specs(const py::iterable& features) {
  std::vector<fd::feature_spec> specs;
  for (const auto& f : features) {
    fd::feature_spec s;
    if (py::isinstance<py::str>(f)) {
      s.name = f.cast<std::string>();
    } else {
      const auto t = py::reinterpret_borrow<py::sequence>(f);
      s.name = t[0].cast<std::string>();
      s.kind = pick<fd::feature_kind>(t[1].cast<std::string>(), where_report, "kind");
    }
    specs.push_back(std::move(s));
  }
  return specs;
}

fd::monitor_options report_options_of(py::dict kw) {
  fd::monitor_options o;
  take(kw, "psi_epsilon", o.psi_epsilon);
  take(kw, "psi_warning", o.psi_warning);
  take(kw, "psi_drift", o.psi_drift);
  take(kw, "alpha", o.alpha);
  take(kw, "test_can_raise_drift", o.test_can_raise_drift);
  take(kw, "min_live_count", o.min_live_count);
  check_no_options_left(kw, where_report);
  return o;
}

fd::drift_report compare_batches(const float_array& reference, const float_array& current,
                                 const py::iterable& features, std::size_t bins,
                                 const py::kwargs& kw) {
  fd::compare_options o;
  o.profile.bins = bins;
  o.report = report_options_of(py::dict(kw));
  const auto specs = feature_specs(features);
  const auto r = as_matrix(reference, where_report);
  const auto c = as_matrix(current, where_report);
  py::gil_scoped_release nogil;
  return fd::compare(r, c, specs, o);
}

void bind_tests(py::module_& m) {
  py::class_<fd::ks_result>(m, "KsResult", "Result of ks_2samp (scipy's KstestResult).")
      .def_readonly("statistic", &fd::ks_result::statistic, "D.")
      .def_readonly("pvalue", &fd::ks_result::pvalue, "The p-value.")
      .def_readonly("location", &fd::ks_result::location, "Where the ECDF difference is attained.")
      .def_readonly("sign", &fd::ks_result::sign, "+1 when F1 - F2 attains D, else -1.")
      .def_property_readonly(
          "method",
          [](const fd::ks_result& r) {
            return r.method_used == fd::ks_method::exact ? "exact" : "asymp";
          },
          "The p-value method that ran: 'exact' or 'asymp'.")
      .def("__repr__", [](const fd::ks_result& r) {
        return fmt::format("KsResult(statistic={}, pvalue={})", r.statistic, r.pvalue);
      });
  m.def("ks_2samp", &ks_2samp, py::arg("a"), py::arg("b"), py::arg("alternative") = "two-sided",
        py::arg("method") = "auto", py::arg("nan_policy") = "raise",
        "Two-sample Kolmogorov-Smirnov test equal to scipy.stats.ks_2samp 1.10 (alternative "
        "'two-sided', 'less', 'greater'; method 'auto', 'exact', 'asymp'; nan_policy 'raise' or "
        "'omit'). Returns a KsResult.");
  py::class_<fd::chi2_result>(m, "Chi2Result", "A chi-square test's statistic, p-value and dof.")
      .def_readonly("statistic", &fd::chi2_result::statistic, "Pearson's chi-square.")
      .def_readonly("pvalue", &fd::chi2_result::pvalue, "chi2.sf(statistic, dof).")
      .def_readonly("dof", &fd::chi2_result::dof, "Degrees of freedom.");
  m.def("chi2_contingency", &fd::chi2_contingency, py::arg("table"), py::arg("correction") = true,
        "scipy.stats.chi2_contingency of an r x c table of counts (list of rows).");
  m.def(
      "chi2_two_sample",
      [](const double_array& r, const double_array& l, bool correction) {
        return fd::chi2_two_sample(as_span(r, "drift.chi2"), as_span(l, "drift.chi2"), correction);
      },
      py::arg("reference_counts"), py::arg("live_counts"), py::arg("correction") = true,
      "chi2_contingency([reference_counts, live_counts]).");
  m.def(
      "chisquare",
      [](const double_array& o, const double_array& e) {
        return fd::chisquare(as_span(o, "drift.chi2"), as_span(e, "drift.chi2"));
      },
      py::arg("observed"), py::arg("expected"), "scipy.stats.chisquare(observed, expected).");
}

void bind_statistics(py::module_& m) {
  m.def(
      "psi",
      [](const double_array& r, const double_array& l, double epsilon) {
        return fd::psi(as_span(r, "drift.psi"), as_span(l, "drift.psi"), epsilon);
      },
      py::arg("reference_counts"), py::arg("live_counts"), py::arg("epsilon") = 1e-4,
      "Population stability index of two histograms (docs/drift.md, 'PSI, pinned').");
  m.def(
      "psi_samples",
      [](const double_array& r, const double_array& l, std::size_t bins, double epsilon) {
        fd::psi_options o;
        o.bins = bins;
        o.epsilon = epsilon;
        return fd::psi_samples(as_span(r, "drift.psi"), as_span(l, "drift.psi"), o);
      },
      py::arg("reference"), py::arg("live"), py::arg("bins") = 10, py::arg("epsilon") = 1e-4,
      "PSI of two samples over the reference's quantile bins (NaN dropped).");
  m.def(
      "psi_verdict",
      [](double value, double moderate, double significant) {
        fd::psi_options o;
        o.moderate = moderate;
        o.significant = significant;
        return std::string(to_string(fd::psi_verdict(value, o)));
      },
      py::arg("value"), py::arg("moderate") = 0.1, py::arg("significant") = 0.25,
      "'stable', 'warning' (>= moderate) or 'drift' (>= significant).");
  m.def(
      "quantile_edges",
      [](const double_array& r, std::size_t bins) {
        return fd::quantile_edges(as_span(r, "drift.psi"), bins);
      },
      py::arg("reference"), py::arg("bins") = 10,
      "Interior bin edges at the reference's quantiles (numpy 'linear'), duplicates removed.");
  m.def(
      "histogram",
      [](const std::vector<double>& edges, const double_array& v) {
        return fd::histogram(edges, as_span(v, "drift.psi"));
      },
      py::arg("edges"), py::arg("values"), "Counts per bin of quantile_edges (NaN skipped).");
  m.def(
      "jensen_shannon",
      [](const double_array& p, const double_array& q, double base) {
        return fd::jensen_shannon(as_span(p, "drift.jensen_shannon"),
                                  as_span(q, "drift.jensen_shannon"), base);
      },
      py::arg("p"), py::arg("q"), py::arg("base") = 0.0,
      "scipy.spatial.distance.jensenshannon(p, q, base) (base <= 0: natural log).");
  m.def(
      "hellinger",
      [](const double_array& p, const double_array& q) {
        return fd::hellinger(as_span(p, "drift.hellinger"), as_span(q, "drift.hellinger"));
      },
      py::arg("p"), py::arg("q"), "Hellinger distance of two histograms, in [0, 1].");
  m.def(
      "wasserstein_1",
      [](const double_array& u, const double_array& v, const std::string& nan_policy) {
        return fd::wasserstein_1(
            as_span(u, "drift.wasserstein"), as_span(v, "drift.wasserstein"),
            pick<fd::nan_policy>(nan_policy, "drift.nan_policy", "nan_policy"));
      },
      py::arg("u"), py::arg("v"), py::arg("nan_policy") = "raise",
      "scipy.stats.wasserstein_distance(u, v).");
}

void bind_profiles(py::module_& m) {
  py::class_<fd::reference_profile>(m, "ReferenceProfile",
                                    "Reference distributions of monitored features (JSON value).")
      .def_property_readonly(
          "names",
          [](const fd::reference_profile& p) {
            std::vector<std::string> n;
            for (const auto& f : p.features()) n.push_back(f.name);
            return n;
          },
          "Feature names, in order.")
      .def("__len__", &fd::reference_profile::size, "Number of features.")
      .def(
          "to_json", [](const fd::reference_profile& p) { return from_json(p.to_json()); },
          "funnel's JSON document (a dict).")
      .def_static(
          "from_json",
          [](const py::handle& j) { return fd::reference_profile::from_json(to_json(j)); },
          py::arg("document"), "From funnel's JSON document. Raises ParseError.")
      .def(
          "save", [](const fd::reference_profile& p, const py::handle& f) { p.save(path_of(f)); },
          py::arg("path"), "Saves the JSON atomically (C++ reference_profile::load reads it).")
      .def_static(
          "load", [](const py::handle& f) { return fd::reference_profile::load(path_of(f)); },
          py::arg("path"), "Loads a profile saved by Python or C++. Raises IoError, ParseError.");
  m.def(
      "fit_reference_profile",
      [](const float_array& x, const py::iterable& features, std::size_t bins,
         std::size_t max_reference_sample, std::uint64_t seed) {
        fd::profile_options o;
        o.bins = bins;
        o.max_reference_sample = max_reference_sample;
        o.seed = seed;
        const auto specs = feature_specs(features);
        const auto rows = as_matrix(x, where_report);
        py::gil_scoped_release nogil;
        return fd::fit_reference_profile(rows, specs, o);
      },
      py::arg("X"), py::arg("features"), py::arg("bins") = 10,
      py::arg("max_reference_sample") = 10000, py::arg("seed") = std::uint64_t{20261123},
      "Profiles every column of X (rows x features; NaN = missing). features: names, or "
      "(name, 'numeric' | 'categorical') pairs.");
  py::class_<fd::drift_report>(
      m, "DriftReport", "Per-feature drift: PSI, KS or chi-square, JS, Wasserstein, verdict.")
      .def_readonly("window_rows", &fd::drift_report::window_rows, "Rows of the current batch.")
      .def_property_readonly("drifted", &fd::drift_report::drifted,
                             "Names of the features whose verdict is drift.")
      .def_property_readonly(
          "features",
          [](const fd::drift_report& r) { return from_json(r.to_json()).attr("get")("features"); },
          "One dict per feature (the JSON report's 'features').")
      .def(
          "to_json", [](const fd::drift_report& r) { return from_json(r.to_json()); },
          "The report as funnel's JSON document (a dict).")
      .def("to_html", &fd::drift_report::to_html, py::arg("title") = "funnel drift report",
           "A self-contained HTML page with a table and a histogram per feature.")
      .def("to_prometheus", &fd::drift_report::to_prometheus, py::arg("extra_labels") = "",
           "Prometheus text exposition (gauges funnel_drift_* per feature).");
  m.def("compare", &compare_batches, py::arg("reference"), py::arg("current"), py::arg("features"),
        py::arg("bins") = 10,
        "A two-batch drift report of `current` against `reference` (float rows x features, "
        "NaN = missing): each numeric feature's KS equals ks_2samp of the two columns. Options: "
        "psi_epsilon, psi_warning, psi_drift, alpha, test_can_raise_drift, min_live_count.");
  m.def(
      "compare_profile",
      [](const fd::reference_profile& ref, const float_array& current, const py::kwargs& kw) {
        const auto o = report_options_of(py::dict(kw));
        const auto c = as_matrix(current, where_report);
        py::gil_scoped_release nogil;
        return fd::compare(ref, c, o);
      },
      py::arg("reference"), py::arg("current"),
      "A drift report of `current` against a fitted ReferenceProfile (options as compare).");
}

}  // namespace

void bind_metrics(py::module_& m) {
  namespace fm = metrics;
  using fn = double (*)(fm::labels, fm::values, fm::weights);
  const auto add = [&m](const char* name, fn f, const char* doc) {
    m.def(
        name,
        [f](const float_array& y, const float_array& s, const py::object& w) {
          double_array wa;
          std::span<const double> ws;
          if (!w.is_none()) {
            wa = double_array(w);
            ws = as_span(wa, "metrics.classification");
          }
          return f(as_span(y, "metrics.classification"), as_span(s, "metrics.classification"), ws);
        },
        py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = py::none(), doc);
  };
  add("roc_auc", &fm::roc_auc, "ROC-AUC (sklearn roc_auc_score).");
  add("average_precision", &fm::average_precision, "Average precision (PR-AUC, sklearn's).");
  add("log_loss", &fm::log_loss, "Binary log loss of probabilities.");
  add("brier_score", &fm::brier_score, "Brier score of probabilities.");
  add("rmse", &fm::rmse, "Root mean squared error.");
  add("mae", &fm::mae, "Mean absolute error.");
  add("r2", &fm::r2, "Coefficient of determination.");
  m.def(
      "ndcg_at",
      [](const float_array& rel, const float_array& score, std::size_t k) {
        return fm::ndcg_at(as_span(rel, "metrics.ranking"), as_span(score, "metrics.ranking"), k);
      },
      py::arg("relevance"), py::arg("score"), py::arg("k") = 0,
      "NDCG@k of one query (k = 0: all documents).");
}

void bind_drift(py::module_& m) {
  bind_tests(m);
  bind_statistics(m);
  bind_profiles(m);
}

}  // namespace funnel::python
