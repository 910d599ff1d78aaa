// docs/core.md opening example: read a CSV, view it as a matrix, save state atomically as JSON.
#include <funnel/core.hpp>

#include <cstdio>

int main() {
  const auto table = funnel::read_csv("tests/data/lending_club.csv");
  const auto income = table.numeric("annual_inc");
  const auto rate = table.numeric("int_rate");

  funnel::matrix x(table.rows(), 2);
  for (std::size_t i = 0; i < table.rows(); ++i) {
    x(i, 0) = static_cast<float>(income[i]);
    x(i, 1) = static_cast<float>(rate[i]);
  }
  const auto means = x.view().as_eigen().colwise().mean();

  funnel::json state = funnel::json_header("column_means", 1);
  state["means"] = {means(0), means(1)};
  funnel::save_json_file("/tmp/funnel-doc-core.json", state);  // temp file + fsync + rename

  try {
    (void)table.numeric("no_such_column");
  } catch (const funnel::not_found& e) {
    // [funnel.not_found.core.csv] ...: no column 'no_such_column' (...)
    std::printf("%s\n", e.what());
  }
  std::printf("rows=%zu mean income=%.1f mean rate=%.3f\n", table.rows(),
              static_cast<double>(means(0)), static_cast<double>(means(1)));
  return 0;
}
