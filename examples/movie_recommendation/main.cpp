// The flagship example: a movie recommender on MovieLens, evaluated stage by stage on held-out
// future ratings. Usage:
//   example_movie_recommendation [movielens.csv] [report.html]
//   example_movie_recommendation movielens.csv --write-tower-data DIR   (then train_towers.py DIR)
//   example_movie_recommendation movielens.csv --towers DIR   (two-tower vs ALS, per-user split)
// --synthetic uses a planted-taste log instead of the CSV (the ctest examples.towers).
// Get the data with scripts/get-movielens.sh (Debian r-cran-dslabs; never committed).
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recommender.hpp"
#ifdef MOVIE_TOWERS
#include "towers.hpp"
#endif

namespace {

struct cli {
  std::vector<std::string> positional;
  std::optional<std::filesystem::path> write_tower_data, towers;
  bool synthetic = false;
};

cli parse(int argc, char** argv) {
  cli c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&]() -> std::filesystem::path {
      if (i + 1 >= argc) funnel::raise<funnel::invalid_argument>("app.cli", "{} needs a DIR", a);
      return argv[++i];
    };
    if (a == "--write-tower-data") {
      c.write_tower_data = value();
    } else if (a == "--towers") {
      c.towers = value();
    } else if (a == "--synthetic") {
      c.synthetic = true;
    } else if (a.starts_with("--")) {
      funnel::raise<funnel::invalid_argument>("app.cli", "unknown option {}", a);
    } else {
      c.positional.emplace_back(a);
    }
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto args = parse(argc, argv);
    const std::filesystem::path data =
        !args.positional.empty() ? args.positional[0] : "movielens.csv";
    const std::filesystem::path out =
        args.positional.size() > 1 ? args.positional[1] : "movie_report.html";
#ifndef MOVIE_TOWERS
    if (args.write_tower_data || args.towers) {
      fmt::print(stderr,
                 "this build has no funnel::onnx (Debian libonnx-dev): no two-tower "
                 "retriever\n");
      return 2;
    }
#endif
    movie::options opt;
    movie::dataset d;
    if (args.synthetic) {
      // The smoke test's planted-taste log and its small-data knobs.
      d = movie::synthetic_dataset(240, 400, 8, 20, 11);
      opt.als_factors = 16;
      opt.als_iterations = 6;
      opt.als_regularization = 1.0;
      opt.quota = 60;
    } else {
      if (!std::filesystem::exists(data)) {
        fmt::print(stderr,
                   "{} not found. Get MovieLens with scripts/get-movielens.sh {} (needs Debian "
                   "packages r-base-core r-cran-dslabs).\n",
                   data.string(), data.string());
        return 2;
      }
      fmt::print("loading {}\n", data.string());
      d = movie::load_movielens(data);
    }
    opt.progress = [](std::string_view line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    };
#ifdef MOVIE_TOWERS
    if (args.write_tower_data) {
      movie::write_tower_data(d, opt, *args.write_tower_data);
      fmt::print("wrote the towers' training data to {}\n", args.write_tower_data->string());
      return 0;
    }
    if (args.towers) {
      const auto r = movie::evaluate_towers(d, opt, *args.towers);
      fmt::print("\n{}", movie::format_towers_report(r, opt.k));
      return 0;
    }
#endif
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
