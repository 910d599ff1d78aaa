#pragma once
// Seeded synthetic data shared by the retrieval tests: clustered Gaussian vectors, so that the
// nearest-neighbour structure is non-trivial (pure uniform noise makes every recall look alike).

#include <funnel/core/error.hpp>
#include <funnel/core/random.hpp>
#include <funnel/core/views.hpp>
#include <funnel/retrieval/hnsw_index.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace funnel::test {

/// CRC-32 (zlib polynomial), written out here so that the tests do not trust the loader's own.
inline std::uint32_t crc32_reference(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (const char ch : bytes) {
    crc ^= static_cast<unsigned char>(ch);
    for (int b = 0; b < 8; ++b) crc = (crc >> 1U) ^ (0xEDB88320U & (0U - (crc & 1U)));
  }
  return ~crc;
}

/// Rewrites an HNSW file's CRC-32 trailer, so only the structural checks can reject a damaged
/// file.
inline void reseal_hnsw(std::string& bytes) {
  const auto crc = crc32_reference(std::string_view(bytes).substr(0, bytes.size() - 4));
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
}

/// The message `hnsw_index::deserialize` rejects `bytes` with (a parse_error or an unsupported
/// version; any other exception escapes), or "loaded without error".
inline std::string hnsw_load_error(const std::string& bytes, std::string_view source) {
  try {
    (void)retrieval::hnsw_index::deserialize(bytes, source);
  } catch (const parse_error& e) {
    return e.what();
  } catch (const unsupported& e) {
    return e.what();
  }
  return "loaded without error";
}

struct vector_set {
  matrix vectors;
  std::vector<std::uint64_t> ids;
  std::vector<int> cluster;
};

inline vector_set clustered(std::size_t n, std::size_t dim, std::size_t clusters,
                            std::uint64_t seed, std::uint64_t id_base = 1000) {
  rng r(seed);
  matrix centres(clusters, dim);
  for (std::size_t c = 0; c < clusters; ++c) {
    for (std::size_t j = 0; j < dim; ++j) centres(c, j) = static_cast<float>(r.normal(0.0, 3.0));
  }
  vector_set s{matrix(n, dim), {}, {}};
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<std::size_t>(r() % clusters);
    for (std::size_t j = 0; j < dim; ++j) {
      s.vectors(i, j) = centres(c, j) + static_cast<float>(r.normal());
    }
    s.ids.push_back(id_base + 7 * i);  // external ids unlike internal positions
    s.cluster.push_back(static_cast<int>(c));
  }
  return s;
}

/// Every row of `queries` searched with the same options and filter.
inline std::vector<candidate_list> search_all(const retrieval::hnsw_index& index,
                                              const matrix& queries, std::size_t k,
                                              const retrieval::search_options& opt = {},
                                              const retrieval::filter& f = {}) {
  std::vector<candidate_list> out;
  for (std::size_t i = 0; i < queries.rows(); ++i)
    out.push_back(index.search(queries.row(i), k, opt, f));
  return out;
}

}  // namespace funnel::test
