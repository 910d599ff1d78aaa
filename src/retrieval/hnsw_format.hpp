#pragma once
// Byte layout of funnel's HNSW file (format version 3; versions 1 and 2 are read too; a file
// without a projection is written as version 2, so older readers still read it), shared by the
// loader and the tests that damage files on purpose. All integers little-endian (an endianness
// marker guards it).
//
//   offset  field
//   0       magic "FNLHNSW\0"
//   8       u32 format version (2)
//   12      u32 endianness marker 0x01020304
//   16      u32 metric (0 l2, 1 inner product, 2 cosine)
//   20      u32 flags: bit 0 = an 8-bit code book follows the upper levels (version 2 on;
//           version 1 files hold 0 here); bit 1 = a projection follows (version 3 only)
//   24      u64 dim
//   32      u64 M
//   40      u64 ef_construction
//   48      u64 seed
//   56      u64 node count (live + deleted)
//   64      u64 deleted count
//   72      i64 max level (-1 when empty)
//   80      u64 entry point node (0xFFFFFFFF when empty)
//   88      u64 bytes per node at level 0 = 4 + 8*M + 4*dim + 8
//   96      u64 bytes of the upper-level section
//   104     level 0: per node [u16 link count][u8 deleted flag][u8 0][2M x u32 links]
//                    [dim x f32 vector][u64 external id]
//           upper levels: per node [u32 byte size = level * (4 + 4*M)][lists of level 1..level,
//                    each [u32 link count][M x u32 links]]
//           code book (flag bit 0 only): [f32 scale][dim x f32 offset] (codes are recomputed
//                    from the vectors on load)
//           projection (flag bit 1 only): [u64 m, 1..dim][dim x f32 centre][m x dim f32 basis,
//                    orthonormal rows][per node (m + 2) x f32: projection, residual norm, norm]
//                    (retrieval/projection.hpp; stored, since projecting 60k x 784 vectors takes
//                    about a second, too long for opening by memory mapping)
//   end-4   u32 CRC-32 (zlib polynomial) of every preceding byte

#include <cstddef>
#include <cstdint>

namespace funnel::retrieval::detail::hnsw_format {
inline constexpr char magic[8] = {'F', 'N', 'L', 'H', 'N', 'S', 'W', '\0'};
inline constexpr std::uint32_t version = 3;
// The version written when no section of version 3 is present.
inline constexpr std::uint32_t version_without_projection = 2;
inline constexpr std::uint32_t endian_marker = 0x01020304U;
inline constexpr std::size_t off_version = 8;
inline constexpr std::size_t off_metric = 16;
inline constexpr std::size_t off_flags = 20;
inline constexpr std::uint32_t flag_codes = 1;
inline constexpr std::uint32_t flag_projection = 2;
inline constexpr std::size_t off_dim = 24;
inline constexpr std::size_t off_m = 32;
inline constexpr std::size_t off_count = 56;
inline constexpr std::size_t off_max_level = 72;
inline constexpr std::size_t off_entry = 80;
inline constexpr std::size_t header_size = 104;
inline constexpr std::size_t max_level_limit = 64;  // a level >= 64 has probability M^-64
}  // namespace funnel::retrieval::detail::hnsw_format
