// Fuzz target: CSV (funnel::parse_csv with and without a header), then every accessor of the
// table: numeric and string columns, cells, missing flags, lines.
#include <funnel/core/csv.hpp>

#include "fuzz_common.hpp"

namespace {
void use(const funnel::csv_table& t) {
  for (std::size_t c = 0; c < t.cols(); ++c) {
    funnel::fuzz::expect_typed_errors([&] { (void)t.numeric(c); });
    (void)t.strings(c);
    (void)t.column_index(t.columns()[c]);
    for (std::size_t r = 0; r < t.rows(); ++r) {
      (void)t.cell(r, c);
      (void)t.is_missing(r, c);
    }
  }
  for (std::size_t r = 0; r < t.rows(); ++r) (void)t.line_of(r);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = funnel::fuzz::text_of(data, size);
  funnel::fuzz::expect_typed_errors([&] { use(funnel::parse_csv(text, "fuzz.csv")); });
  funnel::fuzz::expect_typed_errors([&] {
    funnel::csv_options o;
    o.header = false;
    o.delimiter = '\t';
    use(funnel::parse_csv(text, "fuzz.tsv", o));
  });
  return 0;
}
