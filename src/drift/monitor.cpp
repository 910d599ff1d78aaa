#include <funnel/core/contract.hpp>
#include <funnel/core/error.hpp>
#include <funnel/drift/ks.hpp>
#include <funnel/drift/monitor.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

namespace funnel::drift {
namespace {

std::vector<double> proportions(const std::vector<double>& counts) {
  const double s = std::accumulate(counts.begin(), counts.end(), 0.0);
  std::vector<double> out(counts.size(), 0.0);
  if (s > 0) {
    for (std::size_t k = 0; k < counts.size(); ++k) out[k] = counts[k] / s;
  }
  return out;
}

std::string prom_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string prom_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

double json_number(double v) {
  return v;
}

json number_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

}  // namespace

drift_report evaluate(const reference_profile& ref, const std::vector<live_feature>& window,
                      std::size_t rows, const monitor_options& opt) {
  if (window.size() != ref.size()) {
    raise<dimension_mismatch>("drift.evaluate", "window has {} features, reference has {}",
                              window.size(), ref.size());
  }
  drift_report rep;
  rep.window_rows = rows;
  psi_options po;
  po.epsilon = opt.psi_epsilon;
  po.moderate = opt.psi_warning;
  po.significant = opt.psi_drift;
  for (std::size_t j = 0; j < ref.size(); ++j) {
    const feature_profile& p = ref.features()[j];
    const live_feature& l = window[j];
    feature_report f;
    f.name = p.name;
    f.kind = p.kind;
    f.reference_count = p.count;
    f.live_count = std::accumulate(l.counts.begin(), l.counts.end(), 0.0);
    f.reference_missing_rate = p.count + p.missing > 0 ? p.missing / (p.count + p.missing) : 0.0;
    f.live_missing_rate =
        f.live_count + l.missing > 0 ? l.missing / (f.live_count + l.missing) : 0.0;
    f.reference_hist = proportions(p.counts);
    f.live_hist = proportions(l.counts);
    for (std::size_t k = 0; k < p.bins(); ++k) f.bin_labels.push_back(p.bin_label(k));
    f.test = p.kind == feature_kind::numeric ? "ks" : "chi2";
    if (f.live_count >= static_cast<double>(std::max<std::size_t>(opt.min_live_count, 1))) {
      f.evaluated = true;
      f.psi = psi(p.counts, l.counts, opt.psi_epsilon);
      f.js_distance = jensen_shannon(p.counts, l.counts, 2.0);
      if (p.kind == feature_kind::numeric) {
        std::vector<double> s = l.sample;
        std::sort(s.begin(), s.end());
        const auto ks = ks_2samp_sorted(p.sample, s);
        f.statistic = ks.statistic;
        f.pvalue = ks.pvalue;
        f.wasserstein = wasserstein_1_sorted(p.sample, s);
      } else {
        const auto c = chi2_two_sample(p.counts, l.counts, true);
        f.statistic = c.statistic;
        f.pvalue = c.pvalue;
      }
      f.test_rejects = f.pvalue < opt.alpha;
      f.verdict = psi_verdict(f.psi, po);
      if (opt.test_can_raise_drift && f.test_rejects) f.verdict = verdict::drift;
    } else {
      f.psi = f.statistic = f.pvalue = f.js_distance = f.wasserstein = std::nan("");
    }
    rep.features.push_back(std::move(f));
  }
  return rep;
}

drift_report compare(const reference_profile& reference, matrix_view current,
                     const monitor_options& options) {
  if (current.cols() != reference.size()) {
    raise<dimension_mismatch>("drift.compare", "current batch has {} columns, reference has {}",
                              current.cols(), reference.size());
  }
  std::vector<live_feature> window(reference.size());
  for (std::size_t j = 0; j < reference.size(); ++j) {
    const feature_profile& p = reference.features()[j];
    live_feature& l = window[j];
    l.counts.assign(p.bins(), 0.0);
    for (std::size_t i = 0; i < current.rows(); ++i) {
      const auto v = static_cast<double>(current(i, j));
      if (std::isnan(v)) {
        l.missing += 1;
        continue;
      }
      if (std::isinf(v)) {
        raise<invalid_argument>("drift.compare", "feature '{}': value {} at row {} is infinite",
                                p.name, v, i);
      }
      l.counts[p.bin_of(v)] += 1;
      if (p.kind == feature_kind::numeric) l.sample.push_back(v);
    }
    l.seen = static_cast<double>(l.sample.size());
  }
  return evaluate(reference, window, current.rows(), options);
}

drift_report compare(matrix_view reference, matrix_view current,
                     const std::vector<feature_spec>& schema, const compare_options& options) {
  if (current.cols() != schema.size()) {
    raise<dimension_mismatch>("drift.compare", "current batch has {} columns, schema has {}",
                              current.cols(), schema.size());
  }
  profile_options po = options.profile;
  po.max_reference_sample = std::max<std::size_t>(reference.rows(), 1);  // keep every value
  return compare(fit_reference_profile(reference, schema, po), current, options.report);
}

std::vector<std::string> drift_report::drifted() const {
  std::vector<std::string> out;
  for (const auto& f : features) {
    if (f.verdict == verdict::drift) out.push_back(f.name);
  }
  return out;
}

json drift_report::to_json() const {
  json j = json_header("funnel.drift.drift_report", 1);
  j["window_rows"] = window_rows;
  j["evaluation"] = evaluation;
  json fs = json::array();
  for (const auto& f : features) {
    json o;
    o["name"] = f.name;
    o["kind"] = f.kind == feature_kind::numeric ? "numeric" : "categorical";
    o["reference_count"] = f.reference_count;
    o["live_count"] = f.live_count;
    o["reference_missing_rate"] = json_number(f.reference_missing_rate);
    o["live_missing_rate"] = json_number(f.live_missing_rate);
    o["evaluated"] = f.evaluated;
    o["psi"] = number_or_null(f.psi);
    o["test"] = f.test;
    o["statistic"] = number_or_null(f.statistic);
    o["pvalue"] = number_or_null(f.pvalue);
    o["js_distance"] = number_or_null(f.js_distance);
    o["wasserstein"] = number_or_null(f.wasserstein);
    o["test_rejects"] = f.test_rejects;
    o["verdict"] = std::string(to_string(f.verdict));
    o["bins"] = f.bin_labels;
    o["reference_hist"] = f.reference_hist;
    o["live_hist"] = f.live_hist;
    fs.push_back(std::move(o));
  }
  j["features"] = std::move(fs);
  return j;
}

std::string drift_report::to_prometheus(const std::string& extra_labels) const {
  std::string out;
  const std::string extra = extra_labels.empty() ? "" : "," + extra_labels;
  // The per-feature gauge families; the verdict (an enum) is written as its number.
  struct gauge {
    const char* name;
    const char* help;
    double feature_report::*value;  // nullptr: the verdict
    bool with_test;
  };
  static constexpr std::array<gauge, 7> gauges{{
      {"funnel_drift_psi", "Population stability index of the live window vs the reference.",
       &feature_report::psi, false},
      {"funnel_drift_statistic", "KS D (numeric) or chi-square statistic (categorical).",
       &feature_report::statistic, true},
      {"funnel_drift_pvalue", "p-value of the KS or chi-square test.", &feature_report::pvalue,
       true},
      {"funnel_drift_js_distance", "Jensen-Shannon distance (bits) of the binned distributions.",
       &feature_report::js_distance, false},
      {"funnel_drift_verdict", "0 stable, 1 warning, 2 drift.", nullptr, false},
      {"funnel_drift_live_count", "Non-missing live values in the evaluated window.",
       &feature_report::live_count, false},
      {"funnel_drift_live_missing_rate", "Share of missing values in the evaluated window.",
       &feature_report::live_missing_rate, false},
  }};
  for (const gauge& g : gauges) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", g.name, g.help, g.name);
    for (const auto& f : features) {
      const double v = g.value != nullptr ? f.*g.value : static_cast<double>(f.verdict);
      const std::string test = g.with_test ? fmt::format(",test=\"{}\"", f.test) : "";
      out += fmt::format("{}{{feature=\"{}\"{}{}}} {}\n", g.name, prom_escape(f.name), test, extra,
                         prom_value(v));
    }
  }
  out +=
      "# HELP funnel_drift_window_rows Rows in the evaluated window.\n"
      "# TYPE funnel_drift_window_rows gauge\n";
  out += fmt::format("funnel_drift_window_rows{} {}\n",
                     extra_labels.empty() ? "" : "{" + extra_labels + "}", window_rows);
  return out;
}

std::string drift_report::to_html(const std::string& title) const {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += fmt::format("<title>{}</title>\n", html_escape(title));
  h +=
      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}"
      ".stable{background:#e6f4ea}.warning{background:#fff4d6}.drift{background:#fde0dc}"
      "figure{display:inline-block;margin:1em}figcaption{font-size:90%}</style>\n</head>\n<body>\n";
  h += fmt::format("<h1>{}</h1>\n<p>Window: {} rows. Reference bars grey, live bars blue.</p>\n",
                   html_escape(title), window_rows);
  h += "<table id=\"drift-table\">\n<thead><tr><th>feature</th><th>kind</th><th>live n</th>"
       "<th>PSI</th><th>test</th><th>statistic</th><th>p-value</th><th>JS (bits)</th>"
       "<th>missing ref / live</th><th>verdict</th></tr></thead>\n<tbody>\n";
  auto num = [](double v) {
    return std::isfinite(v) ? fmt::format("{:.4g}", v) : std::string("–");
  };
  for (const auto& f : features) {
    const auto v = std::string(to_string(f.verdict));
    h += fmt::format(
        "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{:.3g} / {:.3g}</td><td>{}</td></tr>\n",
        v, html_escape(f.name), f.kind == feature_kind::numeric ? "numeric" : "categorical",
        f.live_count, num(f.psi), f.test, num(f.statistic), num(f.pvalue), num(f.js_distance),
        f.reference_missing_rate, f.live_missing_rate, f.evaluated ? v : "not evaluated");
  }
  h += "</tbody>\n</table>\n<section id=\"histograms\">\n";
  for (const auto& f : features) {
    const std::size_t nb = f.reference_hist.size();
    const double w = 360;
    const double hh = 120;
    double mx = 1e-12;
    for (std::size_t k = 0; k < nb; ++k) mx = std::max({mx, f.reference_hist[k], f.live_hist[k]});
    const double bw = nb > 0 ? w / static_cast<double>(nb) : w;
    h += fmt::format(
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
        "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">\n",
        w, hh + 20, w, hh + 20, html_escape(f.name));
    for (std::size_t k = 0; k < nb; ++k) {
      const double x = static_cast<double>(k) * bw;
      const double rh = hh * f.reference_hist[k] / mx;
      const double lh = hh * f.live_hist[k] / mx;
      h += fmt::format(
          "<rect class=\"ref\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
          "fill=\"#9e9e9e\"><title>{} reference {:.4f}</title></rect>",
          x + 1, hh - rh, bw / 2 - 1, rh, html_escape(f.bin_labels[k]), f.reference_hist[k]);
      h += fmt::format(
          "<rect class=\"live\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
          "fill=\"#1e88e5\"><title>{} live {:.4f}</title></rect>\n",
          x + bw / 2, hh - lh, bw / 2 - 1, lh, html_escape(f.bin_labels[k]), f.live_hist[k]);
    }
    h += fmt::format("<text x=\"0\" y=\"{}\" font-size=\"12\">{} (PSI {})</text>\n</svg>", hh + 15,
                     html_escape(f.name), num(f.psi));
    h += fmt::format("<figcaption>{}: {}</figcaption></figure>\n", html_escape(f.name),
                     to_string(f.verdict));
  }
  h += "</section>\n</body>\n</html>\n";
  return h;
}

// ---------------------------------------------------------------------------------------------

std::vector<std::string> monitor::feature_names() const {
  std::vector<std::string> names;
  names.reserve(ref_->size() - 1);
  for (std::size_t i = 0; i + 1 < ref_->size(); ++i) names.push_back(ref_->features()[i].name);
  return names;
}

void monitor::bind(std::span<const std::string> produced) const {
  const auto names = feature_names();
  check_feature_binding(produced, names, names.size(), "drift.monitor");
}

monitor::monitor(reference_profile reference, monitor_options options)
    : ref_(std::make_shared<const reference_profile>(std::move(reference))),
      opt_(std::move(options)),
      live_(ref_, opt_.window) {
  if (ref_->size() == 0 || ref_->features().back().name != opt_.score_name ||
      ref_->features().back().kind != feature_kind::numeric) {
    raise<invalid_argument>("drift.monitor",
                            "the reference's last feature must be the numeric score '{}'",
                            opt_.score_name);
  }
  row_.resize(ref_->size());
}

void monitor::observe(row_view features, float score) {
  if (features.size() + 1 != ref_->size()) {
    raise<dimension_mismatch>("drift.monitor",
                              "request has {} features, the schema has {} (+ score)",
                              features.size(), ref_->size() - 1);
  }
  drift_report rep;
  bool fire_now = false;
  {
    std::lock_guard lock(mu_);
    std::copy(features.begin(), features.end(), row_.begin());
    row_.back() = score;
    const bool closed = live_.observe(row_view(row_));
    if (closed && opt_.auto_evaluate) {
      rep = evaluate_locked();
      fire_now = true;
    }
  }
  if (fire_now) fire(rep);
}

live_profile monitor::local_profile(std::uint64_t seed) const {
  window_options w = opt_.window;
  w.kind = window_options::kind_t::unbounded;
  w.seed = seed;
  return live_profile(ref_, w);
}

void monitor::absorb(live_profile& local) {
  {
    std::lock_guard lock(mu_);
    live_.merge(local);
  }
  local.reset();
}

drift_report monitor::evaluate_locked() {
  drift_report r = evaluate(*ref_, live_.window(), live_.window_rows(), opt_);
  r.evaluation = ++evaluations_;
  last_ = r;
  return r;
}

drift_report monitor::evaluate_now() {
  drift_report r;
  {
    std::lock_guard lock(mu_);
    r = evaluate_locked();
  }
  fire(r);
  return r;
}

drift_report monitor::last_report() const {
  std::lock_guard lock(mu_);
  return last_;
}

void monitor::on_alert(alert_callback cb) {
  std::lock_guard lock(mu_);
  callbacks_.push_back(std::move(cb));
}

void monitor::fire(const drift_report& r) {
  if (r.drifted().empty()) return;
  std::vector<alert_callback> cbs;
  {
    std::lock_guard lock(mu_);
    cbs = callbacks_;
  }
  for (const auto& cb : cbs) cb(r);
}

}  // namespace funnel::drift
