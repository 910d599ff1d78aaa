// hnsw_index::quantize(): the 8-bit code kernels, the code book, search on codes with exact
// re-scoring, persistence of the code book, and quantize() concurrent with searches.
#include <funnel/core/random.hpp>
#include <funnel/retrieval.hpp>

#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>

#include "funnel_catch.hpp"
#include "retrieval/hnsw_format.hpp"
#include "retrieval/sq8.hpp"
#include "retrieval_test_data.hpp"

using namespace funnel;
using namespace funnel::retrieval;
using test::search_all;
namespace layout = funnel::retrieval::detail::hnsw_format;

namespace {

hnsw_index build(const test::vector_set& data, metric m) {
  hnsw_index index(
      hnsw_options{.dim = data.vectors.cols(), .metric = m, .M = 12, .ef_construction = 100});
  index.add_batch(data.ids, data.vectors);
  return index;
}

std::string load_error(const std::string& bytes) {
  return test::hnsw_load_error(bytes, "codes.hnsw");
}

}  // namespace

TEST_CASE("sq8 kernels: every kernel this CPU runs equals the plain integer sums") {
  rng r(5);
  const auto kernels = retrieval::detail::sq8_kernels();
  REQUIRE(kernels.front().name == "portable");
  INFO("kernels: " << kernels.size() << ", searches use " << retrieval::detail::sq8_best().name);
  // Block boundaries of the 32-bit accumulation (16,384 bytes) and extreme bytes included.
  for (const std::size_t bytes : {64, 832, 16384, 16448, 32832}) {
    std::vector<std::uint8_t> a(bytes);
    std::vector<std::uint8_t> b(bytes);
    for (std::size_t i = 0; i < bytes; ++i) {
      a[i] = static_cast<std::uint8_t>(r() % 256);
      b[i] = static_cast<std::uint8_t>(r() % 256);
    }
    if (bytes >= 4096) {
      std::fill_n(a.begin(), 2048, std::uint8_t{255});
      std::fill_n(b.begin() + 2048, 2048, std::uint8_t{0});
    }
    std::uint64_t l2 = 0;
    std::uint64_t dot = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
      const std::int64_t d = std::int64_t{a[i]} - std::int64_t{b[i]};
      l2 += static_cast<std::uint64_t>(d * d);
      dot += std::uint64_t{a[i]} * std::uint64_t{b[i]};
    }
    for (const auto& k : kernels) {
      CAPTURE(k.name, bytes);
      CHECK(k.l2(a.data(), b.data(), bytes) == l2);
      CHECK(k.dot(a.data(), b.data(), bytes) == dot);
    }
  }
}

TEST_CASE("sq8 codec: one scale, per-dimension offsets, rounding, clamping and zero padding") {
  const float rows[] = {0.0F, -1.0F, 10.0F,  // dimension ranges 0..2, -1..3, 10..10
                        2.0F, 3.0F,  10.0F};
  const auto codec =
      retrieval::detail::sq8_codec::fit(3, 2, [&](std::size_t i) { return rows + 3 * i; });
  CHECK(codec.scale() == static_cast<float>(4.0 / 255.0));  // the widest range sets the scale
  CHECK(codec.offset()[0] == 0.0F);
  CHECK(codec.offset()[1] == -1.0F);
  CHECK(codec.offset()[2] == 10.0F);
  CHECK(codec.stride() == 64);
  std::vector<std::uint8_t> code(codec.stride(), 77);
  const float x[] = {1.0F, 0.0F, 10.0F};
  codec.encode(x, code.data());
  CHECK(code[0] == 64);  // 1 / (4/255) = 63.75
  CHECK(code[1] == 64);  // (0 + 1) / (4/255)
  CHECK(code[2] == 0);
  for (std::size_t i = 3; i < code.size(); ++i) CHECK(code[i] == 0);
  const float outside[] = {-5.0F, 100.0F, 10.0F};
  codec.encode(outside, code.data());
  CHECK(code[0] == 0);
  CHECK(code[1] == 255);
  CHECK_THAT(codec.offset_dot(code.data()), WithinAbs(-255.0, 1e-3));

  const float same[] = {1.0F, 1.0F};  // no range: any scale is exact
  CHECK(retrieval::detail::sq8_codec::fit(2, 1, [&](std::size_t) { return same; }).scale() == 1.0F);
  CHECK_THROWS_AS(retrieval::detail::sq8_codec({}, 1.0F), invalid_argument);
  CHECK_THROWS_AS(retrieval::detail::sq8_codec({std::nanf("")}, 1.0F), invalid_argument);
  CHECK_THROWS_WITH(retrieval::detail::sq8_codec({0.0F}, 0.0F), ContainsSubstring("scale"));
  CHECK_THROWS_WITH(retrieval::detail::sq8_codec({0.0F}, 1e-45F), ContainsSubstring("scale"));
}

TEST_CASE("hnsw_index: quantized walk keeps recall for every metric and scores stay exact") {
  const auto data = test::clustered(3000, 40, 20, 7);
  const auto queries = test::clustered(100, 40, 20, 7, 0).vectors;
  for (const auto m : {metric::l2, metric::inner_product, metric::cosine}) {
    CAPTURE(to_string(m));
    auto index = build(data, m);
    const auto before = search_all(index, queries, 10, {.ef = 60});
    CHECK_FALSE(index.quantized());
    const std::size_t float_bytes = index.bytes_per_node();
    // 4 d (vector) + 8 M + 4 (level-0 links and their count) + 8 (id) + 8 (the filters' id copy)
    CHECK(float_bytes == 4 * 40 + 8 * 12 + 20);
    index.quantize();
    CHECK(index.quantized());
    // The code, and a float per node: offset . code (inner product, cosine) or the residual (L2).
    CHECK(index.bytes_per_node() == float_bytes + 64 + 4);
    const exact_index exact(data.ids, data.vectors, m);
    const auto truth = exact.search_batch(queries, 10);
    const auto on_codes = search_all(index, queries, 10, {.ef = 60});
    const auto on_floats = search_all(index, queries, 10, {.ef = 60, .quantized_walk = false});
    CHECK(on_floats == before);  // the float walk is untouched by quantize()
    const double r_codes = metrics::recall_at_k(on_codes, truth, 10);
    const double r_floats = metrics::recall_at_k(on_floats, truth, 10);
    CHECK(r_codes >= 0.95);
    CHECK(r_codes >= r_floats - 0.02);
    // Re-scored exactly: an id found by both walks has the same score, bit for bit.
    for (std::size_t q = 0; q < queries.rows(); ++q) {
      for (std::size_t i = 1; i < on_codes[q].size(); ++i)
        CHECK(on_codes[q][i - 1].score >= on_codes[q][i].score);
      for (const auto& c : on_codes[q]) {
        for (const auto& f : on_floats[q]) {
          if (f.id == c.id) CHECK(f.score == c.score);
        }
      }
    }
  }
}

TEST_CASE("sq8 residual bounds: the code distance brackets the exact squared L2") {
  const auto data = test::clustered(200, 40, 5, 17);
  const auto codec = retrieval::detail::sq8_codec::fit(
      40, 100, [&](std::size_t i) { return data.vectors.row(i).data(); });
  std::vector<std::uint8_t> a(codec.stride());
  std::vector<std::uint8_t> b(codec.stride());
  for (std::size_t i = 0; i < 100; ++i) {
    // Rows 100.. were not fitted: some of their values are clamped, so residuals are large.
    const float* x = data.vectors.row(i).data();
    const float* y = data.vectors.row(100 + i).data();
    codec.encode(x, a.data());
    codec.encode(y, b.data());
    std::uint64_t code_l2 = 0;
    double exact = 0.0;
    for (std::size_t d = 0; d < 40; ++d) {
      const int c = int{a[d]} - int{b[d]};
      code_l2 += static_cast<std::uint64_t>(c * c);
      exact += (static_cast<double>(x[d]) - y[d]) * (static_cast<double>(x[d]) - y[d]);
    }
    const auto bounds =
        retrieval::detail::l2_bounds(static_cast<double>(code_l2), codec.scale(),
                                     codec.residual(x, a.data()) + codec.residual(y, b.data()));
    CAPTURE(i, exact, bounds.lower, bounds.upper);
    CHECK(bounds.lower <= exact);
    CHECK(exact <= bounds.upper);
    CHECK(bounds.lower > 0.5 * exact);  // not vacuous on data the codes fit
  }
  std::vector<std::uint8_t> code(codec.stride());
  const float* x = data.vectors.row(0).data();
  codec.encode(x, code.data());
  CHECK(codec.residual(x, code.data()) > 0.0F);
  CHECK(codec.residual(x, code.data()) < 0.5F * codec.scale() * std::sqrt(40.0F) * 1.01F);
}

TEST_CASE("hnsw_index: L2 on codes re-scores only what the bounds require, with the same results") {
  const auto data = test::clustered(3000, 40, 20, 7);
  const auto queries = test::clustered(60, 40, 20, 7, 0).vectors;
  auto index = build(data, metric::l2);
  index.quantize();
  // The walk: the k closest of the ef found (bounded re-scoring) are the first k of all ef
  // re-scored (k = ef keeps every one of them).
  for (const std::size_t ef : {10, 40, 100}) {
    CAPTURE(ef);
    const auto top10 = search_all(index, queries, 10, {.ef = ef});
    const auto all = search_all(index, queries, ef, {.ef = ef});
    for (std::size_t q = 0; q < queries.rows(); ++q) {
      CAPTURE(q);
      REQUIRE(all[q].size() >= 10);
      CHECK(top10[q] == candidate_list(all[q].begin(), all[q].begin() + 10));
    }
  }
  // The scan on codes returns exactly the float scan's results, for every kind of filter, one
  // query at a time and batched.
  std::vector<std::uint64_t> some;
  std::vector<std::uint64_t> few;
  for (std::size_t i = 0; i < data.ids.size(); ++i) {
    if (data.cluster[i] % 3 == 0) some.push_back(data.ids[i]);
    if (i % 61 == 0) few.push_back(data.ids[i]);
  }
  const allow_list long_list(some);
  const allow_list short_list(few);  // under 1/8 of the index: looked up id by id
  const filter long_filter(long_list);
  const filter short_filter(short_list);
  const auto pred = filter::where([](std::uint64_t id) { return id % 5 != 0; });
  for (const filter* f : {&long_filter, &short_filter, &pred}) {
    for (const std::size_t k : {1, 10, 50}) {
      CAPTURE(k);
      const search_options codes_scan{.strategy = filter_strategy::scan};
      const search_options float_scan{.strategy = filter_strategy::scan, .quantized_walk = false};
      const auto on_codes = search_all(index, queries, k, codes_scan, *f);
      const auto on_floats = search_all(index, queries, k, float_scan, *f);
      CHECK(on_codes == on_floats);
      CHECK(index.search_batch(queries, k, codes_scan, *f) == on_floats);
      CHECK(index.search_batch(queries, k, float_scan, *f) == on_floats);
    }
  }
}

TEST_CASE("hnsw_index: the scan on wide codes with far queries returns the float scan's results") {
  // 300 values: codes of 320 bytes (several lines, a padded tail); queries far from the allowed
  // clusters, so that the bounds prune most nodes.
  const auto data = test::clustered(1500, 300, 10, 9);
  const auto queries = test::clustered(40, 300, 10, 9, 0).vectors;
  auto index = build(data, metric::l2);
  index.quantize();
  std::vector<std::uint64_t> allowed;
  for (std::size_t i = 0; i < data.ids.size(); ++i) {
    if (data.cluster[i] < 3) allowed.push_back(data.ids[i]);
  }
  const allow_list list(allowed);
  for (const std::size_t k : {1, 10, 40}) {
    CAPTURE(k);
    const auto on_floats = search_all(
        index, queries, k, {.strategy = filter_strategy::scan, .quantized_walk = false}, list);
    CHECK(search_all(index, queries, k, {.strategy = filter_strategy::scan}, list) == on_floats);
  }
}

TEST_CASE("hnsw_index: inserts after quantize() are encoded; filters and deletes still hold") {
  const auto data = test::clustered(1500, 16, 8, 21);
  hnsw_index index(hnsw_options{.dim = 16, .M = 8, .ef_construction = 60});
  CHECK_THROWS_WITH(index.quantize(), ContainsSubstring("no vectors"));
  index.add_batch(std::span(data.ids).first(500), data.vectors.view().middle_rows(0, 500));
  index.quantize();
  index.add_batch(std::span(data.ids).subspan(500), data.vectors.view().middle_rows(500, 1000), 2);
  index.remove(data.ids[600]);
  for (std::size_t i = 500; i < 1500; i += 97) {
    CAPTURE(i);
    const auto r = index.search(data.vectors.row(i), 1, {.ef = 40});
    REQUIRE(r.size() == 1);
    if (i != 600) CHECK(r[0].id == data.ids[i]);  // each new vector finds itself
    if (i == 600) CHECK(r[0].id != data.ids[600]);
  }
  const allow_list one_cluster = [&] {
    std::vector<std::uint64_t> ids;
    for (std::size_t i = 0; i < 1500; ++i)
      if (data.cluster[i] == 3) ids.push_back(data.ids[i]);
    return allow_list(ids);
  }();
  for (const auto strategy : {filter_strategy::graph, filter_strategy::automatic}) {
    const auto r =
        index.search(data.vectors.row(0), 10, {.ef = 40, .strategy = strategy}, one_cluster);
    CHECK(r.size() == 10);
    for (const auto& c : r) CHECK(one_cluster.contains(c.id));
  }
}

TEST_CASE("hnsw persistence: the code book round-trips and its damage is named") {
  const auto data = test::clustered(400, 8, 5, 31);
  auto index = build(data, metric::inner_product);
  const std::string plain = index.serialize();
  index.quantize();
  const std::string bytes = index.serialize();
  CHECK(bytes.size() == plain.size() + 4 + 4 * 8);  // scale + 8 offsets
  std::uint32_t flags = 0;
  std::memcpy(&flags, bytes.data() + layout::off_flags, 4);
  CHECK(flags == layout::flag_codes);
  const auto loaded = hnsw_index::deserialize(bytes, "codes.hnsw");
  CHECK(loaded.quantized());
  CHECK(loaded.serialize() == bytes);
  for (std::size_t i = 0; i < 40; ++i) {
    CHECK(loaded.search(data.vectors.row(i), 10, {.ef = 30}) ==
          index.search(data.vectors.row(i), 10, {.ef = 30}));
  }

  auto damaged = bytes;  // scale (first field after the upper levels) set to 0
  const std::size_t scale_at = bytes.size() - 4 - 4 * 8 - 4;
  const float zero = 0.0F;
  std::memcpy(damaged.data() + scale_at, &zero, 4);
  test::reseal_hnsw(damaged);
  CHECK_THAT(load_error(damaged), ContainsSubstring("code book") && ContainsSubstring("scale"));
  damaged = bytes;
  const float nan = std::nanf("");
  std::memcpy(damaged.data() + scale_at + 4 + 4 * 3, &nan, 4);  // offset of dimension 3
  test::reseal_hnsw(damaged);
  CHECK_THAT(load_error(damaged), ContainsSubstring("dimension 3"));
  damaged = bytes;
  const std::uint32_t unknown = 2;
  std::memcpy(damaged.data() + layout::off_flags, &unknown, 4);
  test::reseal_hnsw(damaged);
  CHECK_THAT(load_error(damaged), ContainsSubstring("flags"));
  damaged = plain;  // the flag without its code book: the size no longer adds up
  std::memcpy(damaged.data() + layout::off_flags, &layout::flag_codes, 4);
  test::reseal_hnsw(damaged);
  CHECK_THAT(load_error(damaged), ContainsSubstring("code book bytes"));
  CHECK_THAT(load_error(bytes.substr(0, bytes.size() - 9)), ContainsSubstring("truncated"));

  // Format version 1 (before code books) still loads; with the flag set it is rejected.
  auto v1 = plain;
  const std::uint32_t one = 1;
  std::memcpy(v1.data() + layout::off_version, &one, 4);
  test::reseal_hnsw(v1);
  CHECK(hnsw_index::deserialize(v1, "v1.hnsw").serialize() == plain);
  std::memcpy(v1.data() + layout::off_flags, &layout::flag_codes, 4);
  test::reseal_hnsw(v1);
  CHECK_THAT(load_error(v1), ContainsSubstring("flags"));
}

TEST_CASE("hnsw_index: quantize() and inserts run while other threads search", "[concurrency]") {
  const auto data = test::clustered(900, 8, 6, 41);
  hnsw_index index(hnsw_options{.dim = 8, .M = 8, .ef_construction = 40});
  index.add_batch(std::span(data.ids).first(300), data.vectors.view().middle_rows(0, 300));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::size_t i = 300; i < 900; i += 100) {
      index.quantize();
      index.add_batch(std::span(data.ids).subspan(i, 100), data.vectors.view().middle_rows(i, 100));
    }
    done = true;
  });
  std::atomic<std::size_t> short_results{0};
  std::thread reader([&] {
    for (std::size_t i = 0; !done; ++i) {
      if (index.search(data.vectors.row(i % 900), 5, {.ef = 20}).size() < 5) ++short_results;
    }
  });
  writer.join();
  reader.join();
  CHECK(short_results == 0);
  CHECK(index.quantized());
  CHECK(index.size() == 900);
}
