// The opening example of docs/retrieval.md: build an HNSW index, search it with and without a
// filter, delete and update items, save and reload it, and check recall against exact search.
#include <funnel/core/random.hpp>
#include <funnel/metrics/retrieval.hpp>
#include <funnel/retrieval.hpp>

#include <cstdio>
#include <filesystem>

int main() {
  using namespace funnel;
  using namespace funnel::retrieval;

  // 2,000 item embeddings of dimension 32 with external ids 100, 101, ...
  rng r(42);
  matrix items(2000, 32);
  std::vector<std::uint64_t> ids;
  for (std::size_t i = 0; i < items.rows(); ++i) {
    for (auto& x : items.row(i)) x = static_cast<float>(r.normal());
    ids.push_back(100 + i);
  }

  hnsw_index index(
      hnsw_options{.dim = 32, .metric = metric::cosine, .M = 16, .ef_construction = 200});
  index.add_batch(ids, items, /*threads=*/2);

  // Top 10 for a query; ef trades speed for recall per query.
  const row_view query = items.row(7);
  const candidate_list top = index.search(query, 10, {.ef = 64});
  std::printf("best: id %llu, cosine %.3f\n", static_cast<unsigned long long>(top[0].id),
              top[0].score);

  // Filtered: only even ids (a predicate), or a reusable allow-list.
  const auto even = [](std::uint64_t id) { return id % 2 == 0; };
  const candidate_list evens = index.retrieve(query, 10, even);
  const candidate_list wide = index.retrieve(query, 10, even, {.ef = 128});  // options too
  const allow_list in_stock{std::span(ids).first(50)};  // 2.5% of the catalog: scanned exactly
  const candidate_list stocked = index.search(query, 10, {}, in_stock);

  // The 8-bit walk: a quarter of the bytes per visited node, results re-scored exactly.
  index.quantize();
  const candidate_list fast = index.search(query, 10, {.ef = 64});
  // Exact scans (forced here; `automatic` picks them for wide filters) bound every item's
  // distance from 16 projected values and score only the items that may enter: same results.
  const search_options scan{.strategy = filter_strategy::scan};
  const candidate_list scanned = index.search(query, 10, scan, filter::where(even));
  index.project(16);
  const bool same_scan = index.search(query, 10, scan, filter::where(even)) == scanned;

  // Delete and update (same id, new vector).
  index.remove(107);
  index.add(108, items.row(9));

  // Atomic save, validated load.
  const auto path = std::filesystem::temp_directory_path() / "funnel-doc-retrieval.hnsw";
  index.save(path);
  const hnsw_index loaded = hnsw_index::load(path);  // dim, metric, M, ef from the file
  if (loaded.options().dim != 32 || loaded.options().metric != metric::cosine) return 1;
  // A large read-only index opens in milliseconds memory-mapped (the structure is still checked).
  const hnsw_index mapped = hnsw_index::load(path, {.memory_map = true, .verify_values = false});

  // Recall@10 against exact search over the same items (the exact index deletes and updates too).
  exact_index exact(ids, items, metric::cosine);
  exact.remove(107);
  exact.add(108, items.row(9));
  std::vector<candidate_list> truth, found;
  for (std::size_t q = 0; q < 50; ++q) {
    truth.push_back(exact.search(items.row(q), 10));
    found.push_back(index.search(items.row(q), 10, {.ef = 64}));
  }
  std::printf("recall@10 = %.3f, loaded %zu items\n", metrics::recall_at_k(found, truth, 10),
              loaded.size());
  std::filesystem::remove(path);
  const bool ok = top[0].id == 107 && fast[0].id == 107 && fast[0].score == top[0].score &&
                  loaded.quantized() && loaded.projected_dims() == 16 && same_scan &&
                  evens.size() == 10 && wide.size() == 10 && stocked.size() == 10 &&
                  !loaded.contains(107) && loaded.size() == 1999 &&
                  mapped.search(query, 10, {.ef = 64}) == loaded.search(query, 10, {.ef = 64});
  return ok ? 0 : 1;
}
