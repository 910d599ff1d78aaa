// Fashion-MNIST (60k x 784 base, t10k queries, k = 10, M = 16, ef_construction = 200), single
// threaded, every contender interleaved in the same process, reported as medians of per-round
// ratios (the machine is shared: only ratios measured side by side are meaningful):
//   funnel hnsw_index::search  vs  hnswlib's own searchKnn on the *same* graph (and funnel's walk
//                                  on 8-bit codes, hnsw_index::quantize(), on that graph),
//   funnel build               vs  raw hnswlib build (chunks interleaved),
//   FAISS IndexHNSWFlat (same M, efConstruction, efSearch per query), exact search (Eigen GEMM),
//   filtered search (10% = one class, 1% = random ids; allow-list and predicate; and footwear
//   only, 30%, queried with shirts, far from every allowed item): graph vs scan vs automatic vs
//   the batched exact scan, and the graph/scan break-even over allowed fractions and ef.
// Usage: bench_retrieval [--base N] [--queries N] [--rounds N] [--data DIR] [--cache DIR]
//                        [--sections build,search,filter,breakeven] [--faiss-build-threads N]
//                        (filter_sq8 adds the filtered rows on the quantized graph,
//                        filter_nofloat drops the float ones, filter_proj adds each of them
//                        again projected, hnsw_index::project(--project-dims M, default 64))
//                        [--filter-block SECONDS]   (each filter block's least duration, 0.25)
//                        [--efs 10,20,...]   (search section; add nofaiss,noexact to --sections
//                                             to time funnel against hnswlib only, faiss_sq to
//                                             add FAISS IndexHNSWSQ, 8-bit) [--normalize 1]
// With --cache, the graphs are loaded from DIR when present (build section skipped) and saved
// there after a build.
#include <funnel/core/idx.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/retrieval.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "retrieval/hnsw_reference.hpp"

#ifdef FUNNEL_BENCH_HAVE_FAISS
#include <faiss/IndexHNSW.h>
#include <faiss/index_io.h>
#include <omp.h>
#endif

using namespace funnel;
using namespace funnel::retrieval;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double time_of(const std::function<void()>& f) {
  const auto s = clock_type::now();
  f();
  return seconds_since(s);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Runs the timed blocks of one round in rotating order (round r starts with block r mod n), so
// no contender always runs first or last; returns each block's seconds in the blocks' order.
std::vector<double> interleaved_round(const std::vector<std::function<void()>>& blocks, int r) {
  std::vector<double> t(blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::size_t b = (i + static_cast<std::size_t>(r)) % blocks.size();
    t[b] = time_of(blocks[b]);
  }
  return t;
}

// How many passes over a query block make it last about `target` seconds (at least one), from a
// first timing: short blocks are at the mercy of the scheduler on a loaded machine.
int passes_for(double seconds_per_pass, double target = 0.25) {
  return std::max(1, static_cast<int>(target / std::max(seconds_per_pass, 1e-6) + 0.5));
}

struct args {
  std::size_t base = 60000;
  std::size_t queries = 1000;
  int rounds = 5;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string cache;
  std::string sections = "build,search,filter,breakeven";
  int faiss_build_threads = 1;
  double filter_block = 0.25;  // --filter-block S: seconds each filter-section block lasts at least
  bool normalize = false;      // --normalize 1: every image scaled to unit length
  std::size_t project_dims = 64;  // --project-dims M: hnsw_index::project of the filter_proj rows
  std::string efs;  // comma-separated ef list of the search section (default 10,20,40,80,120,160)
                    // // FAISS's build is not a compared figure: it may use more cores
  [[nodiscard]] bool has(const char* s) const { return sections.find(s) != std::string::npos; }
};

const char* strategy_name(filter_strategy s) {
  switch (s) {
    case filter_strategy::graph:
      return "graph";
    case filter_strategy::scan:
      return "scan";
    default:
      return "automatic";
  }
}

}  // namespace

int main(int argc, char** argv) {
  args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--base") a.base = std::stoul(argv[i + 1]);
    if (k == "--queries") a.queries = std::stoul(argv[i + 1]);
    if (k == "--rounds") a.rounds = std::stoi(argv[i + 1]);
    if (k == "--data") a.data = argv[i + 1];
    if (k == "--cache") a.cache = argv[i + 1];
    if (k == "--sections") a.sections = argv[i + 1];
    if (k == "--faiss-build-threads") a.faiss_build_threads = std::stoi(argv[i + 1]);
    if (k == "--efs") a.efs = argv[i + 1];
    if (k == "--filter-block") a.filter_block = std::stod(argv[i + 1]);
    if (k == "--normalize") a.normalize = std::string(argv[i + 1]) == "1";
    if (k == "--project-dims") a.project_dims = std::stoul(argv[i + 1]);
  }
#ifdef FUNNEL_BENCH_HAVE_FAISS
  omp_set_num_threads(1);
#endif
  auto train = read_idx_dataset(a.data + "/train-images-idx3-ubyte.gz",
                                a.data + "/train-labels-idx1-ubyte.gz", 1.0F / 255.0F);
  auto test_set = read_idx_dataset(a.data + "/t10k-images-idx3-ubyte.gz",
                                   a.data + "/t10k-labels-idx1-ubyte.gz", 1.0F / 255.0F);
  matrix& test = test_set.images;
  if (a.normalize) {
    // Unit-length images: off the 8-bit pixel grid, so the 8-bit walk's rounding is real.
    for (matrix* m : {&train.images, &test}) {
      for (std::size_t i = 0; i < m->rows(); ++i) {
        double norm2 = 0.0;
        for (const float x : m->row(i)) norm2 += static_cast<double>(x) * x;
        const auto inv = static_cast<float>(1.0 / std::sqrt(std::max(norm2, 1e-30)));
        for (float& x : m->row(i)) x *= inv;
      }
    }
  }
  const std::size_t n = std::min(a.base, train.images.rows());
  const std::size_t nq = std::min(a.queries, test.rows());
  const std::size_t dim = train.images.cols();
  const matrix_view base = train.images.view().middle_rows(0, n);
  const matrix_view queries = test.view().middle_rows(0, nq);
  std::vector<std::uint64_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  constexpr std::size_t k = 10;
  constexpr std::size_t M = 16;
  constexpr std::size_t ef_c = 200;
#if defined(__AVX512F__)
  const char* isa = "AVX-512";
#elif defined(__AVX2__)
  const char* isa = "AVX2 (x86-64-v3)";
#else
  const char* isa = "SSE only (no -march given)";
#endif
  std::printf(
      "Fashion-MNIST: base %zu x %zu, %zu queries, k=%zu, M=%zu, efC=%zu, 1 thread, %s, %d "
      "rounds\n",
      n, dim, nq, k, M, ef_c, isa, a.rounds);
  std::fflush(stdout);

  // ---- exact ground truth ------------------------------------------------------------------
  const exact_index exact(ids, base, metric::l2);
  const auto truth = exact.search_batch(queries, k);

  // ---- build: funnel vs raw hnswlib, chunks interleaved ------------------------------------
  const std::string tag = (a.normalize ? "unit_" : "") + std::to_string(n);
  const std::filesystem::path funnel_file =
      a.cache.empty() ? "" : std::filesystem::path(a.cache) / ("funnel_" + tag + ".hnsw");
  const std::filesystem::path faiss_file =
      a.cache.empty() ? "" : std::filesystem::path(a.cache) / ("faiss_" + tag + ".index");
  std::optional<hnsw_index> index_holder;
  if (!a.cache.empty() && std::filesystem::exists(funnel_file)) {
    index_holder.emplace(hnsw_index::load(funnel_file));
    std::printf("loaded funnel graph from %s (build section skipped)\n", funnel_file.c_str());
  } else {
    index_holder.emplace(hnsw_options{.dim = dim,
                                      .metric = metric::l2,
                                      .M = M,
                                      .ef_construction = ef_c,
                                      .capacity = n,
                                      .seed = 100});
    funnel::retrieval::detail::raw_hnswlib raw(dim, metric::l2, n, M, ef_c, 100);
    double build_funnel = 0.0;
    double build_raw = 0.0;
    std::vector<double> chunk_ratio;
    const std::size_t chunk = 2000;
    for (std::size_t b = 0, round = 0; b < n; b += chunk, ++round) {
      const std::size_t e = std::min(n, b + chunk);
      const auto t = interleaved_round({[&] {
                                          index_holder->add_batch(std::span(ids).subspan(b, e - b),
                                                                  base.middle_rows(b, e - b), 1);
                                        },
                                        [&] {
                                          for (std::size_t i = b; i < e; ++i)
                                            raw.add(base.row(i).data(), ids[i]);
                                        }},
                                       static_cast<int>(round));
      build_funnel += t[0];
      build_raw += t[1];
      chunk_ratio.push_back(t[0] / t[1]);
    }
    std::printf(
        "build: funnel %.1f s, raw hnswlib %.1f s; funnel/raw time: total %.3f, median of %zu "
        "interleaved chunks %.3f\n",
        build_funnel, build_raw, build_funnel / build_raw, chunk_ratio.size(), median(chunk_ratio));
    if (!a.cache.empty()) {
      std::filesystem::create_directories(a.cache);
      index_holder->save(funnel_file);
    }
  }
  const hnsw_index& index = *index_holder;
  std::fflush(stdout);

#ifdef FUNNEL_BENCH_HAVE_FAISS
  std::unique_ptr<faiss::IndexHNSWFlat> faiss_index;
  if (a.has("search") || a.has("faiss")) {  // "faiss" alone: build (and cache) FAISS only
    if (!a.cache.empty() && std::filesystem::exists(faiss_file)) {
      faiss_index.reset(dynamic_cast<faiss::IndexHNSWFlat*>(faiss::read_index(faiss_file.c_str())));
    } else {
      faiss_index =
          std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(dim), static_cast<int>(M));
      faiss_index->hnsw.efConstruction = static_cast<int>(ef_c);
      omp_set_num_threads(a.faiss_build_threads);
      const double s =
          time_of([&] { faiss_index->add(static_cast<faiss::Index::idx_t>(n), base.data()); });
      omp_set_num_threads(1);
      std::printf("build: FAISS IndexHNSWFlat %.1f s on %d threads (not interleaved)\n", s,
                  a.faiss_build_threads);
      if (!a.cache.empty()) faiss::write_index(faiss_index.get(), faiss_file.c_str());
    }
  }
  // FAISS IndexHNSWSQ (8-bit scalar quantizer, same M / efConstruction): the like-for-like anchor
  // of funnel's 8-bit walk. Built only when asked for (--sections ...,faiss_sq).
  std::unique_ptr<faiss::IndexHNSWSQ> faiss_sq;
  if (a.has("faiss_sq")) {
    const std::filesystem::path sq_file =
        a.cache.empty() ? "" : std::filesystem::path(a.cache) / ("faiss_sq8_" + tag + ".index");
    if (!a.cache.empty() && std::filesystem::exists(sq_file)) {
      faiss_sq.reset(dynamic_cast<faiss::IndexHNSWSQ*>(faiss::read_index(sq_file.c_str())));
    } else {
      faiss_sq = std::make_unique<faiss::IndexHNSWSQ>(
          static_cast<int>(dim), faiss::ScalarQuantizer::QT_8bit, static_cast<int>(M));
      faiss_sq->hnsw.efConstruction = static_cast<int>(ef_c);
      omp_set_num_threads(a.faiss_build_threads);
      const double s = time_of([&] {
        faiss_sq->train(static_cast<faiss::Index::idx_t>(n), base.data());
        faiss_sq->add(static_cast<faiss::Index::idx_t>(n), base.data());
      });
      omp_set_num_threads(1);
      std::printf("build: FAISS IndexHNSWSQ (QT_8bit) %.1f s on %d threads (not interleaved)\n", s,
                  a.faiss_build_threads);
      if (!a.cache.empty()) faiss::write_index(faiss_sq.get(), sq_file.c_str());
    }
  }
#endif

  // ---- unfiltered search: funnel (float and 8-bit walk) vs raw searchKnn on the same graph vs
  // FAISS (flat, and 8-bit with --sections ...,faiss_sq) vs exact ------------------------------
  if (a.has("search")) {
    // The same graph again, quantized: funnel's walk on 8-bit codes, results re-scored exactly.
    hnsw_index sq8 = hnsw_index::deserialize(index.serialize(), "copy");
    sq8.quantize();
    std::vector<std::size_t> efs = {10, 20, 40, 80, 120, 160};
    if (!a.efs.empty()) {
      efs.clear();
      for (std::size_t pos = 0; pos < a.efs.size();) {
        std::size_t used = 0;
        efs.push_back(std::stoul(a.efs.substr(pos), &used));
        pos += used + 1;
      }
    }

    // A contender runs all queries at a given ef and leaves its results for the recall.
    struct contender {
      std::string name;
      std::function<void(std::size_t ef)> run;
      std::vector<candidate_list> found;
    };
    std::vector<contender> cs;
    cs.reserve(5);  // the run functions hold references to their own `found`
    auto funnel_run = [&](const hnsw_index& idx, std::vector<candidate_list>& out, std::size_t ef) {
      for (std::size_t q = 0; q < nq; ++q)
        idx.search_into(queries.row(q), k, {.ef = ef}, {}, out[q]);
    };
    cs.push_back({"funnel", {}, std::vector<candidate_list>(nq)});
    cs.push_back({"funnel-sq8", {}, std::vector<candidate_list>(nq)});
    cs.push_back({"hnswlib", {}, std::vector<candidate_list>(nq)});
    cs[0].run = [&, &out = cs[0].found](std::size_t ef) { funnel_run(index, out, ef); };
    cs[1].run = [&, &out = cs[1].found](std::size_t ef) { funnel_run(sq8, out, ef); };
    cs[2].run = [&, &out = cs[2].found](std::size_t ef) {
      for (std::size_t q = 0; q < nq; ++q) {
        out[q].clear();
        for (const auto& [d, id] :
             funnel::retrieval::detail::raw_search_knn(index, queries.row(q).data(), k, ef))
          out[q].push_back({id, -d});
      }
    };
#ifdef FUNNEL_BENCH_HAVE_FAISS
    std::vector<float> fd(nq * k);
    std::vector<faiss::Index::idx_t> fl(nq * k);
    auto faiss_run = [&](faiss::IndexHNSW& fi, std::vector<candidate_list>& out, std::size_t ef) {
      // FAISS 1.7.3 reads efSearch from the parameters in one place and from the index in
      // another (its candidate heap is sized by hnsw.efSearch): set both, or recall saturates.
      faiss::SearchParametersHNSW params;
      params.efSearch = static_cast<int>(ef);
      fi.hnsw.efSearch = static_cast<int>(ef);
      fi.search(static_cast<faiss::Index::idx_t>(nq), queries.data(),
                static_cast<faiss::Index::idx_t>(k), fd.data(), fl.data(), &params);
      for (std::size_t q = 0; q < nq; ++q) {
        out[q].clear();
        for (std::size_t j = 0; j < k; ++j) {
          if (fl[q * k + j] >= 0) out[q].push_back({static_cast<std::uint64_t>(fl[q * k + j]), 0});
        }
      }
    };
    if (!a.has("nofaiss")) {
      cs.push_back({"FAISS", {}, std::vector<candidate_list>(nq)});
      cs.back().run = [&, &out = cs.back().found](std::size_t ef) {
        faiss_run(*faiss_index, out, ef);
      };
    }
    if (faiss_sq) {
      cs.push_back({"FAISS-SQ8", {}, std::vector<candidate_list>(nq)});
      cs.back().run = [&, &out = cs.back().found](std::size_t ef) {
        faiss_run(*faiss_sq, out, ef);
      };
    }
#endif
    auto index_of = [&](const char* name) {
      for (std::size_t i = 0; i < cs.size(); ++i)
        if (cs[i].name == name) return static_cast<int>(i);
      return -1;
    };

    std::printf(
        "\nunfiltered, %zu queries per round; QPS = median over rounds; ratios = median of "
        "per-round ratios\n| ef |",
        nq);
    for (const auto& c : cs) std::printf(" recall %s |", c.name.c_str());
    for (const auto& c : cs) std::printf(" QPS %s |", c.name.c_str());
    std::printf(" funnel/hnswlib | min..max | funnel-sq8/hnswlib | min..max |");
    for (std::size_t i = 3; i < cs.size(); ++i)
      std::printf(" funnel/%s | funnel-sq8/%s |", cs[i].name.c_str(), cs[i].name.c_str());
    std::printf("\n|");
    for (std::size_t i = 0; i < 5 + 2 * cs.size() + 2 * (cs.size() - 3); ++i) std::printf("---:|");
    std::printf("\n");
    std::vector<std::size_t> ef99(cs.size(), 0);
    for (const std::size_t ef : efs) {
      std::vector<std::function<void()>> blocks;
      for (auto& c : cs) blocks.emplace_back([&c, ef] { c.run(ef); });
      std::vector<std::vector<double>> seconds(cs.size());
      for (int r = 0; r < a.rounds; ++r) {
        const auto t = interleaved_round(blocks, r);
        for (std::size_t i = 0; i < cs.size(); ++i) seconds[i].push_back(t[i]);
      }
      auto ratio = [&](std::size_t fast, std::size_t slow) {
        std::vector<double> r(seconds[fast].size());
        for (std::size_t i = 0; i < r.size(); ++i) r[i] = seconds[slow][i] / seconds[fast][i];
        return r;
      };
      std::printf("| %zu |", ef);
      for (std::size_t i = 0; i < cs.size(); ++i) {
        const double rec = metrics::recall_at_k(cs[i].found, truth, k);
        if (ef99[i] == 0 && rec >= 0.99) ef99[i] = ef;
        std::printf(" %.4f |", rec);
      }
      for (std::size_t i = 0; i < cs.size(); ++i) {
        std::vector<double> qps;
        for (const double t : seconds[i]) qps.push_back(static_cast<double>(nq) / t);
        std::printf(" %.0f |", median(qps));
      }
      const auto raw = ratio(0, 2);
      std::printf(" %.3f | %.3f..%.3f |", median(raw), *std::min_element(raw.begin(), raw.end()),
                  *std::max_element(raw.begin(), raw.end()));
      const auto raw8 = ratio(1, 2);
      std::printf(" %.3f | %.3f..%.3f |", median(raw8), *std::min_element(raw8.begin(), raw8.end()),
                  *std::max_element(raw8.begin(), raw8.end()));
      for (std::size_t i = 3; i < cs.size(); ++i)
        std::printf(" %.2f | %.2f |", median(ratio(0, i)), median(ratio(1, i)));
      std::printf("\n");
      std::fflush(stdout);
    }

    // At recall@10 >= 0.99: every contender at the smallest ef reaching it (FAISS searched over a
    // finer list, since its efSearch need not be in --efs), all interleaved, plus exact search:
    // the batched GEMM over all queries (its best case) and one query per call.
    const int i_faiss = index_of("FAISS");
    const int i_faiss_sq = index_of("FAISS-SQ8");
    for (const int i : {i_faiss, i_faiss_sq}) {
      if (i < 0) continue;
      ef99[static_cast<std::size_t>(i)] = 0;
      for (const std::size_t ef : {10, 16, 20, 24, 32, 40, 48, 64, 80, 120, 160, 240, 320, 480}) {
        cs[static_cast<std::size_t>(i)].run(ef);
        if (metrics::recall_at_k(cs[static_cast<std::size_t>(i)].found, truth, k) >= 0.99) {
          ef99[static_cast<std::size_t>(i)] = ef;
          break;
        }
      }
    }
    std::vector<std::function<void()>> blocks;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      if (i == 2 || ef99[i] == 0) continue;  // hnswlib: the same walk as funnel
      blocks.emplace_back([&c = cs[i], ef = ef99[i]] { c.run(ef); });
      names.push_back(fmt::format("{} (ef {})", cs[i].name, ef99[i]));
    }
    if (!a.has("noexact")) {
      const std::size_t sq = std::min<std::size_t>(nq, 100);
      blocks.emplace_back([&] { (void)exact.search_batch(queries, k); });
      names.push_back(fmt::format("exact, batched GEMM over {} queries", nq));
      blocks.emplace_back([&, sq] {
        for (std::size_t q = 0; q < sq; ++q) (void)exact.search(queries.row(q), k);
      });
      names.push_back("exact, one query per call");
    }
    const std::size_t per_call = std::min<std::size_t>(nq, 100);
    std::vector<std::vector<double>> qps(blocks.size());
    for (int r = 0; r < a.rounds; ++r) {
      const auto t = interleaved_round(blocks, r);
      for (std::size_t b = 0; b < blocks.size(); ++b) {
        const bool single = names[b] == "exact, one query per call";
        qps[b].push_back(static_cast<double>(single ? per_call : nq) / t[b]);
      }
    }
    std::printf(
        "\nat recall@10 >= 0.99 (%d interleaved rounds; QPS median; ratio = median of "
        "per-round QPS ratios)\n| contender | QPS | funnel / it | funnel-sq8 / it |\n"
        "|---|---:|---:|---:|\n",
        a.rounds);
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      auto per_round = [&](std::size_t num) {
        std::vector<double> r(qps[b].size());
        for (std::size_t i = 0; i < r.size(); ++i) r[i] = qps[num][i] / qps[b][i];
        return median(r);
      };
      const bool has_funnel = ef99[0] != 0;
      const bool has_sq8 = ef99[1] != 0;
      std::printf("| %s | %.0f | %.2f | %.2f |\n", names[b].c_str(), median(qps[b]),
                  has_funnel ? per_round(0) : 0.0, has_sq8 ? per_round(has_funnel ? 1 : 0) : 0.0);
    }
    std::fflush(stdout);
  }

  rng pick(2026);
  auto random_subset = [&](double fraction) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < n; ++i) {
      if (pick.uniform() < fraction) out.push_back(ids[i]);
    }
    return out;
  };

  // ---- filtered search ---------------------------------------------------------------------
  if (a.has("filter")) {
    const std::size_t filter_queries = std::min<std::size_t>(nq, 200);
    const matrix_view first_queries = queries.middle_rows(0, filter_queries);
    std::vector<std::uint8_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) labels[i] = train.labels[i];
    std::vector<std::uint64_t> class0;
    for (std::size_t i = 0; i < n; ++i) {
      if (labels[i] == 0) class0.push_back(ids[i]);
    }
    const auto one_percent = random_subset(0.01);
    std::vector<std::uint8_t> in_one_percent(n, 0);
    for (const auto id : one_percent) in_one_percent[id] = 1;
    const allow_list class0_list(class0);
    const allow_list one_list(one_percent);
    const auto class0_pred = [&](std::uint64_t id) { return labels[id] == 0; };
    const auto one_pred = [&](std::uint64_t id) { return in_one_percent[id] != 0; };
    // The image search example's case: a footwear-only filter (sandal 5, sneaker 7, ankle boot 9:
    // 30% of the items) queried with shirts (6), far from every allowed item.
    const auto footwear = [&](std::uint64_t id) {
      return labels[id] == 5 || labels[id] == 7 || labels[id] == 9;
    };
    std::vector<std::uint64_t> footwear_ids;
    for (std::size_t i = 0; i < n; ++i) {
      if (footwear(ids[i])) footwear_ids.push_back(ids[i]);
    }
    const allow_list footwear_list(footwear_ids);
    matrix shirts(0, dim);
    for (std::size_t q = 0; q < test.rows() && shirts.rows() < filter_queries; ++q) {
      if (test_set.labels[q] == 6) shirts.push_row(test.row(q));
    }
    struct named_filter {
      std::string name;
      filter f;
      double target;
      matrix_view queries;
    };
    const std::vector<named_filter> filters = {
        {"10% class 0, allow-list", class0_list, 0.99, first_queries},
        {"10% class 0, predicate", filter::where(class0_pred), 0.99, first_queries},
        {"1% random, allow-list", one_list, 1.0, first_queries},
        {"1% random, predicate", filter::where(one_pred), 1.0, first_queries},
        {"30% footwear, shirt queries, allow-list", footwear_list, 0.99, shirts.view()},
        {"30% footwear, shirt queries, predicate", filter::where(footwear), 0.99, shirts.view()}};
    std::printf(
        "\nfiltered search, %zu queries per round, k=%zu; graph = smallest ef (of 10..320) whose "
        "recall meets the target; automatic runs at that ef (or 10 if none did); auto batch = "
        "hnsw_index::search_batch (automatic) and exact = exact_index::search_batch (GEMM), each "
        "over the round's queries\n",
        filter_queries, k);
    std::printf(
        "| index | filter | target | graph ef | graph recall | scan recall | automatic picks | "
        "auto "
        "recall | graph QPS | scan QPS | auto QPS | auto batch QPS | exact QPS | "
        "auto/max(graph,scan) (min..max) | scan again/scan (min..max) | auto/exact | auto batch "
        "recall | auto batch/exact | auto/max(graph,scan), best rounds | scan again/scan, best "
        "rounds | auto/better, paired | scan/scan, paired |\n");
    std::printf(
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        "---:|---:|---:|---:|\n");
    // The float index (unless filter_nofloat), and with filter_sq8 the same graph quantized: its
    // graph strategy walks the codes and its scan reads the codes (L2 bounds, exact re-scoring).
    std::optional<hnsw_index> coded;
    std::optional<hnsw_index> projected;
    std::optional<hnsw_index> coded_projected;
    std::vector<std::pair<std::string, const hnsw_index*>> walks;
    const std::string proj_name = fmt::format(", projected m={}", a.project_dims);
    if (!a.has("filter_nofloat")) walks.emplace_back("float", &index);
    if (!a.has("filter_nofloat") && a.has("filter_proj")) {
      projected.emplace(hnsw_index::deserialize(index.serialize(), "copy"));
      const double s = time_of([&] { projected->project(a.project_dims); });
      std::printf("project(%zu) on the float index: %.2f s, %zu bytes per node\n", a.project_dims,
                  s, projected->bytes_per_node());
      walks.emplace_back("float" + proj_name, &*projected);
    }
    if (a.has("filter_sq8")) {
      coded.emplace(hnsw_index::deserialize(index.serialize(), "copy"));
      coded->quantize();
      walks.emplace_back("8-bit", &*coded);
      if (a.has("filter_proj")) {
        coded_projected.emplace(hnsw_index::deserialize(coded->serialize(), "copy"));
        coded_projected->project(a.project_dims);
        std::printf("8-bit index projected: %zu bytes per node\n",
                    coded_projected->bytes_per_node());
        walks.emplace_back("8-bit" + proj_name, &*coded_projected);
      }
    }
    for (const auto& [walk_name, walked] : walks) {
      for (const auto& nf : filters) {
        const hnsw_index& fidx = *walked;
        const matrix_view fqueries = nf.queries;
        const std::size_t fq = fqueries.rows();
        const auto ftruth = exact.search_batch(fqueries, k, nf.f);
        auto run = [&](filter_strategy s, std::size_t ef, std::vector<candidate_list>& out) {
          out.resize(fq);
          for (std::size_t q = 0; q < fq; ++q) {
            fidx.search_into(fqueries.row(q), k, {.ef = ef, .strategy = s}, nf.f, out[q]);
          }
        };
        std::vector<candidate_list> out;
        std::size_t graph_ef = 0;
        double graph_rec = 0.0;
        double graph_pass = 0.0;
        for (const std::size_t ef : {10, 20, 40, 80, 160, 320}) {
          graph_pass = time_of([&] { run(filter_strategy::graph, ef, out); });
          graph_rec = metrics::recall_at_k(out, ftruth, k);
          graph_ef = ef;
          if (graph_rec >= nf.target) break;
        }
        const std::size_t auto_ef = graph_rec >= nf.target ? graph_ef : 10;
        const double scan_pass = time_of([&] { run(filter_strategy::scan, 0, out); });
        const double scan_rec = metrics::recall_at_k(out, ftruth, k);
        const double auto_pass = time_of([&] { run(filter_strategy::automatic, auto_ef, out); });
        const double auto_rec = metrics::recall_at_k(out, ftruth, k);
        const auto picked =
            fidx.choose_strategy(k, {.ef = auto_ef, .strategy = filter_strategy::automatic}, nf.f);
        std::vector<candidate_list> batch_out;
        auto run_batch = [&] { batch_out = fidx.search_batch(fqueries, k, {.ef = auto_ef}, nf.f); };
        const double batch_pass = time_of(run_batch);
        const double batch_rec = metrics::recall_at_k(batch_out, ftruth, k);
        const double exact_pass = time_of([&] { (void)exact.search_batch(fqueries, k, nf.f); });
        const int pg = passes_for(graph_pass, a.filter_block);
        const int ps = passes_for(scan_pass, a.filter_block);
        const int pa = passes_for(auto_pass, a.filter_block);
        const int pb = passes_for(batch_pass, a.filter_block);
        const int pe = passes_for(exact_pass, a.filter_block);
        auto repeat = [&](int passes, filter_strategy st, std::size_t ef) {
          for (int p = 0; p < passes; ++p) run(st, ef, out);
        };
        // The scan runs twice per round: scan again / scan is the same code timed twice, the
        // noise floor against which auto / max(graph, scan) is read.
        // The best rounds' ratio (each contender's fastest round): noise on this shared machine
        // only ever adds time, so the fastest of several rounds estimates the code's own speed.
        std::vector<double> qg, qs, qa, qb, qe, qs2, ratio, ratio_exact, ratio_batch, ratio_same;
        for (int r = 0; r < a.rounds; ++r) {
          const auto t =
              interleaved_round({[&] { repeat(pg, filter_strategy::graph, graph_ef); },
                                 [&] { repeat(ps, filter_strategy::scan, 0); },
                                 [&] { repeat(pa, filter_strategy::automatic, auto_ef); },
                                 [&] {
                                   for (int p = 0; p < pb; ++p) run_batch();
                                 },
                                 [&] {
                                   for (int p = 0; p < pe; ++p)
                                     (void)exact.search_batch(fqueries, k, nf.f);
                                 },
                                 [&] { repeat(ps, filter_strategy::scan, 0); }},
                                r);
          qg.push_back(static_cast<double>(fq * pg) / t[0]);
          qs.push_back(static_cast<double>(fq * ps) / t[1]);
          qa.push_back(static_cast<double>(fq * pa) / t[2]);
          qb.push_back(static_cast<double>(fq * pb) / t[3]);
          qe.push_back(static_cast<double>(fq * pe) / t[4]);
          ratio.push_back(qa.back() / std::max(qg.back(), qs.back()));
          ratio_exact.push_back(qa.back() / qe.back());
          ratio_batch.push_back(qb.back() / qe.back());
          ratio_same.push_back(t[1] / t[5]);
          qs2.push_back(static_cast<double>(fq * ps) / t[5]);
        }
        const auto best = [](const std::vector<double>& v) {
          return *std::max_element(v.begin(), v.end());
        };
        const double best_ratio = best(qa) / std::max(best(qg), best(qs));
        const double best_same = best(qs2) / best(qs);
        // Paired: each query answered by automatic and by the better strategy back to back
        // (which goes first alternates by query and pass), their times summed apart, so both see
        // the same machine state and this shared VM's slow episodes cancel; likewise the scan
        // against itself, the A/A noise floor of the paired figure.
        const bool graph_better = median(qg) > median(qs);
        const filter_strategy better =
            graph_better ? filter_strategy::graph : filter_strategy::scan;
        const std::size_t better_ef = graph_better ? graph_ef : 0;
        auto one = [&](filter_strategy st, std::size_t ef, std::size_t q) {
          const auto t0 = clock_type::now();
          fidx.search_into(fqueries.row(q), k, {.ef = ef, .strategy = st}, nf.f, out[q]);
          return std::chrono::duration<double>(clock_type::now() - t0).count();
        };
        double t_auto = 0.0, t_better = 0.0, t_scan1 = 0.0, t_scan2 = 0.0;
        const int paired_passes = passes_for(auto_pass, 2.0 * a.filter_block);
        for (int p = 0; p < paired_passes * a.rounds; ++p) {
          for (std::size_t q = 0; q < fq; ++q) {
            if ((q + static_cast<std::size_t>(p)) % 2 == 0) {
              t_auto += one(filter_strategy::automatic, auto_ef, q);
              t_better += one(better, better_ef, q);
              t_scan1 += one(filter_strategy::scan, 0, q);
              t_scan2 += one(filter_strategy::scan, 0, q);
            } else {
              t_better += one(better, better_ef, q);
              t_auto += one(filter_strategy::automatic, auto_ef, q);
              t_scan2 += one(filter_strategy::scan, 0, q);
              t_scan1 += one(filter_strategy::scan, 0, q);
            }
          }
        }
        std::sort(ratio.begin(), ratio.end());
        std::sort(ratio_same.begin(), ratio_same.end());
        std::printf(
            "| %s | %s | %.2f | %zu | %.4f | %.4f | %s | %.4f | %.0f | %.0f | %.0f | %.0f | %.0f | "
            "%.3f (%.3f..%.3f) | %.3f (%.3f..%.3f) | %.2f | %.4f | %.2f | %.3f | %.3f | %.3f | "
            "%.3f |\n",
            walk_name.c_str(), nf.name.c_str(), nf.target, graph_ef, graph_rec, scan_rec,
            strategy_name(picked), auto_rec, median(qg), median(qs), median(qa), median(qb),
            median(qe), median(ratio), ratio.front(), ratio.back(), median(ratio_same),
            ratio_same.front(), ratio_same.back(), median(ratio_exact), batch_rec,
            median(ratio_batch), best_ratio, best_same, t_better / t_auto, t_scan1 / t_scan2);
        std::fflush(stdout);
      }
    }
  }

  // ---- break-even: filtered graph search vs scan over allowed fractions and ef ---------------
  if (a.has("breakeven")) {
    const std::size_t bq = std::min<std::size_t>(nq, 100);
    const matrix_view bqueries = queries.middle_rows(0, bq);
    std::printf(
        "\nbreak-even (random allow-lists), %zu queries per round: graph/scan = median of "
        "per-round QPS ratios; rule = automatic's choice\n",
        bq);
    std::printf(
        "| allowed | ef | graph recall | graph QPS | scan QPS | graph/scan | rule picks "
        "|\n|---:|---:|---:|---:|---:|---:|---|\n");
    for (const double fraction : {0.01, 0.03, 0.1, 0.2, 0.3, 0.5}) {
      const allow_list allowed(random_subset(fraction));
      const auto ftruth = exact.search_batch(bqueries, k, allowed);
      for (const std::size_t ef : {10, 40, 160}) {
        std::vector<candidate_list> out(bq);
        auto run = [&](filter_strategy s) {
          for (std::size_t q = 0; q < bq; ++q) {
            index.search_into(bqueries.row(q), k, {.ef = ef, .strategy = s}, allowed, out[q]);
          }
        };
        const int pg = passes_for(time_of([&] { run(filter_strategy::graph); }), 0.15);
        const double rec = metrics::recall_at_k(out, ftruth, k);
        const int ps = passes_for(time_of([&] { run(filter_strategy::scan); }), 0.15);
        std::vector<double> qg, qs, ratio;
        for (int r = 0; r < a.rounds; ++r) {
          const auto t = interleaved_round({[&] {
                                              for (int p = 0; p < pg; ++p)
                                                run(filter_strategy::graph);
                                            },
                                            [&] {
                                              for (int p = 0; p < ps; ++p)
                                                run(filter_strategy::scan);
                                            }},
                                           r);
          qg.push_back(static_cast<double>(bq * pg) / t[0]);
          qs.push_back(static_cast<double>(bq * ps) / t[1]);
          ratio.push_back(qg.back() / qs.back());
        }
        const auto picked = index.choose_strategy(k, {.ef = ef}, allowed);
        std::printf("| %.0f%% | %zu | %.4f | %.0f | %.0f | %.3f | %s |\n", fraction * 100, ef, rec,
                    median(qg), median(qs), median(ratio), strategy_name(picked));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
