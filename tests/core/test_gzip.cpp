#include <funnel/core/error.hpp>
#include <funnel/core/gzip.hpp>
#include <funnel/core/random.hpp>

#include <string>

#include "funnel_catch.hpp"

namespace {
std::string random_text(std::size_t n, std::uint64_t seed) {
  funnel::rng r(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>('a' + r.below(4));  // compressible but not trivial
  return s;
}
}  // namespace

TEST_CASE("gzip: round trip, empty input, levels and concatenated members") {
  const auto text = random_text(200'000, 1);
  for (const int level : {0, 1, 6, 9}) {
    const auto z = funnel::gzip(text, level);
    CHECK(funnel::is_gzip(z));
    CHECK(funnel::gunzip(z, "mem") == text);
  }
  CHECK(funnel::gunzip(funnel::gzip(""), "empty").empty());
  const auto two = funnel::gzip("hello ") + funnel::gzip("world");
  CHECK(funnel::gunzip(two, "cat") == "hello world");
  CHECK_THROWS_AS(funnel::gzip("x", 10), funnel::invalid_argument);
}

TEST_CASE("gzip: truncated, corrupt, non-gzip and trailing garbage give parse_error.core.gzip") {
  const auto z = funnel::gzip(random_text(50'000, 2));
  CHECK_THROWS_WITH(funnel::gunzip(z.substr(0, z.size() / 2), "half.gz"),
                    ContainsSubstring("half.gz: truncated gzip stream"));
  CHECK_THROWS_WITH(funnel::gunzip(z.substr(0, z.size() - 4), "notrailer.gz"),
                    ContainsSubstring("truncated"));
  CHECK_THROWS_WITH(funnel::gunzip(z.substr(0, 5), "header.gz"), ContainsSubstring("truncated"));
  auto crc = z;
  crc[crc.size() - 6] = static_cast<char>(crc[crc.size() - 6] ^ 0x5a);  // inside the CRC-32
  CHECK_THROWS_WITH(funnel::gunzip(crc, "crc.gz"), ContainsSubstring("crc.gz: corrupt gzip data"));
  auto body = z;
  for (std::size_t i = 20; i < 60; ++i) body[i] = static_cast<char>(0xff);
  CHECK_THROWS_AS(funnel::gunzip(body, "body.gz"), funnel::parse_error);
  CHECK_THROWS_WITH(funnel::gunzip("plain text", "plain.txt"),
                    ContainsSubstring("plain.txt: not a gzip stream"));
  CHECK_THROWS_WITH(funnel::gunzip(z + "junk", "junk.gz"),
                    ContainsSubstring("4 bytes of trailing garbage"));
  try {
    (void)funnel::gunzip(z.substr(0, 100), "id.gz");
  } catch (const funnel::error& e) {
    CHECK(e.id() == "parse_error.core.gzip");
  }
}

TEST_CASE("gzip: max_output stops a decompression bomb") {
  const auto bomb = funnel::gzip(std::string(1'000'000, '\0'));
  CHECK(bomb.size() < 5'000);
  CHECK_THROWS_AS(funnel::gunzip(bomb, "bomb.gz", 100'000), funnel::invalid_argument);
  CHECK(funnel::gunzip(bomb, "bomb.gz", 1'000'000).size() == 1'000'000);
}

TEST_CASE("gzip: gunzip_prefix inflates only the bytes asked for") {
  const std::string text = "0123456789" + std::string(std::size_t{16} << 20, 'z');
  const auto gz = funnel::gzip(text);
  CHECK(funnel::gunzip_prefix(gz, "p.gz", 4) == "0123");
  CHECK(funnel::gunzip_prefix(gz, "p.gz", 0).empty());
  const auto small = funnel::gzip("abc");
  CHECK(funnel::gunzip_prefix(small, "s.gz", 16) == "abc");  // shorter stream: all of it
  CHECK_THROWS_AS(funnel::gunzip_prefix("not gzip", "n.gz", 4), funnel::parse_error);
  auto bad = gz;
  bad[12] = static_cast<char>(bad[12] ^ 0xff);
  try {
    (void)funnel::gunzip_prefix(bad, "b.gz", 1 << 20);
  } catch (const funnel::parse_error&) {
  }  // either a prefix or a parse_error: never another exception
}
