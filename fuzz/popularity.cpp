// Fuzz target: popularity rankings (retrieval::popularity_model::from_json), then use_candidates
// for the global ranking and every stored segment.
#include <funnel/retrieval/popularity.hpp>

#include "use_candidates.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto m =
        funnel::retrieval::popularity_model::from_json(funnel::fuzz::json_of(data, size));
    std::vector<std::uint64_t> items;
    for (const auto& c : m.top()) items.push_back(c.id);
    for (const auto& s : m.segments()) {
      (void)m.top(s);
      funnel::fuzz::use_candidates(m, items, std::nullopt, s);
    }
    funnel::fuzz::use_candidates(m, items, std::nullopt, "no such segment");
  });
  return 0;
}
