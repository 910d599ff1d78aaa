// Fashion-MNIST (60k x 784 base, t10k queries, k = 10, M = 16, ef_construction = 200), single
// threaded, every contender interleaved in the same run:
//   funnel hnsw_index::search  vs  hnswlib's own searchKnn on the *same* graph,
//   funnel build               vs  raw hnswlib build (chunks interleaved),
//   FAISS IndexHNSWFlat (same M, efConstruction, efSearch), exact search (Eigen GEMM),
//   filtered search (10% = one class, 1% = random ids): graph vs scan vs automatic,
//   and the graph/scan break-even over allowed fractions.
// Usage: bench_retrieval [--base N] [--queries N] [--rounds N] [--data DIR]
#include <funnel/core/idx.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/retrieval.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "retrieval/hnsw_reference.hpp"

#ifdef FUNNEL_BENCH_HAVE_FAISS
#include <faiss/IndexHNSW.h>
#include <omp.h>
#endif

using namespace funnel;
using namespace funnel::retrieval;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::vector<candidate_list> to_lists(const std::vector<std::vector<std::pair<float, std::uint64_t>>>& raw) {
  std::vector<candidate_list> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    for (const auto& [d, id] : raw[i]) out[i].push_back({id, -d});
  }
  return out;
}

struct args {
  std::size_t base = 60000;
  std::size_t queries = 1000;
  int rounds = 3;
  std::string data = "/usr/share/datasets/fashion-mnist";
};

}  // namespace

int main(int argc, char** argv) {
  args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--base") a.base = std::stoul(argv[i + 1]);
    if (k == "--queries") a.queries = std::stoul(argv[i + 1]);
    if (k == "--rounds") a.rounds = std::stoi(argv[i + 1]);
    if (k == "--data") a.data = argv[i + 1];
  }
#ifdef FUNNEL_BENCH_HAVE_FAISS
  omp_set_num_threads(1);
#endif
  const auto train = read_idx_dataset(a.data + "/train-images-idx3-ubyte.gz",
                                      a.data + "/train-labels-idx1-ubyte.gz", 1.0F / 255.0F);
  const auto test = read_idx_images(a.data + "/t10k-images-idx3-ubyte.gz", 1.0F / 255.0F);
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
  std::printf("Fashion-MNIST: base %zu x %zu, %zu queries, k=%zu, M=%zu, efC=%zu, 1 thread, %s\n",
              n, dim, nq, k, M, ef_c, isa);

  // ---- exact ground truth (and exact search speed) -----------------------------------------
  const exact_index exact(ids, base, metric::l2);
  auto t0 = clock_type::now();
  const auto truth = exact.search_batch(queries, k);
  const double exact_s = seconds_since(t0);
  std::printf("exact (Eigen GEMM, batched): %.1f QPS\n", static_cast<double>(nq) / exact_s);

  // ---- build: funnel vs raw hnswlib, chunks interleaved ------------------------------------
  hnsw_index index(hnsw_params{.dim = dim, .metric = metric::l2, .M = M, .ef_construction = ef_c,
                               .capacity = n, .seed = 100});
  detail::raw_hnswlib raw(dim, metric::l2, n, M, ef_c, 100);
  double build_funnel = 0.0;
  double build_raw = 0.0;
  const std::size_t chunk = 2000;
  for (std::size_t b = 0, round = 0; b < n; b += chunk, ++round) {
    const std::size_t e = std::min(n, b + chunk);
    auto run_funnel = [&] {
      const auto s = clock_type::now();
      index.add_batch(std::span(ids).subspan(b, e - b), base.middle_rows(b, e - b), 1);
      build_funnel += seconds_since(s);
    };
    auto run_raw = [&] {
      const auto s = clock_type::now();
      for (std::size_t i = b; i < e; ++i) raw.add(base.row(i).data(), ids[i]);
      build_raw += seconds_since(s);
    };
    if (round % 2 == 0) {
      run_funnel();
      run_raw();
    } else {
      run_raw();
      run_funnel();
    }
  }
  std::printf("build: funnel %.1f s, raw hnswlib %.1f s, funnel/raw time %.3f\n", build_funnel,
              build_raw, build_funnel / build_raw);

#ifdef FUNNEL_BENCH_HAVE_FAISS
  faiss::IndexHNSWFlat faiss_index(static_cast<int>(dim), static_cast<int>(M));
  faiss_index.hnsw.efConstruction = static_cast<int>(ef_c);
  t0 = clock_type::now();
  faiss_index.add(static_cast<faiss::Index::idx_t>(n), base.data());
  std::printf("build: FAISS IndexHNSWFlat %.1f s (funnel/FAISS time %.3f)\n", seconds_since(t0),
              build_funnel / seconds_since(t0));
#endif

  // ---- unfiltered search: funnel vs raw searchKnn on the same graph vs FAISS ---------------
  std::printf("\n| ef | recall@10 funnel | recall@10 hnswlib | funnel QPS | hnswlib QPS | funnel/hnswlib | "
              "recall@10 FAISS | FAISS QPS | funnel/FAISS | funnel/exact |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  candidate_list scratch;
  for (const std::size_t ef : {10, 20, 40, 80, 120, 160, 250, 400}) {
    std::vector<candidate_list> found(nq);
    std::vector<std::vector<std::pair<float, std::uint64_t>>> raw_found(nq);
    double tf = 0.0;
    double tr = 0.0;
    double tfa = 0.0;
    std::vector<float> fd(nq * k);
    std::vector<std::int64_t> fl(nq * k);
    for (int r = 0; r < a.rounds; ++r) {
      auto run_funnel = [&] {
        const auto s = clock_type::now();
        for (std::size_t q = 0; q < nq; ++q) {
          index.search_into(queries.row(q), k, {.ef = ef}, {}, found[q]);
        }
        tf += seconds_since(s);
      };
      auto run_raw = [&] {
        const auto s = clock_type::now();
        for (std::size_t q = 0; q < nq; ++q) {
          raw_found[q] = detail::raw_search_knn(index, queries.row(q).data(), k, ef);
        }
        tr += seconds_since(s);
      };
      auto run_faiss = [&] {
#ifdef FUNNEL_BENCH_HAVE_FAISS
        faiss::SearchParametersHNSW params;
        params.efSearch = static_cast<int>(ef);
        faiss_index.hnsw.efSearch = static_cast<int>(ef);
        const auto s = clock_type::now();
        faiss_index.search(static_cast<faiss::Index::idx_t>(nq), queries.data(), static_cast<faiss::Index::idx_t>(k),
                           fd.data(), fl.data(), &params);
        tfa += seconds_since(s);
#endif
      };
      if (r % 2 == 0) {
        run_funnel();
        run_raw();
        run_faiss();
      } else {
        run_faiss();
        run_raw();
        run_funnel();
      }
    }
    std::vector<candidate_list> faiss_found(nq);
    for (std::size_t q = 0; q < nq; ++q) {
      for (std::size_t j = 0; j < k; ++j) {
        if (fl[q * k + j] >= 0) faiss_found[q].push_back({static_cast<std::uint64_t>(fl[q * k + j]), 0});
      }
    }
    const double qf = a.rounds * static_cast<double>(nq) / tf;
    const double qr = a.rounds * static_cast<double>(nq) / tr;
    const double qfa = tfa > 0 ? a.rounds * static_cast<double>(nq) / tfa : 0.0;
    std::printf("| %zu | %.4f | %.4f | %.0f | %.0f | %.3f | %.4f | %.0f | %.2f | %.1f |\n", ef,
                recall_at_k(found, truth, k), recall_at_k(to_lists(raw_found), truth, k), qf, qr,
                qf / qr, tfa > 0 ? recall_at_k(faiss_found, truth, k) : 0.0, qfa,
                qfa > 0 ? qf / qfa : 0.0, qf * exact_s / static_cast<double>(nq));
  }

  // ---- filtered search -----------------------------------------------------------------------
  // One run of `strategy` over all queries: recall against exact filtered truth and QPS.
  auto measure = [&](const allow_list& allowed, const std::vector<candidate_list>& ftruth,
                     filter_strategy strategy, std::size_t ef, std::size_t q_count) {
    std::vector<candidate_list> found(q_count);
    double t = 0.0;
    for (int r = 0; r < a.rounds; ++r) {
      const auto s = clock_type::now();
      for (std::size_t q = 0; q < q_count; ++q) {
        index.search_into(queries.row(q), k, {.ef = ef, .strategy = strategy}, allowed, found[q]);
      }
      t += seconds_since(s);
    }
    std::vector<candidate_list> sub_truth(ftruth.begin(), ftruth.begin() + static_cast<long>(q_count));
    std::size_t short_lists = 0;
    for (const auto& f : found) short_lists += f.size() < k ? 1 : 0;
    return std::tuple{recall_at_k(found, sub_truth, k), a.rounds * static_cast<double>(q_count) / t,
                      short_lists};
  };
  rng pick(2026);
  auto random_subset = [&](double fraction) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < n; ++i) {
      if (pick.uniform() < fraction) out.push_back(ids[i]);
    }
    return out;
  };
  std::vector<std::uint64_t> class0;
  for (std::size_t i = 0; i < n; ++i) {
    if (train.labels[i] == 0) class0.push_back(ids[i]);
  }
  const std::size_t fq = std::min<std::size_t>(nq, 500);
  struct named_filter {
    std::string name;
    std::vector<std::uint64_t> ids;
  };
  const std::vector<named_filter> filters = {{"10% (class 0)", class0},
                                             {"1% (random)", random_subset(0.01)}};
  std::printf("\nfiltered search, %zu queries, k=%zu\n", fq, k);
  std::printf("| filter | strategy | ef | recall@10 | QPS | lists shorter than k |\n|---|---|---:|---:|---:|---:|\n");
  for (const auto& f : filters) {
    const allow_list allowed(f.ids);
    const auto ftruth = exact.search_batch(queries.middle_rows(0, fq), k, allowed);
    for (const std::size_t ef : {40, 80, 160, 320}) {
      const auto [rec, qps, short_lists] = measure(allowed, ftruth, filter_strategy::graph, ef, fq);
      std::printf("| %s | graph | %zu | %.4f | %.0f | %zu |\n", f.name.c_str(), ef, rec, qps, short_lists);
    }
    {
      const auto [rec, qps, short_lists] = measure(allowed, ftruth, filter_strategy::scan, 0, fq);
      std::printf("| %s | scan | - | %.4f | %.0f | %zu |\n", f.name.c_str(), rec, qps, short_lists);
    }
    for (const std::size_t ef : {80, 160}) {
      const auto [rec, qps, short_lists] = measure(allowed, ftruth, filter_strategy::automatic, ef, fq);
      std::printf("| %s | automatic | %zu | %.4f | %.0f | %zu |\n", f.name.c_str(), ef, rec, qps,
                  short_lists);
    }
  }

  // ---- break-even: graph search at the smallest ef reaching recall 0.99 vs scan ---------------
  const std::size_t bq = std::min<std::size_t>(nq, 200);
  std::printf("\nbreak-even, %zu queries: graph QPS at the smallest ef with recall@10 >= 0.99 vs scan\n", bq);
  std::printf("| allowed | graph ef | graph recall | graph QPS | scan QPS | graph/scan |\n|---:|---:|---:|---:|---:|---:|\n");
  for (const double fraction : {0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2}) {
    const allow_list allowed(random_subset(fraction));
    const auto ftruth = exact.search_batch(queries.middle_rows(0, bq), k, allowed);
    double graph_qps = 0.0;
    double graph_rec = 0.0;
    std::size_t graph_ef = 0;
    for (const std::size_t ef : {20, 40, 80, 160, 320, 640}) {
      const auto [rec, qps, short_lists] = measure(allowed, ftruth, filter_strategy::graph, ef, bq);
      (void)short_lists;
      graph_qps = qps;
      graph_rec = rec;
      graph_ef = ef;
      if (rec >= 0.99) break;
    }
    const auto [srec, sqps, sshort] = measure(allowed, ftruth, filter_strategy::scan, 0, bq);
    (void)srec;
    (void)sshort;
    std::printf("| %.1f%% | %zu | %.4f | %.0f | %.0f | %.2f |\n", fraction * 100, graph_ef, graph_rec,
                graph_qps, sqps, graph_qps / sqps);
  }
  return 0;
}
