#include <funnel/retrieval/als.hpp>
#include <funnel/retrieval/covisitation.hpp>
#include <funnel/retrieval/popularity.hpp>

#include "legacy_types.hpp"

TEST_CASE("retrieval models: documents of the previous release (untyped names) still load") {
  namespace fr = funnel::retrieval;
  const auto dir = funnel::test::module_data("retrieval");
  funnel::test::check_legacy_document<fr::als_model>(
      funnel::load_json_file(dir + "legacy_als_model.json"), "als_model",
      "funnel.retrieval.als_model", true);
  funnel::test::check_legacy_document<fr::popularity_model>(
      funnel::load_json_file(dir + "legacy_popularity_model.json"), "popularity_model",
      "funnel.retrieval.popularity_model", true);
  funnel::test::check_legacy_document<fr::covisitation_model>(
      funnel::load_json_file(dir + "legacy_covisitation_model.json"), "covisitation_model",
      "funnel.retrieval.covisitation_model", true);
}
