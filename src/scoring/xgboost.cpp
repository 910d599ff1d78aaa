// XGBoost JSON / UBJSON import and XGBoost JSON export.
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace funnel::scoring {

namespace {

constexpr std::string_view where = "scoring.xgboost";

struct objective_info {
  output_transform transform;
  enum class base_kind { identity, logit, log } base;
};

objective_info lookup_objective(const std::string& name, std::string_view source) {
  using bk = objective_info::base_kind;
  if (name == "binary:logistic" || name == "reg:logistic")
    return {output_transform::sigmoid, bk::logit};
  if (name == "binary:logitraw") return {output_transform::identity, bk::logit};
  if (name == "reg:squarederror" || name == "reg:linear" || name == "reg:squaredlogerror" ||
      name == "reg:pseudohubererror" || name == "reg:absoluteerror") {
    return {output_transform::identity, bk::identity};
  }
  if (name == "multi:softprob") return {output_transform::softmax, bk::identity};
  if (name == "multi:softmax") return {output_transform::argmax, bk::identity};
  if (name == "rank:pairwise" || name == "rank:ndcg" || name == "rank:map") {
    return {output_transform::identity, bk::identity};
  }
  if (name == "count:poisson" || name == "reg:gamma" || name == "reg:tweedie") {
    return {output_transform::exp, bk::log};
  }
  raise<unsupported>(where, "{}: objective '{}' is not supported", source, name);
}

const json& field(const json& j, std::string_view key, const std::string& ctx) {
  if (!j.is_object()) raise<parse_error>(where, "{}: expected an object", ctx);
  const auto it = j.find(std::string(key));
  if (it == j.end()) raise<parse_error>(where, "{}: missing field '{}'", ctx, key);
  return *it;
}

// XGBoost writes integer parameters as strings ("126"); accept numbers too.
long long int_param(const json& j, std::string_view key, const std::string& ctx) {
  const auto& v = field(j, key, ctx);
  if (v.is_number()) return json_get<long long>(j, key, ctx);
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    long long out = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    if (r.ec == std::errc{} && r.ptr == s.data() + s.size()) return out;
  }
  raise<parse_error>(where, "{}.{}: expected an integer, found {}", ctx, key, json_preview(v));
}

float parse_float(std::string_view s, const std::string& ctx) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  float out = 0.0F;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) {
    raise<parse_error>(where, "{}: '{}' is not a number", ctx, s);
  }
  return out;
}

// base_score: "5E-1" (1.x), "[5E-1]" or "[5E-1,2E-1]" (3.x vector intercept), or a number.
std::vector<float> parse_base_score(const json& v, const std::string& ctx) {
  if (v.is_number()) return {json_as<float>(v, ctx)};
  if (!v.is_string()) raise<parse_error>(where, "{}: expected a string", ctx);
  std::string_view s = v.get_ref<const std::string&>();
  std::vector<float> out;
  if (!s.empty() && s.front() == '[') {
    if (s.back() != ']') raise<parse_error>(where, "{}: unterminated vector '{}'", ctx, s);
    s = s.substr(1, s.size() - 2);
    while (!s.empty()) {
      const auto comma = s.find(',');
      out.push_back(parse_float(s.substr(0, comma), ctx));
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
    }
    if (out.empty()) raise<parse_error>(where, "{}: empty vector", ctx);
  } else {
    out.push_back(parse_float(s, ctx));
  }
  return out;
}

// XGBoost's ObjFunction::ProbToMargin, in float as XGBoost computes it.
float prob_to_margin(float p, objective_info::base_kind kind, const std::string& ctx) {
  switch (kind) {
    case objective_info::base_kind::identity:
      return p;
    case objective_info::base_kind::logit:
      if (!(p > 0.0F && p < 1.0F)) {
        raise<parse_error>(where, "{}: base_score {} must be in (0, 1) for a logistic objective",
                           ctx, p);
      }
      return -std::log(1.0F / p - 1.0F);
    case objective_info::base_kind::log:
      if (!(p > 0.0F)) raise<parse_error>(where, "{}: base_score {} must be > 0", ctx, p);
      return std::log(p);
  }
  return p;
}

// One array of a tree, element by element through the strict core conversions; XGBoost's own
// spellings on top: 0/1 flags may be booleans, and a float may be null (NaN, see
// sanitize_xgboost_json).
template <class T>
std::vector<T> num_array(const json& t, std::string_view key, const std::string& ctx, std::size_t n,
                         bool optional = false) {
  const auto it = t.find(std::string(key));
  if (it == t.end()) {
    if (optional) return std::vector<T>(n, T{});
    raise<parse_error>(where, "{}: missing field '{}'", ctx, key);
  }
  if (!it->is_array()) raise<parse_error>(where, "{}.{}: expected an array", ctx, key);
  if (it->size() != n) {
    raise<parse_error>(where, "{}.{}: {} values, expected num_nodes = {}", ctx, key, it->size(), n);
  }
  const auto what = fmt::format("{}.{}", ctx, key);
  std::vector<T> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& v = (*it)[i];
    if (v.is_boolean()) {
      out[i] = static_cast<T>(v.get<bool>() ? 1 : 0);
    } else if (v.is_null() && std::is_floating_point_v<T>) {
      out[i] = std::numeric_limits<T>::quiet_NaN();
    } else if (v.is_number()) {
      try {
        out[i] = json_as<T>(v, what);
      } catch (const parse_error&) {
        raise<parse_error>(where, "{}[{}] = {} out of range", what, i, json_preview(v));
      }
    } else {
      raise<parse_error>(where, "{}[{}]: expected a number, found {}", what, i, json_preview(v));
    }
  }
  return out;
}

template <class T>
std::vector<T> plain_array(const json& t, std::string_view key, const std::string& ctx) {
  const auto it = t.find(std::string(key));
  if (it == t.end()) return {};
  if (!it->is_array()) raise<parse_error>(where, "{}.{}: expected an array", ctx, key);
  return num_array<T>(t, key, ctx, it->size());
}

tree parse_tree(const json& t, std::size_t index, std::size_t num_features,
                const std::string& src) {
  const auto ctx = fmt::format("{}: trees[{}]", src, index);
  const auto& tp = field(t, "tree_param", ctx);
  const auto nn = int_param(tp, "num_nodes", ctx + ".tree_param");
  if (nn <= 0 || nn > (1LL << 28))
    raise<parse_error>(where, "{}.tree_param.num_nodes = {} invalid", ctx, nn);
  if (tp.contains("size_leaf_vector")) {
    const auto lv = int_param(tp, "size_leaf_vector", ctx + ".tree_param");
    if (lv > 1)
      raise<unsupported>(where, "{}: vector-leaf trees (size_leaf_vector = {}) are not supported",
                         ctx, lv);
  }
  const auto n = static_cast<std::size_t>(nn);
  const auto left = num_array<std::int32_t>(t, "left_children", ctx, n);
  const auto right = num_array<std::int32_t>(t, "right_children", ctx, n);
  const auto feat = num_array<std::int64_t>(t, "split_indices", ctx, n);
  const auto cond = num_array<double>(t, "split_conditions", ctx, n);
  const auto dl = num_array<std::int32_t>(t, "default_left", ctx, n);
  const auto weights = num_array<double>(t, "base_weights", ctx, n, true);
  const auto gain = num_array<double>(t, "loss_changes", ctx, n, true);
  const auto hess = num_array<double>(t, "sum_hessian", ctx, n, true);
  const auto stype = num_array<std::int32_t>(t, "split_type", ctx, n, true);
  tree tr;
  tr.nodes.assign(n, tree_node{});
  for (std::size_t i = 0; i < n; ++i) {
    auto& nd = tr.nodes[i];
    nd.left = left[i];
    nd.right = right[i];
    nd.gain = gain[i];
    nd.cover = hess[i];
    if (left[i] == -1) {
      nd.value = static_cast<double>(static_cast<float>(cond[i]));
      nd.left = nd.right == -1 ? -1 : nd.left;
      continue;
    }
    nd.value = weights[i];
    if (feat[i] < 0 || static_cast<std::size_t>(feat[i]) >= num_features) {
      raise<parse_error>(where, "{}.split_indices[{}] = {} out of range (num_feature = {})", ctx, i,
                         feat[i], num_features);
    }
    nd.feature = static_cast<std::int32_t>(feat[i]);
    nd.threshold = static_cast<double>(static_cast<float>(cond[i]));
    nd.default_left = dl[i] != 0;
    nd.categorical = stype[i] == 1;
    if (nd.categorical) nd.threshold = 0.0;  // XGBoost writes NaN there
  }
  // Categorical splits: categories_nodes[k] owns categories[segments[k] .. + sizes[k]].
  const auto cat_nodes = plain_array<std::int64_t>(t, "categories_nodes", ctx);
  const auto cat_seg = plain_array<std::int64_t>(t, "categories_segments", ctx);
  const auto cat_size = plain_array<std::int64_t>(t, "categories_sizes", ctx);
  const auto cats = plain_array<std::int64_t>(t, "categories", ctx);
  if (cat_seg.size() != cat_nodes.size() || cat_size.size() != cat_nodes.size()) {
    raise<parse_error>(where, "{}: categories_nodes/segments/sizes lengths differ", ctx);
  }
  // Each node owns one segment and the segments together hold at most every stored category:
  // the categories copied into the nodes never exceed what the file lists.
  std::size_t listed = 0;
  std::vector<bool> has_segment(n, false);
  for (std::size_t k = 0; k < cat_nodes.size(); ++k) {
    const auto node = cat_nodes[k];
    if (node < 0 || static_cast<std::size_t>(node) >= n) {
      raise<parse_error>(where, "{}.categories_nodes[{}] = {} out of range", ctx, k, node);
    }
    if (has_segment[static_cast<std::size_t>(node)]) {
      raise<parse_error>(where, "{}.categories_nodes[{}]: node {} listed twice", ctx, k, node);
    }
    has_segment[static_cast<std::size_t>(node)] = true;
    if (cat_seg[k] < 0 || cat_size[k] < 0 || static_cast<std::size_t>(cat_seg[k]) > cats.size() ||
        static_cast<std::size_t>(cat_size[k]) >
            cats.size() - static_cast<std::size_t>(cat_seg[k])) {
      raise<parse_error>(where, "{}: categories segment {} of node {} out of range", ctx, k, node);
    }
    listed += static_cast<std::size_t>(cat_size[k]);
    if (listed > cats.size()) {
      raise<parse_error>(where, "{}: categories segments hold more than the {} stored categories",
                         ctx, cats.size());
    }
    auto& nd = tr.nodes[static_cast<std::size_t>(node)];
    nd.categorical = true;
    nd.threshold = 0.0;
    for (auto c = cat_seg[k]; c < cat_seg[k] + cat_size[k]; ++c) {
      const auto v = cats[static_cast<std::size_t>(c)];
      if (v < 0 || v >= (1LL << 24)) {
        raise<parse_error>(where, "{}: node {} category {} out of range", ctx, node, v);
      }
      nd.categories.push_back(static_cast<std::uint32_t>(v));
    }
    std::sort(nd.categories.begin(), nd.categories.end());
    nd.categories.erase(std::unique(nd.categories.begin(), nd.categories.end()),
                        nd.categories.end());
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (stype[i] == 1 && !tr.nodes[i].is_leaf() && tr.nodes[i].categories.empty()) {
      // A categorical split with no listed categories sends every valid category left.
      tr.nodes[i].categorical = true;
    }
  }
  return tr;
}

}  // namespace

namespace {

// The document's "version": [major, minor, patch] as "xgboost M.m.p"; a version outside the
// tested range (xgboost_tested_major_min .. _max) is reported through on_warning and loads only
// because every field below is validated as for a tested one.
std::string check_version(const json& doc, const std::string& src,
                          const xgboost_load_options& options) {
  const auto warn = [&](const std::string& message) {
    if (options.on_warning) options.on_warning(message);
  };
  const auto it = doc.find("version");
  if (it == doc.end()) {
    warn(
        fmt::format("{}: no \"version\" field; loaded as XGBoost {}.x..{}.x (the tested range) "
                    "because its structure validates",
                    src, xgboost_tested_major_min, xgboost_tested_major_max));
    return "xgboost (unknown version)";
  }
  const auto v = json_as<std::vector<long long>>(*it, src + ": version");
  if (v.size() != 3 || v[0] < 0 || v[1] < 0 || v[2] < 0 || v[0] > 1000 || v[1] > 1000000 ||
      v[2] > 1000000) {
    raise<parse_error>(where, "{}: version {} is not [major, minor, patch]", src,
                       json_preview(*it));
  }
  auto version = fmt::format("{}.{}.{}", v[0], v[1], v[2]);
  if (v[0] < xgboost_tested_major_min || v[0] > xgboost_tested_major_max) {
    warn(
        fmt::format("{}: saved by XGBoost {}, outside the tested range {}.0..{}.x; loaded because "
                    "its structure validates",
                    src, version, xgboost_tested_major_min, xgboost_tested_major_max));
  }
  return "xgboost " + version;
}

std::vector<std::string> string_list(const json& learner, std::string_view key,
                                     const std::string& ctx) {
  if (!learner.contains(key)) return {};
  return json_get<std::vector<std::string>>(learner, key, ctx);
}

}  // namespace

tree_ensemble from_xgboost_json(const json& doc, std::string_view source,
                                const xgboost_load_options& options) {
  const std::string src(source);
  if (!doc.is_object()) raise<parse_error>(where, "{}: expected an object", src);
  auto source_version = check_version(doc, src, options);
  const auto& learner = field(doc, "learner", src);
  const auto lctx = src + ": learner";
  const auto& mp = field(learner, "learner_model_param", lctx);
  const auto mctx = lctx + ".learner_model_param";
  const auto num_feature = int_param(mp, "num_feature", mctx);
  if (num_feature < 0 || num_feature >= (1LL << 30)) {
    raise<parse_error>(where, "{}.num_feature = {} invalid", mctx, num_feature);
  }
  const auto num_class = int_param(mp, "num_class", mctx);
  const auto num_target = mp.contains("num_target") ? int_param(mp, "num_target", mctx) : 1;
  if (num_class < 0 || num_class > 100000 || num_target < 1 || num_target > 100000) {
    raise<parse_error>(where, "{}: num_class = {} / num_target = {} invalid", mctx, num_class,
                       num_target);
  }
  const auto& obj = field(learner, "objective", lctx);
  const auto objective = json_get<std::string>(obj, "name", lctx + ".objective");
  const auto info = lookup_objective(objective, src);

  const auto& booster = field(learner, "gradient_booster", lctx);
  const auto bname = field(booster, "name", lctx + ".gradient_booster");
  if (!bname.is_string() || bname.get<std::string>() != "gbtree") {
    raise<unsupported>(where, "{}: gradient_booster '{}' is not supported (only gbtree)", src,
                       bname.is_string() ? bname.get<std::string>() : json_preview(bname));
  }
  const auto& model = field(booster, "model", lctx + ".gradient_booster");
  const auto gctx = lctx + ".gradient_booster.model";
  const auto& jtrees = field(model, "trees", gctx);
  if (!jtrees.is_array()) raise<parse_error>(where, "{}.trees: expected an array", gctx);
  const auto info_ = plain_array<std::int64_t>(model, "tree_info", gctx);
  if (info_.size() != jtrees.size()) {
    raise<parse_error>(where, "{}: tree_info has {} entries for {} trees", gctx, info_.size(),
                       jtrees.size());
  }
  if (model.contains("gbtree_model_param")) {
    const auto nt =
        int_param(model["gbtree_model_param"], "num_trees", gctx + ".gbtree_model_param");
    if (nt != static_cast<long long>(jtrees.size())) {
      raise<parse_error>(where, "{}: gbtree_model_param.num_trees = {} but {} trees are stored",
                         gctx, nt, jtrees.size());
    }
  }
  if (model.contains("iteration_indptr")) {
    const auto ptr = plain_array<std::int64_t>(model, "iteration_indptr", gctx);
    if (ptr.empty() || ptr.front() != 0 || ptr.back() != static_cast<std::int64_t>(jtrees.size()) ||
        !std::is_sorted(ptr.begin(), ptr.end())) {
      raise<parse_error>(where, "{}.iteration_indptr is inconsistent with {} trees", gctx,
                         jtrees.size());
    }
  }

  ensemble_header p;
  p.num_features = static_cast<std::size_t>(num_feature);
  p.num_groups = static_cast<std::size_t>(std::max<long long>({1, num_class, num_target}));
  p.transform = info.transform;
  p.rule = split_rule::less;
  p.sum = accumulation::float32;
  p.objective = objective;
  p.feature_names = string_list(learner, "feature_names", lctx);
  p.feature_types = string_list(learner, "feature_types", lctx);
  p.source_version = std::move(source_version);
  const auto base = parse_base_score(field(mp, "base_score", mctx), mctx + ".base_score");
  if (base.size() != 1 && base.size() != p.num_groups) {
    raise<parse_error>(where, "{}.base_score has {} values for {} outputs", mctx, base.size(),
                       p.num_groups);
  }
  p.base_margin.clear();
  for (const auto b : base) {
    p.base_margin.push_back(
        static_cast<double>(prob_to_margin(b, info.base, mctx + ".base_score")));
  }

  std::vector<tree> trees;
  trees.reserve(jtrees.size());
  for (std::size_t k = 0; k < jtrees.size(); ++k) {
    auto tr = parse_tree(jtrees[k], k, p.num_features, src);
    if (info_[k] < 0 || static_cast<std::size_t>(info_[k]) >= p.num_groups) {
      raise<parse_error>(where, "{}: tree_info[{}] = {} out of range ({} outputs)", gctx, k,
                         info_[k], p.num_groups);
    }
    tr.group = static_cast<std::int32_t>(info_[k]);
    trees.push_back(std::move(tr));
  }
  try {
    return tree_ensemble(std::move(p), std::move(trees));
  } catch (const parse_error& e) {
    raise<parse_error>(where, "{}: {}", src, e.what());
  }
}

namespace {
// XGBoost writes NaN / Infinity / -Infinity literals (categorical split_conditions are NaN),
// which are not JSON: turn them into null / large literals outside strings before parsing.
std::string sanitize_xgboost_json(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (text.substr(i, 3) == "NaN") {
      out += "null";
      i += 2;
    } else if (text.substr(i, 9) == "-Infinity") {
      out += "-1e999";
      i += 8;
    } else if (text.substr(i, 8) == "Infinity") {
      out += "1e999";
      i += 7;
    } else {
      out.push_back(c);
    }
  }
  return out;
}
}  // namespace

tree_ensemble parse_xgboost_json(std::string_view text, std::string_view source,
                                 const xgboost_load_options& options) {
  return from_xgboost_json(parse_json(sanitize_xgboost_json(text), source), source, options);
}

tree_ensemble parse_xgboost_ubj(std::span<const std::uint8_t> bytes, std::string_view source,
                                const xgboost_load_options& options) {
  return from_xgboost_json(parse_ubjson(bytes, source), source, options);
}

tree_ensemble load_xgboost(const std::filesystem::path& path, const xgboost_load_options& options) {
  const auto bytes = read_file(path);
  const auto src = path.string();
  // UBJSON objects also start with '{', followed by a length marker; JSON text by a quote or space.
  std::size_t i = 0;
  if (!bytes.empty() && bytes[0] == '{') {
    i = 1;
    const char c = bytes.size() > 1 ? bytes[1] : '}';
    const bool text = c == '"' || c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '}';
    if (!text) {
      return parse_xgboost_ubj(
          std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                        bytes.size()),
          src, options);
    }
  }
  (void)i;
  return parse_xgboost_json(bytes, src, options);
}

// ----------------------------------------------------------------------------------- export

namespace {

std::string xgb_float(float v) {
  // XGBoost writes parameters with enough digits to round-trip a float.
  return fmt::format("{:.9g}", v);
}

// The smallest-search float p whose XGBoost ProbToMargin is exactly `margin`, if any.
bool find_base_score(float margin, objective_info::base_kind kind, float& out) {
  float guess = margin;
  if (kind == objective_info::base_kind::logit) guess = 1.0F / (1.0F + std::exp(-margin));
  if (kind == objective_info::base_kind::log) guess = std::exp(margin);
  if (!std::isfinite(guess)) return false;
  float lo = guess;
  float hi = guess;
  for (int k = 0; k < 64; ++k) {
    for (const float c : {lo, hi}) {
      if (kind == objective_info::base_kind::logit && !(c > 0.0F && c < 1.0F)) continue;
      if (kind == objective_info::base_kind::log && !(c > 0.0F)) continue;
      const float m = prob_to_margin(c, kind, "");
      if (m == margin) {
        out = c;
        return true;
      }
    }
    lo = std::nextafter(lo, -std::numeric_limits<float>::infinity());
    hi = std::nextafter(hi, std::numeric_limits<float>::infinity());
  }
  return false;
}

// The objective the export names: the model's own when XGBoost knows it, else the plain one of
// its output transform.
std::string export_objective(const ensemble_header& p) {
  std::string objective = p.objective;
  bool known = true;
  try {
    (void)lookup_objective(objective, "export");
  } catch (const unsupported&) {
    known = false;
  }
  if (!known) {
    // The XGBoost objective of each output_transform, in enum order.
    constexpr std::array<std::string_view, 5> objective_of = {
        "reg:squarederror", "binary:logistic", "multi:softprob", "count:poisson", "multi:softmax"};
    static_assert(static_cast<std::size_t>(output_transform::argmax) + 1 == objective_of.size());
    objective = objective_of[static_cast<std::size_t>(p.transform)];
  }
  return objective;
}

// One base_score for every group (XGBoost 1.7 has a scalar). When the margin has no exact
// pre-image under ProbToMargin, or groups differ, base_score becomes neutral and the base
// margin is folded into the leaves of each group's first tree: fl(0 + fl(b + v)) == fl(b + v),
// so XGBoost's float sums are unchanged. Returns base_score; `trees` receives the folded trees.
float fold_base_margin(const ensemble_header& p, const objective_info& info,
                       std::vector<tree>& trees) {
  float base_score = 0.0F;
  bool same = true;
  for (const auto b : p.base_margin) same = same && b == p.base_margin[0];
  bool exact = same && find_base_score(static_cast<float>(p.base_margin[0]), info.base, base_score);
  if (!exact) {
    base_score = info.base == objective_info::base_kind::logit ? 0.5F
                 : info.base == objective_info::base_kind::log ? 1.0F
                                                               : 0.0F;
    std::vector<bool> done(p.num_groups, false);
    for (auto& tr : trees) {
      const auto g = static_cast<std::size_t>(tr.group);
      if (done[g]) continue;
      done[g] = true;
      const float b = static_cast<float>(p.base_margin[g]);
      for (auto& nd : tr.nodes) {
        if (nd.is_leaf()) nd.value = static_cast<double>(b + static_cast<float>(nd.value));
      }
    }
    const bool missing = std::find(done.begin(), done.end(), false) != done.end();
    if (missing) {
      for (std::size_t g = 0; g < p.num_groups; ++g) {
        if (!done[g])
          trees.push_back(tree::leaf_only(static_cast<double>(static_cast<float>(p.base_margin[g])),
                                          0.0, static_cast<std::int32_t>(g)));
      }
    }
  }
  return base_score;
}

// trees[k] as an XGBoost 1.7 RegTree JSON object.
json xgboost_tree_json(const tree& tr, std::size_t k, std::size_t num_features) {
  if (!tr.linear.empty()) raise<unsupported>(where, "export: trees[{}] has linear leaves", k);
  const auto n = tr.nodes.size();
  std::vector<int> left(n), right(n), parents(n, std::numeric_limits<int>::max()), split_idx(n),
      dl(n), stype(n);
  std::vector<float> cond(n), weights(n), gain(n), hess(n);
  std::vector<int> cat_nodes, cat_seg, cat_size, cats;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& nd = tr.nodes[i];
    if (nd.zero_is_missing)
      raise<unsupported>(where, "export: trees[{}].nodes[{}] uses zero-as-missing", k, i);
    left[i] = nd.left;
    right[i] = nd.right;
    split_idx[i] = nd.is_leaf() ? 0 : nd.feature;
    dl[i] = nd.default_left ? 1 : 0;
    cond[i] = static_cast<float>(nd.is_leaf() ? nd.value : nd.threshold);
    weights[i] = static_cast<float>(nd.value);
    gain[i] = static_cast<float>(nd.gain);
    hess[i] = static_cast<float>(nd.cover);
    stype[i] = nd.categorical ? 1 : 0;
    if (!nd.is_leaf()) {
      parents[static_cast<std::size_t>(nd.left)] = static_cast<int>(i);
      parents[static_cast<std::size_t>(nd.right)] = static_cast<int>(i);
    }
    if (nd.categorical && !nd.is_leaf()) {
      cat_nodes.push_back(static_cast<int>(i));
      cat_seg.push_back(static_cast<int>(cats.size()));
      cat_size.push_back(static_cast<int>(nd.categories.size()));
      for (const auto c : nd.categories) cats.push_back(static_cast<int>(c));
      cond[i] = 0.0F;  // XGBoost's JSON has no NaN; categorical nodes keep 0 here
    }
  }
  json t;
  t["base_weights"] = weights;
  t["categories"] = cats;
  t["categories_nodes"] = cat_nodes;
  t["categories_segments"] = cat_seg;
  t["categories_sizes"] = cat_size;
  t["default_left"] = dl;
  t["id"] = k;
  t["left_children"] = left;
  t["loss_changes"] = gain;
  t["parents"] = parents;
  t["right_children"] = right;
  t["split_conditions"] = cond;
  t["split_indices"] = split_idx;
  t["split_type"] = stype;
  t["sum_hessian"] = hess;
  t["tree_param"] = {{"num_deleted", "0"},
                     {"num_feature", std::to_string(num_features)},
                     {"num_nodes", std::to_string(n)},
                     {"size_leaf_vector", "0"}};
  return t;
}

// The learner's "objective" object with the parameters XGBoost writes for it.
json objective_json(const std::string& objective, std::size_t num_groups) {
  json obj = {{"name", objective}};
  if (objective == "binary:logistic" || objective == "reg:logistic" ||
      objective == "binary:logitraw" || objective == "reg:squarederror" ||
      objective == "reg:linear") {
    obj["reg_loss_param"] = {{"scale_pos_weight", "1"}};
  } else if (objective == "multi:softprob" || objective == "multi:softmax") {
    obj["softmax_multiclass_param"] = {{"num_class", std::to_string(num_groups)}};
  } else if (objective == "count:poisson") {
    obj["poisson_regression_param"] = {{"max_delta_step", "0.699999988"}};
  }
  return obj;
}

}  // namespace

json to_xgboost_json(const tree_ensemble& model) {
  const auto& p = model.header();
  if (p.rule != split_rule::less || p.sum != accumulation::float32 || p.average_output ||
      (p.transform == output_transform::sigmoid && p.sigmoid_scale != 1.0)) {
    raise<unsupported>(where,
                       "export: the ensemble uses LightGBM semantics (<= splits, double sums, "
                       "averaged output or a sigmoid scale), which XGBoost cannot represent");
  }
  const std::string objective = export_objective(p);
  const auto info = lookup_objective(objective, "export");
  if (info.transform != p.transform) {
    raise<unsupported>(
        where, "export: objective '{}' does not match the ensemble's output transform", objective);
  }
  std::vector<tree> trees = model.trees();
  const float base_score = fold_base_margin(p, info, trees);
  json jtrees = json::array();
  std::vector<int> tree_info;
  for (std::size_t k = 0; k < trees.size(); ++k) {
    jtrees.push_back(xgboost_tree_json(trees[k], k, p.num_features));
    tree_info.push_back(trees[k].group);
  }
  json booster = {{"name", "gbtree"},
                  {"model",
                   {{"gbtree_model_param",
                     {{"num_parallel_tree", "1"}, {"num_trees", std::to_string(trees.size())}}},
                    {"tree_info", tree_info},
                    {"trees", jtrees}}}};
  const json obj = objective_json(objective, p.num_groups);
  const bool multi = objective == "multi:softprob" || objective == "multi:softmax";
  json learner = {{"attributes", json::object()},
                  {"feature_names", p.feature_names},
                  {"feature_types", p.feature_types},
                  {"gradient_booster", booster},
                  {"learner_model_param",
                   {{"base_score", xgb_float(base_score)},
                    {"boost_from_average", "1"},
                    {"num_class", multi ? std::to_string(p.num_groups) : "0"},
                    {"num_feature", std::to_string(p.num_features)},
                    {"num_target", multi ? "1" : std::to_string(p.num_groups)}}},
                  {"objective", obj}};
  return {{"learner", learner}, {"version", {1, 7, 4}}};
}

void save_xgboost_json(const tree_ensemble& model, const std::filesystem::path& path) {
  write_file_atomic(path, to_xgboost_json(model).dump());
}

}  // namespace funnel::scoring
