// The ONNX evaluator against PyTorch 1.13 (tests/fixtures/onnx/make_models.py): every supported
// operator, the lending_club MLP, the DCN-v2 ranker and the two towers on held-out rows; the
// typed errors; allocation-free and concurrent calls.

#include <funnel/core/error.hpp>
#include <funnel/onnx/onnx_model.hpp>

#include <fstream>
#include <thread>

#include "funnel_catch.hpp"
#include "onnx/onnx_fixture.hpp"

long funnel_test_allocations() noexcept;

namespace {

using funnel::test::message_of;

using funnel::test::max_relative_error;
using funnel::test::onnx_fixture;

void check_parity(const std::string& name) {
  const onnx_fixture f(name);
  const double err = max_relative_error(f, f.run());
  INFO(name << ": max relative error " << err);
  CHECK(err <= 1e-5);
}

}  // namespace

TEST_CASE("onnx: every supported operator matches PyTorch") {
  for (const char* op :
       {"gemm",       "matmul",      "add",      "sub",     "mul",        "div",
        "relu",       "leaky_relu",  "sigmoid",  "tanh",    "softmax",    "concat",
        "gather",     "reshape",     "flatten",  "squeeze", "unsqueeze",  "transpose",
        "reduce_sum", "reduce_mean", "identity", "cast",    "batch_norm", "layer_norm"}) {
    check_parity(std::string("op_") + op);
  }
}

TEST_CASE("onnx: the lending_club MLP, the DCN-v2 ranker and the two towers match PyTorch") {
  for (const char* model : {"mlp_lending", "dcn_ranker", "user_tower", "item_tower"}) {
    check_parity(model);
  }
  const onnx_fixture dcn("dcn_ranker");
  REQUIRE(dcn.model.outputs().size() == 3);
  CHECK(dcn.model.outputs()[1].name == "rate");
  CHECK(dcn.model.inputs()[0].row_size == 6);
  CHECK(dcn.model.constant_bytes() > 0);
}

TEST_CASE("onnx: one row at a time gives the batch's values") {
  const onnx_fixture f("dcn_ranker");
  const auto batch = f.run();
  for (std::size_t r = 0; r < f.rows; ++r) {
    const funnel::scoring::onnx_input in[] = {
        std::span<const float>(f.float_inputs[0]).subspan(r * 6, 6)};
    float a = 0, b = 0, c = 0;
    const std::span<float> out[] = {{&a, 1}, {&b, 1}, {&c, 1}};
    f.model.run(1, in, out);
    CHECK_THAT(a, WithinRel(batch[0][r], 1e-5f) || WithinAbs(batch[0][r], 1e-6));
    CHECK_THAT(c, WithinRel(batch[2][r], 1e-5f) || WithinAbs(batch[2][r], 1e-6));
  }
}

TEST_CASE("onnx: a call allocates nothing once its workspace is warm") {
  const onnx_fixture f("user_tower");
  const auto in = f.inputs();
  std::vector<float> out(f.rows * 16);
  const std::span<float> outs[] = {out};
  const std::span<float> fewer[] = {std::span<float>(out).first(16 * 3)};
  const auto in3 = std::vector<funnel::scoring::onnx_input>{
      std::span<const std::int64_t>(f.int_inputs[0]).first(3),
      std::span<const float>(f.float_inputs[1]).first(3 * 10)};
  f.model.run(f.rows, in, outs);  // warm-up: the workspace of the largest batch
  const long before = funnel_test_allocations();
  f.model.run(f.rows, in, outs);
  f.model.run(3, in3, fewer);
  CHECK(funnel_test_allocations() == before);
}

TEST_CASE("onnx: concurrent calls on one model give the sequential results", "[concurrency]") {
  const onnx_fixture f("dcn_ranker");
  const auto want = f.run();
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 50; ++rep) {
        if (f.run() != want) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("onnx: an unsupported operator is refused naming the node and the operator") {
  const auto what = message_of(
      [] { (void)funnel::scoring::load_onnx(funnel::test::data("onnx/refused_gelu.onnx")); });
  CHECK_THAT(what,
             ContainsSubstring("[funnel.unsupported.scoring.onnx_model] refused_gelu.onnx: node"));
  CHECK_THAT(what, ContainsSubstring("(Erf): operator not supported"));
}

TEST_CASE("onnx: a fixed batch dimension is refused as a dynamic-shape error") {
  const auto what = message_of([] {
    (void)funnel::scoring::load_onnx(funnel::test::data("onnx/refused_fixed_batch.onnx"));
  });
  CHECK_THAT(what, ContainsSubstring("[funnel.unsupported.scoring.onnx_model]"));
  CHECK_THAT(what, ContainsSubstring("input 'x' has a fixed first dimension 3"));
}

TEST_CASE("onnx: a truncated or corrupted file is a parse_error naming the file") {
  std::ifstream src(funnel::test::data("onnx/dcn_ranker.onnx"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
  const auto dir = funnel::test::scratch_dir("onnx-truncated");
  for (std::size_t len = 0; len < bytes.size(); len += 97) {
    const auto path = dir / "dcn_cut.onnx";
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(len));
    INFO("first " << len << " bytes");
    try {
      (void)funnel::scoring::load_onnx(path);
      FAIL("loaded a truncated file");
    } catch (const funnel::parse_error& e) {
      CHECK_THAT(e.what(), ContainsSubstring("dcn_cut.onnx"));
    }
  }
  CHECK_THROWS_AS(funnel::scoring::load_onnx(dir / "absent.onnx"), funnel::io_error);
}

TEST_CASE("onnx: bounds from the options are checked before allocating") {
  const auto path = funnel::test::data("onnx/item_tower.onnx");
  CHECK_THROWS_AS(funnel::scoring::load_onnx(path, {.max_file_bytes = 1000}), funnel::parse_error);
  CHECK_THROWS_AS(funnel::scoring::load_onnx(path, {.max_nodes = 2}), funnel::parse_error);
  CHECK_THROWS_AS(funnel::scoring::load_onnx(path, {.max_tensor_elements = 1000}),
                  funnel::parse_error);
  CHECK_THROWS_AS(funnel::scoring::load_onnx(path, {.max_row_elements = 40}), funnel::parse_error);
}

TEST_CASE("onnx: run checks the inputs' dtypes and sizes and the index range") {
  const onnx_fixture f("user_tower");
  std::vector<float> out(16);
  const std::span<float> outs[] = {out};
  const std::vector<float> ids_as_floats(1, 3.0f);
  const std::vector<float> features(10);
  const funnel::scoring::onnx_input wrong_dtype[] = {std::span<const float>(ids_as_floats),
                                                     std::span<const float>(features)};
  CHECK_THAT(message_of([&] { f.model.run(1, wrong_dtype, outs); }),
             ContainsSubstring("[funnel.invalid_argument.scoring.onnx_model] user_tower.onnx: "
                               "input 'user_id' is int64, given float32"));
  const std::vector<std::int64_t> id{3};
  const funnel::scoring::onnx_input short_row[] = {std::span<const std::int64_t>(id),
                                                   std::span<const float>(features).first(9)};
  CHECK_THROWS_AS(f.model.run(1, short_row, outs), funnel::dimension_mismatch);
  const std::vector<std::int64_t> bad_id{200};
  const funnel::scoring::onnx_input out_of_range[] = {std::span<const std::int64_t>(bad_id),
                                                      std::span<const float>(features)};
  CHECK_THAT(message_of([&] { f.model.run(1, out_of_range, outs); }),
             ContainsSubstring("index 200 at position 0 is out of range [-200, 200)"));
}

TEST_CASE("onnx: mutated files load or raise a funnel error, and what loads runs") {
  funnel::rng r(20261207);
  const auto dir = funnel::test::scratch_dir("onnx-mutated");
  for (const char* name : {"dcn_ranker", "user_tower", "op_layer_norm", "op_gather", "op_matmul",
                           "op_reduce_sum", "op_transpose", "op_softmax"}) {
    std::ifstream src(funnel::test::data(std::string("onnx/") + name + ".onnx"), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(src)),
                            std::istreambuf_iterator<char>());
    for (int trial = 0; trial < 150; ++trial) {
      const auto text = funnel::test::mutated(bytes, r, "", 4, true);
      const auto path = dir / "mutated.onnx";
      std::ofstream(path, std::ios::binary)
          .write(text.data(), static_cast<std::streamsize>(text.size()));
      funnel::test::load_and_run(path);
    }
  }
  SUCCEED("every mutated file loaded and ran or raised a funnel::error");
}
