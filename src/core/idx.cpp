#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/gzip.hpp>
#include <funnel/core/idx.hpp>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace funnel {
namespace {

std::uint32_t big_endian_u32(std::string_view b, std::size_t at) noexcept {
  const auto u = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + k]));
  };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}

const char* type_name(unsigned code) noexcept {
  switch (code) {
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return nullptr;
  }
}

struct idx_header {
  std::size_t size = 0;   // bytes of header
  std::size_t count = 1;  // elements (bytes) of payload it announces
  std::vector<std::uint32_t> dims;
};

// Checks the magic number, the element type and the dimensions; needs only the header's bytes.
idx_header parse_header(std::string_view b, std::string_view source, const char* what) {
  if (b.size() < 4) {
    raise<parse_error>("core.idx", "{}: {} bytes{} is shorter than the 4-byte IDX magic number",
                       source, b.size(), what);
  }
  const auto m0 = static_cast<unsigned char>(b[0]);
  const auto m1 = static_cast<unsigned char>(b[1]);
  const auto code = static_cast<unsigned char>(b[2]);
  const auto ndims = static_cast<unsigned char>(b[3]);
  if (m0 != 0 || m1 != 0) {
    raise<parse_error>("core.idx",
                       "{}: bad magic number {:02x} {:02x} {:02x} {:02x} at byte 0{} (an IDX "
                       "file starts with two zero bytes)",
                       source, m0, m1, code, ndims, what);
  }
  if (code != 0x08) {
    if (const char* name = type_name(code)) {
      raise<unsupported>("core.idx",
                         "{}: element type {} (0x{:02x}) is not supported; funnel reads "
                         "unsigned-byte IDX files (0x08)",
                         source, name, code);
    }
    raise<parse_error>("core.idx", "{}: unknown IDX element type code 0x{:02x} at byte 2", source,
                       code);
  }
  if (ndims == 0) raise<parse_error>("core.idx", "{}: zero dimensions at byte 3", source);
  idx_header h;
  h.size = 4 + 4 * std::size_t{ndims};
  if (b.size() < h.size) {
    raise<parse_error>("core.idx",
                       "{}: header announces {} dimensions ({} bytes) but the data{} has "
                       "only {} bytes",
                       source, ndims, h.size, what, b.size());
  }
  for (std::size_t d = 0; d < ndims; ++d) {
    const auto n = big_endian_u32(b, 4 + 4 * d);
    if (n != 0 && h.count > (std::numeric_limits<std::size_t>::max() - h.size) / n) {
      raise<parse_error>("core.idx",
                         "{}: the product of the dimensions overflows (dimension {} = {} at "
                         "byte {})",
                         source, d, n, 4 + 4 * d);
    }
    h.count *= n;
    h.dims.push_back(n);
  }
  return h;
}

idx_array parse_plain(std::string_view b, std::string_view source, bool was_gzipped) {
  const char* what = was_gzipped ? " (after gunzip)" : "";
  auto h = parse_header(b, source, what);
  const std::size_t payload = b.size() - h.size;
  if (payload != h.count) {
    std::string dims;
    for (const auto n : h.dims) dims += (dims.empty() ? "" : " x ") + std::to_string(n);
    raise<parse_error>("core.idx",
                       "{}: dimensions {} need {} bytes of data after the {}-byte header, "
                       "found {}{} ({})",
                       source, dims, h.count, h.size, payload, what,
                       payload < h.count ? "truncated" : "trailing bytes");
  }
  idx_array a;
  a.dims = std::move(h.dims);
  a.data.resize(h.count);
  if (h.count != 0) std::memcpy(a.data.data(), b.data() + h.size, h.count);
  return a;
}

// Inflates no more than the header announces: the header is read from a prefix of the stream
// first, so a small gzip that expands without end stops at header + payload bytes.
idx_array parse_gzipped(std::string_view bytes, std::string_view source) {
  const auto magic = gunzip_prefix(bytes, source, 4);
  const std::size_t header_size =
      magic.size() < 4 ? 4 : 4 + 4 * std::size_t{static_cast<unsigned char>(magic[3])};
  const auto h = parse_header(gunzip_prefix(bytes, source, header_size), source, " (after gunzip)");
  const std::size_t expected = h.size + h.count;
  std::string plain;
  try {
    plain = gunzip(bytes, source, expected);
  } catch (const invalid_argument&) {
    raise<parse_error>("core.idx",
                       "{}: the decompressed data is longer than the {} bytes its header "
                       "announces (trailing bytes)",
                       source, expected);
  }
  return parse_plain(plain, source, true);
}

}  // namespace

idx_array parse_idx(std::string_view bytes, std::string_view source) {
  if (is_gzip(bytes)) return parse_gzipped(bytes, source);
  return parse_plain(bytes, source, false);
}

idx_array read_idx(const std::filesystem::path& path) {
  return parse_idx(read_file(path), path.string());
}

matrix read_idx_images(const std::filesystem::path& path, float scale) {
  auto a = read_idx(path);
  if (a.dims.size() < 2) {
    raise<dimension_mismatch>("core.idx", "{}: an image file needs at least 2 dimensions, found {}",
                              path.string(), a.dims.size());
  }
  const std::size_t rows = a.dims[0];
  std::size_t cols = 1;
  for (std::size_t d = 1; d < a.dims.size(); ++d) {
    if (a.dims[d] != 0 && cols > std::numeric_limits<std::size_t>::max() / a.dims[d]) {
      raise<parse_error>("core.idx", "{}: the pixel count per image overflows", path.string());
    }
    cols *= a.dims[d];
  }
  std::vector<float> values(a.data.size());
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(a.data[i]) * scale;
  return {std::move(values), rows, cols};
}

std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path) {
  auto a = read_idx(path);
  if (a.dims.size() != 1) {
    raise<dimension_mismatch>("core.idx", "{}: a label file has 1 dimension, found {}",
                              path.string(), a.dims.size());
  }
  return std::move(a.data);
}

idx_dataset read_idx_dataset(const std::filesystem::path& images,
                             const std::filesystem::path& labels, float scale) {
  idx_dataset d{read_idx_images(images, scale), read_idx_labels(labels)};
  if (d.images.rows() != d.labels.size()) {
    raise<dimension_mismatch>("core.idx", "{} has {} images but {} has {} labels", images.string(),
                              d.images.rows(), labels.string(), d.labels.size());
  }
  return d;
}

}  // namespace funnel
