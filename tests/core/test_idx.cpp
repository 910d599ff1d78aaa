#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/gzip.hpp>
#include <funnel/core/idx.hpp>
#include <funnel/core/random.hpp>

#include <array>
#include <filesystem>
#include <string>

#include "funnel_catch.hpp"

namespace {

const std::filesystem::path fashion_dir = "/usr/share/datasets/fashion-mnist";

/// An IDX header: magic 00 00, type code, dims (big-endian).
std::string idx_header(unsigned char code, std::initializer_list<std::uint32_t> dims) {
  std::string h = {'\0', '\0', static_cast<char>(code), static_cast<char>(dims.size())};
  for (const auto d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8)
      h.push_back(static_cast<char>((d >> shift) & 0xff));
  }
  return h;
}

std::string error_id(const std::string& bytes) {
  try {
    (void)funnel::parse_idx(bytes, "x.idx");
  } catch (const funnel::error& e) {
    return e.id();
  }
  return "no error";
}

}  // namespace

TEST_CASE("idx: reads Fashion-MNIST t10k (Debian dataset-fashion-mnist), gzipped") {
  INFO("needs Debian's dataset-fashion-mnist (scripts/install-deps.sh installs it)");
  REQUIRE(std::filesystem::exists(fashion_dir / "t10k-images-idx3-ubyte.gz"));
  const auto d = funnel::read_idx_dataset(fashion_dir / "t10k-images-idx3-ubyte.gz",
                                          fashion_dir / "t10k-labels-idx1-ubyte.gz", 1.0F / 255.0F);
  CHECK(d.images.rows() == 10'000);
  CHECK(d.images.cols() == 784);
  REQUIRE(d.labels.size() == 10'000);
  std::array<int, 10> counts{};
  for (const auto l : d.labels) {
    REQUIRE(l < 10);
    ++counts[l];
  }
  for (const auto c : counts) CHECK(c == 1000);
  float lo = 1;
  float hi = 0;
  for (const auto v : d.images.values()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo == 0.0F);
  CHECK(hi == 1.0F);
  // The committed 100-image slice (written by numpy) is the same data, pixel for pixel.
  const auto slice = funnel::read_idx_dataset(
      funnel::test::data("core/fashion-t10k-100-images-idx3-ubyte.gz"),
      funnel::test::data("core/fashion-t10k-100-labels-idx1-ubyte.gz"), 1.0F / 255.0F);
  REQUIRE(slice.images.rows() == 100);
  for (std::size_t i = 0; i < 100; ++i) {
    CHECK(slice.labels[i] == d.labels[i]);
    for (std::size_t j = 0; j < 784; ++j) REQUIRE(slice.images(i, j) == d.images(i, j));
  }
}

TEST_CASE("idx: committed slice reads the same gzipped and plain, raw and scaled") {
  const auto gz =
      funnel::read_file(funnel::test::data("core/fashion-t10k-100-images-idx3-ubyte.gz"));
  const auto plain = funnel::gunzip(gz, "slice");
  const auto a = funnel::parse_idx(gz, "gz");
  const auto b = funnel::parse_idx(plain, "plain");
  CHECK(a.dims == std::vector<std::uint32_t>{100, 28, 28});
  CHECK(a.data == b.data);
  const auto dir = funnel::test::scratch_dir("idx-plain");
  funnel::write_file_atomic(dir / "images-idx3-ubyte", plain);
  const auto raw = funnel::read_idx_images(dir / "images-idx3-ubyte");
  const auto scaled = funnel::read_idx_images(dir / "images-idx3-ubyte", 0.5F);
  CHECK(raw.cols() == 784);
  CHECK(raw(3, 400) == static_cast<float>(a.data[3 * 784 + 400]));
  CHECK(scaled(3, 400) == raw(3, 400) * 0.5F);
  // Zero images is valid: 0 x 784.
  const auto empty = funnel::parse_idx(idx_header(0x08, {0, 28, 28}), "none");
  CHECK(empty.data.empty());
}

TEST_CASE("idx: every malformed header or payload names the file and the byte") {
  const auto ok = idx_header(0x08, {2, 3}) + std::string(6, '\x07');
  CHECK(funnel::parse_idx(ok, "ok").data.size() == 6);
  CHECK_THROWS_WITH(funnel::parse_idx("", "e.idx"), ContainsSubstring("e.idx: 0 bytes is shorter"));
  CHECK_THROWS_WITH(funnel::parse_idx(std::string("\x00\x00\x08", 3), "s.idx"),
                    ContainsSubstring("shorter than the 4-byte IDX magic"));
  CHECK_THROWS_WITH(funnel::parse_idx(std::string("\x01\x00", 2) + ok.substr(2), "m.idx"),
                    ContainsSubstring("m.idx: bad magic number 01 00 08 02 at byte 0"));
  CHECK_THROWS_WITH(funnel::parse_idx(idx_header(0x07, {2, 3}) + std::string(6, 'x'), "t.idx"),
                    ContainsSubstring("t.idx: unknown IDX element type code 0x07 at byte 2"));
  CHECK_THROWS_WITH(funnel::parse_idx(idx_header(0x0D, {2}) + std::string(8, 'x'), "f.idx"),
                    ContainsSubstring("f.idx: element type float32 (0x0d) is not supported"));
  CHECK(error_id(idx_header(0x0D, {2}) + std::string(8, 'x')) == "unsupported.core.idx");
  CHECK_THROWS_WITH(funnel::parse_idx(std::string("\x00\x00\x08\x00", 4), "z.idx"),
                    ContainsSubstring("z.idx: zero dimensions at byte 3"));
  CHECK_THROWS_WITH(
      funnel::parse_idx(idx_header(0x08, {2, 3}).substr(0, 9), "h.idx"),
      ContainsSubstring("h.idx: header announces 2 dimensions (12 bytes) but the data "
                        "has only 9 bytes"));
  CHECK_THROWS_WITH(funnel::parse_idx(ok.substr(0, ok.size() - 1), "p.idx"),
                    ContainsSubstring("p.idx: dimensions 2 x 3 need 6 bytes of data after the "
                                      "12-byte header, found 5 (truncated)"));
  CHECK_THROWS_WITH(funnel::parse_idx(ok + "!", "l.idx"),
                    ContainsSubstring("found 7 (trailing bytes)"));
  CHECK_THROWS_WITH(
      funnel::parse_idx(idx_header(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}), "o.idx"),
      ContainsSubstring("o.idx: the product of the dimensions overflows"));
  CHECK(error_id(ok + "!") == "parse_error.core.idx");
  // Gzipped: the payload errors say so, gzip damage is parse_error.gzip.
  CHECK_THROWS_WITH(funnel::parse_idx(funnel::gzip(ok.substr(0, 15)), "g.idx.gz"),
                    ContainsSubstring("found 3 (after gunzip) (truncated)"));
  CHECK_THROWS_AS(funnel::read_idx("/nonexistent/t10k.gz"), funnel::io_error);
  // Dimension checks of the typed readers.
  const auto dir = funnel::test::scratch_dir("idx-dims");
  funnel::write_file_atomic(dir / "labels", idx_header(0x08, {3}) + "abc");
  funnel::write_file_atomic(dir / "images", ok);
  CHECK_THROWS_AS(funnel::read_idx_images(dir / "labels"), funnel::dimension_mismatch);
  CHECK_THROWS_AS(funnel::read_idx_labels(dir / "images"), funnel::dimension_mismatch);
  CHECK_THROWS_WITH(funnel::read_idx_dataset(dir / "images", dir / "labels"),
                    ContainsSubstring("has 2 images but"));
}

TEST_CASE("idx: a gzip that inflates past its header's size stops there (no decompression bomb)") {
  // 16 bytes of header announcing 2 x 2 = 4 bytes, followed by 64 MiB of zeros: 64 KiB gzipped.
  const auto bomb =
      funnel::gzip(idx_header(0x08, {2, 2}) + std::string(std::size_t{64} << 20, '\0'));
  CHECK(bomb.size() < (std::size_t{1} << 20));
  CHECK_THROWS_WITH(funnel::parse_idx(bomb, "bomb.gz"),
                    ContainsSubstring("bomb.gz: the decompressed data is longer than the 16 bytes "
                                      "its header announces"));
  CHECK(error_id(bomb) == "parse_error.core.idx");
  // the exact size still reads; a header damaged in the gzip is reported before any payload
  const auto ok = funnel::gzip(idx_header(0x08, {2, 2}) + "abcd");
  CHECK(funnel::parse_idx(ok, "ok.gz").data.size() == 4);
  CHECK_THROWS_WITH(funnel::parse_idx(funnel::gzip(std::string("\x01\x00\x08\x01", 4) +
                                                   std::string(std::size_t{8} << 20, 'x')),
                                      "m.gz"),
                    ContainsSubstring("bad magic number"));
}

TEST_CASE("idx: a truncated or corrupted real gzip file gives a typed error") {
  const auto gz =
      funnel::read_file(funnel::test::data("core/fashion-t10k-100-images-idx3-ubyte.gz"));
  CHECK_THROWS_WITH(funnel::parse_idx(gz.substr(0, gz.size() / 3), "cut.gz"),
                    ContainsSubstring("cut.gz: truncated gzip stream"));
  auto flipped = gz;
  flipped[gz.size() / 2] = static_cast<char>(flipped[gz.size() / 2] ^ 0x10);
  try {
    (void)funnel::parse_idx(flipped, "flip.gz");
    FAIL("a flipped bit in the deflate data went unnoticed");
  } catch (const funnel::parse_error& e) {
    CHECK(e.id() == "parse_error.core.gzip");
    CHECK_THAT(std::string(e.what()), ContainsSubstring("flip.gz"));
  }
}

TEST_CASE("idx: random bytes and mutated headers never crash") {
  funnel::rng r(7);
  const auto base = idx_header(0x08, {4, 5}) + std::string(20, 'p');
  for (int trial = 0; trial < 4000; ++trial) {
    std::string bytes;
    if (trial % 2 == 0) {
      bytes = base;
      const auto edits = 1 + r.below(3);
      for (std::uint64_t e = 0; e < edits; ++e) {
        bytes[r.below(bytes.size())] = static_cast<char>(r.below(256));
      }
      if (r.bernoulli(0.3)) bytes.resize(r.below(bytes.size() + 1));
      if (r.bernoulli(0.2)) bytes = funnel::gzip(bytes);
    } else {
      bytes.resize(r.below(64));
      for (auto& c : bytes) c = static_cast<char>(r.below(256));
      if (r.bernoulli(0.5) && bytes.size() > 2) {
        bytes[0] = '\x1f';
        bytes[1] = static_cast<char>(0x8b);
      }
    }
    try {
      const auto a = funnel::parse_idx(bytes, "fuzz.idx");
      std::size_t n = 1;
      for (const auto d : a.dims) n *= d;
      REQUIRE(a.data.size() == n);
    } catch (const funnel::parse_error&) {
    } catch (const funnel::unsupported&) {
    }
  }
}
