// Fit a feature pipeline on lending_club.csv, save it, load it as a run-time pipeline, and
// serve one row without allocating: the served row equals the training batch's row bit for bit.
#include <funnel/features.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace ff = funnel::features;

int main() {
  // 1. The input columns, by name and type (the host resolves indices once).
  const ff::schema schema({{"funded_amnt", ff::column_type::numeric},
                           {"annual_inc", ff::column_type::numeric},
                           {"int_rate", ff::column_type::numeric},
                           {"sub_grade", ff::column_type::string},
                           {"addr_state", ff::column_type::string},
                           {"Class", ff::column_type::string}});

  // 2. Training data: a columnar batch (here read from CSV into an owning table).
  const ff::table train(schema, funnel::read_csv("tests/data/lending_club.csv"));
  std::vector<float> bad;  // target: 1 for a bad loan
  for (auto c : train.view().string_column(schema.index("Class"))) bad.push_back(c == "bad");

  // 3. A compile-time pipeline: each component reads input columns, writes output columns.
  ff::imputer median;
  median.strategy = ff::impute_strategy::median;
  ff::pipeline p(
      schema,
      ff::numeric_column("annual_inc", {median, ff::log_transform{}, ff::standard_scaler{}},
                         {.missing_indicator = true}),
      ff::numeric_column("funded_amnt", {ff::robust_scaler{}}),
      ff::numeric_column("int_rate", {ff::quantile_bucketizer{}}),
      ff::one_hot("addr_state", {.handle_unknown = ff::unknown_policy::other, .min_frequency = 50}),
      ff::target_encoder("sub_grade", {.smoothing = 20.0}),
      ff::hashed_cross({"sub_grade", "addr_state"}, {.num_buckets = 64}));

  // 4. Fit; the training matrix encodes sub_grade out of fold (no row sees its own label).
  const auto folds = ff::make_folds(train.rows(), 5, /*seed=*/42);
  const funnel::matrix X = p.fit_transform(train.view(), bad, folds);
  std::printf("%zu rows x %zu features; first: %s\n", X.rows(), X.cols(),
              p.output_names().front().c_str());

  // 5. Ship it: one JSON file, loaded by the serving process as a run-time pipeline.
  const auto file = std::filesystem::temp_directory_path() / "funnel_features_example.json";
  p.save(file);
  const auto served = ff::any_pipeline::load(file);

  // 6. Serving: a reusable row and output buffer, filled by index; no heap allocation per call.
  ff::row r(served.get_schema());
  std::vector<float> out(served.width());
  r.set(schema.index("funded_amnt"), 16100.0F);
  r.set(schema.index("annual_inc"), 35000.0F);
  r.set(schema.index("int_rate"), 13.99F);
  r.set(schema.index("sub_grade"), std::string_view("C4"));
  r.set(schema.index("addr_state"), std::string_view("CT"));
  r.set(schema.index("Class"), std::string_view("good"));  // in the schema, unused by components
  served.transform(r, out);

  // The first CSV row has exactly these values: the batch path gives the same bits for it,
  // except the target-encoded column, which in X is out of fold by design.
  const funnel::matrix batch = p.transform(train.view());
  if (std::memcmp(batch.row(0).data(), out.data(), out.size() * sizeof(float)) != 0) {
    std::puts("training/serving skew!");
    return 1;
  }
  std::printf("served row == batch row 0 bit for bit (%zu values)\n", out.size());
  return 0;
}
