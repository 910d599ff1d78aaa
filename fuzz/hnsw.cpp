// Fuzz target: HNSW index files (retrieval::hnsw_index::deserialize, what load reads), then
// searches (plain, graph- and scan-filtered, with a predicate), lookups, an insert and a delete
// (the graph loaded must take writes), quantization, projection, and save/reload round trips; the
// same bytes memory-mapped without the value checks (hnsw_load_options), and with a valid CRC-32.
#include <funnel/retrieval/hnsw_index.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>
#include <zlib.h>

#include "fuzz_common.hpp"

namespace fr = funnel::retrieval;

namespace {
void search_all(const fr::hnsw_index& h, const std::vector<float>& q) {
  (void)h.search(q, 5);
  (void)h.search(q, 0);
  const std::vector<std::uint64_t> ids{0, 1, 2, 3, 17};
  const fr::allow_list list(ids);
  for (const auto s :
       {fr::filter_strategy::automatic, fr::filter_strategy::graph, fr::filter_strategy::scan}) {
    fr::search_options o;
    o.strategy = s;
    o.ef = 16;
    (void)h.search(q, 3, o, list);
    (void)h.search(q, 3, o, fr::filter::where([](std::uint64_t id) { return id % 2 == 0; }));
  }
}

void use(fr::hnsw_index& h) {
  funnel::fuzz::expect_typed_errors([&] {
    const std::size_t dim = h.options().dim;
    if (dim > funnel::fuzz::max_probe_width) return;
    auto q = funnel::fuzz::probe_row(dim, 1);
    for (auto& v : q) v = std::isfinite(v) ? std::clamp(v, -100.0F, 100.0F) : 0.25F;
    (void)h.size();
    (void)h.num_nodes();
    search_all(h, q);
    for (const std::uint64_t id : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{17}}) {
      if (h.contains(id)) (void)h.vector(id);
    }
    (void)fr::hnsw_index::deserialize(h.serialize(), "round trip");
    q[0] += 1.0F;
    h.add(123456789, q);
    h.remove(123456789);
    search_all(h, q);
    h.quantize();
    search_all(h, q);
    h.project(2);
    search_all(h, q);
    (void)fr::hnsw_index::deserialize(h.serialize(), "projected round trip");
  });
}

void load_and_use(std::string_view bytes) {
  funnel::fuzz::expect_typed_errors([&] {
    auto h = fr::hnsw_index::deserialize(bytes, "fuzz.hnsw");
    use(h);
  });
}

// The service restart's way: memory-mapped, without the checks that read every byte (CRC-32,
// finite values). The structural checks alone must make the loaded index safe to search and
// write (the first write copies it out of the mapping).
void map_and_use(std::string_view bytes) {
  static const std::string path =
      "/tmp/funnel_fuzz_hnsw_" + std::to_string(static_cast<long>(::getpid())) + ".hnsw";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  funnel::fuzz::expect_typed_errors([&] {
    fr::hnsw_load_options o;
    o.memory_map = true;
    o.verify_values = false;
    auto h = fr::hnsw_index::load(path, o);
    use(h);
  });
  std::remove(path.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  load_and_use(funnel::fuzz::text_of(data, size));
  map_and_use(funnel::fuzz::text_of(data, size));
  // The same bytes with a valid CRC-32 trailer, so mutations reach the structural checks of the
  // header and the graph instead of stopping at the checksum (damage a CRC cannot see: a bug in
  // the writer, or a file crafted on purpose).
  if (size >= 4) {
    std::string fixed(funnel::fuzz::text_of(data, size));
    const auto crc = static_cast<std::uint32_t>(
        crc32_z(0L, reinterpret_cast<const Bytef*>(fixed.data()), fixed.size() - 4));
    std::memcpy(fixed.data() + fixed.size() - 4, &crc, 4);
    load_and_use(fixed);
  }
  return 0;
}
