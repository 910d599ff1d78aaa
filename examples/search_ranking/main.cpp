// Search ranking on LightGBM's learning-to-rank example data (MIT, gzipped in data/): a
// LambdaMART ranker trained in funnel against LightGBM's own model loaded with funnel's importer,
// NDCG@1/3/5/10 per stage, and a two-stage cascade served by funnel::pipeline.
// Usage: example_search_ranking [data dir] [LightGBM model.txt]   (run from the repository root)
#include <funnel/scoring/lightgbm.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <filesystem>

#include "search.hpp"

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : "examples/search_ranking/data";
  const std::filesystem::path model =
      argc > 2 ? argv[2] : "tests/data/trees/lightgbm/lambdarank/model.txt";
  try {
    for (const auto& p : {dir / "rank.train.gz", model}) {
      if (!std::filesystem::exists(p)) {
        fmt::print(stderr, "{} not found: run from the repository root or pass the paths\n",
                   p.string());
        return 2;
      }
    }
    fmt::print("loading {} and {}\n", dir.string(), model.string());
    const auto lightgbm = funnel::scoring::load_lightgbm(model);
    const auto train = search_rank::load_ranking(dir / "rank.train.gz", dir / "rank.train.query",
                                                 lightgbm.num_features());
    const auto test = search_rank::load_ranking(dir / "rank.test.gz", dir / "rank.test.query",
                                                train.features.cols());
    search_rank::options opt;
    opt.progress = [](std::string_view line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    };
    const auto r = search_rank::run(train, test, lightgbm, opt);
    fmt::print("\n{}", search_rank::format_report(r));
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
