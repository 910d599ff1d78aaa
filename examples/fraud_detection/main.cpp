// Fraud/default detection on modeldata's lending_club.csv (MIT, committed under tests/data):
// logistic baseline vs class-weighted GBDT, a review threshold chosen for a stated cost, a rules
// engine, a review queue explained with TreeSHAP, and a drift check of the later applications.
// Usage: example_fraud_detection [lending_club.csv]   (run from the repository root)
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <filesystem>

#include "fraud.hpp"

int main(int argc, char** argv) {
  const std::filesystem::path data = argc > 1 ? argv[1] : "tests/data/lending_club.csv";
  try {
    if (!std::filesystem::exists(data)) {
      fmt::print(stderr, "{} not found: run from the repository root or pass the CSV's path\n",
                 data.string());
      return 2;
    }
    fmt::print("loading {}\n", data.string());
    const auto loans = fraud::load_lending_club(data);
    fraud::options opt;
    opt.progress = [](std::string_view line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    };
    const auto r = fraud::run(loans, opt);
    fmt::print("\n{}", fraud::format_report(r));
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
