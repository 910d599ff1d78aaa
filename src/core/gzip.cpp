#include <funnel/core/error.hpp>
#include <funnel/core/gzip.hpp>

#include <algorithm>
#include <climits>
#include <limits>
#include <zlib.h>

namespace funnel {
namespace {

/// zlib counts in uInt; feed it at most this much per call so 64-bit sizes never truncate.
constexpr std::size_t max_chunk = std::size_t{1} << 30;

uInt chunk(std::size_t n) noexcept {
  return static_cast<uInt>(std::min(n, max_chunk));
}

}  // namespace

bool is_gzip(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

namespace {

/// A zlib stream set up to inflate one gzip member of `bytes` (magic checked), ended on scope
/// exit: the set-up gunzip and gunzip_prefix share.
struct inflater {
  z_stream zs{};
  inflater(std::string_view bytes, std::string_view source) {
    if (!is_gzip(bytes)) {
      raise<parse_error>("core.gzip", "{}: not a gzip stream (no 1f 8b magic at byte 0)", source);
    }
    // 15 + 16: a gzip wrapper only (zlib checks the header, the CRC-32 and the length trailer).
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
      raise<io_error>("core.gzip", "{}: zlib could not initialise ({})", source,
                      zs.msg != nullptr ? zs.msg : "out of memory");
    }
  }
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;
  ~inflater() { inflateEnd(&zs); }
};

/// One zlib call (`step`: inflate or deflate) on what is left of `in` (from in_pos) and of `out`
/// (from out_pos): points the stream there, runs it and advances both positions by what it
/// consumed and produced. Returns zlib's code.
template <class Step>
int zlib_step(z_stream& zs, std::string_view in, std::size_t& in_pos, std::string& out,
              std::size_t& out_pos, Step step) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): zlib's API is not const-correct.
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
  zs.avail_in = chunk(in.size() - in_pos);
  zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
  zs.avail_out = chunk(out.size() - out_pos);
  const uInt avail_in = zs.avail_in;
  const uInt avail_out = zs.avail_out;
  const int rc = step(zs);
  in_pos += avail_in - zs.avail_in;
  out_pos += avail_out - zs.avail_out;
  return rc;
}

int inflate_some(z_stream& zs) {
  return inflate(&zs, Z_NO_FLUSH);
}

/// Throws what an inflate code other than Z_OK, Z_BUF_ERROR and Z_STREAM_END means.
[[noreturn]] void raise_inflate_error(const z_stream& zs, int rc, std::string_view source,
                                      std::size_t in_pos) {
  if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
    raise<parse_error>("core.gzip", "{}: corrupt gzip data near compressed byte {}: {}", source,
                       in_pos, zs.msg != nullptr ? zs.msg : "invalid stream");
  }
  if (rc == Z_MEM_ERROR) raise<io_error>("core.gzip", "{}: zlib ran out of memory", source);
  raise<parse_error>("core.gzip", "{}: zlib error {} at compressed byte {}", source, rc, in_pos);
}

}  // namespace

std::string gunzip(std::string_view bytes, std::string_view source, std::size_t max_output) {
  inflater inf(bytes, source);
  z_stream& zs = inf.zs;

  // One byte of room past the limit tells "exactly max_output" from "more than max_output".
  const std::size_t room =
      max_output == std::numeric_limits<std::size_t>::max() ? max_output : max_output + 1;
  std::string out;
  // Compressed images are typically 3-5x smaller; grow from there, never past the room.
  out.resize(std::min(room, std::max<std::size_t>(bytes.size() * 4, 1024)));
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  for (;;) {
    if (out_pos > max_output) {
      raise<invalid_argument>("core.gzip", "{}: decompressed size exceeds the limit of {} bytes",
                              source, max_output);
    }
    if (out_pos == out.size()) out.resize(out.size() > room / 2 ? room : out.size() * 2);
    const int rc = zlib_step(zs, bytes, in_pos, out, out_pos, inflate_some);
    if (rc == Z_STREAM_END) {
      if (out_pos > max_output) continue;  // reported at the top of the loop
      if (in_pos == bytes.size()) break;
      // Another member follows (as `cat a.gz b.gz` makes); anything else is trailing garbage.
      if (!is_gzip(bytes.substr(in_pos))) {
        raise<parse_error>("core.gzip",
                           "{}: {} bytes of trailing garbage after the gzip stream at byte {}",
                           source, bytes.size() - in_pos, in_pos);
      }
      inflateReset(&zs);
      continue;
    }
    if (rc == Z_BUF_ERROR || rc == Z_OK) {
      if (in_pos == bytes.size() && zs.avail_out != 0) {
        raise<parse_error>("core.gzip",
                           "{}: truncated gzip stream: input ends at byte {} before the end of the "
                           "compressed data ({} bytes decompressed so far)",
                           source, in_pos, out_pos);
      }
      continue;  // more output space or more input needed
    }
    raise_inflate_error(zs, rc, source, in_pos);
  }
  out.resize(out_pos);
  return out;
}

std::string gunzip_prefix(std::string_view bytes, std::string_view source, std::size_t n) {
  inflater inf(bytes, source);
  z_stream& zs = inf.zs;
  std::string out(n, '\0');
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  while (out_pos < n) {
    const std::size_t in_before = in_pos;
    const std::size_t out_before = out_pos;
    const int rc = zlib_step(zs, bytes, in_pos, out, out_pos, inflate_some);
    if (rc == Z_STREAM_END) break;  // the first member is shorter than n: that is the prefix
    if (rc != Z_OK && rc != Z_BUF_ERROR) raise_inflate_error(zs, rc, source, in_pos);
    // Input exhausted: truncated, reported by gunzip.
    if (in_pos == in_before && out_pos == out_before) break;
  }
  out.resize(out_pos);
  return out;
}

std::string gzip(std::string_view bytes, int level) {
  if (level < 0 || level > 9)
    raise<invalid_argument>("core.gzip", "level {} is outside 0..9", level);
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    raise<io_error>("core.gzip", "zlib could not initialise the compressor");
  }
  struct guard {
    z_stream* z;
    ~guard() { deflateEnd(z); }
  } g{&zs};
  std::string out(deflateBound(&zs, static_cast<uLong>(bytes.size())), '\0');
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  for (;;) {
    if (out_pos == out.size()) out.resize(out.size() * 2);
    const int rc = zlib_step(zs, bytes, in_pos, out, out_pos, [&](z_stream& z) {
      const bool last = in_pos + z.avail_in == bytes.size();  // in_pos: before this call
      return deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
    });
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      raise<io_error>("core.gzip", "zlib compression failed ({})", rc);
  }
  out.resize(out_pos);
  return out;
}

}  // namespace funnel
