#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/drift/profile.hpp>
#include <funnel/drift/stats.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "core/json_document.hpp"

namespace funnel::drift {

// The document this file writes and reads, with the type strings earlier releases wrote.
namespace {
constexpr funnel::detail::document_kind profile_document{"funnel.drift.reference_profile", 1,
                                                         "drift.reference_profile"};

/// An array of finite numbers, read through core's strict layer (a boolean or a string is not a
/// number; NaN or infinity, which UBJ could carry, is rejected).
std::vector<double> finite_array(const json& j, std::string_view key, const std::string& ctx) {
  auto v = json_get<std::vector<double>>(j, key, ctx);
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      raise<parse_error>("drift.reference_profile", "{}.{}[{}]: not a finite number", ctx, key, i);
    }
  }
  return v;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  }
  return true;
}

}  // namespace

bool operator==(const feature_profile& a, const feature_profile& b) {
  return a.name == b.name && a.kind == b.kind && same_bits(a.edges, b.edges) &&
         same_bits(a.categories, b.categories) && same_bits(a.counts, b.counts) &&
         a.count == b.count && a.missing == b.missing && same_bits(a.sample, b.sample);
}

std::size_t feature_profile::bin_of(double value) const noexcept {
  if (kind == feature_kind::numeric) return bin_index(edges, value);
  const auto it = std::lower_bound(categories.begin(), categories.end(), value);
  if (it != categories.end() && *it == value)
    return static_cast<std::size_t>(it - categories.begin());
  return categories.size();
}

std::string feature_profile::bin_label(std::size_t k) const {
  if (kind == feature_kind::categorical) {
    return k < categories.size() ? fmt::format("{:g}", categories[k]) : std::string("other");
  }
  const std::string lo = k == 0 ? std::string("-inf") : fmt::format("{:.4g}", edges[k - 1]);
  const std::string hi = k >= edges.size() ? std::string("+inf") : fmt::format("{:.4g}", edges[k]);
  return fmt::format("[{}, {})", lo, hi);
}

void reference_profile::check_new_name(const std::string& name) const {
  if (name.empty()) raise<invalid_argument>("drift.reference_profile", "feature name is empty");
  for (const auto& f : features_) {
    if (f.name == name) {
      raise<invalid_argument>("drift.reference_profile", "feature '{}' is defined twice", name);
    }
  }
}

void reference_profile::add_numeric(const std::string& name, std::span<const double> values,
                                    const profile_options& options) {
  check_new_name(name);
  if (options.max_reference_sample == 0) {
    raise<invalid_argument>("drift.reference_profile",
                            "feature '{}': max_reference_sample must be >= 1 (KS needs a sample)",
                            name);
  }
  feature_profile f;
  f.name = name;
  f.kind = feature_kind::numeric;
  std::vector<double> finite;
  finite.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (std::isnan(v)) {
      f.missing += 1;
    } else if (std::isinf(v)) {
      raise<invalid_argument>("drift.reference_profile",
                              "feature '{}': value {} at row {} is infinite", name, v, i);
    } else {
      finite.push_back(v);
    }
  }
  if (finite.empty()) {
    raise<invalid_argument>("drift.reference_profile", "feature '{}' has no non-missing value",
                            name);
  }
  f.count = static_cast<double>(finite.size());
  f.edges = quantile_edges(finite, options.bins);
  f.counts = histogram(f.edges, finite);
  if (finite.size() <= options.max_reference_sample) {
    f.sample = finite;
  } else {
    // Deterministic uniform subsample (partial Fisher-Yates).
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: portable, unlike std::hash
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
    rng gen(options.seed ^ h);
    std::vector<double> tmp = finite;
    for (std::size_t i = 0; i < options.max_reference_sample; ++i) {
      const auto j = i + static_cast<std::size_t>(gen.below(tmp.size() - i));
      std::swap(tmp[i], tmp[j]);
    }
    f.sample.assign(tmp.begin(),
                    tmp.begin() + static_cast<std::ptrdiff_t>(options.max_reference_sample));
  }
  std::sort(f.sample.begin(), f.sample.end());
  features_.push_back(std::move(f));
}

void reference_profile::add_categorical(const std::string& name, std::span<const double> codes) {
  check_new_name(name);
  feature_profile f;
  f.name = name;
  f.kind = feature_kind::categorical;
  std::set<double> cats;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const double v = codes[i];
    if (std::isnan(v)) continue;
    if (std::isinf(v)) {
      raise<invalid_argument>("drift.reference_profile",
                              "feature '{}': code {} at row {} is infinite", name, v, i);
    }
    cats.insert(v);
  }
  if (cats.empty()) {
    raise<invalid_argument>("drift.reference_profile", "feature '{}' has no non-missing value",
                            name);
  }
  f.categories.assign(cats.begin(), cats.end());
  f.counts.assign(f.categories.size() + 1, 0.0);
  for (double v : codes) {
    if (std::isnan(v)) {
      f.missing += 1;
    } else {
      f.counts[f.bin_of(v)] += 1;
      f.count += 1;
    }
  }
  features_.push_back(std::move(f));
}

reference_profile fit_reference_profile(matrix_view data, const std::vector<feature_spec>& schema,
                                        const profile_options& options) {
  if (data.cols() != schema.size()) {
    raise<dimension_mismatch>("drift.reference_profile",
                              "data has {} columns, schema has {} features", data.cols(),
                              schema.size());
  }
  reference_profile p;
  std::vector<double> col(data.rows());
  for (std::size_t j = 0; j < schema.size(); ++j) {
    for (std::size_t i = 0; i < data.rows(); ++i) col[i] = static_cast<double>(data(i, j));
    if (schema[j].kind == feature_kind::numeric) {
      p.add_numeric(schema[j].name, col, options);
    } else {
      p.add_categorical(schema[j].name, col);
    }
  }
  return p;
}

std::size_t reference_profile::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < features_.size(); ++i) {
    if (features_[i].name == name) return i;
  }
  raise<not_found>("drift.reference_profile", "no feature named '{}'", name);
}

json reference_profile::to_json() const {
  json j = profile_document.header();
  json fs = json::array();
  for (const auto& f : features_) {
    json o;
    o["name"] = f.name;
    o["kind"] = std::string(to_string(f.kind));
    o["edges"] = f.edges;
    o["categories"] = f.categories;
    o["counts"] = f.counts;
    o["count"] = f.count;
    o["missing"] = f.missing;
    o["sample"] = f.sample;
    fs.push_back(std::move(o));
  }
  j["features"] = std::move(fs);
  return j;
}

reference_profile reference_profile::from_json(const json& j) {
  return funnel::detail::read_document(j, profile_document, [&](int /*version*/) {
    const json& fs = json_field(j, "features", "reference_profile");
    if (!fs.is_array())
      raise<parse_error>("drift.reference_profile", "features: expected an array");
    reference_profile p;
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const std::string ctx = fmt::format("reference_profile.features[{}]", i);
      feature_profile f;
      f.name = json_get<std::string>(fs[i], "name", ctx);
      f.kind = parse_enum<feature_kind>(json_get<std::string>(fs[i], "kind", ctx),
                                        "drift.reference_profile", ctx + ".kind");
      f.edges = finite_array(fs[i], "edges", ctx);
      f.categories = finite_array(fs[i], "categories", ctx);
      f.counts = finite_array(fs[i], "counts", ctx);
      f.count = json_get_finite<double>(fs[i], "count", ctx);
      f.missing = json_get_finite<double>(fs[i], "missing", ctx);
      f.sample = finite_array(fs[i], "sample", ctx);
      if (f.kind == feature_kind::numeric ? !f.categories.empty() : !f.edges.empty()) {
        raise<parse_error>("drift.reference_profile", "{} ('{}'): a {} feature has {}", ctx, f.name,
                           to_string(f.kind),
                           f.kind == feature_kind::numeric ? "categories" : "edges");
      }
      if (f.kind == feature_kind::categorical && !f.sample.empty()) {
        raise<parse_error>("drift.reference_profile",
                           "{} ('{}'): a categorical feature has a sample", ctx, f.name);
      }
      const std::size_t expected_bins =
          f.kind == feature_kind::numeric ? f.edges.size() + 1 : f.categories.size() + 1;
      if (f.counts.size() != expected_bins) {
        raise<parse_error>("drift.reference_profile", "{} ('{}').counts: {} bins, expected {}", ctx,
                           f.name, f.counts.size(), expected_bins);
      }
      if (std::adjacent_find(f.edges.begin(), f.edges.end(), std::greater_equal<>()) !=
          f.edges.end()) {
        raise<parse_error>("drift.reference_profile", "{} ('{}').edges: not strictly ascending",
                           ctx, f.name);
      }
      if (std::adjacent_find(f.categories.begin(), f.categories.end(), std::greater_equal<>()) !=
          f.categories.end()) {
        raise<parse_error>("drift.reference_profile",
                           "{} ('{}').categories: not strictly ascending", ctx, f.name);
      }
      if (!std::is_sorted(f.sample.begin(), f.sample.end())) {
        raise<parse_error>("drift.reference_profile", "{} ('{}').sample: not sorted", ctx, f.name);
      }
      // Counts are counts: non-negative, and the bins add up to `count` (sums of integers below
      // 2^53 are exact in doubles, so fit always writes equality).
      double total = 0;
      for (double c : f.counts) {
        if (c < 0) {
          raise<parse_error>("drift.reference_profile", "{} ('{}').counts: negative count {}", ctx,
                             f.name, c);
        }
        total += c;
      }
      if (f.count < 0 || f.missing < 0) {
        raise<parse_error>("drift.reference_profile", "{} ('{}'): negative count or missing", ctx,
                           f.name);
      }
      if (total != f.count) {
        raise<parse_error>("drift.reference_profile",
                           "{} ('{}').counts: bins add up to {}, but count is {}", ctx, f.name,
                           total, f.count);
      }
      if (f.count <= 0 || (f.kind == feature_kind::numeric && f.sample.empty())) {
        raise<parse_error>("drift.reference_profile",
                           "{} ('{}'): no reference values (count {}, {} sampled)", ctx, f.name,
                           f.count, f.sample.size());
      }
      if (static_cast<double>(f.sample.size()) > f.count) {
        raise<parse_error>("drift.reference_profile", "{} ('{}').sample: {} values but count is {}",
                           ctx, f.name, f.sample.size(), f.count);
      }
      for (const auto& g : p.features_) {
        if (g.name == f.name) {
          raise<parse_error>("drift.reference_profile", "{}: duplicate feature name '{}'", ctx,
                             f.name);
        }
      }
      p.features_.push_back(std::move(f));
    }
    return p;
  });
}

// ---------------------------------------------------------------------------------------------
// live_profile

live_profile::live_profile(std::shared_ptr<const reference_profile> reference,
                           window_options options)
    : ref_(std::move(reference)), opt_(options) {
  if (!ref_) raise<invalid_argument>("drift.live_profile", "reference profile is null");
  if (opt_.size == 0) raise<invalid_argument>("drift.live_profile", "window size must be > 0");
  if (opt_.kind == window_options::kind_t::sliding) {
    if (opt_.slices == 0 || opt_.slices > opt_.size || opt_.slices > max_window_slices) {
      raise<invalid_argument>("drift.live_profile",
                              "slices ({}) must be in [1, min(size = {}, {})]", opt_.slices,
                              opt_.size, max_window_slices);
    }
  }
  gens_.reserve(ref_->size());
  for (const auto& f : ref_->features()) gens_.push_back(feature_rng(opt_.seed, f.name));
  const std::size_t n = opt_.kind == window_options::kind_t::sliding ? opt_.slices : 1;
  for (std::size_t i = 0; i < n; ++i) slices_.push_back(make_slice());
  completed_ = make_slice();
}

rng live_profile::feature_rng(std::uint64_t seed, const std::string& name) noexcept {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: portable, unlike std::hash
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return rng(seed ^ h);
}

live_profile::slice live_profile::make_slice() const {
  slice s;
  s.features.resize(ref_->size());
  for (std::size_t j = 0; j < ref_->size(); ++j) {
    s.features[j].counts.assign(ref_->features()[j].bins(), 0.0);
  }
  return s;
}

void live_profile::add_value(live_feature& f, const feature_profile& p, rng& gen, double v) {
  if (std::isnan(v)) {
    f.missing += 1;
    return;
  }
  f.counts[p.bin_of(v)] += 1;
  if (p.kind != feature_kind::numeric) return;
  f.seen += 1;
  const std::size_t cap = opt_.kind == window_options::kind_t::sliding
                              ? std::max<std::size_t>(1, opt_.reservoir / opt_.slices)
                              : opt_.reservoir;
  if (f.sample.size() < cap) {
    f.sample.push_back(v);
  } else if (cap > 0) {
    const auto j = gen.below(static_cast<std::uint64_t>(f.seen));
    if (j < cap) f.sample[static_cast<std::size_t>(j)] = v;
  }
}

bool live_profile::finish_row() {
  slice& s = slices_[head_];
  ++s.rows;
  switch (opt_.kind) {
    case window_options::kind_t::tumbling:
      if (s.rows >= opt_.size) {
        completed_ = std::move(s);
        has_completed_ = true;
        s = make_slice();
        return true;
      }
      return false;
    case window_options::kind_t::sliding: {
      const std::size_t per_slice = opt_.size / opt_.slices;
      if (s.rows >= per_slice) {
        head_ = (head_ + 1) % slices_.size();
        slices_[head_] = make_slice();  // the oldest slice expires
        filled_ = std::min(filled_ + 1, slices_.size());
      }
      return false;
    }
    case window_options::kind_t::unbounded:
      return false;
  }
  return false;
}

bool live_profile::observe(row_view row) {
  if (row.size() != ref_->size()) {
    raise<dimension_mismatch>("drift.live_profile",
                              "row has {} values, the profile has {} features", row.size(),
                              ref_->size());
  }
  slice& s = slices_[head_];
  for (std::size_t j = 0; j < row.size(); ++j) {
    add_value(s.features[j], ref_->features()[j], gens_[j], static_cast<double>(row[j]));
  }
  return finish_row();
}

bool live_profile::observe(std::span<const double> row) {
  if (row.size() != ref_->size()) {
    raise<dimension_mismatch>("drift.live_profile",
                              "row has {} values, the profile has {} features", row.size(),
                              ref_->size());
  }
  slice& s = slices_[head_];
  for (std::size_t j = 0; j < row.size(); ++j)
    add_value(s.features[j], ref_->features()[j], gens_[j], row[j]);
  return finish_row();
}

std::vector<live_feature> live_profile::window() const {
  if (opt_.kind == window_options::kind_t::tumbling) {
    return has_completed_ ? completed_.features : slices_[0].features;
  }
  std::vector<live_feature> out = make_slice().features;
  for (const auto& s : slices_) {
    for (std::size_t j = 0; j < out.size(); ++j) {
      for (std::size_t k = 0; k < out[j].counts.size(); ++k)
        out[j].counts[k] += s.features[j].counts[k];
      out[j].missing += s.features[j].missing;
      out[j].seen += s.features[j].seen;
      out[j].sample.insert(out[j].sample.end(), s.features[j].sample.begin(),
                           s.features[j].sample.end());
    }
  }
  return out;
}

std::size_t live_profile::window_rows() const {
  if (opt_.kind == window_options::kind_t::tumbling) {
    return has_completed_ ? completed_.rows : slices_[0].rows;
  }
  std::size_t n = 0;
  for (const auto& s : slices_) n += s.rows;
  return n;
}

void live_profile::merge_feature(live_feature& into, const live_feature& from, std::size_t cap,
                                 rng& gen) {
  for (std::size_t k = 0; k < into.counts.size(); ++k) into.counts[k] += from.counts[k];
  into.missing += from.missing;
  const double n1 = into.seen;
  const double n2 = from.seen;
  into.seen = n1 + n2;
  if (into.sample.size() + from.sample.size() <= cap) {
    into.sample.insert(into.sample.end(), from.sample.begin(), from.sample.end());
    return;
  }
  // Proportional allocation: keep cap * n1/(n1+n2) of ours and the rest of theirs, each chosen
  // uniformly (partial Fisher-Yates), so the merged reservoir stays a uniform-rate sample.
  auto k1 = static_cast<std::size_t>(std::llround(static_cast<double>(cap) * n1 / (n1 + n2)));
  k1 = std::min(k1, into.sample.size());
  std::size_t k2 = std::min(cap - k1, from.sample.size());
  k1 = std::min(cap - k2, into.sample.size());
  std::vector<double> a = into.sample;
  std::vector<double> b = from.sample;
  for (std::size_t i = 0; i < k1; ++i) std::swap(a[i], a[i + gen.below(a.size() - i)]);
  for (std::size_t i = 0; i < k2; ++i) std::swap(b[i], b[i + gen.below(b.size() - i)]);
  a.resize(k1);
  a.insert(a.end(), b.begin(), b.begin() + static_cast<std::ptrdiff_t>(k2));
  into.sample = std::move(a);
}

void live_profile::merge(const live_profile& other) {
  if (other.ref_ != ref_ && !(*other.ref_ == *ref_)) {
    raise<invalid_argument>("drift.live_profile", "cannot merge profiles of different references");
  }
  const auto theirs = other.opt_.kind == window_options::kind_t::tumbling
                          ? other.slices_[0].features
                          : other.window();
  const std::size_t rows = other.opt_.kind == window_options::kind_t::tumbling
                               ? other.slices_[0].rows
                               : other.window_rows();
  slice& s = slices_[head_];
  const std::size_t cap = opt_.kind == window_options::kind_t::sliding
                              ? std::max<std::size_t>(1, opt_.reservoir / opt_.slices)
                              : opt_.reservoir;
  for (std::size_t j = 0; j < s.features.size(); ++j)
    merge_feature(s.features[j], theirs[j], cap, gens_[j]);
  s.rows += rows;
}

void live_profile::reset() {
  for (auto& s : slices_) s = make_slice();
  completed_ = make_slice();
  has_completed_ = false;
  head_ = 0;
  filled_ = 1;
}

}  // namespace funnel::drift
