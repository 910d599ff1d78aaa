// Effect of each re-ranker on MovieLens: NDCG@20 and intra-list diversity against the
// un-reranked slate. The data may not be redistributed, so it is read from a path given on the
// command line (see docs/rerank.md for how to get it).
//
// Relevance model (deliberately simple and honest, fitted on the training period only):
//   per-user temporal split: a user's first 80% of ratings train, the last 20% test;
//   popularity(i) = log(1 + #ratings of i before the user's split time) / log(1 + max);
//   affinity(u, i) = cosine(user's genre profile, i's genres), the profile being the sum of the
//   normalised multi-hot genre vectors of the movies u rated >= 3.5 in training (all ratings if
//   none);
//   score = 0.5 popularity + 0.5 affinity over movies u has not rated in training;
//   the slate is the top 200; relevant = rated >= 4 by u in the test period.
// Genre embedding = multi-hot genres, L2-normalised. Group key of a movie = its rarest genre.
//
// Usage: rerank_movielens <movielens.csv>
#include <funnel/core/csv.hpp>
#include <funnel/core/timer.hpp>
#include <funnel/rerank.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace rr = funnel::rerank;

namespace {

constexpr std::size_t slate_size = 200;
constexpr std::size_t k = 20;

struct result {
  std::string name;
  double ndcg = 0;
  std::vector<double> per_user_ndcg;
  double ild = 0;
  double coverage = 0;
  std::vector<double> micros;
};

std::vector<std::string> split_genres(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto bar = s.find('|', start);
    const auto g = s.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (!g.empty() && g != "(no genres listed)") out.push_back(g);
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <movielens.csv>\n", argv[0]);
    return 2;
  }
  const auto table = funnel::read_csv(argv[1]);
  const auto movie = table.numeric("movieId");
  const auto genres_text = table.strings("genres");
  const auto user = table.numeric("userId");
  const auto rating = table.numeric("rating");
  const auto ts = table.numeric("timestamp");
  const auto year = table.numeric("year");
  const std::size_t rows = table.rows();

  // Items, genres.
  std::unordered_map<long, std::size_t> item_of;
  std::vector<std::vector<std::size_t>> item_genres;
  std::vector<double> item_year;
  std::map<std::string, std::size_t> genre_of;
  std::vector<std::size_t> row_item(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const auto id = static_cast<long>(movie[r]);
    auto it = item_of.find(id);
    if (it == item_of.end()) {
      it = item_of.emplace(id, item_genres.size()).first;
      std::vector<std::size_t> gs;
      for (const auto& g : split_genres(genres_text[r])) {
        gs.push_back(genre_of.emplace(g, genre_of.size()).first->second);
      }
      item_genres.push_back(gs);
      item_year.push_back(year[r]);
    }
    row_item[r] = it->second;
  }
  const std::size_t n_items = item_genres.size();
  const std::size_t n_genres = genre_of.size();
  funnel::matrix emb(n_items, n_genres, 0.0F);
  std::vector<double> genre_count(n_genres, 0);
  for (std::size_t i = 0; i < n_items; ++i) {
    for (auto g : item_genres[i]) genre_count[g] += 1;
    const float v =
        item_genres[i].empty() ? 0.0F : 1.0F / std::sqrt(static_cast<float>(item_genres[i].size()));
    for (auto g : item_genres[i]) emb(i, g) = v;
  }
  std::vector<std::uint64_t> group(n_items, rr::no_group);
  for (std::size_t i = 0; i < n_items; ++i) {
    double best = 1e300;
    for (auto g : item_genres[i]) {
      if (genre_count[g] < best) {
        best = genre_count[g];
        group[i] = g;
      }
    }
  }

  // Temporal split per user: the first 80% of a user's ratings (by time) are training, the rest
  // test. Popularity for that user counts only ratings (by anyone) made before the user's split
  // time, so no future interaction leaks into the relevance model.
  std::vector<std::size_t> by_time(rows);
  for (std::size_t r = 0; r < rows; ++r) by_time[r] = r;
  std::stable_sort(by_time.begin(), by_time.end(), [&](auto a, auto b) { return ts[a] < ts[b]; });
  std::map<long, std::vector<std::size_t>> user_rows;  // in time order
  for (auto r : by_time) user_rows[static_cast<long>(user[r])].push_back(r);
  std::map<long, std::vector<std::size_t>> train_rows;
  std::map<long, std::vector<std::size_t>> test_rows;
  std::map<long, double> split_time;
  for (const auto& [u, rs] : user_rows) {
    const std::size_t n_train = rs.size() * 8 / 10;
    if (n_train == 0 || n_train == rs.size()) continue;
    split_time[u] = ts[rs[n_train]];
    // ratings sharing the split timestamp go to test, so training is strictly earlier
    std::size_t cut = n_train;
    while (cut > 0 && ts[rs[cut - 1]] >= split_time[u]) --cut;
    if (cut == 0) continue;
    train_rows[u].assign(rs.begin(), rs.begin() + static_cast<std::ptrdiff_t>(cut));
    test_rows[u].assign(rs.begin() + static_cast<std::ptrdiff_t>(cut), rs.end());
  }
  std::vector<double> pop(n_items, 0);
  const double years_per_second = 1.0 / (365.2425 * 86400.0);
  double now_year = 0;

  // Re-rankers under study.
  std::vector<std::pair<std::string, rr::reranker_list>> configs;
  auto add = [&](std::string name, auto... parts) {
    rr::reranker_list l;
    (l.add("part", std::move(parts)), ...);
    configs.emplace_back(std::move(name), std::move(l));
  };
  add("none (ranker order)", rr::truncate());
  add("MMR lambda=0.9", rr::mmr({.lambda = 0.9}), rr::truncate());
  add("MMR lambda=0.7", rr::mmr({.lambda = 0.7}), rr::truncate());
  add("MMR lambda=0.5", rr::mmr({.lambda = 0.5}), rr::truncate());
  add("DPP theta=0.9", rr::dpp({.theta = 0.9, .jitter = 0.01}), rr::truncate());
  add("DPP theta=0.7", rr::dpp({.theta = 0.7, .jitter = 0.01}), rr::truncate());
  add("DPP theta=0.5", rr::dpp({.theta = 0.5, .jitter = 0.01}), rr::truncate());
  add("DPP theta=0.7 window=5", rr::dpp({.theta = 0.7, .jitter = 0.01, .window = 5}),
      rr::truncate());
  add("DPP YouTube q=score RBF alpha=0.9 sigma=0.5",
      rr::dpp({.quality = rr::dpp_quality::score,
               .kernel = rr::dpp_similarity::youtube_rbf,
               .alpha = 0.9,
               .sigma = 0.5}),
      rr::truncate());
  add("sliding window <=1 per genre in 4",
      rr::sliding_window("genre", {.window = 4, .max_per_window = 1}), rr::truncate());
  add("cap <=3 per genre", rr::group_cap("genre", {.max_per_group = 3}), rr::truncate());
  add("genre decay 0.5 floor 0.25", rr::group_decay("genre"), rr::truncate());
  add("freshness half-life 10y weight 0.5", rr::freshness({.half_life = 10.0, .weight = 0.5}),
      rr::truncate());
  add("explore slots 5, 15 (uniform, top 50)",
      rr::explore_slots<rr::uniform_exploration>({4, 14}, {}, {.pool_depth = 50}), rr::truncate());
  add("decay + DPP theta=0.7 + window 1 in 4", rr::group_decay("genre"),
      rr::dpp({.theta = 0.7, .jitter = 0.01}),
      rr::sliding_window("genre", {.window = 4, .max_per_window = 1}), rr::truncate());

  std::vector<result> results(configs.size());
  for (std::size_t c = 0; c < configs.size(); ++c) results[c].name = configs[c].first;

  std::size_t users = 0;
  std::vector<float> profile(n_genres);
  std::vector<char> seen(n_items);
  funnel::candidate_list all;
  funnel::candidate_list cands;
  std::vector<std::uint32_t> emb_rows;
  std::vector<std::uint64_t> cand_group;
  std::vector<double> cand_year;
  rr::slate s;
  for (const auto& [u, tr] : train_rows) {
    const auto te = test_rows.find(u);
    if (tr.size() < 5 || te == test_rows.end()) continue;
    std::set<std::size_t> relevant;
    for (auto r : te->second) {
      if (rating[r] >= 4.0) relevant.insert(row_item[r]);
    }
    if (relevant.empty()) continue;
    ++users;
    const double t_u = split_time[u];
    now_year = 1970.0 + t_u * years_per_second;
    std::fill(pop.begin(), pop.end(), 0.0);
    for (auto r : by_time) {
      if (ts[r] >= t_u) break;
      pop[row_item[r]] += 1;
    }
    const double max_pop = std::max(1.0, *std::max_element(pop.begin(), pop.end()));
    std::fill(profile.begin(), profile.end(), 0.0F);
    std::fill(seen.begin(), seen.end(), 0);
    bool any_liked = false;
    for (auto r : tr) any_liked = any_liked || rating[r] >= 3.5;
    for (auto r : tr) {
      seen[row_item[r]] = 1;
      if (any_liked && rating[r] < 3.5) continue;
      for (std::size_t g = 0; g < n_genres; ++g) profile[g] += emb(row_item[r], g);
    }
    float pn = 0;
    for (auto x : profile) pn += x * x;
    pn = std::sqrt(pn);
    all.clear();
    for (std::size_t i = 0; i < n_items; ++i) {
      if (seen[i] || pop[i] == 0) continue;
      float dot = 0;
      for (auto g : item_genres[i]) dot += profile[g] * emb(i, g);
      const double aff = pn > 0 ? dot / pn : 0.0;
      const double p = std::log1p(pop[i]) / std::log1p(max_pop);
      all.push_back({i, static_cast<float>(0.5 * p + 0.5 * aff)});
    }
    const std::size_t m = std::min(slate_size, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(m), all.end(),
                      [](const auto& a, const auto& b) {
                        return a.score > b.score || (a.score == b.score && a.id < b.id);
                      });
    cands.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(m));
    emb_rows.clear();
    cand_group.clear();
    cand_year.clear();
    for (const auto& x : cands) {
      emb_rows.push_back(static_cast<std::uint32_t>(x.id));
      cand_group.push_back(group[x.id]);
      cand_year.push_back(item_year[x.id]);
    }
    double idcg = 0;
    for (std::size_t r = 0; r < std::min(k, relevant.size()); ++r)
      idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);

    for (std::size_t c = 0; c < configs.size(); ++c) {
      funnel::stopwatch w;
      s.reset(cands);
      s.set_embeddings(emb.view(), emb_rows);
      s.set_groups("genre", cand_group);
      s.set_timestamps(cand_year);
      configs[c].second.rerank(s, {.k = k, .now = now_year, .seed = static_cast<std::uint64_t>(u)});
      results[c].micros.push_back(w.elapsed_us());
      const auto e = s.entries();
      const std::size_t top = std::min(k, e.size());
      double dcg = 0;
      std::set<std::size_t> covered;
      for (std::size_t r = 0; r < top; ++r) {
        const auto item = static_cast<std::size_t>(e[r].item.id);
        if (relevant.count(item)) dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
        for (auto g : item_genres[item]) covered.insert(g);
      }
      double dissim = 0;
      std::size_t pairs = 0;
      for (std::size_t a = 0; a < top; ++a) {
        for (std::size_t b = a + 1; b < top; ++b) {
          float dot = 0;
          const auto ia = static_cast<std::size_t>(e[a].item.id);
          const auto ib = static_cast<std::size_t>(e[b].item.id);
          for (std::size_t g = 0; g < n_genres; ++g) dot += emb(ia, g) * emb(ib, g);
          dissim += 1.0 - static_cast<double>(dot);
          ++pairs;
        }
      }
      results[c].ndcg += dcg / idcg;
      results[c].per_user_ndcg.push_back(dcg / idcg);
      results[c].ild += pairs ? dissim / static_cast<double>(pairs) : 0.0;
      results[c].coverage += static_cast<double>(covered.size());
    }
  }
  std::printf(
      "MovieLens (%zu ratings, %zu movies, %zu genres), per-user temporal split 80/20; "
      "%zu users with >= 5 training ratings and >= 1 test rating >= 4; slate = top %zu "
      "of the relevance model, k = %zu\n\n",
      rows, n_items, n_genres, users, slate_size, k);
  std::printf(
      "| re-ranker | NDCG@20 | vs none | paired diff +- 1.96 se | ILD@20 (1 - cos) | vs none | "
      "genres in top 20 | median us/user |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  const double base_ndcg = results[0].ndcg / static_cast<double>(users);
  const double base_ild = results[0].ild / static_cast<double>(users);
  for (auto& r : results) {
    std::sort(r.micros.begin(), r.micros.end());
    const double nd = r.ndcg / static_cast<double>(users);
    const double il = r.ild / static_cast<double>(users);
    double mean_diff = 0;
    double sq = 0;
    for (std::size_t i = 0; i < users; ++i) {
      mean_diff += r.per_user_ndcg[i] - results[0].per_user_ndcg[i];
    }
    mean_diff /= static_cast<double>(users);
    for (std::size_t i = 0; i < users; ++i) {
      const double x = r.per_user_ndcg[i] - results[0].per_user_ndcg[i] - mean_diff;
      sq += x * x;
    }
    const double se = std::sqrt(sq / static_cast<double>(users - 1) / static_cast<double>(users));
    std::printf("| %s | %.4f | %+.1f%% | %+.4f +- %.4f | %.4f | %+.1f%% | %.2f | %.0f |\n",
                r.name.c_str(), nd, 100.0 * (nd / base_ndcg - 1.0), mean_diff, 1.96 * se, il,
                100.0 * (il / base_ild - 1.0), r.coverage / static_cast<double>(users),
                r.micros[r.micros.size() / 2]);
  }
  return 0;
}
