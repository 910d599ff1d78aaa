// Fuzz target: a features pipeline document (features::any_pipeline::from_json). An unfitted
// pipeline is fitted on a small batch; then rows (typical values, all missing) and a batch are
// transformed, the output names listed, and the pipeline saved and reloaded.
#include <funnel/features/pipeline.hpp>

#include <string_view>
#include <vector>

#include "fuzz_common.hpp"

namespace ff = funnel::features;

namespace {

constexpr std::size_t batch_rows = 8;

// Values for row i of column c: varied, including missing ones.
float num_value(std::size_t i) {
  const float v[] = {0.0F, 1.5F, -3.0F, 1e9F, std::numeric_limits<float>::quiet_NaN(), 7.0F};
  return v[i % 6];
}
std::string_view str_value(std::size_t i) {
  const std::string_view v[] = {"a", "b", "", "a longer category value", "b", "c"};
  return v[i % 6];
}
std::int64_t int_value(std::size_t i) {
  const std::int64_t v[] = {0, 1, -1, 1000000007, ff::missing_integer, 2};
  return v[i % 6];
}

// A batch views its columns: the values live here, beside it.
struct owned_batch {
  std::vector<std::vector<float>> num;
  std::vector<std::vector<std::string_view>> str;
  std::vector<std::vector<std::int64_t>> ints;
  ff::batch b;

  explicit owned_batch(const ff::schema& s) : num(s.size()), str(s.size()), ints(s.size()), b(s) {
    for (std::size_t c = 0; c < s.size(); ++c) {
      for (std::size_t i = 0; i < batch_rows; ++i) {
        num[c].push_back(num_value(i + c));
        str[c].push_back(str_value(i + c));
        ints[c].push_back(int_value(i + c));
      }
      switch (s[c].type) {
        case ff::column_type::numeric:
          b.set(c, num[c]);
          break;
        case ff::column_type::string:
          b.set(c, str[c]);
          break;
        case ff::column_type::integer:
          b.set(c, ints[c]);
          break;
      }
    }
  }
};

void transform_row(const ff::any_pipeline& p, std::size_t salt, bool all_missing) {
  const auto& s = p.get_schema();
  ff::row r(s);
  if (!all_missing) {
    for (std::size_t c = 0; c < s.size(); ++c) {
      switch (s[c].type) {
        case ff::column_type::numeric:
          r.set(c, num_value(salt + c));
          break;
        case ff::column_type::string:
          r.set(c, str_value(salt + c));
          break;
        case ff::column_type::integer:
          r.set(c, int_value(salt + c));
          break;
      }
    }
  }
  std::vector<float> out(p.width());
  funnel::fuzz::expect_typed_errors([&] { p.transform(r, out); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    auto p = ff::any_pipeline::from_json(funnel::fuzz::json_of(data, size));
    const owned_batch owned(p.get_schema());
    const auto& b = owned.b;
    if (!p.fitted()) {
      std::vector<float> target(batch_rows);
      for (std::size_t i = 0; i < batch_rows; ++i) target[i] = static_cast<float>(i % 2);
      p.fit(b, target);
    }
    if (p.width() > funnel::fuzz::max_probe_width) return;
    for (std::size_t salt = 0; salt < 3; ++salt) transform_row(p, salt, false);
    transform_row(p, 0, true);
    funnel::fuzz::expect_typed_errors([&] { (void)p.transform(b); });
    (void)p.output_names();
    (void)ff::any_pipeline::from_json(p.to_json());
  });
  return 0;
}
