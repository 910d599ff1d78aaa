// docs/drift.md opening example: fit a reference profile on "training" days of the Chicago L data,
// monitor served requests (features + model score) in tumbling windows, get alerted, export the
// report as JSON, Prometheus text and HTML; then the standalone statistics.
#include <funnel/core.hpp>
#include <funnel/drift.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main() {
  namespace fd = funnel::drift;
  const auto table = funnel::read_csv("tests/data/drift/chicago_trimmed.csv");
  const auto dates = table.strings("date");
  const std::vector<std::string> names{"temp", "humidity", "Clark_Lake"};
  std::vector<std::vector<double>> cols;
  for (const auto& n : names) cols.push_back(table.numeric(n));
  const auto ridership = table.numeric("ridership");
  // A stand-in "model score": yesterday's ridership predicts today's (any scorer's output works).
  auto score = [&](std::size_t i) { return i > 0 ? ridership[i - 1] : ridership[0]; };

  // 1. Reference profile on the training period, saved with the model.
  fd::reference_profile ref;
  std::vector<std::vector<double>> train(names.size() + 1);
  for (std::size_t i = 0; i < table.rows(); ++i) {
    if (dates[i] < "2002-01-01" || dates[i] >= "2004-01-01") continue;
    for (std::size_t j = 0; j < names.size(); ++j) train[j].push_back(cols[j][i]);
    train.back().push_back(score(i));
  }
  for (std::size_t j = 0; j < names.size(); ++j) ref.add_numeric(names[j], train[j]);
  ref.add_numeric("score", train.back());
  ref.save("/tmp/funnel-doc-drift-reference.json");

  // 2. A monitor in the service: one-year tumbling windows, an alert wired to retraining.
  fd::monitor_options opt;
  opt.window.size = 365;
  fd::monitor mon(fd::reference_profile::load("/tmp/funnel-doc-drift-reference.json"), opt);
  int alerts = 0;
  mon.on_alert([&](const fd::drift_report& r) {
    ++alerts;
    std::string which;
    for (const auto& f : r.drifted()) which += " " + f;
    std::printf("window %llu: drift in%s -> schedule retraining\n",
                static_cast<unsigned long long>(r.evaluation), which.c_str());
  });
  std::vector<float> row(names.size());
  for (std::size_t i = 0; i < table.rows(); ++i) {
    if (dates[i] < "2004-01-01") continue;  // "served" after training
    for (std::size_t j = 0; j < names.size(); ++j) row[j] = static_cast<float>(cols[j][i]);
    mon.observe(row, static_cast<float>(score(i)));  // thread-safe, O(features log bins)
  }

  // 3. The last window's report: JSON for logs, Prometheus for dashboards, HTML for people.
  const auto report = mon.last_report();
  funnel::save_json_file("/tmp/funnel-doc-drift-report.json", report.to_json());
  const std::string prom = report.to_prometheus("model=\"ridership\"");
  funnel::write_file_atomic("/tmp/funnel-doc-drift-report.html", report.to_html("Chicago L"));
  for (const auto& f : report.features) {
    std::printf("%-10s PSI %6.3f  KS D %.3f p %.2e  %s\n", f.name.c_str(), f.psi, f.statistic,
                f.pvalue, std::string(fd::to_string(f.verdict)).c_str());
  }

  // 4. Standalone statistics, equal to scipy 1.10.
  const std::vector<double> a{0.1, 0.4, 0.7, 0.9, 1.3};
  const std::vector<double> b{0.5, 0.8, 1.1, 1.6, 1.7, 2.0};
  const auto ks = fd::ks_2samp(a, b);  // scipy.stats.ks_2samp(a, b): exact method here
  std::printf("ks_2samp D=%.4f p=%.6f, W1=%.4f, %zu Prometheus bytes, %d alerts\n", ks.statistic,
              ks.pvalue, fd::wasserstein_1(a, b), prom.size(), alerts);
  return alerts > 0 ? 0 : 1;
}
