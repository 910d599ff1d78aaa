#include "serving.hpp"

#include <funnel/core/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "pipeline_parts.hpp"

namespace movie {

namespace {

using detail::fp::pipeline_options;
using funnel::scoring::tree_ensemble;
using registry_ptr = std::shared_ptr<serving_system::ranker_registry>;
using served_pipeline = decltype(detail::make_served_pipeline(
    std::declval<const std::shared_ptr<const detail::knowledge>&>(),
    std::declval<const detail::piped_features&>(), std::declval<registry_ptr>(),
    std::declval<const std::shared_ptr<detail::explore_state>&>(), std::declval<const options&>(),
    std::declval<const pipeline_options&>()));

}  // namespace

struct serving_system::impl {
  impl(const dataset& data, const serving_options& so, const std::string& version)
      : opt(so.model),
        models(train(data, so)),
        kb(detail::learn(data, data.log, opt, say())),
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

serving_system::~serving_system() = default;

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
    funnel::raise<funnel::parse_error>("movie.serving_system",
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
