// Fuzz target: a run-time pipeline configuration (pipeline::stage_registry::build) against a
// registry of host stages, item attributes and feature tables, then one request through the
// built pipeline (retrieval, filters, features, ranking, the configured re-rankers).
#include <funnel/pipeline.hpp>

#include <memory>
#include <vector>

#include "fuzz_common.hpp"

namespace fp = funnel::pipeline;
using funnel::candidate_list;

namespace {

constexpr std::size_t catalog = 12;  // items 0..11
constexpr std::size_t dim = 4;

struct fixed_retriever {
  candidate_list items;
  candidate_list retrieve(const fp::request& /*q*/, std::size_t k) const {
    auto out = items;
    if (out.size() > k) out.resize(k);
    return out;
  }
};
struct id_feature {
  std::size_t width() const { return 1; }
  void build(const fp::request& /*q*/, std::span<const funnel::candidate> c,
             std::span<float> out) const {
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = static_cast<float>(c[i].id);
  }
};
// Sums each row, whatever its width (a features stage from the document sets the width).
struct sum_scorer {
  float sign;
  void score_batch(funnel::matrix_view rows, std::span<float> out) const {
    for (std::size_t i = 0; i < rows.rows(); ++i) {
      float s = 0;
      for (std::size_t j = 0; j < rows.cols(); ++j) s += rows(i, j);
      out[i] = sign * s;
    }
  }
};
struct drop_last {
  void rerank(candidate_list& c, const fp::request& /*q*/) const {
    if (!c.empty()) c.pop_back();
  }
};

const fp::stage_registry& host_stages() {
  static const fp::stage_registry registry = [] {
    fp::stage_registry s;
    candidate_list ann;
    for (std::uint64_t i = 0; i < catalog; ++i) {
      ann.push_back({i, 1.0F - 0.05F * static_cast<float>(i)});
    }
    s.add_retriever("ann", fp::any_retrieval_stage(fixed_retriever{ann}));
    // 99 is in no attribute or feature table: unknown_items policies meet it.
    s.add_retriever("popular",
                    fp::any_retrieval_stage(fixed_retriever{{{1, 10.0F}, {5, 9.0F}, {99, 8.0F}}}));
    s.add_filter("seen", fp::any_filter_stage(fp::seen_filter{}));
    s.add_filter("blocked", fp::any_filter_stage(fp::blocklist_filter({6})));
    s.add_features("ids", fp::any_feature_stage(id_feature{}));
    auto models = std::make_shared<fp::model_registry<fp::any_scoring_stage>>();
    models->add("v1", std::make_shared<const fp::any_scoring_stage>(sum_scorer{1.0F}));
    models->add("v2", std::make_shared<const fp::any_scoring_stage>(sum_scorer{-1.0F}));
    s.add_models("ranker", models);
    s.add_scorer("lr", std::make_shared<const fp::any_scoring_stage>(sum_scorer{-1.0F}));
    s.add_reranker("drop_last", fp::any_rerank_stage(drop_last{}));

    auto emb = std::make_shared<funnel::matrix>(catalog, dim);
    std::vector<std::uint64_t> genre(catalog), dedup(catalog);
    std::vector<double> time(catalog);
    for (std::size_t i = 0; i < catalog; ++i) {
      for (std::size_t j = 0; j < dim; ++j) {
        (*emb)(i, j) = static_cast<float>((i * 3 + j * 5) % 7) - 3.0F + (j == 0 ? 0.5F : 0.0F);
      }
      genre[i] = i % 3;
      dedup[i] = i % 5;
      time[i] = static_cast<double>(i);
    }
    auto attrs = std::make_shared<fp::item_attributes>(fp::item_attributes::dense(catalog));
    attrs->set_embeddings(emb)
        .set_groups("genre", genre)
        .set_timestamps(time)
        .set_dedup_keys(dedup);
    s.add_item_attributes("items", attrs);

    auto users = std::make_shared<fp::feature_table>(fp::feature_table::dense(4));
    users->set_numeric({"age"}, funnel::matrix(std::vector<float>{20, 30, 40, 50}, 4, 1));
    users->add_string("country", {"fr", "de", "us", "fr"});
    s.add_feature_table("users", users);
    auto items = std::make_shared<fp::feature_table>(fp::feature_table::dense(catalog));
    std::vector<float> price(catalog);
    std::vector<std::int64_t> category(catalog);
    for (std::size_t i = 0; i < catalog; ++i) {
      price[i] = static_cast<float>(i) * 1.5F;
      category[i] = static_cast<std::int64_t>(i % 4);
    }
    items->set_numeric({"price"}, funnel::matrix(price, catalog, 1));
    items->add_integer("category", category);
    s.add_feature_table("items", items);
    return s;
  }();
  return registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto p = host_stages().build(funnel::fuzz::json_of(data, size));
    fp::request req;
    req.id = 7;
    const std::vector<std::uint64_t> seen{3};
    req.query.user = 2;
    req.query.history = seen;
    const std::vector<float> context{1.0F, 2.0F};
    req.context = context;
    req.slate_size = 5;
    const auto r = p.run(req);
    (void)r.slate.size();
  });
  return 0;
}
