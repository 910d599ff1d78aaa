#pragma once
// Small stages shared by the pipeline tests.

#include <funnel/pipeline.hpp>

#include <cstddef>

namespace funnel::test {

/// A retriever that returns the first k of a fixed ranked list, whatever the request.
struct list_retriever {
  candidate_list items;
  candidate_list retrieve(const pipeline::request& /*q*/, std::size_t k) const {
    auto out = items;
    if (out.size() > k) out.resize(k);
    return out;
  }
};

}  // namespace funnel::test
