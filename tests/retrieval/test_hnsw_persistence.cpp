// A second translation unit using the retrieval headers (see the note in test_hnsw_index.cpp).
#include <funnel/core/file.hpp>
#include <funnel/retrieval.hpp>

#include <cmath>
#include <cstring>
#include <string>

#include "funnel_catch.hpp"
#include "retrieval/hnsw_format.hpp"
#include "retrieval_test_data.hpp"

using namespace funnel;
using namespace funnel::retrieval;
namespace layout = funnel::retrieval::detail::hnsw_format;

namespace {

template <class T>
T read_at(const std::string& bytes, std::size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}
template <class T>
void write_at(std::string& bytes, std::size_t offset, T v) {
  std::memcpy(bytes.data() + offset, &v, sizeof(T));
}

struct fixture {
  test::vector_set data = test::clustered(400, 8, 5, 31);
  hnsw_index index{hnsw_options{.dim = 8, .metric = metric::cosine, .M = 6, .ef_construction = 40}};
  fixture() {
    index.add_batch(data.ids, data.vectors);
    index.remove(data.ids[7]);
  }
  [[nodiscard]] std::size_t node_bytes() const { return 4 + 8 * 6 + 4 * 8 + 8; }
};

std::string load_error(const std::string& bytes) {
  return test::hnsw_load_error(bytes, "damaged.hnsw");
}

}  // namespace

TEST_CASE("hnsw persistence: save and load round-trip answers, deletions and parameters") {
  fixture f;
  const auto dir = test::scratch_dir("hnsw-roundtrip");
  f.index.save(dir / "index.hnsw");
  const auto loaded = hnsw_index::load(dir / "index.hnsw");
  CHECK(loaded.options().dim == 8);
  CHECK(loaded.options().metric == metric::cosine);
  CHECK(loaded.size() == f.index.size());
  CHECK(loaded.num_nodes() == f.index.num_nodes());
  CHECK(loaded.options().M == 6);
  CHECK_FALSE(loaded.contains(f.data.ids[7]));
  for (std::size_t i = 0; i < 50; ++i) {
    CHECK(loaded.search(f.data.vectors.row(i), 10, {.ef = 40}) ==
          f.index.search(f.data.vectors.row(i), 10, {.ef = 40}));
  }
  CHECK(loaded.serialize() == f.index.serialize());  // bit-exact
  // A loaded index keeps accepting inserts.
  auto mutable_copy = hnsw_index::load(dir / "index.hnsw");
  mutable_copy.add(999999, f.data.vectors.row(3));
  CHECK(mutable_copy.search(f.data.vectors.row(3), 2, {.ef = 40}).size() == 2);
  // An empty index round-trips too.
  const hnsw_index empty(hnsw_options{.dim = 3});
  CHECK(hnsw_index::deserialize(empty.serialize(), "empty").size() == 0);
}

TEST_CASE("hnsw persistence: a missing file is an io_error; a loaded index checks query widths") {
  fixture f;
  const auto dir = test::scratch_dir("hnsw-mismatch");
  f.index.save(dir / "index.hnsw");
  CHECK_THROWS_AS(hnsw_index::load(dir / "missing.hnsw"), io_error);
  const auto loaded = hnsw_index::load(dir / "index.hnsw");
  const std::vector<float> wide(16, 0.5F);
  CHECK_THROWS_AS(loaded.search(wide, 5), dimension_mismatch);
}

TEST_CASE("hnsw persistence: every truncation is rejected with a parse error") {
  fixture f;
  const auto bytes = f.index.serialize();
  for (std::size_t len :
       {std::size_t{0}, std::size_t{5}, std::size_t{60}, layout::header_size,
        layout::header_size + 1, bytes.size() / 2, bytes.size() - 5, bytes.size() - 1}) {
    CAPTURE(len);
    CHECK_THAT(load_error(bytes.substr(0, len)),
               ContainsSubstring("funnel.parse_error.retrieval.hnsw_index") &&
                   (ContainsSubstring("truncated") || ContainsSubstring("bad magic")));
  }
  CHECK_THAT(load_error(bytes + "x"), ContainsSubstring("trailing"));
}

TEST_CASE("hnsw persistence: header damage is named") {
  fixture f;
  const auto good = f.index.serialize();
  auto bytes = good;
  bytes[0] = 'X';
  CHECK_THAT(load_error(bytes), ContainsSubstring("bad magic"));
  bytes = good;
  write_at<std::uint32_t>(bytes, layout::off_version, layout::version + 1);
  test::reseal_hnsw(bytes);
  CHECK_THAT(load_error(bytes),
             ContainsSubstring("unsupported") &&
                 ContainsSubstring(fmt::format("version {}", layout::version + 1)));
  bytes = good;
  write_at<std::uint32_t>(bytes, layout::off_metric, 9);
  test::reseal_hnsw(bytes);
  CHECK_THAT(load_error(bytes), ContainsSubstring("unknown metric"));
  bytes = good;  // a wrong dimension: node size no longer matches
  write_at<std::uint64_t>(bytes, layout::off_dim, 16);
  test::reseal_hnsw(bytes);
  CHECK_THAT(load_error(bytes), ContainsSubstring("bytes per node"));
  bytes = good;
  write_at<std::uint64_t>(bytes, layout::off_count, 1ULL << 40);
  test::reseal_hnsw(bytes);
  CHECK_THAT(load_error(bytes), ContainsSubstring("does not match the header"));
  bytes = good;  // any flipped bit without a resealed checksum
  bytes[layout::header_size + 1000] ^= 0x10;
  CHECK_THAT(load_error(bytes), ContainsSubstring("checksum mismatch"));
}

TEST_CASE("hnsw persistence: structural damage behind a valid checksum is caught") {
  fixture f;
  const auto good = f.index.serialize();
  const std::size_t nb = f.node_bytes();
  const auto count = read_at<std::uint64_t>(good, layout::off_count);

  SECTION("out-of-range neighbour at level 0") {
    auto bytes = good;
    REQUIRE(read_at<std::uint16_t>(bytes, layout::header_size + 5 * nb) > 0);
    write_at<std::uint32_t>(bytes, layout::header_size + 5 * nb + 4, 100000);
    test::reseal_hnsw(bytes);
    CHECK_THAT(load_error(bytes),
               ContainsSubstring("node 5 level 0: neighbour 100000 out of range"));
  }
  SECTION("a list longer than 2*M") {
    auto bytes = good;
    write_at<std::uint16_t>(bytes, layout::header_size + 9 * nb, 13);
    test::reseal_hnsw(bytes);
    CHECK_THAT(load_error(bytes), ContainsSubstring("exceed the maximum 12"));
  }
  SECTION("a self link") {
    auto bytes = good;
    write_at<std::uint32_t>(bytes, layout::header_size + 2 * nb + 4, 2);
    test::reseal_hnsw(bytes);
    CHECK_THAT(load_error(bytes), ContainsSubstring("node 2 level 0: neighbour 2"));
  }
  SECTION("entry point out of range") {
    auto bytes = good;
    write_at<std::uint64_t>(bytes, layout::off_entry, count);
    test::reseal_hnsw(bytes);
    CHECK_THAT(load_error(bytes), ContainsSubstring("entry point"));
  }
  SECTION("entry point below the max level") {
    auto bytes = good;
    const auto entry = read_at<std::uint64_t>(bytes, layout::off_entry);
    write_at<std::uint64_t>(bytes, layout::off_entry, entry == 0 ? 1 : 0);
    test::reseal_hnsw(bytes);
    CHECK_THAT(load_error(bytes), ContainsSubstring("entry point"));
  }
  SECTION("max level inconsistent with the nodes") {
    auto bytes = good;
    write_at<std::int64_t>(bytes, layout::off_max_level, 200);
    test::reseal_hnsw(bytes);
    CHECK_THAT(load_error(bytes), ContainsSubstring("max level 200 out of range"));
  }
  SECTION("a non-finite stored value") {
    auto bytes = good;
    write_at<float>(bytes, layout::header_size + 4 * nb + 4 + 8 * 6, std::nanf(""));
    test::reseal_hnsw(bytes);
    CHECK_THAT(load_error(bytes), ContainsSubstring("not finite"));
  }
  SECTION("a duplicated id") {
    auto bytes = good;
    const std::size_t label_at = 4 + 8 * 6 + 4 * 8;
    write_at<std::uint64_t>(bytes, layout::header_size + 1 * nb + label_at,
                            read_at<std::uint64_t>(bytes, layout::header_size + 0 * nb + label_at));
    test::reseal_hnsw(bytes);
    CHECK_THAT(load_error(bytes), ContainsSubstring("stored twice"));
  }
  SECTION("a bad deleted flag") {
    auto bytes = good;
    bytes[layout::header_size + 3 * nb + 2] = 7;
    test::reseal_hnsw(bytes);
    CHECK_THAT(load_error(bytes), ContainsSubstring("flag"));
  }
}

TEST_CASE("hnsw persistence: random bytes and random corruption never crash") {
  fixture f;
  const auto good = f.index.serialize();
  rng r(2026);
  int accepted = 0;
  int rejected = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes;
    if (trial % 2 == 0) {  // pure noise, sometimes with a valid magic
      bytes.resize(r() % 4096);
      for (auto& c : bytes) c = static_cast<char>(r() & 0xFF);
      if (trial % 4 == 0 && bytes.size() >= 8) std::memcpy(bytes.data(), layout::magic, 8);
    } else {  // a valid file with a few random bytes changed, checksum resealed
      bytes = good;
      for (int k = 0; k < 3; ++k) bytes[r() % (bytes.size() - 4)] = static_cast<char>(r() & 0xFF);
      test::reseal_hnsw(bytes);
    }
    try {
      const auto index = hnsw_index::deserialize(bytes, "random");
      // Accepted only if structurally sound: then searching must be safe and sane.
      ++accepted;
      CHECK(trial % 2 == 1);  // noise never passes the magic, layout and checksum checks
      const std::vector<float> q(index.options().dim, 0.5F);
      const auto found = index.search(q, 5, {.ef = 20});
      CHECK(found.size() <= 5);
      for (std::size_t i = 0; i < found.size(); ++i) {
        CHECK(index.contains(found[i].id));
        CHECK(std::isfinite(found[i].score));
        if (i > 0) CHECK(found[i - 1].score >= found[i].score);
      }
    } catch (const error& e) {
      ++rejected;
      CHECK_FALSE(std::string(e.what()).empty());
    }
  }
  CHECK(accepted + rejected == 200);
  CHECK(rejected >= 100);  // at least every pure-noise input
}

TEST_CASE("hnsw persistence: random corruption loaded unverified and mapped never crashes") {
  // Without the checksum, damage anywhere (vector values included) reaches the structural checks
  // alone; what they accept must still be safe to search.
  fixture f;
  const auto good = f.index.serialize();
  const auto dir = test::scratch_dir("hnsw-unverified-random");
  rng r(2027);
  int accepted = 0;
  for (int trial = 0; trial < 100; ++trial) {
    std::string bytes = good;
    for (int k = 0; k < 4; ++k) bytes[r() % (bytes.size() - 4)] = static_cast<char>(r() & 0xFF);
    write_file_atomic(dir / "x.hnsw", bytes);
    try {
      const auto index =
          hnsw_index::load(dir / "x.hnsw", {.memory_map = true, .verify_values = false});
      ++accepted;
      const std::vector<float> q(index.options().dim, 0.5F);
      for (const auto strategy : {filter_strategy::graph, filter_strategy::scan}) {
        const auto found =
            index.search(q, 5, {.ef = 20, .strategy = strategy},
                         filter::where([](std::uint64_t id) { return id % 2 == 0; }));
        CHECK(found.size() <= 5);
        for (std::size_t i = 1; i < found.size(); ++i) CHECK(found[i - 1].score >= found[i].score);
      }
    } catch (const error& e) {
      CHECK_FALSE(std::string(e.what()).empty());
    }
  }
  CHECK(accepted > 0);  // most damage lands in vector values, which only the checksum catches
}

TEST_CASE(
    "hnsw persistence: a memory-mapped load answers as the copy; writes never reach the file") {
  fixture f;
  const auto dir = test::scratch_dir("hnsw-mapped");
  const auto path = dir / "index.hnsw";
  f.index.save(path);
  const std::string before = read_file(path);
  const auto mapped = hnsw_index::load(path, {.memory_map = true});
  CHECK(mapped.size() == f.index.size());
  CHECK_FALSE(mapped.contains(f.data.ids[7]));
  for (std::size_t i = 0; i < 50; ++i) {
    CHECK(mapped.search(f.data.vectors.row(i), 10, {.ef = 40}) ==
          f.index.search(f.data.vectors.row(i), 10, {.ef = 40}));
  }
  CHECK(mapped.serialize() == before);
  // The first write copies the mapped graph into memory; the file is never written.
  auto writable = hnsw_index::load(path, {.memory_map = true, .verify_values = false});
  writable.add(999999, f.data.vectors.row(3));
  writable.remove(f.data.ids[0]);
  writable.reserve(2000);
  writable.add(999998, f.data.vectors.row(4));
  CHECK(writable.contains(999999));
  CHECK(writable.contains(999998));
  CHECK_FALSE(writable.contains(f.data.ids[0]));
  CHECK(writable.capacity() >= 2000);
  auto removable = hnsw_index::load(path, {.memory_map = true});
  removable.remove(f.data.ids[1]);  // remove alone marks the copy, not the file
  CHECK_FALSE(removable.contains(f.data.ids[1]));
  CHECK(read_file(path) == before);
  // Replacing the file (save renames) leaves an open index on the old one.
  hnsw_index(hnsw_options{.dim = 8}).save(path);
  CHECK(mapped.size() == f.index.size());
  CHECK(mapped.search(f.data.vectors.row(0), 10, {.ef = 40}) ==
        f.index.search(f.data.vectors.row(0), 10, {.ef = 40}));
  CHECK(hnsw_index::load(path, {.memory_map = true}).size() == 0);
}

TEST_CASE("hnsw persistence: without value verification the structure is still checked") {
  fixture f;
  const auto dir = test::scratch_dir("hnsw-unverified");
  const auto good = f.index.serialize();
  const std::size_t nb = f.node_bytes();
  const std::size_t vector_at = 4 + 8 * 6;
  auto load_both = [&](const std::string& bytes, hnsw_load_options options) {
    write_file_atomic(dir / "x.hnsw", bytes);
    options.memory_map = false;
    auto copied = hnsw_index::load(dir / "x.hnsw", options);
    options.memory_map = true;
    auto mapped = hnsw_index::load(dir / "x.hnsw", options);
    CHECK(copied.serialize() == mapped.serialize());
    return mapped;
  };
  SECTION("a changed value without a resealed checksum loads only unverified") {
    auto bytes = good;
    write_at<float>(bytes, layout::header_size + 4 * nb + vector_at, 0.25F);
    write_file_atomic(dir / "x.hnsw", bytes);
    CHECK_THROWS_WITH(hnsw_index::load(dir / "x.hnsw"), ContainsSubstring("checksum mismatch"));
    CHECK_THROWS_WITH(hnsw_index::load(dir / "x.hnsw", {.memory_map = true}),
                      ContainsSubstring("checksum mismatch"));
    CHECK(load_both(bytes, {.verify_values = false}).size() == f.index.size());
  }
  SECTION("structural damage is caught either way") {
    auto bytes = good;
    write_at<std::uint32_t>(bytes, layout::header_size + 5 * nb + 4, 100000);
    write_file_atomic(dir / "x.hnsw", bytes);
    CHECK_THROWS_WITH(
        hnsw_index::load(dir / "x.hnsw", {.memory_map = true, .verify_values = false}),
        ContainsSubstring("node 5 level 0: neighbour 100000 out of range"));
    bytes = good;
    const std::size_t label_at = vector_at + 4 * 8;
    write_at<std::uint64_t>(bytes, layout::header_size + 1 * nb + label_at,
                            read_at<std::uint64_t>(bytes, layout::header_size + 0 * nb + label_at));
    write_file_atomic(dir / "x.hnsw", bytes);
    CHECK_THROWS_WITH(
        hnsw_index::load(dir / "x.hnsw", {.memory_map = true, .verify_values = false}),
        ContainsSubstring("stored twice"));
  }
  SECTION("a non-finite value is rejected verified; unverified, its item is ranked last") {
    for (const float bad : {std::nanf(""), INFINITY, -INFINITY}) {
      CAPTURE(bad);
      auto bytes = good;
      write_at<float>(bytes, layout::header_size + 4 * nb + vector_at, bad);
      const std::uint64_t bad_id =
          read_at<std::uint64_t>(bytes, layout::header_size + 4 * nb + vector_at + 4 * 8);
      test::reseal_hnsw(bytes);
      write_file_atomic(dir / "x.hnsw", bytes);
      CHECK_THROWS_WITH(hnsw_index::load(dir / "x.hnsw", {.memory_map = true}),
                        ContainsSubstring("not finite"));
      const auto index = load_both(bytes, {.verify_values = false});
      // 20 live items allowed, the damaged one among them: asked for 20, it comes last.
      const allow_list allowed(std::span(f.data.ids).first(21));
      for (const auto strategy : {filter_strategy::graph, filter_strategy::scan}) {
        const auto found =
            index.search(f.data.vectors.row(4), 20, {.ef = 60, .strategy = strategy}, allowed);
        REQUIRE(found.size() == 20);
        CHECK(found.back().id == bad_id);
        for (std::size_t i = 0; i + 1 < found.size(); ++i) {
          CHECK(std::isfinite(found[i].score));
          CHECK(found[i].score >= found[i + 1].score);
        }
      }
      // Unfiltered, it is never returned ahead of a finite one.
      const auto found = index.search(f.data.vectors.row(4), 10, {.ef = 60});
      for (const auto& c : found) CHECK(c.id != bad_id);
    }
  }
}

TEST_CASE("hnsw persistence: saving over an existing file is atomic") {
  fixture f;
  const auto dir = test::scratch_dir("hnsw-atomic");
  write_file_atomic(dir / "index.hnsw", "old");
  f.index.save(dir / "index.hnsw");
  CHECK(hnsw_index::load(dir / "index.hnsw").size() == 399);
  CHECK(std::distance(std::filesystem::directory_iterator(dir), {}) == 1);  // no temp left
}
