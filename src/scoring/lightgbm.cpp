// LightGBM text model import.
#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/scoring/lightgbm.hpp>

#include <charconv>
#include <map>
#include <string>
#include <vector>

namespace funnel::scoring {

namespace {

constexpr std::string_view where = "scoring.lightgbm";

struct section {
  std::map<std::string, std::string, std::less<>> kv;
  std::size_t line = 0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

template <class T>
std::vector<T> numbers(std::string_view s, const std::string& ctx) {
  std::vector<T> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    auto j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    T v{};
    const auto tok = s.substr(i, j - i);
    const auto r = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (r.ec != std::errc{} || r.ptr != tok.data() + tok.size()) {
      raise<parse_error>(where, "{}: '{}' is not a number", ctx, tok);
    }
    out.push_back(v);
    i = j;
  }
  return out;
}

template <class T>
std::vector<T> get(const section& s, std::string_view key, const std::string& ctx, std::size_t n,
                   bool optional = false) {
  const auto it = s.kv.find(key);
  if (it == s.kv.end()) {
    if (optional) return std::vector<T>(n, T{});
    raise<parse_error>(where, "{}: missing field '{}'", ctx, key);
  }
  auto v = numbers<T>(it->second, ctx + "." + std::string(key));
  if (v.size() != n) {
    raise<parse_error>(where, "{}.{}: {} values, expected {}", ctx, key, v.size(), n);
  }
  return v;
}

// LightGBM's categorical bitsets of one tree: cat_boundaries (num_cat + 1 word offsets) into
// cat_threshold (32-bit words).
struct cat_bitsets {
  std::vector<long long> bound;
  std::vector<std::uint32_t> words;
};

cat_bitsets read_cat_bitsets(const section& s, const std::string& ctx, long long num_cat) {
  cat_bitsets out;
  auto& cat_bound = out.bound;
  auto& cat_words = out.words;
  cat_bound = get<long long>(s, "cat_boundaries", ctx, static_cast<std::size_t>(num_cat) + 1);
  const auto it = s.kv.find(std::string_view("cat_threshold"));
  if (it == s.kv.end()) raise<parse_error>(where, "{}: missing field 'cat_threshold'", ctx);
  cat_words = numbers<std::uint32_t>(it->second, ctx + ".cat_threshold");
  for (std::size_t k = 0; k < cat_bound.size(); ++k) {
    if (cat_bound[k] < 0 || static_cast<std::size_t>(cat_bound[k]) > cat_words.size() ||
        (k > 0 && cat_bound[k] < cat_bound[k - 1])) {
      raise<parse_error>(where, "{}.cat_boundaries[{}] = {} out of range", ctx, k, cat_bound[k]);
    }
  }
  return out;
}

// Internal node i as a categorical split on bitset `thr` (an index < num_cat). LightGBM sends
// bitset members left; funnel lists the categories that go right, so the children swap and the
// members become that list.
void categorical_split(tree_node& nd, double thr, int missing, const cat_bitsets& cats,
                       long long num_cat, const std::string& ctx, std::size_t i) {
  const auto& cat_bound = cats.bound;
  const auto& cat_words = cats.words;
  if (!(thr >= 0.0 && thr < static_cast<double>(num_cat))) {
    raise<parse_error>(where, "{}: node {} categorical threshold {} is not a bitset index", ctx, i,
                       thr);
  }
  const auto idx = static_cast<long long>(thr);
  if (static_cast<double>(idx) != thr) {
    raise<parse_error>(where, "{}: node {} categorical threshold {} is not a bitset index", ctx, i,
                       thr);
  }
  const auto b = static_cast<std::size_t>(cat_bound[static_cast<std::size_t>(idx)]);
  const auto e = static_cast<std::size_t>(cat_bound[static_cast<std::size_t>(idx) + 1]);
  for (std::size_t w = b; w < e; ++w) {
    for (std::uint32_t bit = 0; bit < 32; ++bit) {
      if ((cat_words[w] >> bit) & 1U) {
        const auto c = static_cast<std::uint64_t>(w - b) * 32 + bit;
        if (c >= (1U << 24))
          raise<parse_error>(where, "{}: node {} category {} too large", ctx, i, c);
        nd.categories.push_back(static_cast<std::uint32_t>(c));
      }
    }
  }
  nd.categorical = true;
  std::swap(nd.left, nd.right);
  const bool zero_in = !nd.categories.empty() && nd.categories.front() == 0;
  // NaN: right (LightGBM) when missing type is NaN, else treated as category 0.
  nd.default_left = missing == 2 ? true : !zero_in;
}

// The ni internal nodes of a tree with L leaves (leaves at ni..ni+L-1 in funnel's numbering).
void parse_internal_nodes(const section& s, const std::string& ctx, std::size_t num_features,
                          long long nl, tree& tr) {
  const auto L = static_cast<std::size_t>(nl);
  const auto ni = L - 1;
  const auto feat = get<long long>(s, "split_feature", ctx, ni);
  const auto gain = get<double>(s, "split_gain", ctx, ni, true);
  const auto thr = get<double>(s, "threshold", ctx, ni);
  const auto dt = get<int>(s, "decision_type", ctx, ni);
  const auto lc = get<long long>(s, "left_child", ctx, ni);
  const auto rc = get<long long>(s, "right_child", ctx, ni);
  const auto ivalue = get<double>(s, "internal_value", ctx, ni, true);
  const auto icount = get<double>(s, "internal_count", ctx, ni, true);
  const auto num_cat = get<long long>(s, "num_cat", ctx, 1, true)[0];
  if (num_cat < 0 || num_cat > nl)
    raise<parse_error>(where, "{}.num_cat = {} invalid", ctx, num_cat);
  cat_bitsets cats;
  if (num_cat > 0) cats = read_cat_bitsets(s, ctx, num_cat);
  auto child = [&](long long c, std::size_t i, const char* side) -> std::int32_t {
    // >= 0: internal node; < 0: leaf ~c.
    if (c >= 0) {
      if (static_cast<std::size_t>(c) >= ni) {
        raise<parse_error>(where, "{}: node {} {}_child = {} out of range ({} internal nodes)", ctx,
                           i, side, c, ni);
      }
      return static_cast<std::int32_t>(c);
    }
    const auto leaf = static_cast<std::size_t>(~c);
    if (leaf >= L)
      raise<parse_error>(where, "{}: node {} {}_child = {} names leaf {} of {}", ctx, i, side, c,
                         leaf, L);
    return static_cast<std::int32_t>(ni + leaf);
  };
  for (std::size_t i = 0; i < ni; ++i) {
    auto& nd = tr.nodes[i];
    if (feat[i] < 0 || static_cast<std::size_t>(feat[i]) >= num_features) {
      raise<parse_error>(where,
                         "{}: node {} split_feature = {} out of range (max_feature_idx = {})", ctx,
                         i, feat[i], num_features - 1);
    }
    nd.feature = static_cast<std::int32_t>(feat[i]);
    nd.gain = gain[i];
    nd.value = ivalue[i];
    nd.cover = icount[i];
    nd.left = child(lc[i], i, "left");
    nd.right = child(rc[i], i, "right");
    const int missing = (dt[i] >> 2) & 3;
    if ((dt[i] & 1) != 0) {
      categorical_split(nd, thr[i], missing, cats, num_cat, ctx, i);
    } else {
      nd.threshold = thr[i];
      if (missing == 0) {
        nd.default_left = 0.0 <= thr[i];  // NaN becomes 0 and is compared
      } else {
        nd.default_left = (dt[i] & 2) != 0;
        nd.zero_is_missing = missing == 1;
      }
      if (missing == 3) raise<parse_error>(where, "{}: node {} has unknown missing type 3", ctx, i);
    }
  }
}

// LightGBM linear trees (is_linear=1): a linear model per leaf.
void parse_linear_leaves(const section& s, const std::string& ctx, std::size_t num_features,
                         std::size_t L, tree& tr) {
  const auto ni = L - 1;
  const auto cst = get<double>(s, "leaf_const", ctx, L);
  const auto nf = get<long long>(s, "num_features", ctx, L);
  std::size_t total = 0;
  for (const auto v : nf) {
    if (v < 0 || v > (1LL << 20))
      raise<parse_error>(where, "{}.num_features has invalid count {}", ctx, v);
    total += static_cast<std::size_t>(v);
  }
  const auto lf = total ? get<long long>(s, "leaf_features", ctx, total) : std::vector<long long>{};
  const auto co = total ? get<double>(s, "leaf_coeff", ctx, total) : std::vector<double>{};
  tr.linear.assign(tr.nodes.size(), linear_leaf{});
  std::size_t off = 0;
  for (std::size_t k = 0; k < L; ++k) {
    auto& l = tr.linear[ni + k];
    l.constant = cst[k];
    for (long long q = 0; q < nf[k]; ++q, ++off) {
      if (lf[off] < 0 || static_cast<std::size_t>(lf[off]) >= num_features) {
        raise<parse_error>(where, "{}: leaf {} linear feature {} out of range", ctx, k, lf[off]);
      }
      l.features.push_back(static_cast<std::int32_t>(lf[off]));
      l.coeffs.push_back(co[off]);
    }
  }
}

tree parse_tree(const section& s, std::size_t index, std::size_t num_features,
                const std::string& src) {
  const auto ctx = fmt::format("{}: Tree={}", src, index);
  const auto nl = get<long long>(s, "num_leaves", ctx, 1)[0];
  if (nl < 1 || nl > (1LL << 24)) raise<parse_error>(where, "{}.num_leaves = {} invalid", ctx, nl);
  const auto L = static_cast<std::size_t>(nl);
  const auto ni = L - 1;
  // Sizes are checked against the value lists before anything is allocated from num_leaves.
  const auto leaf_value = get<double>(s, "leaf_value", ctx, L);
  const auto leaf_count = get<double>(s, "leaf_count", ctx, L, true);
  tree tr;
  tr.nodes.assign(ni + L, tree_node{});
  tr.leaf_index_offset = static_cast<std::int32_t>(ni);
  for (std::size_t k = 0; k < L; ++k) {
    tr.nodes[ni + k].value = leaf_value[k];
    tr.nodes[ni + k].cover = leaf_count[k];
  }
  if (ni > 0) parse_internal_nodes(s, ctx, num_features, nl, tr);
  const auto lin = s.kv.find(std::string_view("is_linear"));
  if (lin != s.kv.end() && trim(lin->second) == "1")
    parse_linear_leaves(s, ctx, num_features, L, tr);
  return tr;
}

void apply_objective(std::string_view obj, ensemble_header& p, const std::string& src) {
  const auto sp = obj.find(' ');
  const auto name = obj.substr(0, sp);
  double sigmoid = 1.0;
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : obj.substr(sp + 1);
  while (!rest.empty()) {
    const auto e = rest.find(' ');
    const auto tok = rest.substr(0, e);
    if (tok.substr(0, 8) == "sigmoid:") {
      const auto v = tok.substr(8);
      if (std::from_chars(v.data(), v.data() + v.size(), sigmoid).ec != std::errc{}) {
        raise<parse_error>(where, "{}: objective '{}': bad sigmoid", src, obj);
      }
    }
    if (tok == "sqrt")
      raise<unsupported>(where, "{}: objective '{}' (sqrt transform) is not supported", src, obj);
    if (e == std::string_view::npos) break;
    rest.remove_prefix(e + 1);
  }
  p.objective = std::string(obj);
  p.sigmoid_scale = sigmoid;
  if (name == "binary" || name == "multiclassova") {
    p.transform = output_transform::sigmoid;
  } else if (name == "cross_entropy" || name == "xentropy") {
    p.transform = output_transform::sigmoid;
    p.sigmoid_scale = 1.0;
  } else if (name == "multiclass" || name == "softmax") {
    p.transform = output_transform::softmax;
  } else if (name == "regression" || name == "regression_l2" || name == "regression_l1" ||
             name == "huber" || name == "fair" || name == "quantile" || name == "mape" ||
             name == "lambdarank" || name == "rank_xendcg" || name == "custom") {
    p.transform = output_transform::identity;
  } else if (name == "poisson" || name == "gamma" || name == "tweedie") {
    p.transform = output_transform::exp;
  } else {
    raise<unsupported>(where, "{}: objective '{}' is not supported", src, obj);
  }
}

}  // namespace

tree_ensemble parse_lightgbm(std::string_view text, std::string_view source) {
  const std::string src(source);
  section header;
  std::vector<section> trees;
  section* cur = &header;
  bool ended = false;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto e = text.find('\n', pos);
    if (e == std::string_view::npos) e = text.size();
    const auto line = trim(text.substr(pos, e - pos));
    pos = e + 1;
    ++line_no;
    if (line.empty()) continue;
    if (line == "end of trees") {
      ended = true;
      break;
    }
    if (line.substr(0, 5) == "Tree=") {
      trees.emplace_back();
      cur = &trees.back();
      cur->line = line_no;
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      cur->kv.emplace(std::string(line), "");  // flags such as "average_output"
    } else {
      cur->kv.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    }
  }
  if (!ended) raise<parse_error>(where, "{}: truncated model ('end of trees' not found)", src);
  if (header.kv.find(std::string_view("tree")) == header.kv.end() &&
      header.kv.find(std::string_view("version")) == header.kv.end()) {
    raise<parse_error>(where, "{}: not a LightGBM model (no 'tree' / 'version' header)", src);
  }
  const auto hctx = src + ": header";
  const auto max_feature = get<long long>(header, "max_feature_idx", hctx, 1)[0];
  if (max_feature < 0 || max_feature >= (1LL << 30)) {
    raise<parse_error>(where, "{}.max_feature_idx = {} invalid", hctx, max_feature);
  }
  const auto per_iter = get<long long>(header, "num_tree_per_iteration", hctx, 1)[0];
  const auto num_class = get<long long>(header, "num_class", hctx, 1)[0];
  if (per_iter < 1 || per_iter > 100000 || num_class < 1 || num_class > 100000) {
    raise<parse_error>(where, "{}: num_tree_per_iteration = {} / num_class = {} invalid", hctx,
                       per_iter, num_class);
  }
  ensemble_header p;
  p.num_features = static_cast<std::size_t>(max_feature) + 1;
  p.num_groups = static_cast<std::size_t>(per_iter);
  p.base_margin.assign(1, 0.0);
  p.rule = split_rule::less_equal;
  p.sum = accumulation::float64;
  p.average_output = header.kv.find(std::string_view("average_output")) != header.kv.end();
  const auto obj = header.kv.find(std::string_view("objective"));
  if (obj == header.kv.end()) raise<parse_error>(where, "{}: missing field 'objective'", hctx);
  apply_objective(trim(obj->second), p, src);
  if (const auto names = header.kv.find(std::string_view("feature_names"));
      names != header.kv.end()) {
    std::string_view rest = names->second;
    while (!rest.empty()) {
      const auto sp = rest.find(' ');
      const auto name = rest.substr(0, sp);
      if (!name.empty()) p.feature_names.emplace_back(name);
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp + 1);
    }
  }
  if (const auto v = header.kv.find(std::string_view("version")); v != header.kv.end()) {
    p.source_version = fmt::format("lightgbm {:.32}", trim(v->second));
  }
  if (trees.size() % p.num_groups != 0) {
    raise<parse_error>(where, "{}: {} trees is not a multiple of num_tree_per_iteration = {}", src,
                       trees.size(), p.num_groups);
  }
  std::vector<tree> out;
  out.reserve(trees.size());
  for (std::size_t k = 0; k < trees.size(); ++k) {
    auto tr = parse_tree(trees[k], k, p.num_features, src);
    tr.group = static_cast<std::int32_t>(k % p.num_groups);
    out.push_back(std::move(tr));
  }
  try {
    return tree_ensemble(std::move(p), std::move(out));
  } catch (const parse_error& e) {
    raise<parse_error>(where, "{}: {}", src, e.what());
  }
}

tree_ensemble load_lightgbm(const std::filesystem::path& path) {
  return parse_lightgbm(read_file(path), path.string());
}

}  // namespace funnel::scoring
