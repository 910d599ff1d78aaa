// Image search on Fashion-MNIST: HNSW (optionally over PCA-reduced images) against exact search,
// filtered search by category, query latency.
// Usage: example_image_search [--data DIR] [--base N] [--queries N] [--pca DIMS (0 = none)]
//                             [--threads N]
// The data comes from Debian's dataset-fashion-mnist (scripts/install-deps.sh installs it).
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "image_search.hpp"

namespace {

std::size_t parse_size(std::string_view flag, std::string_view text) {
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw std::invalid_argument(
        fmt::format("{} expects a non-negative integer, got '{}'", flag, text));
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = image_search::default_data_dir;
  image_search::options opt;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a == "--help" || a == "-h") {
        fmt::print("usage: {} [--data DIR] [--base N] [--queries N] [--pca DIMS] [--threads N]\n",
                   argv[0]);
        return 0;
      }
      if (i + 1 >= argc) throw std::invalid_argument(fmt::format("{} needs a value", a));
      const std::string_view v = argv[++i];
      if (a == "--data") {
        dir = std::string(v);
      } else if (a == "--base") {
        opt.base = parse_size(a, v);
      } else if (a == "--queries") {
        opt.queries = parse_size(a, v);
      } else if (a == "--pca") {
        opt.pca_dims = parse_size(a, v);
      } else if (a == "--threads") {
        opt.build_threads = parse_size(a, v);
      } else {
        throw std::invalid_argument(fmt::format("unknown option {}", a));
      }
    }
    if (!image_search::data_available(dir)) {
      fmt::print(
          stderr,
          "Fashion-MNIST not found in {}. Install Debian's dataset-fashion-mnist "
          "(scripts/install-deps.sh) or pass --data DIR holding the four *-ubyte.gz files.\n",
          dir.string());
      return 2;
    }
    opt.progress = [](std::string_view line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    };
    fmt::print("loading Fashion-MNIST from {}\n", dir.string());
    const auto base = image_search::load_fashion_mnist(dir, "train", opt.base);
    const auto queries = image_search::load_fashion_mnist(dir, "t10k", opt.queries);
    const auto r = image_search::run_experiment(base, queries, opt);
    fmt::print("\n{}", image_search::format_report(r));
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
