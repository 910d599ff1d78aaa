// docs/candidates.md opening example: three candidate generators from one interaction log.
#include <funnel/retrieval/als.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/popularity.hpp>

#include <cstdio>

int main() {
  using namespace funnel::retrieval;
  // user, item, rating, timestamp: two taste groups (items 1-4 and 11-14).
  const auto table = funnel::parse_csv(
      "userId,movieId,rating,timestamp\n"
      "1,1,5,10\n1,2,4,20\n1,3,5,30\n2,1,4,10\n2,2,5,15\n2,4,4,40\n3,2,5,50\n3,3,4,60\n3,4,5,70\n"
      "4,11,5,10\n4,12,4,20\n4,13,5,30\n5,11,4,10\n5,12,5,15\n5,14,4,40\n6,12,5,5\n6,13,4,6\n",
      "ratings.csv");
  const auto log = interaction_log::from_table(table);
  const auto [train, test] = log.split_by_time(log.time_quantile(0.9));  // no future in train

  als_options options;
  options.factors = 2;
  options.regularization = 0.01;
  options.iterations = 10;
  const auto als = fit_als(train, options);    // user and item vectors
  const auto covis = fit_covisitation(train);  // "watched together"
  const auto popular = fit_popularity(train);  // cold-start fallback

  user_query query;
  query.user = 6;  // has seen 12 and 13
  const std::vector<std::uint64_t> history{12, 13};
  query.history = history;
  for (const auto& [name, list] : {std::pair{"als", als.retrieve(query, 3)},
                                   std::pair{"covisitation", covis.retrieve(query, 3)},
                                   std::pair{"popularity", popular.retrieve(query, 3)}}) {
    std::printf("%-13s", name);
    for (const auto& c : list)
      std::printf(" %llu (%.3f)", static_cast<unsigned long long>(c.id),
                  static_cast<double>(c.score));
    std::printf("\n");
  }
  // A brand-new user: no vector, no known history -> ALS returns nothing, popularity answers.
  user_query stranger;
  stranger.user = 999;
  return als.retrieve(stranger, 3).empty() && !popular.retrieve(stranger, 3).empty() ? 0 : 1;
}
