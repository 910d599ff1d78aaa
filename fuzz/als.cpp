// Fuzz target: ALS factor models (retrieval::als_model::from_json), then use_candidates, a
// fold-in and scores for a user vector of the model's width.
#include <funnel/retrieval/als.hpp>

#include "use_candidates.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto m = funnel::retrieval::als_model::from_json(funnel::fuzz::json_of(data, size));
    const auto& items = m.items().externals();
    std::optional<std::uint64_t> user;
    if (m.users().size() > 0) user = m.users().external(0);
    funnel::fuzz::use_candidates(m, items, user, "");
    (void)m.fold_in(items);
    if (m.factors() <= funnel::fuzz::max_probe_width) {
      (void)m.score_all(funnel::fuzz::probe_row(m.factors(), 1));
    }
  });
  return 0;
}
