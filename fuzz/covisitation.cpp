// Fuzz target: co-visitation neighbour lists (retrieval::covisitation_model::from_json), then
// every item's neighbours and use_candidates.
#include <funnel/retrieval/covisitation.hpp>

#include "use_candidates.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto m =
        funnel::retrieval::covisitation_model::from_json(funnel::fuzz::json_of(data, size));
    const auto& items = m.items().externals();
    for (const auto id : items) (void)m.neighbours(id);
    (void)m.neighbours(0xdeadbeefULL);
    funnel::fuzz::use_candidates(m, items, std::nullopt, "");
  });
  return 0;
}
