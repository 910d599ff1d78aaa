// Opening a saved HNSW index (issue 25): the copying load (with and without the checksum) against
// the memory-mapped load, on a saved Fashion-MNIST index (60k x 784, M = 16: 197 MB), interleaved,
// medians over rounds of wall time; then the first query after each open and the search QPS of a
// mapped index against a copied one (the mapping must not slow searches). The file is in the page
// cache (a service restart on the same machine); a cold cache adds the disk read to both.
// Usage: bench_hnsw_open INDEX_FILE [--rounds N] [--queries t10k-images-idx3-ubyte.gz] [--only W]
// (bench_retrieval --cache DIR writes INDEX_FILE as DIR/funnel_60000.hnsw; pixels scaled by 1/255)
#include <funnel/core/idx.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/retrieval.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace {

using funnel::retrieval::hnsw_index;
using funnel::retrieval::hnsw_load_options;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_hnsw_open INDEX_FILE [--rounds N] [--queries FILE]\n");
    return 2;
  }
  const std::filesystem::path file = argv[1];
  std::size_t rounds = 9;
  std::string queries_file;
  std::size_t only = 0;  // 1-based index of the one way to time; 0 = all
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rounds") rounds = std::strtoul(argv[i + 1], nullptr, 10);
    if (flag == "--queries") queries_file = argv[i + 1];
    if (flag == "--only") only = std::strtoul(argv[i + 1], nullptr, 10);  // one way (profiling)
  }
  struct way {
    const char* name;
    hnsw_load_options options;
    std::vector<double> ms;
    std::vector<double> cpu_ms;
  };
  std::vector<way> ways = {
      {"load (copy, values verified)", {.memory_map = false, .verify_values = true}, {}, {}},
      {"load (copy, values unverified)", {.memory_map = false, .verify_values = false}, {}, {}},
      {"memory map, values verified", {.memory_map = true, .verify_values = true}, {}, {}},
      {"memory map, values unverified", {.memory_map = true, .verify_values = false}, {}, {}},
  };
  std::size_t nodes = 0;
  for (std::size_t r = 0; r < rounds; ++r) {
    for (auto& w : ways) {
      if (only != 0 && &w != &ways[only - 1]) continue;
      funnel::stopwatch clock;
      const double cpu0 = funnel::thread_cpu_us();
      const hnsw_index index = hnsw_index::load(file, w.options);
      w.cpu_ms.push_back((funnel::thread_cpu_us() - cpu0) / 1000.0);
      w.ms.push_back(clock.elapsed_ms());
      nodes = index.num_nodes();
    }
  }
  fmt::print("{}: {} nodes, {:.1f} MB, {} rounds, medians\n", file.string(), nodes,
             static_cast<double>(std::filesystem::file_size(file)) / 1e6, rounds);
  for (const auto& w : ways)
    if (!w.ms.empty()) {
      fmt::print("  {:<32} {:8.1f} ms wall {:8.1f} ms CPU\n", w.name, median(w.ms),
                 median(w.cpu_ms));
    }

  if (queries_file.empty()) return 0;
  const auto queries = funnel::read_idx_images(queries_file, 1.0F / 255.0F);
  const hnsw_index copied = hnsw_index::load(file);
  const hnsw_index mapped = hnsw_index::load(file, {.memory_map = true, .verify_values = false});
  std::vector<double> copy_us;
  std::vector<double> map_us;
  std::size_t same = 0;
  const std::size_t n = std::min<std::size_t>(queries.rows(), 2000);
  for (std::size_t r = 0; r < 3; ++r) {
    for (const auto& [index, out] : {std::pair{&copied, &copy_us}, std::pair{&mapped, &map_us}}) {
      funnel::stopwatch clock;
      for (std::size_t q = 0; q < n; ++q) {
        const auto res = index->search(queries.row(q), 10, {.ef = 64});
        if (index == &mapped && r == 0)
          same += res == copied.search(queries.row(q), 10, {.ef = 64});
      }
      out->push_back(clock.elapsed_ms() * 1000.0 / static_cast<double>(n));
    }
  }
  fmt::print(
      "search ef=64, {} queries: copied {:.1f} us/query, mapped {:.1f} us/query ({:.3f}x); "
      "{} of {} result lists identical\n",
      n, median(copy_us), median(map_us), median(copy_us) / median(map_us), same, n);
  return 0;
}
