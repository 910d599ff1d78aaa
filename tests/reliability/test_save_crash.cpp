// Crash safety of saves: a child process saves an object in a loop (alternating two versions)
// and is SIGKILLed at a random moment; the file must then be absent (only if it never existed),
// exactly the old bytes or exactly the new bytes, and load. Never torn.
#include <funnel/core/file.hpp>
#include <funnel/core/vecs.hpp>
#include <funnel/scoring/tree_ensemble.hpp>
#include <funnel/scoring/xgboost.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "../../fuzz/samples.hpp"
#include "funnel_catch.hpp"

namespace fs = std::filesystem;
namespace samples = funnel::samples;

namespace {

/// One saveable kind: save version 0 or 1 of it, and load a file back (throws if it cannot).
struct saveable {
  std::string name;
  std::function<void(const fs::path&, int)> save;
  std::function<void(const fs::path&)> load;
};

template <class T, class Load>
saveable make(std::string name, std::shared_ptr<const T> a, std::shared_ptr<const T> b, Load load) {
  return {std::move(name), [a, b](const fs::path& p, int which) { (which == 0 ? a : b)->save(p); },
          [load](const fs::path& p) { (void)load(p); }};
}

std::vector<saveable> every_saveable() {
  using funnel::scoring::tree_ensemble;
  std::vector<saveable> all;
  const auto xgb_a = std::make_shared<const tree_ensemble>(
      funnel::scoring::load_xgboost(funnel::test::data("trees/xgb/agaricus_logistic.json")));
  const auto xgb_b = std::make_shared<const tree_ensemble>(
      funnel::scoring::load_xgboost(funnel::test::data("trees/xgb/credit_poisson.json")));
  all.push_back(make("tree_ensemble", xgb_a, xgb_b, &tree_ensemble::load));
  all.push_back({"xgboost_json",
                 [xgb_a, xgb_b](const fs::path& p, int which) {
                   funnel::scoring::save_xgboost_json(which == 0 ? *xgb_a : *xgb_b, p);
                 },
                 [](const fs::path& p) { (void)funnel::scoring::load_xgboost(p); }});
  all.push_back(make(
      "logistic", std::make_shared<const funnel::scoring::logistic_model>(samples::logistic(0.1)),
      std::make_shared<const funnel::scoring::logistic_model>(samples::logistic(-2.0)),
      &funnel::scoring::logistic_model::load));
  all.push_back(
      make("features",
           std::make_shared<const funnel::features::any_pipeline>(samples::features_fitted()),
           std::make_shared<const funnel::features::any_pipeline>(samples::features_unfitted()),
           [](const fs::path& p) { return funnel::features::any_pipeline::load(p); }));
  all.push_back(make("hnsw",
                     std::make_shared<const funnel::retrieval::hnsw_index>(samples::hnsw(20)),
                     std::make_shared<const funnel::retrieval::hnsw_index>(samples::hnsw(300)),
                     [](const fs::path& p) { return funnel::retrieval::hnsw_index::load(p); }));
  using funnel::bandits::policy_kind;
  all.push_back(make(
      "mab", std::make_shared<const funnel::bandits::mab>(samples::mab(policy_kind::ucb1)),
      std::make_shared<const funnel::bandits::mab>(samples::mab(policy_kind::thompson_gaussian)),
      &funnel::bandits::mab::load));
  using funnel::bandits::linear_kind;
  all.push_back(make(
      "linear_bandit",
      std::make_shared<const funnel::bandits::linear_bandit>(samples::linear(linear_kind::lin_ucb)),
      std::make_shared<const funnel::bandits::linear_bandit>(
          samples::linear(linear_kind::lin_thompson)),
      &funnel::bandits::linear_bandit::load));
  all.push_back(
      make("drift_profile",
           std::make_shared<const funnel::drift::reference_profile>(samples::drift_profile(200)),
           std::make_shared<const funnel::drift::reference_profile>(samples::drift_profile(50)),
           &funnel::drift::reference_profile::load));
  all.push_back(make("als", std::make_shared<const funnel::retrieval::als_model>(samples::als(3)),
                     std::make_shared<const funnel::retrieval::als_model>(samples::als(5)),
                     &funnel::retrieval::als_model::load));
  all.push_back(
      make("popularity",
           std::make_shared<const funnel::retrieval::popularity_model>(samples::popularity(true)),
           std::make_shared<const funnel::retrieval::popularity_model>(samples::popularity(false)),
           &funnel::retrieval::popularity_model::load));
  all.push_back(
      make("covisitation",
           std::make_shared<const funnel::retrieval::covisitation_model>(samples::covisitation(50)),
           std::make_shared<const funnel::retrieval::covisitation_model>(samples::covisitation(2)),
           &funnel::retrieval::covisitation_model::load));
  const auto m_a = std::make_shared<const funnel::matrix>(3, 4, 0.5F);
  const auto m_b = std::make_shared<const funnel::matrix>(50, 8, -1.0F);
  all.push_back({"fvecs",
                 [m_a, m_b](const fs::path& p, int which) {
                   funnel::write_fvecs(p, (which == 0 ? m_a : m_b)->view());
                 },
                 [](const fs::path& p) { (void)funnel::read_fvecs(p); }});
  return all;
}

std::string bytes_of(const fs::path& p) {
  return funnel::read_file(p);
}

}  // namespace

TEST_CASE(
    "save: a writer SIGKILLed at any moment leaves the old file or the new one, never a torn one") {
  const auto dir = funnel::test::scratch_dir("save-crash");
  const auto objects = every_saveable();
  constexpr int kills_per_object = 20;
  std::mt19937_64 rng(20261206);
  int kills = 0;
  int absent = 0;
  int old_seen = 0;
  int new_seen = 0;
  int leftover_temps = 0;
  for (const auto& o : objects) {
    INFO(o.name);
    o.save(dir / (o.name + ".a"), 0);
    o.save(dir / (o.name + ".b"), 1);
    const auto a = bytes_of(dir / (o.name + ".a"));
    const auto b = bytes_of(dir / (o.name + ".b"));
    REQUIRE(a != b);
    // A save's duration sets the range the kill moment is drawn from.
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) o.save(dir / (o.name + ".timing"), i % 2);
    const auto save_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count() /
        3;
    std::uniform_int_distribution<long> delay_us(0, 3 * save_us + 200);
    const auto target = dir / o.name;
    for (int k = 0; k < kills_per_object; ++k) {
      INFO("kill " << k);
      const bool existed = fs::exists(target);
      // Even kills land anywhere from the start (the first save may be cut: no file); the odd
      // ones wait until the child has completed one save, so a loaded machine, where a
      // forked child's first save can take many times the parent's, still kills mid-rewrite.
      const bool after_first_save = k % 2 == 1;
      int ready[2];
      REQUIRE(::pipe(ready) == 0);
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        ::close(ready[0]);
        try {
          for (int i = k;; ++i) {
            o.save(target, i % 2);
            if (i == k) {
              const char done = 1;
              (void)!::write(ready[1], &done, 1);
              ::close(ready[1]);
            }
          }
        } catch (...) {
          ::_exit(3);
        }
      }
      ::close(ready[1]);
      if (after_first_save) {
        char done = 0;
        REQUIRE(::read(ready[0], &done, 1) == 1);
      }
      ::close(ready[0]);
      ::usleep(static_cast<useconds_t>(delay_us(rng)));
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
      REQUIRE(WIFSIGNALED(status));  // the child was saving until killed (never failed)
      ++kills;
      if (!fs::exists(target)) {
        CHECK_FALSE(existed);
        ++absent;
      } else {
        const auto got = bytes_of(target);
        const bool is_old = got == a;
        const bool is_new = got == b;
        CHECK((is_old || is_new));
        old_seen += is_old ? 1 : 0;
        new_seen += is_new ? 1 : 0;
        CHECK_NOTHROW(o.load(target));
      }
      // Temporary files of killed writers stay behind (no process could tell them from a live
      // writer's); they never take the target's name and never make the next save fail.
      for (const auto& e : fs::directory_iterator(dir)) {
        const auto n = e.path().filename().string();
        if (n.rfind(o.name + ".tmp.", 0) == 0) {
          fs::remove(e.path());
          ++leftover_temps;
        }
      }
    }
  }
  std::printf(
      "kill-during-save: %d kills over %zu saveable kinds: %d absent (never written), "
      "%d version A, %d version B, 0 torn; %d temporary files left by killed writers\n",
      kills, objects.size(), absent, old_seen, new_seen, leftover_temps);
  CHECK(kills == kills_per_object * static_cast<int>(objects.size()));
  CHECK(old_seen > 0);
  CHECK(new_seen > 0);
}
