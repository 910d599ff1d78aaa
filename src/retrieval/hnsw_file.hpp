#pragma once
// The reader of funnel's HNSW file (layout in hnsw_format.hpp): every check a file must pass
// before hnsw_index.cpp copies it into an hnswlib graph. It does not include hnswlib.
#include <funnel/retrieval/hnsw_index.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "retrieval/projection.hpp"
#include "retrieval/sq8.hpp"

namespace funnel::retrieval::detail {

/// A file that passed every check: its header and where each node's data lies in the bytes it was
/// parsed from (`level0` and `upper_offset` point into them).
struct hnsw_file {
  hnsw_options params;
  std::size_t count = 0;                  ///< nodes, live and deleted
  std::size_t deleted = 0;                ///< deleted nodes
  std::int64_t max_level = -1;            ///< -1 when empty
  std::uint64_t entry = 0;                ///< entry point node
  std::size_t node_bytes = 0;             ///< bytes per node at level 0
  std::size_t level_bytes = 0;            ///< bytes of one upper-level list
  const char* level0 = nullptr;           ///< count * node_bytes bytes
  std::vector<int> levels;                ///< per node: its top level
  std::vector<std::size_t> upper_offset;  ///< per node: offset of its upper-level lists
  std::optional<sq8_codec> codec;         ///< the code book, when the file has one
  std::optional<projection> proj;         ///< the projection, when the file has one
  const char* proj_records = nullptr;     ///< count * proj->stride() floats (unaligned)
};

/// Parses and checks `bytes` (named `source` in messages): header, sizes, and a structure no search
/// can read out of bounds of (links in range, levels consistent); with `verify_values` also the
/// CRC-32 of the whole file and finite vector values. Ids are not checked for uniqueness here: the
/// caller does it while building its id lookup.
/// @throws parse_error, unsupported (a newer format version).
[[nodiscard]] hnsw_file parse_hnsw_file(std::string_view bytes, std::string_view source,
                                        bool verify_values);

/// The parameter checks of the hnsw_index constructor. @throws invalid_argument.
void check_hnsw_params(const hnsw_options& p);

}  // namespace funnel::retrieval::detail
