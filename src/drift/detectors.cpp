// JSON round trip of the streaming change detectors (adwin, page_hinkley, ddm): parameters and
// full state, validated field by field so a restored detector continues bit for bit.
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/drift/detectors.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_document.hpp"
#include "core/json_extended.hpp"

namespace funnel::drift {

// The documents this file writes and reads.
namespace {
constexpr funnel::detail::document_kind adwin_document{"funnel.drift.adwin", 1};
constexpr funnel::detail::document_kind page_hinkley_document{"funnel.drift.page_hinkley", 1};
constexpr funnel::detail::document_kind ddm_document{"funnel.drift.ddm", 1};

/// Largest `max_buckets` a document may ask for: each of up to `adwin_max_rows` rows allocates
/// max_buckets + 1 slots, so the bound keeps a hostile document's allocation small. river's
/// default is 5.
constexpr int adwin_max_buckets_json = 1024;
/// A window of 2^64 values needs no more rows than this.
constexpr std::size_t adwin_max_rows = 64;
/// Counts are kept exact in the doubles they are divided into.
constexpr std::uint64_t max_count = std::uint64_t{1} << 53;
constexpr int int_max = std::numeric_limits<int>::max();

// Each detector's options, one list for its writer and its reader (detail::field_writer,
// field_reader).
void fields(auto& io, funnel::detail::same_as_options<adwin_options> auto& o) {
  io("delta", o.delta)("clock", o.clock, 1, int_max)("max_buckets", o.max_buckets, 1,
                                                     adwin_max_buckets_json);
  io("min_window_length", o.min_window_length, 1, int_max)("grace_period", o.grace_period, 0,
                                                           int_max);
}
void fields(auto& io, funnel::detail::same_as_options<page_hinkley_options> auto& o) {
  io("min_instances", o.min_instances, 0, int_max)("delta", o.delta)("threshold", o.threshold);
  io("alpha", o.alpha)("mode", o.mode);
}
void fields(auto& io, funnel::detail::same_as_options<ddm_options> auto& o) {
  io("warm_start", o.warm_start, 0, int_max)("warning_threshold", o.warning_threshold)(
      "drift_threshold", o.drift_threshold);
}

/// A detector built from the options its document holds (checked by the detector's constructor).
template <class Detector, class Options>
Detector detector_from_options(const json& j, std::string_view where, std::string_view ctx) {
  Options o;
  funnel::detail::field_reader io(j, where, ctx);
  fields(io, o);
  return funnel::detail::construct_from_json(where, [&] { return Detector(o); });
}

/// A detector's document: its options, then what `state(io)` writes.
template <class Options>
json detector_to_json(const funnel::detail::document_kind& kind, const Options& o, auto&& state) {
  json j = kind.header();
  funnel::detail::field_writer io(j);
  fields(io, o);
  state(io);
  return j;
}

/// A detector read from its document: the options through its constructor, then `state(io, d)`.
template <class Detector, class Options>
Detector detector_from_json(const json& j, const funnel::detail::document_kind& kind,
                            auto&& state) {
  return funnel::detail::read_document(j, kind, [&](int /*version*/) {
    Detector d = detector_from_options<Detector, Options>(j, kind.id(), kind.component());
    funnel::detail::field_reader io(j, kind.id(), kind.component());
    state(io, d);
    return d;
  });
}

}  // namespace

// ---- adwin ----------------------------------------------------------------------------------

json adwin::to_json() const {
  json j = adwin_document.header();
  funnel::detail::field_writer io(j);
  fields(io, opt_);
  json rows = json::array();
  for (const row& r : rows_) {
    const auto n = static_cast<std::size_t>(r.count);
    rows.push_back({{"total", std::vector<double>(r.total.begin(), r.total.begin() + n)},
                    {"var", std::vector<double>(r.var.begin(), r.var.begin() + n)}});
  }
  j["rows"] = std::move(rows);
  j["total"] = total_;
  j["variance"] = variance_;
  j["width"] = width_;
  j["tick"] = tick_;
  j["detections"] = detections_;
  j["drift"] = drift_;
  return j;
}

adwin adwin::from_json(const json& j) {
  constexpr std::string_view where = adwin_document.id();
  return funnel::detail::read_document(j, adwin_document, [&](int /*version*/) {
    constexpr std::string_view ctx = "adwin";
    adwin d = detector_from_options<adwin, adwin_options>(j, where, ctx);
    const int max_buckets = d.opt_.max_buckets;

    const json& rows = json_field(j, "rows", ctx);
    if (!rows.is_array() || rows.empty() || rows.size() > adwin_max_rows) {
      raise<parse_error>(where, "adwin.rows: expected an array of 1 to {} rows, found {}",
                         adwin_max_rows, json_preview(rows));
    }
    d.rows_.clear();
    double width = 0.0;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::string rctx = fmt::format("adwin.rows[{}]", r);
      const auto total = json_get<std::vector<double>>(rows[r], "total", rctx);
      const auto var = json_get<std::vector<double>>(rows[r], "var", rctx);
      if (total.size() != var.size() || total.size() > static_cast<std::size_t>(max_buckets)) {
        raise<parse_error>(where, "{}: {} totals and {} variances, expected equal counts <= {}",
                           rctx, total.size(), var.size(), max_buckets);
      }
      if (r + 1 == rows.size() && r > 0 && total.empty()) {
        raise<parse_error>(where, "{}: the last row is empty", rctx);
      }
      row& b = d.rows_.emplace_back(static_cast<std::size_t>(max_buckets) + 1);
      for (std::size_t k = 0; k < total.size(); ++k) {
        if (!std::isfinite(total[k]) || !std::isfinite(var[k]) || var[k] < 0) {
          raise<parse_error>(where, "{}: bucket {} is not finite (or its variance is negative)",
                             rctx, k);
        }
        b.insert(total[k], var[k]);
      }
      width += static_cast<double>(total.size()) * bucket_size(r);
    }
    d.total_ = json_get_finite<double>(j, "total", ctx);
    d.variance_ = json_get_finite<double>(j, "variance", ctx);
    d.width_ = json_get_finite<double>(j, "width", ctx);
    if (d.width_ != width) {
      raise<parse_error>(where, "adwin.width: {} but the buckets hold {} values", d.width_, width);
    }
    d.tick_ = json_get<std::uint64_t>(j, "tick", ctx);
    d.detections_ = json_get<std::uint64_t>(j, "detections", ctx);
    d.drift_ = json_get<bool>(j, "drift", ctx);
    return d;
  });
}

// ---- page_hinkley ---------------------------------------------------------------------------

template <class Io, class Self>
void page_hinkley::state_fields(Io& io, Self& d) {
  using funnel::detail::extended_double;
  io("count", d.n_, 0, max_count)("mean", d.mean_)("sum_increase", d.sum_increase_);
  io("sum_decrease", d.sum_decrease_)("min_increase", d.min_increase_, extended_double{});
  io("max_decrease", d.max_decrease_, extended_double{})("drift", d.drift_);
}

json page_hinkley::to_json() const {
  return detector_to_json(page_hinkley_document, opt_, [&](auto& io) { state_fields(io, *this); });
}

page_hinkley page_hinkley::from_json(const json& j) {
  return detector_from_json<page_hinkley, page_hinkley_options>(
      j, page_hinkley_document, [](auto& io, page_hinkley& d) { state_fields(io, d); });
}

// ---- ddm ------------------------------------------------------------------------------------

template <class Io, class Self>
void ddm::state_fields(Io& io, Self& d) {
  io("count", d.n_, 0, max_count)("error_rate", d.p_)("p_min", d.p_min_)("s_min", d.s_min_);
  io("ps_min", d.ps_min_, funnel::detail::extended_double{})("drift", d.drift_);
  io("warning", d.warning_detected_);
}

json ddm::to_json() const {
  return detector_to_json(ddm_document, opt_, [&](auto& io) { state_fields(io, *this); });
}

ddm ddm::from_json(const json& j) {
  return detector_from_json<ddm, ddm_options>(j, ddm_document, [](auto& io, ddm& d) {
    state_fields(io, d);
    if (!(d.p_ >= 0.0 && d.p_ <= 1.0)) {
      raise<parse_error>(ddm_document.id(), "ddm.error_rate: {} is not in [0, 1]", d.p_);
    }
  });
}

}  // namespace funnel::drift
