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

}  // namespace

// ---- adwin ----------------------------------------------------------------------------------

json adwin::to_json() const {
  json j = adwin_document.header();
  j["delta"] = opt_.delta;
  j["clock"] = opt_.clock;
  j["max_buckets"] = opt_.max_buckets;
  j["min_window_length"] = opt_.min_window_length;
  j["grace_period"] = opt_.grace_period;
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
    const auto delta = json_get_finite<double>(j, "delta", ctx);
    const int clock = json_get_in<int>(j, "clock", 1, std::numeric_limits<int>::max(), ctx);
    const int max_buckets = json_get_in<int>(j, "max_buckets", 1, adwin_max_buckets_json, ctx);
    const int min_window_length =
        json_get_in<int>(j, "min_window_length", 1, std::numeric_limits<int>::max(), ctx);
    const int grace_period =
        json_get_in<int>(j, "grace_period", 0, std::numeric_limits<int>::max(), ctx);
    adwin d = funnel::detail::construct_from_json(where, [&] {
      return adwin(adwin_options{delta, clock, max_buckets, min_window_length, grace_period});
    });

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

json page_hinkley::to_json() const {
  json j = page_hinkley_document.header();
  j["min_instances"] = opt_.min_instances;
  j["delta"] = opt_.delta;
  j["threshold"] = opt_.threshold;
  j["alpha"] = opt_.alpha;
  j["mode"] = std::string(to_string(opt_.mode));
  j["count"] = n_;
  j["mean"] = mean_;
  j["sum_increase"] = sum_increase_;
  j["sum_decrease"] = sum_decrease_;
  j["min_increase"] = funnel::detail::extended_to_json(min_increase_);
  j["max_decrease"] = funnel::detail::extended_to_json(max_decrease_);
  j["drift"] = drift_;
  return j;
}

page_hinkley page_hinkley::from_json(const json& j) {
  constexpr std::string_view where = page_hinkley_document.id();
  return funnel::detail::read_document(j, page_hinkley_document, [&](int /*version*/) {
    constexpr std::string_view ctx = "page_hinkley";
    const int min_instances =
        json_get_in<int>(j, "min_instances", 0, std::numeric_limits<int>::max(), ctx);
    const auto delta = json_get_finite<double>(j, "delta", ctx);
    const auto threshold = json_get_finite<double>(j, "threshold", ctx);
    const auto alpha = json_get_finite<double>(j, "alpha", ctx);
    const auto mode =
        parse_enum<ph_mode>(json_get<std::string>(j, "mode", ctx), where, "page_hinkley.mode");
    page_hinkley d = funnel::detail::construct_from_json(where, [&] {
      return page_hinkley(page_hinkley_options{min_instances, delta, threshold, alpha, mode});
    });
    d.n_ = json_get_in<std::uint64_t>(j, "count", 0, max_count, ctx);
    d.mean_ = json_get_finite<double>(j, "mean", ctx);
    d.sum_increase_ = json_get_finite<double>(j, "sum_increase", ctx);
    d.sum_decrease_ = json_get_finite<double>(j, "sum_decrease", ctx);
    d.min_increase_ = funnel::detail::get_extended(j, "min_increase", ctx);
    d.max_decrease_ = funnel::detail::get_extended(j, "max_decrease", ctx);
    d.drift_ = json_get<bool>(j, "drift", ctx);
    return d;
  });
}

// ---- ddm ------------------------------------------------------------------------------------

json ddm::to_json() const {
  json j = ddm_document.header();
  j["warm_start"] = opt_.warm_start;
  j["warning_threshold"] = opt_.warning_threshold;
  j["drift_threshold"] = opt_.drift_threshold;
  j["count"] = n_;
  j["error_rate"] = p_;
  j["p_min"] = p_min_;
  j["s_min"] = s_min_;
  j["ps_min"] = funnel::detail::extended_to_json(ps_min_);
  j["drift"] = drift_;
  j["warning"] = warning_detected_;
  return j;
}

ddm ddm::from_json(const json& j) {
  constexpr std::string_view where = ddm_document.id();
  return funnel::detail::read_document(j, ddm_document, [&](int /*version*/) {
    constexpr std::string_view ctx = "ddm";
    const int warm_start =
        json_get_in<int>(j, "warm_start", 0, std::numeric_limits<int>::max(), ctx);
    const auto warning = json_get_finite<double>(j, "warning_threshold", ctx);
    const auto drift = json_get_finite<double>(j, "drift_threshold", ctx);
    ddm d = funnel::detail::construct_from_json(where, [&] {
      return ddm(ddm_options{warm_start, warning, drift});
    });
    d.n_ = json_get_in<std::uint64_t>(j, "count", 0, max_count, ctx);
    d.p_ = json_get_finite<double>(j, "error_rate", ctx);
    if (!(d.p_ >= 0.0 && d.p_ <= 1.0)) {
      raise<parse_error>(where, "ddm.error_rate: {} is not in [0, 1]", d.p_);
    }
    d.p_min_ = json_get_finite<double>(j, "p_min", ctx);
    d.s_min_ = json_get_finite<double>(j, "s_min", ctx);
    d.ps_min_ = funnel::detail::get_extended(j, "ps_min", ctx);
    d.drift_ = json_get<bool>(j, "drift", ctx);
    d.warning_detected_ = json_get<bool>(j, "warning", ctx);
    return d;
  });
}

}  // namespace funnel::drift
