// Conan's consumer test: link funnel::funnel and touch each dependency through funnel's API
// (Eigen through matrix views, nlohmann_json, fmt through errors, zlib through gzip).
#include <funnel/core.hpp>

#include <cstdio>

int main() {
  const auto data = funnel::parse_libsvm("1 1:0.5 3:2\n0 2:1\n", "inline.svm");
  const auto dense = data.features.to_dense(0.0F);
  const float sum = dense.view().as_eigen().sum();

  funnel::json state = funnel::json_header("test_package", 1);
  state["sum"] = sum;
  const auto round_trip = funnel::gunzip(funnel::gzip(state.dump()), "state.json.gz");
  const auto loaded = funnel::parse_json(round_trip, "state.json.gz");
  funnel::check_json_header(loaded, "test_package", 1);

  try {
    (void)funnel::parse_libsvm("1 3:1 2:1\n", "bad.svm");
    return 1;
  } catch (const funnel::parse_error& e) {
    std::printf("%s\n", e.what());
  }
  std::printf("funnel test_package: %zu rows, %zu cols, sum %.2f\n", dense.rows(), dense.cols(),
              static_cast<double>(funnel::json_get<float>(loaded, "sum")));
  return sum == 3.5F ? 0 : 1;
}
