// tree_ensemble's own JSON format (to_json / from_json, save / load).
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_document.hpp"

namespace funnel::scoring {

// The document this file writes and reads, with the type strings earlier releases wrote.
namespace {
constexpr funnel::detail::document_kind ensemble_document{"funnel.scoring.tree_ensemble", 2,
                                                          "funnel.tree_ensemble"};
}  // namespace

namespace {

const char* transform_name(output_transform t) {
  switch (t) {
    case output_transform::identity:
      return "identity";
    case output_transform::sigmoid:
      return "sigmoid";
    case output_transform::softmax:
      return "softmax";
    case output_transform::exp:
      return "exp";
    case output_transform::argmax:
      return "argmax";
  }
  return "identity";
}

output_transform parse_transform(const std::string& s) {
  if (s == "identity") return output_transform::identity;
  if (s == "sigmoid") return output_transform::sigmoid;
  if (s == "softmax") return output_transform::softmax;
  if (s == "exp") return output_transform::exp;
  if (s == "argmax") return output_transform::argmax;
  raise<parse_error>("scoring.tree_ensemble", "transform: unknown value '{}'", s);
}

template <class T>
std::vector<T> get_array(const json& j, std::string_view key, const std::string& ctx,
                         std::size_t n) {
  auto v = json_get<std::vector<T>>(j, key, ctx);
  if (v.size() != n) {
    raise<parse_error>("scoring.tree_ensemble", "{}.{}: {} values, expected {}", ctx, key, v.size(),
                       n);
  }
  return v;
}

}  // namespace

json tree_ensemble::to_json() const {
  json j = ensemble_document.header();
  j["num_features"] = params_.num_features;
  j["num_groups"] = params_.num_groups;
  j["base_margin"] = params_.base_margin;
  j["transform"] = transform_name(params_.transform);
  j["sigmoid_scale"] = params_.sigmoid_scale;
  j["split_rule"] = params_.rule == split_rule::less ? "less" : "less_equal";
  j["accumulation"] = params_.sum == accumulation::float32 ? "float32" : "float64";
  j["average_output"] = params_.average_output;
  j["objective"] = params_.objective;
  j["feature_names"] = params_.feature_names;
  j["feature_types"] = params_.feature_types;
  j["source_version"] = params_.source_version;
  json trees = json::array();
  for (const auto& tr : trees_) {
    json t;
    t["group"] = tr.group;
    t["leaf_index_offset"] = tr.leaf_index_offset;
    std::vector<std::int32_t> left, right, feature;
    std::vector<double> threshold, value, gain, cover;
    std::vector<int> dl, zm;
    json cats = json::object();
    for (std::size_t i = 0; i < tr.nodes.size(); ++i) {
      const auto& n = tr.nodes[i];
      left.push_back(n.left);
      right.push_back(n.right);
      feature.push_back(n.feature);
      threshold.push_back(n.threshold);
      value.push_back(n.value);
      gain.push_back(n.gain);
      cover.push_back(n.cover);
      dl.push_back(n.default_left ? 1 : 0);
      zm.push_back(n.zero_is_missing ? 1 : 0);
      if (n.categorical) cats[std::to_string(i)] = n.categories;
    }
    t["left"] = left;
    t["right"] = right;
    t["feature"] = feature;
    json thr = json::array();
    for (const auto v : threshold) {
      if (std::isfinite(v)) {
        thr.push_back(v);
      } else {
        thr.push_back(v > 0 ? "inf" : "-inf");  // JSON has no infinity
      }
    }
    t["threshold"] = std::move(thr);
    t["value"] = value;
    t["gain"] = gain;
    t["cover"] = cover;
    t["default_left"] = dl;
    t["zero_is_missing"] = zm;
    t["categories"] = cats;
    if (!tr.linear.empty()) {
      json lin = json::array();
      for (const auto& l : tr.linear) {
        lin.push_back({{"constant", l.constant}, {"features", l.features}, {"coeffs", l.coeffs}});
      }
      t["linear"] = lin;
    }
    trees.push_back(std::move(t));
  }
  j["trees"] = std::move(trees);
  return j;
}

namespace {

// The ensemble_header fields of funnel's JSON (`version` of the document).
ensemble_header params_from_json(const json& j, int version) {
  ensemble_header p;
  p.num_features = json_get<std::size_t>(j, "num_features", "tree_ensemble");
  p.num_groups = json_get<std::size_t>(j, "num_groups", "tree_ensemble");
  p.base_margin = json_get<std::vector<double>>(j, "base_margin", "tree_ensemble");
  p.transform = parse_transform(json_get<std::string>(j, "transform", "tree_ensemble"));
  p.sigmoid_scale = json_get<double>(j, "sigmoid_scale", "tree_ensemble");
  const auto rule = json_get<std::string>(j, "split_rule", "tree_ensemble");
  if (rule != "less" && rule != "less_equal") {
    raise<parse_error>("scoring.tree_ensemble", "split_rule: unknown value '{}'", rule);
  }
  p.rule = rule == "less" ? split_rule::less : split_rule::less_equal;
  const auto sum = json_get<std::string>(j, "accumulation", "tree_ensemble");
  if (sum != "float32" && sum != "float64") {
    raise<parse_error>("scoring.tree_ensemble", "accumulation: unknown value '{}'", sum);
  }
  p.sum = sum == "float32" ? accumulation::float32 : accumulation::float64;
  p.average_output = json_get<bool>(j, "average_output", "tree_ensemble");
  p.objective = json_get<std::string>(j, "objective", "tree_ensemble");
  if (version >= 2) {
    p.feature_names = json_get<std::vector<std::string>>(j, "feature_names", "tree_ensemble");
    p.feature_types = json_get<std::vector<std::string>>(j, "feature_types", "tree_ensemble");
    p.source_version = json_get<std::string>(j, "source_version", "tree_ensemble");
  }
  return p;
}

// A tree's "threshold" array: numbers, or "inf" / "-inf" (which JSON numbers cannot hold).
std::vector<double> thresholds_from_json(const json& t, const std::string& ctx, std::size_t n) {
  std::vector<double> threshold;
  const auto& jv = json_field(t, "threshold", ctx);
  if (!jv.is_array() || jv.size() != n) {
    raise<parse_error>("scoring.tree_ensemble", "{}.threshold: expected an array of {} values", ctx,
                       n);
  }
  for (const auto& v : jv) {
    if (v.is_number()) {
      threshold.push_back(json_as<double>(v, ctx + ".threshold"));
    } else if (v == "inf" || v == "-inf") {
      threshold.push_back(v == "inf" ? std::numeric_limits<double>::infinity()
                                     : -std::numeric_limits<double>::infinity());
    } else {
      raise<parse_error>("scoring.tree_ensemble", "{}.threshold: {} is not a number", ctx,
                         json_preview(v));
    }
  }
  return threshold;
}

// One tree of "trees": node arrays, then categories and linear leaves (`ctx` names it).
tree tree_from_json(const json& t, const std::string& ctx) {
  tree tr;
  tr.group = json_get<std::int32_t>(t, "group", ctx);
  tr.leaf_index_offset = json_get<std::int32_t>(t, "leaf_index_offset", ctx);
  const auto left = json_get<std::vector<std::int32_t>>(t, "left", ctx);
  const auto n = left.size();
  const auto right = get_array<std::int32_t>(t, "right", ctx, n);
  const auto feature = get_array<std::int32_t>(t, "feature", ctx, n);
  const auto threshold = thresholds_from_json(t, ctx, n);
  const auto value = get_array<double>(t, "value", ctx, n);
  const auto gain = get_array<double>(t, "gain", ctx, n);
  const auto cover = get_array<double>(t, "cover", ctx, n);
  const auto dl = get_array<int>(t, "default_left", ctx, n);
  const auto zm = get_array<int>(t, "zero_is_missing", ctx, n);
  tr.nodes.assign(n, tree_node{});
  for (std::size_t i = 0; i < n; ++i) {
    auto& nd = tr.nodes[i];
    nd.left = left[i];
    nd.right = right[i];
    nd.feature = feature[i];
    nd.threshold = threshold[i];
    nd.value = value[i];
    nd.gain = gain[i];
    nd.cover = cover[i];
    nd.default_left = dl[i] != 0;
    nd.zero_is_missing = zm[i] != 0;
  }
  const auto& cats = json_field(t, "categories", ctx);
  if (!cats.is_object())
    raise<parse_error>("scoring.tree_ensemble", "{}.categories: expected an object", ctx);
  for (const auto& [key, val] : cats.items()) {
    std::size_t i = 0;
    const auto r = std::from_chars(key.data(), key.data() + key.size(), i);
    if (r.ec != std::errc{} || r.ptr != key.data() + key.size()) {
      raise<parse_error>("scoring.tree_ensemble", "{}.categories: key '{:.48}' is not a node index",
                         ctx, key);
    }
    if (i >= n)
      raise<parse_error>("scoring.tree_ensemble", "{}.categories: node {} out of range", ctx, i);
    tr.nodes[i].categorical = true;
    tr.nodes[i].categories = json_get<std::vector<std::uint32_t>>(cats, key, ctx + ".categories");
  }
  if (t.contains("linear")) {
    const auto& lin = t["linear"];
    if (!lin.is_array() || lin.size() != n) {
      raise<parse_error>("scoring.tree_ensemble", "{}.linear: expected {} entries", ctx, n);
    }
    for (std::size_t i = 0; i < n; ++i) {
      linear_leaf l;
      l.constant = json_get<double>(lin[i], "constant", ctx + ".linear");
      l.features = json_get<std::vector<std::int32_t>>(lin[i], "features", ctx + ".linear");
      l.coeffs = json_get<std::vector<double>>(lin[i], "coeffs", ctx + ".linear");
      tr.linear.push_back(std::move(l));
    }
  }
  return tr;
}

}  // namespace

tree_ensemble tree_ensemble::from_json(const json& j) {
  return funnel::detail::read_document(j, ensemble_document, [&](int version) {
    // Version 1 had no feature names, types or source version.
    ensemble_header p = params_from_json(j, version);
    const auto& jt = json_field(j, "trees", "tree_ensemble");
    if (!jt.is_array()) raise<parse_error>("scoring.tree_ensemble", "trees: expected an array");
    std::vector<tree> trees;
    trees.reserve(jt.size());
    for (std::size_t k = 0; k < jt.size(); ++k) {
      trees.push_back(tree_from_json(jt[k], fmt::format("tree_ensemble.trees[{}]", k)));
    }
    return tree_ensemble(std::move(p), std::move(trees));
  });
}

}  // namespace funnel::scoring
