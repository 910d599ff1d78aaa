#pragma once
// The structural check every reader of a csr_matrix runs before indexing it: csr_matrix is a
// struct whose fields callers fill, so it can hold anything.
#include <funnel/core/views.hpp>

#include <string_view>

namespace funnel::detail {

/// Checks that `x` can be indexed: row_ptr starts at 0, never decreases and ends at the number of
/// stored values; indices and values have one entry each per stored value; every column is below
/// x.cols, and with `sorted` strictly increasing within a row. `what` names the matrix in the
/// message (e.g. "margins_batch rows"). @throws dimension_mismatch under `where`.
void check_csr(const csr_matrix& x, std::string_view where, std::string_view what,
               bool sorted = false);

}  // namespace funnel::detail
