// The flagship example: a movie recommender on MovieLens, evaluated stage by stage on held-out
// future ratings. Usage: example_movie_recommendation [movielens.csv] [report.html]
// Get the data with scripts/get-movielens.sh (Debian r-cran-dslabs; never committed).
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <filesystem>

#include "recommender.hpp"

int main(int argc, char** argv) {
  const std::filesystem::path data = argc > 1 ? argv[1] : "movielens.csv";
  const std::filesystem::path out = argc > 2 ? argv[2] : "movie_report.html";
  try {
    if (!std::filesystem::exists(data)) {
      fmt::print(stderr,
                 "{} not found. Get MovieLens with scripts/get-movielens.sh {} (needs Debian "
                 "packages r-base-core r-cran-dslabs).\n",
                 data.string(), data.string());
      return 2;
    }
    fmt::print("loading {}\n", data.string());
    const auto d = movie::load_movielens(data);
    movie::options opt;
    opt.progress = [](std::string_view line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    };
    const auto r = movie::run_experiment(d, opt);
    fmt::print("\n{}", movie::format_report(r, opt.k));
    funnel::write_file_atomic(out, movie::html_report(r, opt.k));
    fmt::print("\nwrote {}\n", out.string());
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
