// Ads: request -> candidate ads -> online CTR model -> GSP auction -> served ad; creatives chosen
// by Thompson sampling vs UCB1 vs epsilon-greedy; an A/B test of two ranking models with an SRM
// check, CUPED and a sequential test. The market is simulated (calibrated to Avazu's click rate).
// Usage: example_ads [--requests N] [--horizon N] [--runs N] [--users N]
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string_view>

#include "ads.hpp"

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
  ads::options opt;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a == "--help" || a == "-h") {
        fmt::print("usage: {} [--requests N] [--horizon N] [--runs N] [--users N]\n", argv[0]);
        return 0;
      }
      if (i + 1 >= argc) throw std::invalid_argument(fmt::format("{} needs a value", a));
      const std::string_view v = argv[++i];
      if (a == "--requests") {
        opt.online.requests = parse_size(a, v);
      } else if (a == "--horizon") {
        opt.bandits.horizon = parse_size(a, v);
      } else if (a == "--runs") {
        opt.bandits.runs = parse_size(a, v);
      } else if (a == "--users") {
        opt.ab.users = parse_size(a, v);
      } else {
        throw std::invalid_argument(fmt::format("unknown option {}", a));
      }
    }
    opt.progress = [](std::string_view line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    };
    const auto r = ads::run(opt);
    fmt::print("\n{}", ads::format_report(r, opt));
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
