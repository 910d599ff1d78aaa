#include <funnel/scoring/logistic.hpp>
#include <funnel/scoring/logistic_ftrl.hpp>
#include <funnel/scoring/tree_ensemble.hpp>

#include "legacy_types.hpp"

TEST_CASE("scoring models: documents of the previous release (untyped names) still load") {
  namespace fs_ = funnel::scoring;
  const auto dir = funnel::test::module_data("scoring");
  // Version-1 documents: the current writers write version 2 (same fields plus names), so the
  // check is the round trip and the relabelled current document, not byte equality.
  const auto lr = funnel::load_json_file(dir + "legacy_logistic_regression_v1.json");
  funnel::test::check_legacy_document<fs_::logistic_model>(lr, "logistic_regression",
                                                           "funnel.scoring.logistic_model", false);
  CHECK(fs_::logistic_model::from_json(lr) ==
        fs_::logistic_model::from_json(fs_::logistic_model::from_json(lr).to_json()));
  funnel::test::check_legacy_document<fs_::ftrl_logistic>(
      funnel::load_json_file(dir + "legacy_ftrl_logistic_v1.json"), "ftrl_logistic",
      "funnel.scoring.ftrl_logistic", false);
  const auto te = funnel::load_json_file(dir + "legacy_tree_ensemble_v1.json");
  funnel::test::check_legacy_document<fs_::tree_ensemble>(te, "funnel.tree_ensemble",
                                                          "funnel.scoring.tree_ensemble", false);
  CHECK(fs_::tree_ensemble::from_json(te) ==
        fs_::tree_ensemble::from_json(fs_::tree_ensemble::from_json(te).to_json()));
}
