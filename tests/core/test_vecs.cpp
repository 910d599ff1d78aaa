#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/idx.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/vecs.hpp>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>

#include "funnel_catch.hpp"

namespace {

std::string le32(std::int32_t v) {
  std::string s(4, '\0');
  std::memcpy(s.data(), &v, 4);  // the test machines are little-endian, as the formats are
  return s;
}
std::string f32(float v) {
  std::string s(4, '\0');
  std::memcpy(s.data(), &v, 4);
  return s;
}

}  // namespace

TEST_CASE("vecs: committed fvecs / bvecs (written by numpy) match the IDX images they came from") {
  const auto images =
      funnel::read_idx_images(funnel::test::data("core/fashion-t10k-100-images-idx3-ubyte.gz"));
  const auto f = funnel::read_fvecs(funnel::test::data("core/fashion20.fvecs"));
  const auto b = funnel::read_bvecs(funnel::test::data("core/fashion20.bvecs"));
  REQUIRE(f.rows() == 20);
  REQUIRE(f.cols() == 784);
  REQUIRE(b.rows() == 20);
  REQUIRE(b.cols() == 784);
  for (std::size_t i = 0; i < 20; ++i) {
    for (std::size_t j = 0; j < 784; ++j) {
      REQUIRE(b(i, j) == images(i, j));
      REQUIRE(f(i, j) == images(i, j) / 255.0F);  // numpy: float32(pixel) / float32(255)
    }
  }
  const auto first5 =
      funnel::read_fvecs(funnel::test::data("core/fashion20.fvecs"), {.max_rows = 5});
  CHECK(first5.rows() == 5);
  CHECK(first5.row(4)[300] == f.row(4)[300]);
}

TEST_CASE("vecs: committed ivecs ground truth equals a brute-force k-NN computed here") {
  const auto gt = funnel::read_ivecs(funnel::test::data("core/fashion20_knn5.ivecs"));
  REQUIRE(gt.rows == 20);
  REQUIRE(gt.cols == 5);
  const auto base =
      funnel::read_idx_images(funnel::test::data("core/fashion-t10k-100-images-idx3-ubyte.gz"));
  for (std::size_t q = 0; q < gt.rows; ++q) {
    std::vector<double> dist(base.rows());
    for (std::size_t i = 0; i < base.rows(); ++i) {
      double s = 0;
      for (std::size_t j = 0; j < base.cols(); ++j) {
        const double d = static_cast<double>(base(i, j)) - static_cast<double>(base(q, j));
        s += d * d;
      }
      dist[i] = s;
    }
    std::vector<std::int32_t> order(base.rows());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
      return dist[static_cast<std::size_t>(a)] < dist[static_cast<std::size_t>(b)];
    });
    const auto row = gt.row(q);
    CHECK(std::vector<std::int32_t>(row.begin(), row.end()) ==
          std::vector<std::int32_t>(order.begin(), order.begin() + 5));
    CHECK(row[0] == static_cast<std::int32_t>(q));  // every image is its own nearest neighbour
  }
}

TEST_CASE("vecs: fvecs and ivecs writers round-trip bit for bit and write atomically") {
  const auto dir = funnel::test::scratch_dir("vecs-write");
  const auto real = funnel::read_fvecs(funnel::test::data("core/fashion20.fvecs"));
  funnel::write_fvecs(dir / "copy.fvecs", real);
  CHECK(funnel::read_file(dir / "copy.fvecs") ==
        funnel::read_file(funnel::test::data("core/fashion20.fvecs")));
  funnel::matrix odd(3, 2);
  odd(0, 0) = -0.0F;
  odd(1, 1) = std::numeric_limits<float>::denorm_min();
  odd(2, 0) = std::numeric_limits<float>::quiet_NaN();
  funnel::write_fvecs(dir / "odd.fvecs", odd);
  const auto back = funnel::read_fvecs(dir / "odd.fvecs");
  REQUIRE(back.rows() == 3);
  CHECK(std::memcmp(back.data(), odd.data(), 6 * sizeof(float)) == 0);
  const funnel::int_matrix ids{{1, 2, 3, -4, 5, 6}, 2, 3};
  funnel::write_ivecs(dir / "ids.ivecs", ids);
  CHECK(funnel::read_ivecs(dir / "ids.ivecs") == ids);
  funnel::write_fvecs(dir / "empty.fvecs", funnel::matrix());
  CHECK(funnel::read_fvecs(dir / "empty.fvecs").rows() == 0);
  CHECK_THROWS_AS(funnel::write_fvecs(dir / "nocols.fvecs", funnel::matrix(2, 0)),
                  funnel::invalid_argument);
  CHECK_THROWS_AS(funnel::write_ivecs(dir / "bad.ivecs", funnel::int_matrix{{1, 2, 3}, 2, 2}),
                  funnel::dimension_mismatch);
  CHECK_THROWS_AS(funnel::write_fvecs("/nonexistent-dir/a.fvecs", odd), funnel::io_error);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  CHECK(files == 4);  // no temporary left behind
}

TEST_CASE("vecs: truncated records, inconsistent and absurd dimensions name record and byte") {
  const std::string rec = le32(2) + f32(1.0F) + f32(2.0F);  // 12 bytes
  CHECK(funnel::parse_fvecs(rec + rec, "ok").rows() == 2);
  CHECK(funnel::parse_fvecs("", "empty").rows() == 0);
  CHECK_THROWS_WITH(funnel::parse_fvecs(rec + rec.substr(0, 7), "t.fvecs"),
                    ContainsSubstring("t.fvecs: record 1 at byte 12 is truncated: dimension 2 "
                                      "needs 8 bytes, 3 left"));
  CHECK_THROWS_WITH(funnel::parse_fvecs(rec + rec.substr(0, 2), "h.fvecs"),
                    ContainsSubstring("h.fvecs: record 1 at byte 12 is truncated: 2 bytes left, a "
                                      "dimension needs 4"));
  CHECK_THROWS_WITH(funnel::parse_fvecs(rec + le32(3) + f32(1) + f32(2) + f32(3), "d.fvecs"),
                    ContainsSubstring("d.fvecs: record 1 at byte 12: dimension 3 differs from the "
                                      "first record's 2"));
  CHECK_THROWS_WITH(funnel::parse_fvecs(le32(0), "z.fvecs"),
                    ContainsSubstring("z.fvecs: record 0 at byte 0: dimension 0 is not positive"));
  CHECK_THROWS_WITH(funnel::parse_fvecs(le32(-5) + rec, "n.fvecs"),
                    ContainsSubstring("dimension -5 is not positive"));
  CHECK_THROWS_WITH(funnel::parse_fvecs(rec + le32(2'000'000'000), "a.fvecs"),
                    ContainsSubstring("a.fvecs: record 1 at byte 12: dimension 2000000000 is above "
                                      "the limit 1048576"));
  CHECK_THROWS_WITH(funnel::parse_fvecs(rec, "lim.fvecs", {.max_dim = 1}),
                    ContainsSubstring("dimension 2 is above the limit 1"));
  // A text file read as fvecs: its first 4 bytes make an absurd dimension.
  CHECK_THROWS_AS(funnel::parse_fvecs("1 1:1 2:1\n", "wrong-format.fvecs"), funnel::parse_error);
  const std::string irec = le32(1) + le32(42);
  CHECK(funnel::parse_ivecs(irec + irec, "ok").values == std::vector<std::int32_t>{42, 42});
  CHECK_THROWS_WITH(funnel::parse_ivecs(irec + le32(1), "t.ivecs"),
                    ContainsSubstring("t.ivecs: record 1 at byte 8 is truncated"));
  try {
    (void)funnel::parse_ivecs(irec + le32(2) + le32(1) + le32(2), "d.ivecs");
    FAIL("inconsistent ivecs dimension went unnoticed");
  } catch (const funnel::error& e) {
    CHECK(e.id() == "parse_error.core.ivecs");
  }
  const std::string brec = le32(3) + "abc";
  CHECK(funnel::parse_bvecs(brec, "ok").row(0)[2] == static_cast<float>('c'));
  CHECK_THROWS_WITH(funnel::parse_bvecs(brec + le32(3) + "ab", "t.bvecs"),
                    ContainsSubstring("t.bvecs: record 1 at byte 7 is truncated: dimension 3 needs "
                                      "3 bytes, 2 left"));
  CHECK_THROWS_WITH(funnel::parse_bvecs(brec + le32(4) + "abcd", "d.bvecs"),
                    ContainsSubstring("dimension 4 differs from the first record's 3"));
  CHECK_THROWS_AS(funnel::read_fvecs("/nonexistent/base.fvecs"), funnel::io_error);
}

TEST_CASE("vecs: random bytes never crash the readers") {
  funnel::rng r(99);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes;
    if (trial % 2 == 0) {
      bytes = le32(3) + f32(1) + f32(2) + f32(3) + le32(3) + f32(4) + f32(5) + f32(6);
      bytes[r.below(bytes.size())] = static_cast<char>(r.below(256));
      if (r.bernoulli(0.3)) bytes.resize(r.below(bytes.size() + 1));
    } else {
      bytes.resize(r.below(48));
      for (auto& c : bytes) c = static_cast<char>(r.below(256));
    }
    for (int kind = 0; kind < 3; ++kind) {
      try {
        if (kind == 0) {
          const auto m = funnel::parse_fvecs(bytes, "fuzz");
          REQUIRE(m.size() * 4 + m.rows() * 4 == bytes.size());
        } else if (kind == 1) {
          const auto m = funnel::parse_ivecs(bytes, "fuzz");
          REQUIRE(m.values.size() * 4 + m.rows * 4 == bytes.size());
        } else {
          const auto m = funnel::parse_bvecs(bytes, "fuzz");
          REQUIRE(m.size() + m.rows() * 4 == bytes.size());
        }
      } catch (const funnel::parse_error&) {
      }
    }
  }
}
