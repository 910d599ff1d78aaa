#pragma once
/// @file murmur.hpp
/// @brief MurmurHash3 x86_32 (Austin Appleby, public domain), the hash scikit-learn's
/// FeatureHasher and Vowpal Wabbit use. Written on bytes with explicit little-endian block reads,
/// so the value is the same on every platform. Streaming, so "column=value" is hashed without
/// building the string.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace funnel::features {

/// @brief Incremental MurmurHash3 x86_32: feed pieces, then `finish()`; equals the one-shot
/// hash of the concatenation. No allocation.
class murmur3_32 {
 public:
  explicit constexpr murmur3_32(std::uint32_t seed = 0) noexcept : h_(seed) {}

  /// @brief Appends bytes.
  constexpr void update(std::string_view bytes) noexcept {
    for (const char ch : bytes) {
      tail_ |= static_cast<std::uint32_t>(static_cast<unsigned char>(ch)) << (8U * tail_len_);
      ++len_;
      if (++tail_len_ == 4) {
        h_ ^= mix_k(tail_);
        h_ = rotl(h_, 13);
        h_ = h_ * 5U + 0xe6546b64U;
        tail_ = 0;
        tail_len_ = 0;
      }
    }
  }

  /// @brief The hash of everything appended (the object may not be updated afterwards).
  [[nodiscard]] constexpr std::uint32_t finish() const noexcept {
    std::uint32_t h = h_;
    if (tail_len_ != 0) h ^= mix_k(tail_);
    h ^= static_cast<std::uint32_t>(len_);
    h ^= h >> 16;
    h *= 0x85ebca6bU;
    h ^= h >> 13;
    h *= 0xc2b2ae35U;
    h ^= h >> 16;
    return h;
  }

 private:
  static constexpr std::uint32_t rotl(std::uint32_t x, int r) noexcept {
    return (x << r) | (x >> (32 - r));
  }
  static constexpr std::uint32_t mix_k(std::uint32_t k) noexcept {
    k *= 0xcc9e2d51U;
    k = rotl(k, 15);
    k *= 0x1b873593U;
    return k;
  }
  std::uint32_t h_;
  std::uint32_t tail_ = 0;
  std::uint32_t tail_len_ = 0;
  std::size_t len_ = 0;
};

/// @brief One-shot MurmurHash3 x86_32 of `bytes` (sklearn.utils.murmurhash3_32(positive=True)).
[[nodiscard]] constexpr std::uint32_t murmurhash3_32(std::string_view bytes,
                                                     std::uint32_t seed = 0) noexcept {
  murmur3_32 m(seed);
  m.update(bytes);
  return m.finish();
}

}  // namespace funnel::features
