#pragma once
// The fixtures of tests/fixtures/onnx/make_models.py: a model, its held-out inputs and PyTorch's
// outputs on them, run through funnel and compared.

#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/onnx/onnx_model.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

namespace funnel::test {

/// The what() of the funnel::error fn throws, or "(no error)".
inline std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const funnel::error& e) {
    return e.what();
  }
  return "(no error)";
}

/// One fixture's inputs and PyTorch's outputs, flattened row-major.
struct onnx_fixture {
  scoring::onnx_model model;
  std::size_t rows = 0;
  std::vector<std::vector<float>> float_inputs;
  std::vector<std::vector<std::int64_t>> int_inputs;
  std::vector<std::vector<float>> expected;

  explicit onnx_fixture(const std::string& name)
      : model(scoring::load_onnx(data("onnx/" + name + ".onnx"))) {
    const json doc = load_json_file(data("onnx/" + name + ".json"));
    for (const auto& port : model.inputs()) {
      const auto& table = doc.at("inputs").at(port.name);
      rows = table.size();
      std::vector<float> f;
      std::vector<std::int64_t> i;
      for (const auto& r : table) {
        for (const auto& v : r) {
          if (port.dtype == scoring::onnx_dtype::int64) {
            i.push_back(v.get<std::int64_t>());
          } else {
            f.push_back(v.get<float>());
          }
        }
      }
      float_inputs.push_back(std::move(f));
      int_inputs.push_back(std::move(i));
    }
    for (const auto& port : model.outputs()) {
      std::vector<float> e;
      for (const auto& r : doc.at("outputs").at(port.name)) {
        for (const auto& v : r) e.push_back(v.get<float>());
      }
      expected.push_back(std::move(e));
    }
  }

  /// The inputs as run() takes them.
  [[nodiscard]] std::vector<scoring::onnx_input> inputs() const {
    std::vector<scoring::onnx_input> in;
    for (std::size_t k = 0; k < model.inputs().size(); ++k) {
      if (model.inputs()[k].dtype == scoring::onnx_dtype::int64) {
        in.emplace_back(std::span<const std::int64_t>(int_inputs[k]));
      } else {
        in.emplace_back(std::span<const float>(float_inputs[k]));
      }
    }
    return in;
  }

  /// funnel's outputs on the held-out rows.
  [[nodiscard]] std::vector<std::vector<float>> run() const {
    std::vector<std::vector<float>> out;
    std::vector<std::span<float>> spans;
    for (const auto& port : model.outputs()) out.emplace_back(rows * port.row_size);
    for (auto& o : out) spans.emplace_back(o);
    const auto in = inputs();
    model.run(rows, in, spans);
    return out;
  }
};

/// Loads `path` and runs two rows of constant inputs through it; a funnel::error is an accepted
/// outcome (the mutation tests: anything else, or a sanitizer report, fails).
inline void load_and_run(const std::filesystem::path& path) {
  try {
    const auto model = funnel::scoring::load_onnx(path);
    constexpr std::size_t rows = 2;
    std::vector<std::vector<float>> f;
    std::vector<std::vector<std::int64_t>> i;
    std::vector<funnel::scoring::onnx_input> in;
    for (const auto& p : model.inputs()) {
      f.emplace_back(rows * p.row_size, 0.25f);
      i.emplace_back(rows * p.row_size, 1);
    }
    for (std::size_t k = 0; k < model.inputs().size(); ++k) {
      if (model.inputs()[k].dtype == funnel::scoring::onnx_dtype::int64) {
        in.emplace_back(std::span<const std::int64_t>(i[k]));
      } else {
        in.emplace_back(std::span<const float>(f[k]));
      }
    }
    std::vector<std::vector<float>> out;
    std::vector<std::span<float>> spans;
    for (const auto& p : model.outputs()) out.emplace_back(rows * p.row_size);
    for (auto& o : out) spans.emplace_back(o);
    model.run(rows, in, spans);
  } catch (const funnel::error&) {
    // refused with a typed error: fine; anything else fails the test
  }
}

/// The parity measure of the committed models: for each output row, ||got - want|| / max(||want||,
/// rms), where rms is the root mean square of that output's row norms over the held-out rows (its
/// typical size): a relative error per row, whose floor keeps a head that happens to be near 0
/// on one row (float32 sums of dozens of terms cancel there) from dividing by almost nothing.
inline double max_relative_error(const onnx_fixture& f,
                                 const std::vector<std::vector<float>>& got) {
  double worst = 0.0;
  for (std::size_t k = 0; k < f.expected.size(); ++k) {
    const auto& want = f.expected[k];
    REQUIRE(got[k].size() == want.size());
    const std::size_t w = f.model.outputs()[k].row_size;
    std::vector<double> err(f.rows), norm(f.rows);
    double sq = 0.0;
    for (std::size_t r = 0; r < f.rows; ++r) {
      for (std::size_t j = r * w; j < (r + 1) * w; ++j) {
        const double d = static_cast<double>(got[k][j]) - want[j];
        err[r] += d * d;
        norm[r] += static_cast<double>(want[j]) * want[j];
      }
      sq += norm[r];
    }
    const double rms = std::sqrt(sq / static_cast<double>(std::max<std::size_t>(f.rows, 1)));
    for (std::size_t r = 0; r < f.rows; ++r) {
      worst = std::max(worst, std::sqrt(err[r]) / std::max({std::sqrt(norm[r]), rms, 1e-30}));
    }
  }
  return worst;
}

}  // namespace funnel::test
