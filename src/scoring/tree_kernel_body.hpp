#pragma once
// The perfect-tree batch kernel, written once for any vector width. Included by the
// instruction-set translation units (simd/isa.hpp), each compiled for its set, with `V` that set's
// vector operations:
//
//   trees_name, level           the kernel's name and compiled_forest::simd level
//   vf, vi                      float / 32-bit integer vectors of `width` lanes (16 / 8)
//   zero_i(), set1_i(k)         integer constants
//   add_i(a, b), and_i(a, b)    lane-wise integer arithmetic
//   lane_offsets(stride)        lane * stride per lane (offsets of `width` rows in a block)
//   pick_ps(v, n, j)            v[j] per lane from n consecutive floats (n a power of two)
//   pick_u32(v, n, j)           the same for 32-bit words
//   gather_ps(base, idx)        base[idx] per lane
//   descend(j, x, t, f)         2j + 1 where the row goes right, 2j where it goes left: left when
//                               x < t, or x is NaN and f has kernel_default_left (the scalar rule)
//   load_ps, store_ps, add_ps   unaligned float vectors
//   store_i(p, v)               aligned store of an integer vector
//
// Every lane holds one row's level-index j; a level of n nodes is a permute when it fits one or
// two registers and a gather (from L1-resident level arrays) beyond. The sums are the scalar
// path's: per row, in tree order, in the model's accumulation type: results are bit-identical.
// Only templates over `V` live here: each instruction set's instantiations are its own symbols.
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "scoring/tree_kernels.hpp"

namespace funnel::scoring::detail {

template <class V, int D>
inline typename V::vi perfect_walk(const float* thr, const std::uint32_t* feat,
                                   typename V::vi rowoff, const float* rows) noexcept {
  auto j = V::zero_i();
  const auto fmask = V::set1_i(static_cast<int>(kernel_feature_mask));
  for (int l = 0; l < D; ++l) {
    const std::size_t n = std::size_t{1} << l;
    const auto t = V::pick_ps(thr + (n - 1), n, j);
    const auto f = V::pick_u32(feat + (n - 1), n, j);
    const auto x = V::gather_ps(rows, V::add_i(rowoff, V::and_i(f, fmask)));
    j = V::descend(j, x, t, f);
  }
  return j;
}

// The walk unrolled for `depth` (0..8; deeper trees never get a perfect copy): one compare per
// depth, each arm the inlined walk of that depth.
template <class V, std::size_t... D>
inline typename V::vi perfect_walk_depth(std::index_sequence<D...> /*depths*/, std::uint32_t depth,
                                         const float* thr, const std::uint32_t* feat,
                                         typename V::vi rowoff, const float* rows) noexcept {
  auto j = V::zero_i();
  (void)((depth == D ? (j = perfect_walk<V, static_cast<int>(D)>(thr, feat, rowoff, rows), true)
                     : false) ||
         ...);
  return j;
}

template <class V>
inline typename V::vi perfect_walk_any(std::uint32_t depth, const float* thr,
                                       const std::uint32_t* feat, typename V::vi rowoff,
                                       const float* rows) noexcept {
  return perfect_walk_depth<V>(std::make_index_sequence<9>{}, depth, thr, feat, rowoff, rows);
}

// perfect_block_fn: 16 rows as 16 / width vectors.
template <class V, class Acc>
void perfect_block16(const perfect_forest& f, std::size_t t0, std::size_t t1, const float* rows,
                     std::size_t stride, Acc* out, std::size_t groups) noexcept {
  constexpr std::size_t W = V::width;
  constexpr std::size_t parts = 16 / W;
  static_assert(parts * W == 16);
  const auto rowoff = V::lane_offsets(stride);
  const float* part[parts];
  for (std::size_t p = 0; p < parts; ++p) part[p] = rows + p * W * stride;
  if constexpr (std::is_same_v<Acc, float>) {
    if (groups == 1) {
      typename V::vf acc[parts];
      for (std::size_t p = 0; p < parts; ++p) acc[p] = V::load_ps(out + p * W);
      for (std::size_t t = t0; t < t1; ++t) {
        const auto d = f.depth[t];
        const float* tt = f.threshold + f.node[t];
        const std::uint32_t* ft = f.feature + f.node[t];
        typename V::vi j[parts];
        for (std::size_t p = 0; p < parts; ++p)
          j[p] = perfect_walk_any<V>(d, tt, ft, rowoff, part[p]);
        const float* lv = f.leaf_f + f.leaf[t];
        for (std::size_t p = 0; p < parts; ++p) {
          acc[p] = V::add_ps(acc[p], V::pick_ps(lv, std::size_t{1} << d, j[p]));
        }
      }
      for (std::size_t p = 0; p < parts; ++p) V::store_ps(out + p * W, acc[p]);
      return;
    }
  }
  const Acc* leaf = nullptr;
  if constexpr (std::is_same_v<Acc, float>) {
    leaf = f.leaf_f;
  } else {
    leaf = f.leaf_d;
  }
  alignas(64) std::uint32_t idx[16];
  for (std::size_t t = t0; t < t1; ++t) {
    const auto d = f.depth[t];
    const float* tt = f.threshold + f.node[t];
    const std::uint32_t* ft = f.feature + f.node[t];
    for (std::size_t p = 0; p < parts; ++p) {
      V::store_i(idx + p * W, perfect_walk_any<V>(d, tt, ft, rowoff, part[p]));
    }
    const Acc* lv = leaf + f.leaf[t];
    const auto g = f.group[t];
    for (std::size_t r = 0; r < 16; ++r) out[r * groups + g] += lv[idx[r]];
  }
}

/// The kernel table entry of instruction set `V`.
template <class V>
inline constexpr perfect_kernel perfect_kernel_of{
    V::trees_name, V::level, &perfect_block16<V, float>, &perfect_block16<V, double>};

}  // namespace funnel::scoring::detail
