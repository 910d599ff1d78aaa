// Drift by year in MovieLens ratings: the program behind the MovieLens table in docs/drift.md.
// MovieLens may not be redistributed, so the data is not in the repository; get it with
//   Rscript -e 'write.csv(dslabs::movielens, "movielens.csv", row.names=FALSE)'
// (Debian: r-base-core r-cran-dslabs) and run
//   build/release/benchmarks/drift/drift_movielens movielens.csv [report-2004.html]
// Reference: ratings made in 1996-1999. Live: each later calendar year as one window.
// Known shift: MovieLens introduced half-star ratings in 2003.
#include <funnel/core.hpp>
#include <funnel/drift.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fd = funnel::drift;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s movielens.csv [report.html]\n", argv[0]);
    return 2;
  }
  try {
    const auto t = funnel::read_csv(argv[1]);
    const auto rating = t.numeric("rating");
    const auto release = t.numeric("year");
    const auto ts = t.numeric("timestamp");
    const auto genres = t.strings("genres");
    const std::size_t n = t.rows();
    std::vector<int> year(n);
    std::vector<double> code(n);
    std::vector<double> n_genres(n);
    std::vector<double> drama(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto days = std::chrono::floor<std::chrono::days>(
          std::chrono::sys_seconds(std::chrono::seconds(static_cast<long long>(ts[i]))));
      year[i] = static_cast<int>(std::chrono::year_month_day(days).year());
      code[i] = rating[i] * 2;  // half-star codes 1..10
      n_genres[i] = 1;
      for (char c : genres[i]) n_genres[i] += c == '|' ? 1 : 0;
      drama[i] = genres[i].find("Drama") != std::string::npos ? 1 : 0;
    }
    const std::vector<const std::vector<double>*> cols{&code, &release, &n_genres, &drama};
    fd::reference_profile ref;
    std::vector<std::vector<double>> r(cols.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (year[i] < 1996 || year[i] > 1999) continue;
      for (std::size_t j = 0; j < cols.size(); ++j) r[j].push_back((*cols[j])[i]);
    }
    ref.add_categorical("rating_code", r[0]);
    ref.add_numeric("release_year", r[1]);
    ref.add_categorical("n_genres", r[2]);
    ref.add_categorical("drama", r[3]);
    auto shared = std::make_shared<const fd::reference_profile>(ref);

    std::map<int, fd::live_profile> by_year;
    for (std::size_t i = 0; i < n; ++i) {
      if (year[i] < 2000) continue;
      auto it = by_year.find(year[i]);
      if (it == by_year.end()) {
        it = by_year
                 .emplace(year[i], fd::live_profile(shared, {fd::window_options::kind_t::unbounded,
                                                             1, 1, 1024, 1}))
                 .first;
      }
      const std::vector<double> row{code[i], release[i], n_genres[i], drama[i]};
      it->second.observe(std::span<const double>(row));
    }
    std::printf("reference: %zu ratings made 1996-1999\n\n", r[0].size());
    std::printf(
        "| year | ratings | rating PSI | rating chi2 p | release-year PSI | release-year KS D "
        "| genres-count PSI | drama PSI | drifted |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    fd::drift_report keep;
    for (const auto& [y, live] : by_year) {
      const auto rep = fd::evaluate(ref, live.window(), live.window_rows());
      std::string drifted;
      for (const auto& f : rep.drifted()) drifted += (drifted.empty() ? "" : ", ") + f;
      const auto& f = rep.features;
      std::printf("| %d | %zu | %.3f | %.1e | %.3f | %.3f | %.3f | %.3f | %s |\n", y,
                  rep.window_rows, f[0].psi, f[0].pvalue, f[1].psi, f[1].statistic, f[2].psi,
                  f[3].psi, drifted.empty() ? "-" : drifted.c_str());
      if (y == 2004) keep = rep;
    }
    if (argc > 2) {
      funnel::write_file_atomic(argv[2], keep.to_html("MovieLens 2004 vs 1996-1999"));
      std::printf("\nwrote %s\n", argv[2]);
    }
  } catch (const funnel::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
