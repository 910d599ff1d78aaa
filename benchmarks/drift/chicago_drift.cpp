// Drift in the Chicago L data: the program behind the Chicago table in docs/drift.md.
//   build/release/benchmarks/drift/drift_chicago [tests/data/drift/chicago_trimmed.csv] [out.html]
// Reference: 2001-09-01 .. 2003-08-31 (two full years, so seasons balance). Live: two-year windows
// starting every September; each is compared with the reference.
#include <funnel/core.hpp>
#include <funnel/drift.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace fd = funnel::drift;

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "tests/data/drift/chicago_trimmed.csv";
  try {
    const auto t = funnel::read_csv(path);
    const auto dates = t.strings("date");
    const std::vector<std::string> names{
        "ridership", "Clark_Lake", "Austin",   "Quincy_Wells", "temp",         "temp_max",
        "dew",       "humidity",   "pressure", "wind",         "weather_rain", "weather_cloud"};
    std::vector<std::vector<double>> cols;
    for (const auto& nm : names) cols.push_back(t.numeric(nm));
    cols.push_back(t.numeric("Bulls_Home"));
    auto in = [&](std::size_t i, const std::string& lo, const std::string& hi) {
      return dates[i] >= lo && dates[i] < hi;
    };
    fd::reference_profile ref;
    for (std::size_t j = 0; j < cols.size(); ++j) {
      std::vector<double> r;
      for (std::size_t i = 0; i < t.rows(); ++i) {
        if (in(i, "2001-09-01", "2003-09-01")) r.push_back(cols[j][i]);
      }
      if (j < names.size()) {
        ref.add_numeric(names[j], r);
      } else {
        ref.add_categorical("Bulls_Home", r);
      }
    }
    auto shared = std::make_shared<const fd::reference_profile>(ref);
    std::printf("| window | days |");
    for (const auto& f : ref.features()) std::printf(" %s |", f.name.c_str());
    std::printf("\n|---|---|");
    for (std::size_t j = 0; j < ref.size(); ++j) std::printf("---|");
    std::printf("\n");
    fd::drift_report last;
    for (int y = 2003; y <= 2014; y += 1) {
      const std::string lo = std::to_string(y) + "-09-01";
      const std::string hi = std::to_string(y + 2) + "-09-01";
      fd::live_profile live(shared, {fd::window_options::kind_t::unbounded, 1, 1, 1024, 1});
      for (std::size_t i = 0; i < t.rows(); ++i) {
        if (!in(i, lo, hi)) continue;
        std::vector<double> row;
        for (const auto& c : cols) row.push_back(c[i]);
        live.observe(std::span<const double>(row));
      }
      if (live.window_rows() < 600) continue;  // the data ends 2016-08-28
      const auto rep = fd::evaluate(ref, live.window(), live.window_rows());
      std::printf("| %d-%02d | %zu |", y, (y + 2) % 100, rep.window_rows);
      for (const auto& f : rep.features) {
        std::printf(" %.2f%s |", f.psi,
                    f.verdict == fd::verdict::drift     ? " **D**"
                    : f.verdict == fd::verdict::warning ? " w"
                                                        : "");
      }
      std::printf("\n");
      last = rep;
    }
    std::printf(
        "\nLast window, all statistics:\n\n| feature | PSI | test | statistic | p-value | "
        "JS (bits) | W1 | verdict |\n|---|---|---|---|---|---|---|---|\n");
    for (const auto& f : last.features) {
      std::printf("| %s | %.3f | %s | %.3f | %.2e | %.3f | %.3f | %s |\n", f.name.c_str(), f.psi,
                  f.test.c_str(), f.statistic, f.pvalue, f.js_distance, f.wasserstein,
                  std::string(fd::to_string(f.verdict)).c_str());
    }
    if (argc > 2) funnel::write_file_atomic(argv[2], last.to_html("Chicago L 2014-16 vs 2001-03"));
  } catch (const funnel::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
