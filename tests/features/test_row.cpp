// The serving row: which columns a request set, and who owns its strings (issue 18, findings 2
// and 7).
#include <funnel/core/csv.hpp>
#include <funnel/features.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "features_fixture.hpp"

namespace ff = funnel::features;
using ftest::same_bits;

long funnel_test_allocations() noexcept;

namespace {

struct small {
  ff::schema schema{{{"x", ff::column_type::numeric},
                     {"state", ff::column_type::string},
                     {"n", ff::column_type::integer}}};
  std::vector<float> x = {1, 2, 3, 4};
  std::vector<std::string_view> state = {"CA", "NY", "So", "South Dakota, a long name"};
  std::vector<std::int64_t> n = {1, 2, 1, 2};

  auto fitted() const {
    ff::batch b(schema);
    b.set(0, std::span<const float>(x));
    b.set(1, std::span<const std::string_view>(state));
    b.set(2, std::span<const std::int64_t>(n));
    ff::pipeline p(schema, ff::numeric_column("x", {ff::standard_scaler{}}), ff::one_hot("state"),
                   ff::one_hot("n"));
    p.fit(b);
    return p;
  }
};

}  // namespace

TEST_CASE("row: a numeric column never set is an invalid_argument naming it, not a NaN") {
  const small s;
  const auto p = s.fitted();
  ff::row r(p.get_schema());
  std::vector<float> out(p.width());
  r.set(1, std::string_view("CA"));
  r.set(2, std::int64_t{1});
  CHECK_THROWS_AS(p.transform(r, out, 5), funnel::invalid_argument);
  CHECK_THROWS_WITH(p.transform(r, out, 5),
                    ContainsSubstring("column 'x', row 5") && ContainsSubstring("not set"));
  r.set(0, 2.0F);
  CHECK_NOTHROW(p.transform(r, out, 5));
}

TEST_CASE(
    "row: after clear() a column this request did not set raises instead of reusing the "
    "previous request's value") {
  const small s;
  const auto p = s.fitted();
  ff::row r(p.get_schema());
  std::vector<float> out(p.width());
  r.set(0, 1.0F);
  r.set(1, std::string_view("NY"));
  r.set(2, std::int64_t{2});
  p.transform(r, out);

  r.clear();  // the next request sets only x and n
  r.set(0, 3.0F);
  r.set(2, std::int64_t{1});
  CHECK_FALSE(r.is_set(1));
  CHECK(r.is_set(0));
  CHECK_THROWS_WITH(p.transform(r, out, 1), ContainsSubstring("column 'state', row 1"));

  // Marking it missing explicitly is allowed and means missing (here: unseen -> policy error).
  r.set_missing(1);
  CHECK(r.is_set(1));
  CHECK_THROWS_AS(p.transform(r, out, 1), funnel::not_found);
  r.set(1, std::string_view("CA"));
  CHECK_NOTHROW(p.transform(r, out, 1));
}

TEST_CASE(
    "row: values set once serve several transforms until clear (one request, many "
    "candidates)") {
  const small s;
  const auto p = s.fitted();
  ff::row r(p.get_schema());
  std::vector<float> a(p.width());
  std::vector<float> b(p.width());
  r.set(1, std::string_view("NY"));  // request-level column
  r.set(2, std::int64_t{1});
  r.set(0, 1.0F);  // candidate 1
  p.transform(r, a);
  r.set(0, 4.0F);  // candidate 2: only its own column changes
  p.transform(r, b);
  CHECK(a[0] != b[0]);
  CHECK(std::vector<float>(a.begin() + 1, a.end()) == std::vector<float>(b.begin() + 1, b.end()));
}

TEST_CASE(
    "row: a string set from a temporary is copied: destroying the temporary keeps the "
    "category") {
  const small s;
  const auto p = s.fitted();
  ff::row r(p.get_schema());
  std::vector<float> out(p.width());
  std::vector<float> want(p.width());
  r.set(0, 1.0F);
  r.set(2, std::int64_t{1});
  {
    auto text = std::make_unique<std::string>("South Dakota, a long name");  // heap, not SSO
    r.set(1, std::string_view(*text));
    text->assign(text->size(), 'x');  // overwrite, then free: a kept view would read garbage
  }
  p.transform(r, out);
  {
    auto text = std::make_unique<std::string>("So");
    r.set(1, std::string_view(*text));
  }
  std::vector<float> so(p.width());
  p.transform(r, so);

  ff::row fresh(p.get_schema());
  fresh.set(0, 1.0F);
  fresh.set(2, std::int64_t{1});
  fresh.set(1, std::string_view("South Dakota, a long name"));
  p.transform(fresh, want);
  CHECK(out == want);
  fresh.set(1, std::string_view("So"));
  p.transform(fresh, want);
  CHECK(so == want);
}

TEST_CASE("row: strings from csv_table::strings() (returned by value) can be set and served") {
  const auto& d = ftest::data();
  const auto& schema = d.schema;
  const std::size_t col = schema.index("addr_state");
  ff::pipeline p(schema, ff::one_hot("addr_state", {.handle_unknown = ff::unknown_policy::error}));
  p.fit(d.all());
  const auto m = p.transform(d.all());
  ff::row r(p.get_schema());
  std::vector<float> out(p.width());
  std::size_t differ = 0;
  const std::size_t k = d.csv.column_index("addr_state");
  std::size_t served = 0;
  for (std::size_t i = 0; i < 50; ++i) {
    if (d.csv.is_missing(i, k)) continue;
    ++served;
    r.clear();
    for (std::size_t c = 0; c < schema.size(); ++c) r.set_missing(c);
    // A temporary vector per row: the row must not keep a view into it.
    r.set(col, std::string_view(d.csv.strings(k)[i]));
    p.transform(r, out, i);
    for (std::size_t k = 0; k < out.size(); ++k) differ += same_bits(out[k], m(i, k)) ? 0 : 1;
  }
  CHECK(served > 40);
  CHECK(differ == 0);
}

TEST_CASE(
    "row: clear and re-set reuse string capacity, so steady-state serving does not "
    "allocate") {
  const small s;
  const auto p = s.fitted();
  ff::row r(p.get_schema());
  std::vector<float> out(p.width());
  const std::string values[] = {"South Dakota, a long name", "CA", "NY", "So"};
  r.set(1, std::string_view(values[0]));  // the longest value first: capacity reached
  long during = 0;
  for (int rep = 0; rep < 100; ++rep) {
    const long before = funnel_test_allocations();
    r.clear();
    r.set(0, static_cast<float>(rep));
    r.set(1, std::string_view(values[rep % 4]));
    r.set(2, std::int64_t{1 + rep % 2});
    p.transform(r, out);
    during += funnel_test_allocations() - before;
  }
  CHECK(during == 0);
}

TEST_CASE("row: a copied row owns its strings") {
  const small s;
  const auto p = s.fitted();
  std::vector<float> a(p.width());
  std::vector<float> b(p.width());
  auto r = std::make_unique<ff::row>(p.get_schema());
  r->set(0, 1.0F);
  r->set(1, std::string_view("NY"));
  r->set(2, std::int64_t{2});
  p.transform(*r, a);
  const ff::row copy = *r;
  r.reset();
  p.transform(copy, b);
  CHECK(a == b);
}

TEST_CASE("table: a cell that is not an integer is named at its line, quoted at most 40 bytes") {
  const ff::schema s({{"c", ff::column_type::integer}});
  CHECK_THROWS_WITH(ff::table(s, funnel::parse_csv("c\n7\nx\n", "t.csv")),
                    ContainsSubstring("t.csv:3: column 'c': 'x' is not an integer"));
  // A 1 MB cell gives a message of its first 40 bytes and its size, not 1 MB.
  const std::string long_cell(1 << 20, 'y');
  try {
    const ff::table t(s, funnel::parse_csv("c\n" + long_cell + "\n", "big.csv"));
    FAIL("no error");
  } catch (const funnel::parse_error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, ContainsSubstring("(1048576 bytes) is not an integer"));
    CHECK(what.size() < 200);
  }
}
