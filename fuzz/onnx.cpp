// Fuzz target: ONNX models (funnel::scoring::load_onnx, the optional funnel::onnx), then run on
// one and three probe rows. The loader reads a path, so each input is written to a per-process
// file first. The bounds are tighter than the defaults (a tensor or a workspace row of 2^20
// elements) so that a file which asks for more is refused here, not an out-of-memory report: the
// fuzzer checks that every bound is enforced, not that 1 GB can be allocated.
#include <funnel/onnx/onnx_model.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "fuzz_common.hpp"

namespace {

/// Index values a Gather may see: in range, negative, far out of range.
constexpr std::int64_t probe_ids[] = {0, 1, -1, 3, 1'000'000'007, -9'000'000'000'000'000'000LL};

void use_model(const funnel::scoring::onnx_model& m) {
  using funnel::scoring::onnx_dtype;
  for (const std::size_t rows : {std::size_t{1}, std::size_t{3}}) {
    std::vector<std::vector<float>> floats;
    std::vector<std::vector<std::int64_t>> ints;
    std::vector<funnel::scoring::onnx_input> in;
    floats.reserve(m.inputs().size());
    ints.reserve(m.inputs().size());
    for (const auto& port : m.inputs()) {
      if (port.row_size * rows > funnel::fuzz::max_probe_width) return;
      if (port.dtype == onnx_dtype::int64) {
        auto& v = ints.emplace_back(port.row_size * rows);
        for (std::size_t i = 0; i < v.size(); ++i)
          v[i] = probe_ids[(i + rows) % std::size(probe_ids)];
        in.emplace_back(std::span<const std::int64_t>(v));
      } else {
        floats.push_back(funnel::fuzz::probe_row(port.row_size * rows, rows));
        in.emplace_back(std::span<const float>(floats.back()));
      }
    }
    std::vector<std::vector<float>> outs;
    std::vector<std::span<float>> out;
    outs.reserve(m.outputs().size());
    for (const auto& port : m.outputs()) {
      if (port.row_size * rows > funnel::fuzz::max_probe_width) return;
      out.emplace_back(outs.emplace_back(port.row_size * rows));
    }
    funnel::fuzz::expect_typed_errors([&] { m.run(rows, in, out); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path =
      "/tmp/funnel_fuzz_onnx_" + std::to_string(static_cast<long>(::getpid())) + ".onnx";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  funnel::scoring::onnx_load_options bounds;
  bounds.max_tensor_elements = std::size_t{1} << 20;
  bounds.max_row_elements = std::size_t{1} << 20;
  funnel::fuzz::expect_typed_errors([&] { use_model(funnel::scoring::load_onnx(path, bounds)); });
  std::remove(path.c_str());
  return 0;
}
