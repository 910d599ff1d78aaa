#include "serving.hpp"

#include <funnel/core/error.hpp>
#include <funnel/core/file.hpp>
#include <funnel/core/timer.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "pipeline_parts.hpp"

namespace movie {

namespace {

using detail::fp::pipeline_options;
using funnel::scoring::tree_ensemble;
namespace fr = funnel::retrieval;
namespace ff = funnel::features;
using registry_ptr = std::shared_ptr<serving_system::ranker_registry>;
using served_pipeline = decltype(detail::make_served_pipeline(
    std::declval<const std::shared_ptr<const detail::knowledge>&>(),
    std::declval<const detail::piped_features&>(), std::declval<registry_ptr>(),
    std::declval<const std::shared_ptr<detail::explore_state>&>(), std::declval<const options&>(),
    std::declval<const pipeline_options&>()));

}  // namespace

/// What a save holds: the rankers (without the evaluation's logistic and hand-feature models,
/// which the service does not serve) and the retrieval models.
struct saved_models {
  detail::rankers models;
  detail::fitted_retrievers retrievers;
};

struct serving_system::impl {
  impl(const dataset& data, const serving_options& so, const std::string& version,
       saved_models* saved = nullptr)
      : opt(so.model),
        models(saved != nullptr ? std::move(saved->models) : train(data, so)),
        kb(detail::learn(data, data.log, opt, say(), saved ? &saved->retrievers : nullptr)),
        hist(detail::build_histories(data.log)),
        registry(std::make_shared<ranker_registry>()),
        bandit(detail::make_bandit_state(opt)),
        pipe(make(data, so, version)) {
    for (std::uint32_t u = 0; u < data.log.num_users(); ++u)
      dense.emplace(data.log.users().external(u), u);
  }

  [[nodiscard]] std::function<void(std::string)> say() const {
    return [this](const std::string& line) {
      if (opt.progress) opt.progress(line);
    };
  }
  detail::rankers train(const dataset& data, const serving_options& so) const {
    split_report ignored;
    return detail::train_ranker(data, data.log, so.per_user_labels, opt, ignored, say());
  }
  served_pipeline make(const dataset& /*data*/, const serving_options& so,
                       const std::string& version) {
    registry->add(version, std::make_shared<const tree_ensemble>(models.gbdt));
    bandit->keep_journal = false;
    return detail::make_served_pipeline(kb, detail::piped_features{kb, models.features}, registry,
                                        bandit, opt, so.pipeline);
  }

  options opt;
  detail::rankers models;
  std::shared_ptr<const detail::knowledge> kb;
  detail::histories hist;
  registry_ptr registry;
  std::shared_ptr<detail::explore_state> bandit;
  served_pipeline pipe;
  std::unordered_map<std::uint64_t, std::uint32_t> dense;  // user id -> row of hist
};

serving_system::serving_system(const dataset& data, const serving_options& so,
                               const std::string& version)
    : impl_(std::make_unique<impl>(data, so, version)) {}

serving_system::serving_system(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

serving_system::~serving_system() = default;

namespace {

constexpr const char* manifest_type = "funnel.example.trained_models";
constexpr int format_version = 1;
constexpr std::string_view matrix_magic = "FNLMAT1\n";

struct fnv1a {
  std::uint64_t h = 0xcbf2'9ce4'8422'2325ULL;
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x0000'0100'0000'01b3ULL;
  }
  template <class T>
  void value(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes(&v, sizeof v);
  }
  void text(std::string_view s) {
    value(s.size());
    bytes(s.data(), s.size());
  }
  [[nodiscard]] std::string hex() const { return fmt::format("{:016x}", h); }
};

std::string checksum(std::string_view bytes) {
  fnv1a f;
  f.bytes(bytes.data(), bytes.size());
  return f.hex();
}

std::string matrix_bytes(const funnel::matrix& m) {
  std::string out(matrix_magic);
  const std::uint64_t dims[2] = {m.rows(), m.cols()};
  out.append(reinterpret_cast<const char*>(dims), sizeof dims);
  out.append(reinterpret_cast<const char*>(m.data()), m.rows() * m.cols() * sizeof(float));
  return out;
}

funnel::matrix matrix_from(std::string_view bytes, std::string_view name) {
  std::uint64_t dims[2] = {0, 0};
  const std::size_t head = matrix_magic.size() + sizeof dims;
  if (bytes.size() < head || bytes.substr(0, matrix_magic.size()) != matrix_magic)
    funnel::raise<funnel::parse_error>("app.serving_system", "{}: not a saved matrix", name);
  std::memcpy(dims, bytes.data() + matrix_magic.size(), sizeof dims);
  if (dims[0] > (1U << 28) || dims[1] > (1U << 16) ||
      bytes.size() != head + dims[0] * dims[1] * sizeof(float)) {
    funnel::raise<funnel::parse_error>("app.serving_system",
                                       "{}: {} x {} floats do not match its {} bytes", name,
                                       dims[0], dims[1], bytes.size());
  }
  funnel::matrix m(dims[0], dims[1]);
  std::memcpy(m.data(), bytes.data() + head, dims[0] * dims[1] * sizeof(float));
  return m;
}

}  // namespace

std::string serving_system::fingerprint(const dataset& data, const serving_options& so) {
  fnv1a f;
  f.text(manifest_type);
  f.value(format_version);
  const auto& log = data.log;
  f.value(log.size());
  for (const auto& r : log.interactions()) {
    f.value(log.users().external(r.user));
    f.value(log.items().external(r.item));
    f.value(r.timestamp);
    f.value(r.weight);
  }
  std::vector<std::uint64_t> ids;
  for (const auto& [id, _] : data.movies) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (const auto id : ids) {
    const auto& m = data.movies.at(id);
    f.value(id);
    f.text(m.title);
    f.value(m.year);
    for (const auto& g : m.genres) f.text(g);
    f.value(m.genres.size());
  }
  const auto& o = so.model;
  for (const double v : {o.test_quantile, o.label_quantile, o.als_alpha, o.als_regularization,
                         o.mmr_lambda, o.explore_epsilon})
    f.value(v);
  for (const std::size_t v :
       {o.k, o.min_test_users, o.als_factors, o.als_iterations, o.hnsw_m, o.hnsw_ef_construction,
        o.hnsw_ef, o.gbdt_rounds, o.max_ranker_users, o.quota, o.explore_position, o.explore_depth})
    f.value(v);
  f.value(o.seed);
  f.value(so.per_user_labels);
  return f.hex();
}

void serving_system::save(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  // Without its manifest a directory is never loaded: gone first, written last.
  std::filesystem::remove(dir / "manifest.json");
  const auto& m = impl_->models;
  const auto& kb = *impl_->kb;
  auto manifest = funnel::json_header(manifest_type, format_version);
  funnel::json files = funnel::json::array();
  const auto add = [&](const std::string& name, const std::string& bytes) {
    funnel::write_file_atomic(dir / name, bytes);
    files.push_back({{"name", name}, {"bytes", bytes.size()}, {"fnv1a", checksum(bytes)}});
  };
  add("als.json", kb.als->to_json().dump());
  add("covisitation.json", kb.covis->to_json().dump());
  add("popularity.json", kb.pop->to_json().dump());
  add("features.json", m.features->to_json().dump());
  add("ranker.json", m.gbdt.to_json().dump());
  add("reference.bin", matrix_bytes(m.train_features));
  add("hnsw.bin", kb.ann->serialize());
  manifest["files"] = std::move(files);
  funnel::write_file_atomic(dir / "manifest.json", manifest.dump(2));
}

std::unique_ptr<serving_system> serving_system::load(const dataset& data, const serving_options& so,
                                                     const std::filesystem::path& dir,
                                                     const std::string& version) {
  const auto manifest = funnel::load_json_file(dir / "manifest.json");
  funnel::check_json_header(manifest, manifest_type, format_version, "trained models");
  std::map<std::string, std::string> bytes;
  for (const auto& f : funnel::json_field(manifest, "files", "trained models")) {
    const auto name = funnel::json_get<std::string>(f, "name", "trained models");
    auto b = funnel::read_file(dir / name);
    if (b.size() != funnel::json_get<std::size_t>(f, "bytes", "trained models") ||
        checksum(b) != funnel::json_get<std::string>(f, "fnv1a", "trained models")) {
      funnel::raise<funnel::parse_error>("app.serving_system",
                                         "{}: size or checksum differs from the manifest (damaged)",
                                         (dir / name).string());
    }
    bytes.emplace(name, std::move(b));
  }
  const auto file = [&](const std::string& name) -> const std::string& {
    const auto it = bytes.find(name);
    if (it == bytes.end())
      funnel::raise<funnel::parse_error>("app.serving_system", "manifest lacks {}", name);
    return it->second;
  };
  const auto json_of = [&](const std::string& name) {
    return funnel::parse_json(file(name), name);
  };
  saved_models saved;
  auto& r = saved.retrievers;
  r.als = std::make_shared<const fr::als_model>(fr::als_model::from_json(json_of("als.json")));
  r.covis = std::make_shared<const fr::covisitation_model>(
      fr::covisitation_model::from_json(json_of("covisitation.json")));
  r.pop = std::make_shared<const fr::popularity_model>(
      fr::popularity_model::from_json(json_of("popularity.json")));
  r.ann = std::make_shared<const fr::hnsw_index>(
      fr::hnsw_index::deserialize(file("hnsw.bin"), (dir / "hnsw.bin").string()));
  if (r.ann->size() != r.als->items().size()) {
    funnel::raise<funnel::parse_error>("app.serving_system",
                                       "hnsw.bin holds {} items, the ALS model {}", r.ann->size(),
                                       r.als->items().size());
  }
  auto& m = saved.models;
  m.features = std::make_shared<const ff::any_pipeline>(
      ff::any_pipeline::from_json(json_of("features.json")));
  m.feature_names = m.features->output_names();
  m.gbdt = tree_ensemble::from_json(json_of("ranker.json"));
  m.train_features = matrix_from(file("reference.bin"), "reference.bin");
  if (m.train_features.cols() != m.feature_names.size()) {
    funnel::raise<funnel::parse_error>("app.serving_system",
                                       "reference.bin has {} columns, the features pipeline {}",
                                       m.train_features.cols(), m.feature_names.size());
  }
  // The pipeline binds the ranker to the features by name (registry add): a mismatch throws.
  return std::unique_ptr<serving_system>(
      new serving_system(std::make_unique<impl>(data, so, version, &saved)));
}

std::shared_ptr<serving_system> start_system(const dataset& data, const serving_options& so,
                                             const std::filesystem::path& root,
                                             start_report* report) {
  start_report rep;
  funnel::stopwatch clock;
  std::shared_ptr<serving_system> sys;
  const auto dir = root.empty() ? root : root / serving_system::fingerprint(data, so);
  if (!dir.empty() && std::filesystem::exists(dir / "manifest.json")) {
    try {
      sys = serving_system::load(data, so, dir);
      rep.loaded = true;
    } catch (const std::exception& e) {
      rep.note = fmt::format("saved models in {} not used ({}): training", dir.string(), e.what());
    }
  }
  if (!sys) {
    sys = std::make_shared<serving_system>(data, so);
    if (!dir.empty()) {
      try {
        sys->save(dir);
      } catch (const std::exception& e) {
        rep.note += fmt::format("{}could not save the trained models: {}",
                                rep.note.empty() ? "" : "; ", e.what());
      }
    }
  }
  rep.seconds = clock.elapsed_us() * 1e-6;
  if (report != nullptr) *report = std::move(rep);
  return sys;
}

served_slate serving_system::recommend(std::uint64_t request_id, std::uint64_t user,
                                       std::size_t k) const {
  detail::fp::request req;
  req.id = request_id;
  req.slate_size = k;
  req.query.user = user;
  served_slate out;
  if (const auto it = impl_->dense.find(user); it != impl_->dense.end()) {
    req.query = detail::query_for(user, impl_->hist, it->second);
    out.known_user = true;
  }
  detail::last_exploration.reset();
  out.result = impl_->pipe.run(req);
  if (const auto& e = detail::last_exploration) {
    const auto pos = std::find_if(out.result.slate.begin(), out.result.slate.end(),
                                  [&](const funnel::candidate& c) { return c.id == e->item; });
    if (pos != out.result.slate.end()) {
      out.explored = exploration_decision{
          e->item, static_cast<std::size_t>(pos - out.result.slate.begin()), e->arm, e->propensity};
    }
  }
  return out;
}

bool serving_system::knows(std::uint64_t user) const {
  return impl_->dense.contains(user);
}

serving_system::ranker_registry& serving_system::rankers() noexcept {
  return *impl_->registry;
}

const funnel::scoring::tree_ensemble& serving_system::trained_ranker() const noexcept {
  return impl_->models.gbdt;
}

const std::vector<std::string>& serving_system::feature_names() const noexcept {
  return impl_->models.feature_names;
}

funnel::matrix serving_system::reference_rows(std::size_t max_rows) const {
  const auto& x = impl_->models.train_features;
  const std::size_t n = std::min(max_rows, x.rows());
  const std::size_t stride = n == 0 ? 1 : std::max<std::size_t>(1, x.rows() / n);
  funnel::matrix out(n, x.cols() + 1);
  for (std::size_t i = 0; i < n; ++i) {
    const auto row = x.row(i * stride);
    std::copy(row.begin(), row.end(), out.row(i).begin());
    out(i, x.cols()) = impl_->models.gbdt.score(row);
  }
  return out;
}

void serving_system::set_feature_logger(funnel::pipeline::feature_logger logger) {
  impl_->pipe.set_feature_logger(std::move(logger));
}

void serving_system::reward(std::uint64_t arm, double value) {
  const std::lock_guard lock(impl_->bandit->mu);
  impl_->bandit->bandit.update(arm, value);
}

funnel::json serving_system::bandit_state() const {
  const std::lock_guard lock(impl_->bandit->mu);
  return impl_->bandit->bandit.to_json();
}

void serving_system::restore_bandit(const funnel::json& state) {
  auto restored = funnel::bandits::mab::from_json(state);
  if (restored.size() != detail::depth_arms) {
    funnel::raise<funnel::parse_error>("app.serving_system",
                                       "bandit state has {} arms, the exploration slot {}",
                                       restored.size(), detail::depth_arms);
  }
  const std::lock_guard lock(impl_->bandit->mu);
  impl_->bandit->bandit = std::move(restored);
}

std::vector<explore_arm> serving_system::bandit_arms() const {
  const std::lock_guard lock(impl_->bandit->mu);
  const auto& b = impl_->bandit->bandit;
  std::vector<double> p(b.size());
  b.propensities(p);
  std::vector<explore_arm> out;
  const auto arms = b.arms();
  for (std::size_t a = 0; a < arms.size(); ++a) {
    const auto id = static_cast<std::size_t>(arms[a].id);
    out.push_back(
        {fmt::format("ranks +[{}, {})", detail::depth_edges[id], detail::depth_edges[id + 1]),
         static_cast<std::size_t>(arms[a].n), arms[a].mean, p[a]});
  }
  return out;
}

std::size_t serving_system::users() const noexcept {
  return impl_->dense.size();
}

std::size_t serving_system::items() const noexcept {
  return impl_->kb->items.size();
}

}  // namespace movie
