#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/core/random.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <utility>
#include <vector>

#include "child_rss.hpp"
#include "funnel_catch.hpp"

TEST_CASE("csv: header, quoting, escaped quotes, embedded newlines and CRLF") {
  const auto t = funnel::parse_csv(
      "id,name,score\r\n1,\"Smith, J.\",0.5\r\n2,\"say \"\"hi\"\"\nthere\",NA\r\n", "inline.csv");
  REQUIRE(t.rows() == 2);
  REQUIRE(t.cols() == 3);
  CHECK(t.columns()[1] == "name");
  CHECK(t.cell(0, 1) == "Smith, J.");
  CHECK(t.cell(1, 1) == "say \"hi\"\nthere");
  CHECK(t.is_missing(1, 2));
  CHECK(t.line_of(1) == 3);
  const auto s = t.numeric("score");
  CHECK(s[0] == 0.5);
  CHECK(std::isnan(s[1]));
  CHECK(t.strings("name")[0] == "Smith, J.");
}

TEST_CASE("csv: quoted missing markers are values, unquoted are missing") {
  const auto t = funnel::parse_csv("a,b\n\"NA\",NA\n", "q.csv");
  CHECK_FALSE(t.is_missing(0, 0));
  CHECK(t.is_missing(0, 1));
}

TEST_CASE("csv: no header, other delimiter, blank lines skipped, BOM stripped") {
  funnel::csv_options o;
  o.header = false;
  o.delimiter = '\t';
  const auto t = funnel::parse_csv(
      "\xEF\xBB\xBF"
      "1\t2\n\n3\t4\n",
      "tab.tsv", o);
  CHECK(t.rows() == 2);
  CHECK(t.columns()[1] == "1");
  CHECK(t.numeric(1)[1] == 4.0);
}

TEST_CASE("csv: each malformed input gets a parse_error naming file and line") {
  CHECK_THROWS_WITH(funnel::parse_csv("a,b\n1,2\n3\n", "short.csv"),
                    ContainsSubstring("short.csv:3: expected 2 fields, found 1"));
  CHECK_THROWS_WITH(funnel::parse_csv("a,b\n1,2,3\n", "long.csv"),
                    ContainsSubstring("long.csv:2: expected 2 fields, found 3"));
  CHECK_THROWS_WITH(funnel::parse_csv("a,b\n\"open,2\n", "unterminated.csv"),
                    ContainsSubstring("unterminated.csv:2: unterminated quoted field"));
  CHECK_THROWS_WITH(funnel::parse_csv("a,b\n1,x\"y\n", "stray.csv"),
                    ContainsSubstring("stray.csv:2: stray quote"));
  CHECK_THROWS_WITH(funnel::parse_csv("a,b\n\"x\"y,1\n", "after.csv"),
                    ContainsSubstring("after.csv:2: unexpected character 'y' after closing quote"));
  CHECK_THROWS_WITH(funnel::parse_csv("a,a\n1,2\n", "dup.csv"),
                    ContainsSubstring("duplicate column name 'a'"));
  CHECK_THROWS_WITH(funnel::parse_csv("a,,c\n1,2,3\n", "emptyname.csv"),
                    ContainsSubstring("header field 2 is empty"));
  CHECK_THROWS_WITH(funnel::parse_csv("", "empty.csv"),
                    ContainsSubstring("empty.csv: empty input"));
  CHECK_THROWS_WITH(funnel::parse_csv("\n\n", "blank.csv"), ContainsSubstring("empty input"));
  CHECK_THROWS_AS(funnel::read_csv("/nonexistent/file.csv"), funnel::io_error);
}

TEST_CASE("csv: a non-numeric cell in a numeric column names line, column and text") {
  const auto t = funnel::parse_csv("x,y\n1,2\n3,abc\n", "bad.csv");
  CHECK_THROWS_WITH(t.numeric("y"),
                    ContainsSubstring("bad.csv:3: column 'y': 'abc' is not a number"));
  CHECK_THROWS_WITH(t.numeric("z"), ContainsSubstring("bad.csv: no column 'z' (columns: x, y)"));
  CHECK_THROWS_AS(t.numeric("z"), funnel::not_found);
  const auto u = funnel::parse_csv("x\n1.5e3\n 7 \n+2\n", "ok.csv");
  const auto v = u.numeric("x");
  CHECK(v[0] == 1500.0);
  CHECK(v[1] == 7.0);
  CHECK(v[2] == 2.0);
}

TEST_CASE("csv: reads a real committed file (lending_club, MIT)") {
  const auto path = funnel::test::data("lending_club.csv");
  const auto t = funnel::read_csv(path);
  CHECK(t.rows() == 9857);
  CHECK(t.cols() == 23);
  const auto cls = t.strings("Class");
  const auto bad = std::count(cls.begin(), cls.end(), "bad");
  CHECK(bad > 400);
  CHECK(bad < 600);
}

TEST_CASE("csv: random edits of quoted input never crash, only parse or throw parse_error") {
  const std::string seed_text = "id,\"name, full\",score\n1,\"a \"\"b\"\"\",0.5\n2,c,NA\n";
  const std::string alphabet = "\",\n\r ab1.";
  funnel::rng r(4242);
  for (int trial = 0; trial < 3000; ++trial) {
    const std::string text = funnel::test::mutated(seed_text, r, alphabet, 4, trial % 2 != 0);
    try {
      const auto t = funnel::parse_csv(text, "fuzz.csv");
      for (std::size_t row = 0; row < t.rows(); ++row) {
        REQUIRE(t.line_of(row) >= 2);
        for (std::size_t col = 0; col < t.cols(); ++col) (void)t.cell(row, col);
      }
      for (std::size_t col = 0; col < t.cols(); ++col) {
        try {
          (void)t.numeric(col);
        } catch (const funnel::parse_error& e) {
          REQUIRE(std::string(e.what()).find("fuzz.csv:") != std::string::npos);
        }
      }
    } catch (const funnel::parse_error& e) {
      REQUIRE(std::string(e.what()).find("fuzz.csv") != std::string::npos);
    }
  }
}

namespace {
// Peak resident set of this process so far, in MiB.
double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}
}  // namespace

TEST_CASE("csv: a 20 MB line of delimiters is counted, not stored (memory bounded per line)") {
  const std::string commas(std::size_t{20} << 20, ',');
  const double before = peak_rss_mib();
  // a data line: fails as soon as the count is known, without a field object per comma
  CHECK_THROWS_WITH(funnel::parse_csv("a,b\n1,2\n" + commas + "\n", "wide.csv"),
                    ContainsSubstring("wide.csv:3: expected 2 fields, found 20971521"));
  // a header line: bounded by max_columns
  CHECK_THROWS_WITH(funnel::parse_csv(commas, "head.csv"),
                    ContainsSubstring("head.csv:1: 20971521 fields exceed max_columns = 100000"));
  funnel::csv_options no_header;
  no_header.header = false;
  no_header.max_columns = 4;
  CHECK_THROWS_WITH(funnel::parse_csv("1,2,3,4,5\n", "n.csv", no_header),
                    ContainsSubstring("5 fields exceed max_columns = 4"));
  no_header.max_columns = 5;
  CHECK(funnel::parse_csv("1,2,3,4,5\n", "n.csv", no_header).cols() == 5);
  // the old reader peaked at 1.5 GiB here; the text itself is 20 MiB (twice, with the copy)
  CHECK(peak_rss_mib() - before < 200.0);
}

TEST_CASE(
    "csv: only csv_options::missing is missing; NaN and infinity spellings are parse errors") {
  // Attack report M7: std::from_chars spellings became NaN (a silent missing value) or +-inf.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"NAN", "'NAN' is not a number"},
      {"-nan", "'-nan' is not a number"},
      {"nan(123)", "'nan(123)' is not a number"},
      {"\"nan\"", "'nan' is not a number"},  // quoted: never missing unless listed
      {"+nan", "'+nan' is not a number"},
      {"inf", "'inf' is not a finite number"},
      {"-Infinity", "'-Infinity' is not a finite number"},
      {"INF", "'INF' is not a finite number"},
      {"+inf", "'+inf' is not a finite number"},
  };
  for (const auto& [cell, message] : cases) {
    INFO(cell);
    const auto t = funnel::parse_csv("y,x\n1,2\n1," + cell + "\n", "m7.csv");
    CHECK_FALSE(t.is_missing(1, 1));
    CHECK_THROWS_AS(t.numeric("x"), funnel::parse_error);
    CHECK_THROWS_WITH(t.numeric("x"), ContainsSubstring("m7.csv:3: column 'x': " + message));
  }
  CHECK_THROWS_WITH(funnel::parse_csv("x\nNAN\n", "m7.csv").numeric("x"),
                    ContainsSubstring("(missing values are the texts in csv_options::missing)"));
  // The listed spellings stay missing; a list without "nan" makes "nan" an error.
  const auto ok = funnel::parse_csv("x\nNaN\nnan\nNA\n2\n", "ok.csv");
  const auto v = ok.numeric("x");
  REQUIRE(v.size() == 4);
  CHECK(std::isnan(v[0]));
  CHECK(std::isnan(v[1]));
  CHECK(std::isnan(v[2]));
  CHECK(v[3] == 2.0);
  funnel::csv_options strict;
  strict.missing = {"NA"};
  CHECK_THROWS_WITH(funnel::parse_csv("x\nnan\n", "s.csv", strict).numeric("x"),
                    ContainsSubstring("s.csv:2: column 'x': 'nan' is not a number"));
  // Signs: one '+' or one '-', never both.
  CHECK_THROWS_WITH(funnel::parse_csv("x\n+-2\n", "sign.csv").numeric("x"),
                    ContainsSubstring("'+-2' is not a number"));
  CHECK_THROWS_WITH(funnel::parse_csv("x\n++2\n", "sign.csv").numeric("x"),
                    ContainsSubstring("'++2' is not a number"));
  CHECK_THROWS_WITH(funnel::parse_csv("x\n-\n", "sign.csv").numeric("x"),
                    ContainsSubstring("'-' is not a number"));
  CHECK(funnel::parse_csv("x\n-2\n", "sign.csv").numeric("x")[0] == -2.0);
  CHECK(funnel::parse_csv("x\n-.5\n", "sign.csv").numeric("x")[0] == -0.5);
  CHECK(funnel::parse_csv("x\n+.5\n", "sign.csv").numeric("x")[0] == 0.5);
}

TEST_CASE("csv: underflow reads as the correctly rounded value; overflow is a parse error") {
  // Attack report L9: "1e-400" was "not a number".
  const auto t = funnel::parse_csv(
      "x\n1e-400\n-1e-400\n4.9e-324\n1e-310\n0.0000000000000000000000"
      "00000000000000000000000000000000000000000000000000000000000000"
      "00000000000000000000000000000000000000000000000000000000000000"
      "00000000000000000000000000000000000000000000000000000000000000"
      "00000000000000000000000000000000000000000000000000000000000000"
      "000000000000000000000000000000000000000000000000000000000001\n"
      "123e-99999999999999999999999\n",
      "under.csv");
  const auto v = t.numeric("x");
  REQUIRE(v.size() == 6);
  CHECK(v[0] == 0.0);
  CHECK(v[1] == 0.0);
  CHECK(std::signbit(v[1]));
  CHECK(v[2] == std::numeric_limits<double>::denorm_min());
  CHECK(v[3] == 1e-310);
  CHECK(v[4] == 0.0);
  CHECK(v[5] == 0.0);
  CHECK_THROWS_WITH(funnel::parse_csv("x\n1\n1e400\n", "over.csv").numeric("x"),
                    ContainsSubstring("over.csv:3: column 'x': '1e400' is out of the range of a "
                                      "double"));
  CHECK_THROWS_WITH(funnel::parse_csv("x\n-0.001e99999999999999999999\n", "over.csv").numeric("x"),
                    ContainsSubstring("is out of the range of a double"));
  CHECK_THROWS_WITH(
      funnel::parse_csv("x\n" + std::string(400, '9') + "\n", "over.csv").numeric("x"),
      ContainsSubstring("is out of the range of a double"));
}

TEST_CASE("csv: messages show at most the first 40 characters of a cell or name") {
  // Attack report L10: a 10 MB cell made a 10 MB what().
  const std::string big(10u << 20, 'a');
  const auto t = funnel::parse_csv("x\n" + big + "\n", "big.csv");
  try {
    (void)t.numeric("x");
    FAIL("a 10 MB cell of letters parsed as a number");
  } catch (const funnel::parse_error& e) {
    const std::string what = e.what();
    CHECK(what.size() < 200);
    CHECK_THAT(what, ContainsSubstring("big.csv:2: column 'x': '" + std::string(40, 'a') +
                                       "...' (10485760 bytes) is not a number"));
  }
  try {
    (void)funnel::parse_csv(big + "," + big + "\n", "dup.csv");
    FAIL("duplicate names accepted");
  } catch (const funnel::parse_error& e) {
    CHECK(std::string(e.what()).size() < 200);
    CHECK_THAT(std::string(e.what()), ContainsSubstring("duplicate column name 'aaaa"));
  }
  const auto wide = funnel::parse_csv(big + "\n1\n", "wide.csv");
  try {
    (void)wide.column_index(big + "b");
    FAIL("no such column found");
  } catch (const funnel::not_found& e) {
    CHECK(std::string(e.what()).size() < 300);
  }
  // Short texts are shown whole; a cut never splits a UTF-8 character.
  const std::string accents = std::string(39, 'a') + "\xC3\xA9\xC3\xA9";  // 39 + 2 x 2 bytes
  try {
    (void)funnel::parse_csv("x\n" + accents + "\n", "utf8.csv").numeric("x");
    FAIL("letters parsed");
  } catch (const funnel::parse_error& e) {
    CHECK_THAT(std::string(e.what()),
               ContainsSubstring("'" + std::string(39, 'a') + "...' (43 bytes)"));
  }
}

TEST_CASE("csv: 10 MB of empty cells takes 8 bytes a cell, not a string and a flag each") {
  // Attack report M9: 10,000 rows x 1,000 empty cells (10 MB) took 561 MB (56x the file).
  std::string text;
  for (int c = 0; c < 1000; ++c) text += (c ? ",c" : "c") + std::to_string(c);
  text += '\n';
  const std::string row = std::string(999, ',') + '\n';
  for (int r = 0; r < 10000; ++r) text += row;
  const double growth = funnel::test::child_peak_growth_mib([&] {
    const auto t = funnel::parse_csv(text, "empty.csv");
    if (t.rows() != 10000 || t.cols() != 1000 || !t.is_missing(9999, 999) ||
        !t.cell(5000, 500).empty()) {
      throw std::runtime_error("wrong table");
    }
  });
  INFO("peak RSS growth " << growth << " MiB");
  CHECK(growth > 0.0);    // the child parsed the right table (it reports -2 on any exception)
  CHECK(growth < 120.0);  // 10^7 cells x 8 bytes = 76 MiB; it was 540 MiB
}
