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

/// Sparse training data may have up to max(2^20, 64 x (stored values + rows)) columns: a trainer
/// keeps state per column (weights, cuts), so the columns are bounded by what the data holds.
/// Hashed features keep their hash space (2^24 columns from 260,000 values); a libsvm file of a
/// few lines with one index of 4e9 does not make a trainer allocate for 4e9 columns.
/// @throws invalid_argument under `where`, naming the columns, values and rows.
void check_trainable_width(const csr_matrix& x, std::string_view where, std::string_view what);

}  // namespace funnel::detail
