#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/vecs.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

namespace funnel {
namespace {

/// Reads a little-endian 4-byte value at `p` whatever the host's byte order.
template <class T>
T load_le(const char* p) noexcept {
  static_assert(sizeof(T) == 4);
  std::uint32_t u = 0;
  std::memcpy(&u, p, 4);
  if constexpr (std::endian::native == std::endian::big) {
    u = (u >> 24) | ((u >> 8) & 0xff00U) | ((u << 8) & 0xff0000U) | (u << 24);
  }
  return std::bit_cast<T>(u);
}

template <class T>
void store_le(std::string& out, T value) {
  static_assert(sizeof(T) == 4);
  auto u = std::bit_cast<std::uint32_t>(value);
  if constexpr (std::endian::native == std::endian::big) {
    u = (u >> 24) | ((u >> 8) & 0xff00U) | ((u << 8) & 0xff0000U) | (u << 24);
  }
  char b[4];
  std::memcpy(b, &u, 4);
  out.append(b, 4);
}

/// Walks the records of a vecs buffer with component size `width`, validating every header, and
/// hands each record's payload to `emit(dim, payload)`; returns (rows, dim).
template <class Emit>
std::pair<std::size_t, std::size_t> walk(std::string_view b, std::string_view source,
                                         std::string_view kind, std::size_t width,
                                         const vecs_options& options, Emit&& emit) {
  std::size_t rows = 0;
  std::size_t dim = 0;
  std::size_t pos = 0;
  while (pos < b.size() && rows < options.max_rows) {
    if (b.size() - pos < 4) {
      raise<parse_error>(kind,
                         "{}: record {} at byte {} is truncated: {} bytes left, a dimension "
                         "needs 4",
                         source, rows, pos, b.size() - pos);
    }
    const auto d = load_le<std::int32_t>(b.data() + pos);
    if (d <= 0 || static_cast<std::size_t>(d) > options.max_dim) {
      raise<parse_error>(kind,
                         "{}: record {} at byte {}: dimension {} is {} (corrupt file or "
                         "wrong format?)",
                         source, rows, pos, d,
                         d <= 0 ? std::string("not positive")
                                : fmt::format("above the limit {}", options.max_dim));
    }
    const auto ud = static_cast<std::size_t>(d);
    if (rows == 0) {
      dim = ud;
    } else if (ud != dim) {
      raise<parse_error>(kind,
                         "{}: record {} at byte {}: dimension {} differs from the first "
                         "record's {}",
                         source, rows, pos, ud, dim);
    }
    const std::size_t need = ud * width;
    if (b.size() - pos - 4 < need) {
      raise<parse_error>(kind,
                         "{}: record {} at byte {} is truncated: dimension {} needs {} bytes, "
                         "{} left",
                         source, rows, pos, ud, need, b.size() - pos - 4);
    }
    emit(ud, b.data() + pos + 4);
    pos += 4 + need;
    ++rows;
  }
  return {rows, dim};
}

/// Number of values if all records have the first record's dimension (a reservation hint only).
std::size_t expected_values(std::string_view b, std::size_t width, const vecs_options& o) {
  if (b.size() < 4) return 0;
  const auto d = load_le<std::int32_t>(b.data());
  if (d <= 0 || static_cast<std::size_t>(d) > o.max_dim) return 0;
  const auto ud = static_cast<std::size_t>(d);
  return std::min(o.max_rows, b.size() / (4 + ud * width)) * ud;
}

void check_writable(std::string_view kind, const std::filesystem::path& path, std::size_t rows,
                    std::size_t cols) {
  if (rows > 0 &&
      (cols == 0 || cols > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))) {
    raise<invalid_argument>(kind,
                            "{}: cannot write {} columns (a record's dimension must be in "
                            "1..2^31-1)",
                            path.string(), cols);
  }
}

}  // namespace

matrix parse_fvecs(std::string_view bytes, std::string_view source, const vecs_options& options) {
  std::vector<float> values;
  values.reserve(expected_values(bytes, 4, options));
  const auto [rows, dim] =
      walk(bytes, source, "core.fvecs", 4, options, [&](std::size_t d, const char* p) {
        for (std::size_t j = 0; j < d; ++j) values.push_back(load_le<float>(p + 4 * j));
      });
  return {std::move(values), rows, dim};
}

matrix read_fvecs(const std::filesystem::path& path, const vecs_options& options) {
  return parse_fvecs(read_file(path), path.string(), options);
}

int_matrix parse_ivecs(std::string_view bytes, std::string_view source,
                       const vecs_options& options) {
  int_matrix m;
  m.values.reserve(expected_values(bytes, 4, options));
  const auto [rows, dim] =
      walk(bytes, source, "core.ivecs", 4, options, [&](std::size_t d, const char* p) {
        for (std::size_t j = 0; j < d; ++j) m.values.push_back(load_le<std::int32_t>(p + 4 * j));
      });
  m.rows = rows;
  m.cols = dim;
  return m;
}

int_matrix read_ivecs(const std::filesystem::path& path, const vecs_options& options) {
  return parse_ivecs(read_file(path), path.string(), options);
}

matrix parse_bvecs(std::string_view bytes, std::string_view source, const vecs_options& options) {
  std::vector<float> values;
  values.reserve(expected_values(bytes, 1, options));
  const auto [rows, dim] =
      walk(bytes, source, "core.bvecs", 1, options, [&](std::size_t d, const char* p) {
        for (std::size_t j = 0; j < d; ++j)
          values.push_back(static_cast<float>(static_cast<unsigned char>(p[j])));
      });
  return {std::move(values), rows, dim};
}

matrix read_bvecs(const std::filesystem::path& path, const vecs_options& options) {
  return parse_bvecs(read_file(path), path.string(), options);
}

void write_fvecs(const std::filesystem::path& path, const matrix_view& m) {
  check_writable("core.fvecs", path, m.rows(), m.cols());
  std::string out;
  out.reserve(m.rows() * (4 + 4 * m.cols()));
  for (std::size_t i = 0; i < m.rows(); ++i) {
    store_le(out, static_cast<std::int32_t>(m.cols()));
    for (const float v : m.row(i)) store_le(out, v);
  }
  write_file_atomic(path, std::string_view(out));
}

void write_ivecs(const std::filesystem::path& path, const int_matrix& m) {
  check_writable("core.ivecs", path, m.rows, m.cols);
  if (m.values.size() != m.rows * m.cols) {
    raise<dimension_mismatch>("core.ivecs", "{}: {} values cannot form {} x {}", path.string(),
                              m.values.size(), m.rows, m.cols);
  }
  std::string out;
  out.reserve(m.rows * (4 + 4 * m.cols));
  for (std::size_t i = 0; i < m.rows; ++i) {
    store_le(out, static_cast<std::int32_t>(m.cols));
    for (const auto v : m.row(i)) store_le(out, v);
  }
  write_file_atomic(path, std::string_view(out));
}

}  // namespace funnel
