// The reader of funnel's HNSW file (hnsw_file.hpp): bounds-checked parsing and the structural
// checks that keep a damaged or hostile file from making a search read out of bounds.
#include "retrieval/hnsw_file.hpp"

#include <funnel/core/error.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <zlib.h>

#include "retrieval/hnsw_format.hpp"

namespace funnel::retrieval::detail {

namespace {

namespace fmt_ = hnsw_format;

constexpr std::string_view where = "retrieval.hnsw_index";
// hnswlib's node index type (tableint): its largest value marks "no entry point".
constexpr std::uint64_t no_node = std::numeric_limits<std::uint32_t>::max();

// Bounds-checked little reader over the file bytes.
struct reader {
  std::string_view bytes;
  std::string_view source;
  std::size_t pos = 0;

  template <class T>
  T get(std::string_view field) {
    if (bytes.size() - pos < sizeof(T)) {
      raise<parse_error>(where, "{}: truncated: {} needs {} bytes at offset {}, file has {}",
                         source, field, sizeof(T), pos, bytes.size());
    }
    T v;
    std::memcpy(&v, bytes.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
};

// Magic, version, endianness, metric and flags; returns the flags.
std::uint32_t read_preamble(reader& in, hnsw_options& p) {
  const auto bytes = in.bytes;
  const auto source = in.source;
  if (bytes.size() < sizeof(fmt_::magic) ||
      std::memcmp(bytes.data(), fmt_::magic, sizeof(fmt_::magic)) != 0) {
    raise<parse_error>(where, "{}: not a funnel HNSW file (bad magic)", source);
  }
  in.pos = sizeof(fmt_::magic);
  const auto version = in.get<std::uint32_t>("format version");
  if (version == 0) raise<parse_error>(where, "{}: format version 0 is invalid", source);
  if (version > fmt_::version) {
    raise<unsupported>(where, "{}: format version {} is newer than this funnel reads ({})", source,
                       version, fmt_::version);
  }
  if (in.get<std::uint32_t>("endianness marker") != fmt_::endian_marker) {
    raise<parse_error>(where, "{}: endianness marker mismatch (file from another byte order?)",
                       source);
  }
  const auto metric_code = in.get<std::uint32_t>("metric");
  if (metric_code > 2) raise<parse_error>(where, "{}: unknown metric code {}", source, metric_code);
  const auto flags = in.get<std::uint32_t>("flags");
  const std::uint32_t known = version == 1   ? 0
                              : version == 2 ? fmt_::flag_codes
                                             : fmt_::flag_codes | fmt_::flag_projection;
  if ((flags & ~known) != 0) {
    raise<parse_error>(where, "{}: unknown header flags {:#x} for format version {}", source, flags,
                       version);
  }
  p.metric = static_cast<retrieval::metric>(metric_code);
  return flags;
}

// Bytes of the sections after the upper levels.
struct tail_sizes {
  std::size_t codebook = 0;
  std::size_t projection = 0;
};

// The header up to the upper-level byte count, and the file size and checksum it implies;
// returns the sizes of the code book and the projection.
tail_sizes read_header(reader& in, hnsw_file& f, bool verify_values) {
  const auto bytes = in.bytes;
  const auto source = in.source;
  const auto flags = read_preamble(in, f.params);
  auto& p = f.params;
  p.dim = in.get<std::uint64_t>("dim");
  p.M = in.get<std::uint64_t>("M");
  p.ef_construction = in.get<std::uint64_t>("ef_construction");
  p.seed = in.get<std::uint64_t>("seed");
  try {
    check_hnsw_params(p);
  } catch (const error& e) {
    raise<parse_error>(where, "{}: bad header: {}", source, e.what());
  }
  const auto count = in.get<std::uint64_t>("node count");
  const auto deleted = in.get<std::uint64_t>("deleted count");
  f.max_level = in.get<std::int64_t>("max level");
  f.entry = in.get<std::uint64_t>("entry point");
  const auto node_bytes = in.get<std::uint64_t>("bytes per node");
  const auto upper_bytes = in.get<std::uint64_t>("upper-level bytes");

  const std::size_t expected_node_bytes = 4 + 4 * (2 * p.M) + 4 * p.dim + 8;
  if (node_bytes != expected_node_bytes) {
    raise<parse_error>(where, "{}: bytes per node {} != {} implied by dim {} and M {}", source,
                       node_bytes, expected_node_bytes, p.dim, p.M);
  }
  const std::size_t remaining = bytes.size() - in.pos;
  const std::size_t codebook_bytes = (flags & fmt_::flag_codes) != 0 ? 4 + 4 * p.dim : 0;
  std::size_t projection_bytes = 0;
  auto size_mismatch = [&] {
    raise<parse_error>(where,
                       "{}: file size {} does not match the header (count {}, {} bytes per node, "
                       "{} upper-level bytes, {} code book bytes, {} projection bytes): truncated "
                       "or trailing data",
                       source, bytes.size(), count, node_bytes, upper_bytes, codebook_bytes,
                       projection_bytes);
  };
  if (count >= no_node || count > remaining / node_bytes ||
      upper_bytes > remaining - count * node_bytes) {
    size_mismatch();
  }
  // Code book, projection and CRC-32.
  const std::size_t tail = remaining - count * node_bytes - upper_bytes;
  if ((flags & fmt_::flag_projection) != 0) {
    if (tail < codebook_bytes + 8 + 4) size_mismatch();
    std::uint64_t m = 0;
    std::memcpy(&m, bytes.data() + in.pos + count * node_bytes + upper_bytes + codebook_bytes, 8);
    if (m == 0 || m > p.dim) {
      raise<parse_error>(where, "{}: projection dimension {} out of range [1, {}]", source, m,
                         p.dim);
    }
    // dim <= 2^24, m <= dim and count < 2^32: no overflow.
    projection_bytes = 8 + 4 * (p.dim + m * p.dim + count * (m + 2));
  }
  if (tail != codebook_bytes + projection_bytes + 4) size_mismatch();
  std::uint32_t stored_crc = 0;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
  const auto crc = verify_values
                       ? static_cast<std::uint32_t>(crc32_z(
                             0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size() - 4))
                       : stored_crc;
  if (crc != stored_crc) {
    raise<parse_error>(where, "{}: checksum mismatch (stored {:08x}, computed {:08x}): corrupted",
                       source, stored_crc, crc);
  }
  if (deleted > count)
    raise<parse_error>(where, "{}: deleted count {} > node count {}", source, deleted, count);
  f.count = static_cast<std::size_t>(count);
  f.deleted = static_cast<std::size_t>(deleted);
  f.node_bytes = static_cast<std::size_t>(node_bytes);
  f.level_bytes = 4 + 4 * p.M;
  return {codebook_bytes, projection_bytes};
}

// Structural validation: a file with a recomputed checksum still cannot make search read out of
// bounds. Max level and entry point against the node count.
void check_entry(const hnsw_file& f, std::string_view source) {
  if (f.count == 0) {
    if (f.max_level != -1 || f.entry != no_node) {
      raise<parse_error>(where, "{}: empty index with max level {} and entry point {}", source,
                         f.max_level, f.entry);
    }
    return;
  }
  if (f.max_level < 0 || f.max_level >= static_cast<std::int64_t>(fmt_::max_level_limit)) {
    raise<parse_error>(where, "{}: max level {} out of range [0, {})", source, f.max_level,
                       fmt_::max_level_limit);
  }
  if (f.entry >= f.count) {
    raise<parse_error>(where, "{}: entry point {} out of range (node count {})", source, f.entry,
                       f.count);
  }
}

// Level 0, the upper-level lists (their sizes give each node's level), the code book and the
// projection (its basis checked orthonormal when verifying values).
void read_sections(reader& in, hnsw_file& f, tail_sizes tail, bool verify_values) {
  const std::size_t tail_bytes = tail.codebook + tail.projection;
  const auto bytes = in.bytes;
  const auto source = in.source;
  const std::size_t n = f.count;
  f.level0 = bytes.data() + in.pos;
  in.pos += n * f.node_bytes;
  f.levels.resize(n);
  f.upper_offset.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto size = in.get<std::uint32_t>("upper-level list size");
    if (size % f.level_bytes != 0 || size / f.level_bytes > static_cast<std::size_t>(f.max_level)) {
      raise<parse_error>(where,
                         "{}: node {}: upper-level size {} is not a level count <= max "
                         "level {} times {} bytes",
                         source, i, size, f.max_level, f.level_bytes);
    }
    if (bytes.size() - 4 - tail_bytes - in.pos < size) {
      raise<parse_error>(where, "{}: node {}: upper-level lists run past the end", source, i);
    }
    f.levels[i] = static_cast<int>(size / f.level_bytes);
    f.upper_offset[i] = in.pos;
    in.pos += size;
  }
  if (in.pos != bytes.size() - 4 - tail_bytes) {
    raise<parse_error>(where, "{}: upper-level section size disagrees with its lists", source);
  }
  if (tail.codebook != 0) {
    const auto scale = in.get<float>("code book scale");
    std::vector<float> offset(f.params.dim);
    for (auto& o : offset) o = in.get<float>("code book offset");
    try {
      f.codec.emplace(std::move(offset), scale);
    } catch (const error& e) {
      raise<parse_error>(where, "{}: bad code book: {}", source, e.what());
    }
  }
  if (tail.projection != 0) {
    const auto m = static_cast<std::size_t>(in.get<std::uint64_t>("projection dimension"));
    const std::size_t dim = f.params.dim;
    std::vector<float> centre(dim);
    std::vector<float> basis(m * dim);
    std::memcpy(centre.data(), bytes.data() + in.pos, 4 * dim);
    in.pos += 4 * dim;
    std::memcpy(basis.data(), bytes.data() + in.pos, 4 * m * dim);
    in.pos += 4 * m * dim;
    try {
      f.proj.emplace(std::move(centre), std::move(basis), verify_values);
    } catch (const error& e) {
      raise<parse_error>(where, "{}: bad projection: {}", source, e.what());
    }
    f.proj_records = bytes.data() + in.pos;
    in.pos += 4 * n * (m + 2);
  }
  if (n != 0 && f.levels[f.entry] != f.max_level) {
    raise<parse_error>(where, "{}: entry point {} has level {}, max level is {}", source, f.entry,
                       f.levels[f.entry], f.max_level);
  }
}

// One link list of `node` at `level`: a count <= max_links, neighbours in range, not the node
// itself, and present at that level.
void check_links(const hnsw_file& f, std::string_view source, std::size_t node, int level,
                 const char* list, std::size_t max_links) {
  std::uint16_t links = 0;
  std::memcpy(&links, list, 2);
  if (links > max_links) {
    raise<parse_error>(where, "{}: node {} level {}: {} links exceed the maximum {}", source, node,
                       level, links, max_links);
  }
  for (std::size_t j = 0; j < links; ++j) {
    std::uint32_t nb = 0;
    std::memcpy(&nb, list + 4 + 4 * j, 4);
    if (nb >= f.count || nb == node) {
      raise<parse_error>(where, "{}: node {} level {}: neighbour {} out of range (node count {})",
                         source, node, level, nb, f.count);
    }
    if (f.levels[nb] < level) {
      raise<parse_error>(where, "{}: node {} level {}: neighbour {} has only level {}", source,
                         node, level, nb, f.levels[nb]);
    }
  }
}

// The first of the `n` floats at `p` that is not finite, or n. The scan is branch-free (an OR of
// exponent tests) so it vectorizes: it reads every vector of the file.
std::size_t first_non_finite(const char* p, std::size_t n) {
  std::uint32_t bad = 0;
  for (std::size_t j = 0; j < n; ++j) {
    std::uint32_t w = 0;
    std::memcpy(&w, p + 4 * j, 4);
    bad |= static_cast<std::uint32_t>((w & 0x7f800000U) == 0x7f800000U);
  }
  if (bad == 0) return n;
  for (std::size_t j = 0; j < n; ++j) {
    float v = 0.0F;
    std::memcpy(&v, p + 4 * j, 4);
    if (!std::isfinite(v)) return j;
  }
  return n;
}

// Every node: flag bytes, links at every level, finite values (when verifying values), and the
// deleted count the header gave. (Unique ids are checked where the id lookup is built.)
void check_nodes(const hnsw_file& f, std::string_view bytes, std::string_view source,
                 bool verify_values) {
  const std::size_t links0 = 2 * f.params.M;
  const std::size_t dim = f.params.dim;
  std::size_t deleted_seen = 0;
  for (std::size_t i = 0; i < f.count; ++i) {
    const char* node = f.level0 + i * f.node_bytes;
    const auto flag = static_cast<unsigned char>(node[2]);
    if (flag > 1 || node[3] != 0) {
      raise<parse_error>(where, "{}: node {}: bad flag bytes {} {}", source, i, flag,
                         static_cast<int>(node[3]));
    }
    check_links(f, source, i, 0, node, links0);
    for (int l = 1; l <= f.levels[i]; ++l) {
      check_links(
          f, source, i, l,
          bytes.data() + f.upper_offset[i] + static_cast<std::size_t>(l - 1) * f.level_bytes,
          f.params.M);
    }
    const char* vec = node + 4 + 4 * links0;
    if (const std::size_t j = verify_values ? first_non_finite(vec, dim) : dim; j != dim) {
      raise<parse_error>(where, "{}: node {}: value {} not finite", source, i, j);
    }
    deleted_seen += flag;
  }
  if (deleted_seen != f.deleted) {
    raise<parse_error>(where, "{}: header says {} deleted nodes, flags say {}", source, f.deleted,
                       deleted_seen);
  }
}

}  // namespace

void check_hnsw_params(const hnsw_options& p) {
  if (p.dim == 0) raise<invalid_argument>(where, "dim must be > 0");
  if (p.dim > (std::size_t{1} << 24)) raise<invalid_argument>(where, "dim {} too large", p.dim);
  if (p.M < 2 || p.M > 10000) raise<invalid_argument>(where, "M = {} out of range [2, 10000]", p.M);
  if (p.ef_construction == 0) raise<invalid_argument>(where, "ef_construction must be > 0");
  if (p.metric != metric::l2 && p.metric != metric::inner_product && p.metric != metric::cosine) {
    raise<invalid_argument>(where, "unknown metric {}", static_cast<std::uint32_t>(p.metric));
  }
}

hnsw_file parse_hnsw_file(std::string_view bytes, std::string_view source, bool verify_values) {
  reader in{bytes, source};
  hnsw_file f;
  const tail_sizes tail = read_header(in, f, verify_values);
  check_entry(f, source);
  read_sections(in, f, tail, verify_values);
  check_nodes(f, bytes, source, verify_values);
  if (f.proj && verify_values) {
    const std::size_t values = f.count * f.proj->stride();
    if (const std::size_t j = first_non_finite(f.proj_records, values); j != values) {
      raise<parse_error>(where, "{}: node {}: projection value {} not finite", source,
                         j / f.proj->stride(), j % f.proj->stride());
    }
  }
  return f;
}

}  // namespace funnel::retrieval::detail
