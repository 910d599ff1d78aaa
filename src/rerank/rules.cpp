// rerank rules: sliding window, group cap and decay, freshness, blocking, dedup, pinning,
// truncation.
#include <funnel/rerank/rules.hpp>

namespace funnel::rerank {

std::size_t detail::dense_groups(slate& s, std::span<const std::uint64_t> keys,
                                 std::vector<std::uint32_t>& ids) {
  auto& uniq = s.scratch().k0;
  const auto e = s.entries();
  uniq.clear();
  for (const auto& x : e) {
    if (keys[x.origin] != no_group) uniq.push_back(keys[x.origin]);
  }
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  ids.resize(e.size());
  for (std::size_t i = 0; i < e.size(); ++i) {
    const auto key = keys[e[i].origin];
    ids[i] = key == no_group ? std::numeric_limits<std::uint32_t>::max()
                             : static_cast<std::uint32_t>(
                                   std::lower_bound(uniq.begin(), uniq.end(), key) - uniq.begin());
  }
  return uniq.size();
}

void detail::sort_by_score(slate& s) {
  auto& e = s.mutable_entries();
  std::stable_sort(e.begin(), e.end(), [](const slate::entry& a, const slate::entry& b) {
    return a.item.score > b.item.score;
  });
}

void detail::check_nonnegative_scores(const slate& s, std::string_view who) {
  for (const auto& x : s.entries()) {
    if (x.item.score < 0.0F) {
      raise<invalid_argument>(who, "multiplicative rescoring needs scores >= 0; id {} has {}",
                              x.item.id, x.item.score);
    }
  }
}

sliding_window::sliding_window(std::string group, const sliding_window_options& options)
    : group_rule(std::move(group), options) {
  if (o_.window == 0 || o_.max_per_window == 0) {
    raise<invalid_argument>("rerank.sliding_window",
                            "sliding_window_options.window = {} and "
                            "sliding_window_options.max_per_window = {} must be > 0",
                            o_.window, o_.max_per_window);
  }
}

void sliding_window::rerank(slate& s, const context& /*ctx*/) const {
  const auto keys = s.groups(group_);
  auto& sc = s.scratch();
  auto& ids = sc.u1;
  const std::size_t g = detail::dense_groups(s, keys, ids);
  const std::size_t n = s.size();
  const std::size_t k = n;
  auto& counts = sc.d0;  // per group, in the current window
  counts.assign(g, 0.0);
  auto& placed = sc.b0;
  placed.assign(n, 0);
  auto& order = sc.u0;
  order.clear();
  auto& skipped = sc.f2;  // 1 where an item was passed over because its group was full
  skipped.assign(n, 0.0F);
  std::size_t first_open = 0;  // every position before it is placed
  while (order.size() < k) {
    const std::size_t pos = order.size();
    if (pos >= o_.window) {  // slide: the item leaving the window ending at pos
      const auto out = ids[order[pos - o_.window]];
      if (out != std::numeric_limits<std::uint32_t>::max()) counts[out] -= 1.0;
    }
    while (first_open < n && placed[first_open]) ++first_open;
    std::size_t pick = n;
    for (std::size_t i = first_open; i < n; ++i) {
      if (placed[i]) continue;
      const auto gi = ids[i];
      if (gi == std::numeric_limits<std::uint32_t>::max() ||
          counts[gi] < static_cast<double>(o_.max_per_window)) {
        pick = i;
        break;
      }
    }
    if (pick == n) break;
    for (std::size_t i = first_open; i < pick; ++i) {
      if (!placed[i] && skipped[i] == 0.0F) {
        skipped[i] = 1.0F;
        s.mark(s.entries()[i].origin, rule::window);
      }
    }
    placed[pick] = 1;
    order.push_back(static_cast<std::uint32_t>(pick));
    if (ids[pick] != std::numeric_limits<std::uint32_t>::max()) counts[ids[pick]] += 1.0;
  }
  const auto e = s.entries();
  for (std::size_t i = 0; i < n; ++i) {
    if (placed[i]) continue;
    s.mark(e[i].origin, rule::window);
    if (!o_.drop_unplaced) order.push_back(static_cast<std::uint32_t>(i));
  }
  s.reorder(order);
}

group_cap::group_cap(std::string group, const group_cap_options& options)
    : group_rule(std::move(group), options) {
  if (o_.max_per_group == 0) {
    raise<invalid_argument>("rerank.group_cap", "group_cap_options.max_per_group must be > 0");
  }
}

void group_cap::rerank(slate& s, const context& /*ctx*/) const {
  const auto keys = s.groups(group_);
  auto& sc = s.scratch();
  auto& ids = sc.u1;
  const std::size_t g = detail::dense_groups(s, keys, ids);
  auto& counts = sc.d0;
  counts.assign(g, 0.0);
  auto& order = sc.u0;
  order.clear();
  const auto e = s.entries();
  for (std::size_t i = 0; i < e.size(); ++i) {
    const auto gi = ids[i];
    if (gi != std::numeric_limits<std::uint32_t>::max()) {
      if (counts[gi] >= static_cast<double>(o_.max_per_group)) {
        s.mark(e[i].origin, rule::cap);
        continue;
      }
      counts[gi] += 1.0;
    }
    order.push_back(static_cast<std::uint32_t>(i));
  }
  s.reorder(order);
}

group_decay::group_decay(std::string group, const group_decay_options& options)
    : group_rule(std::move(group), options) {
  if (!(o_.decay >= 0.0 && o_.decay <= 1.0) || !(o_.floor >= 0.0 && o_.floor <= 1.0)) {
    raise<invalid_argument>("rerank.group_decay",
                            "group_decay_options.decay = {} and group_decay_options.floor = {} "
                            "must be in [0, 1]",
                            o_.decay, o_.floor);
  }
}

void group_decay::rerank(slate& s, const context& /*ctx*/) const {
  const auto keys = s.groups(group_);
  detail::check_nonnegative_scores(s, "rerank.group_decay");
  // Order by score first (a stable no-op on a ranked slate), so "index within the group" is
  // the position by score, as home-mixer sorts each group by score.
  detail::sort_by_score(s);
  auto& sc = s.scratch();
  auto& ids = sc.u1;
  const std::size_t g = detail::dense_groups(s, keys, ids);
  auto& counts = sc.d0;
  counts.assign(g, 0.0);
  auto& e = s.mutable_entries();
  for (std::size_t i = 0; i < e.size(); ++i) {
    const auto gi = ids[i];
    if (gi == std::numeric_limits<std::uint32_t>::max()) continue;
    const auto index = static_cast<std::size_t>(counts[gi]);
    counts[gi] += 1.0;
    if (index == 0) continue;
    e[i].item.score = static_cast<float>(static_cast<double>(e[i].item.score) *
                                         group_decay_factor(index, o_.decay, o_.floor));
    s.mark(e[i].origin, rule::decay);
  }
  detail::sort_by_score(s);
}

freshness::freshness(const freshness_options& options) : configured_reranker(options) {
  if (!(o_.half_life > 0.0) || !(o_.weight >= 0.0)) {
    raise<invalid_argument>("rerank.freshness",
                            "freshness_options.half_life = {} must be > 0 and "
                            "freshness_options.weight = {} >= 0",
                            o_.half_life, o_.weight);
  }
}

void freshness::rerank(slate& s, const context& ctx) const {
  const auto ts = s.timestamps();
  if (ts.empty()) raise<invalid_argument>("rerank.freshness", "the slate has no timestamps");
  detail::check_nonnegative_scores(s, "rerank.freshness");
  for (auto& x : s.mutable_entries()) {
    const double t = ts[x.origin];
    if (std::isnan(t)) continue;  // unknown age: no boost
    x.item.score = static_cast<float>(static_cast<double>(x.item.score) * factor(ctx.now - t));
    s.mark(x.origin, rule::freshness);
  }
  detail::sort_by_score(s);
}

void block_items::rerank(slate& s, const context& ctx) const {
  auto& e = s.mutable_entries();
  std::size_t out = 0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const auto id = e[i].item.id;
    const bool hit = std::binary_search(ids_.begin(), ids_.end(), id) ||
                     std::find(ctx.blocked.begin(), ctx.blocked.end(), id) != ctx.blocked.end();
    if (hit) {
      s.mark(e[i].origin, rule::blocked);
    } else {
      e[out++] = e[i];
    }
  }
  e.resize(out);
}

void dedup::rerank(slate& s, const context& /*ctx*/) const {
  const auto keys = s.dedup_keys();
  if (keys.empty()) raise<invalid_argument>("rerank.dedup", "the slate has no dedup keys");
  auto& seen = s.scratch().k0;
  seen.clear();
  for (const auto& x : s.entries()) seen.push_back(keys[x.origin]);
  // first occurrence wins: sort (key, position) pairs by key then position
  auto& pos = s.scratch().u1;
  pos.resize(seen.size());
  for (std::size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<std::uint32_t>(i);
  std::sort(pos.begin(), pos.end(), [&](std::uint32_t a, std::uint32_t b) {
    return seen[a] != seen[b] ? seen[a] < seen[b] : a < b;
  });
  auto& keep = s.scratch().b0;
  keep.assign(seen.size(), 1);
  for (std::size_t i = 1; i < pos.size(); ++i) {
    if (seen[pos[i]] == seen[pos[i - 1]]) keep[pos[i]] = 0;
  }
  auto& e = s.mutable_entries();
  std::size_t out = 0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (keep[i]) {
      e[out++] = e[i];
    } else {
      s.mark(e[i].origin, rule::dedup);
    }
  }
  e.resize(out);
}

void pin_items::rerank(slate& s, const context& ctx) const {
  if (ctx.pins.empty()) return;
  auto& sc = s.scratch();
  auto& by_position = sc.k0;  // pin indices, ascending position (stable: request order on ties)
  by_position.clear();
  for (std::size_t i = 0; i < ctx.pins.size(); ++i) by_position.push_back(i);
  std::stable_sort(by_position.begin(), by_position.end(), [&](std::uint64_t a, std::uint64_t b) {
    return ctx.pins[a].position < ctx.pins[b].position;
  });
  const auto e = s.entries();
  const std::size_t n = e.size();
  auto& is_pinned = sc.b0;
  is_pinned.assign(n, 0);
  auto& pinned_at = sc.u1;  // current positions of the pinned items, in by_position order
  pinned_at.clear();
  auto& targets = sc.d0;
  targets.clear();
  for (const auto pi : by_position) {
    const auto& p = ctx.pins[pi];
    for (std::size_t i = 0; i < n; ++i) {
      if (e[i].item.id == p.id && !is_pinned[i]) {
        is_pinned[i] = 1;
        pinned_at.push_back(static_cast<std::uint32_t>(i));
        targets.push_back(static_cast<double>(p.position));
        break;
      }
    }
  }
  if (pinned_at.empty()) return;
  // Inserting the pins one by one in ascending position into the other items puts pin i at
  // min(position_i, others + i); a pin asking for an already taken slot goes right after it.
  const std::size_t others = n - pinned_at.size();
  auto& order = sc.u0;
  order.assign(n, std::numeric_limits<std::uint32_t>::max());
  std::size_t prev = 0;
  for (std::size_t i = 0; i < pinned_at.size(); ++i) {
    std::size_t slot =
        static_cast<std::size_t>(std::min(targets[i], static_cast<double>(others + i)));
    if (i > 0) slot = std::max(slot, prev + 1);
    order[slot] = pinned_at[i];
    prev = slot;
    s.mark(e[pinned_at[i]].origin, rule::pinned);
  }
  std::size_t next = 0;
  for (auto& o : order) {
    if (o != std::numeric_limits<std::uint32_t>::max()) continue;
    while (is_pinned[next]) ++next;
    o = static_cast<std::uint32_t>(next++);
  }
  s.reorder(order);
}

void truncate::rerank(slate& s, const context& ctx) const {
  auto& e = s.mutable_entries();
  if (ctx.k >= e.size()) return;
  for (std::size_t i = ctx.k; i < e.size(); ++i) s.mark(e[i].origin, rule::truncated);
  e.resize(ctx.k);
}

}  // namespace funnel::rerank
