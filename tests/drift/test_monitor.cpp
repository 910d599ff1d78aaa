#include <funnel/core/csv.hpp>
#include <funnel/core/error.hpp>
#include <funnel/drift/ks.hpp>
#include <funnel/drift/monitor.hpp>
#include <funnel/drift/profile.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "drift_fixtures.hpp"
#include "funnel_catch.hpp"

namespace fd = funnel::drift;
using funnel::test::drift::sample;

namespace {

// Two numeric features, one categorical (codes 0..3), plus the score.
fd::reference_profile small_reference(std::size_t n = 4000) {
  fd::reference_profile p;
  p.add_numeric("x", sample(101, n, 0.0, 1.0, 0));
  p.add_numeric("y", sample(102, n, 10.0, 5.0, 0));
  auto c = sample(103, n, 0.0, 4.0, 1.0);  // integer codes 0..3
  p.add_categorical("c", c);
  p.add_numeric("score", sample(104, n, 0.0, 1.0, 0));
  return p;
}

std::vector<float> row_of(double x, double y, double c) {
  return {static_cast<float>(x), static_cast<float>(y), static_cast<float>(c)};
}

// The report after one full window of `rows` values (U(0, 1) shifted by `shift`), each observed
// as both feature `name` and the score, against U(0, 1) references for both.
fd::drift_report report_after_one_window(const std::string& name, std::size_t rows, double shift) {
  fd::reference_profile p;
  p.add_numeric(name, sample(1, 1000, 0, 1, 0));
  p.add_numeric("score", sample(2, 1000, 0, 1, 0));
  fd::monitor_options opt;
  opt.window.size = rows;
  fd::monitor m(std::move(p), opt);
  for (double x : sample(3, rows, shift, 1, 0)) {
    const std::vector<float> f{static_cast<float>(x)};
    m.observe(f, static_cast<float>(x));
  }
  return m.last_report();
}

}  // namespace

TEST_CASE("reference_profile: JSON round trip through a file is bit-exact") {
  const auto p = small_reference();
  const auto dir = funnel::test::scratch_dir("drift-profile");
  p.save(dir / "ref.json");
  const auto q = fd::reference_profile::load(dir / "ref.json");
  CHECK(p == q);
  CHECK(q.features()[0].edges.size() == 9);
  CHECK(q.features()[2].categories == std::vector<double>{0, 1, 2, 3});
}

TEST_CASE("reference_profile: a corrupt profile names the feature and field") {
  auto j = small_reference().to_json();
  j["features"][1]["counts"] = std::vector<double>{1, 2};
  CHECK_THROWS_WITH(fd::reference_profile::from_json(j), ContainsSubstring("('y').counts"));
  auto k = small_reference().to_json();
  k["features"][0].erase("edges");
  CHECK_THROWS_AS(fd::reference_profile::from_json(k), funnel::parse_error);
  auto t = small_reference().to_json();
  t["type"] = "something.else";
  CHECK_THROWS_AS(fd::reference_profile::from_json(t), funnel::parse_error);
}

TEST_CASE("reference_profile: empty or all-missing features and duplicate names are typed errors") {
  fd::reference_profile p;
  const std::vector<double> nan{std::nan(""), std::nan("")};
  CHECK_THROWS_WITH(p.add_numeric("a", nan), ContainsSubstring("'a' has no non-missing value"));
  const std::vector<double> ok{1, 2, 3};
  p.add_numeric("a", ok);
  CHECK_THROWS_WITH(p.add_numeric("a", ok), ContainsSubstring("defined twice"));
  CHECK_THROWS_AS(p.index_of("zzz"), funnel::not_found);
}

TEST_CASE("live_profile: a tumbling window closes after `size` rows and keeps its counts") {
  auto ref = std::make_shared<const fd::reference_profile>(small_reference());
  fd::window_options w;
  w.size = 500;
  fd::live_profile live(ref, w);
  const auto xs = sample(201, 1200, 0.0, 1.0, 0);
  std::size_t closed = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const std::vector<double> row{xs[i], 10.0, 1.0, 0.5};
    if (live.observe(std::span<const double>(row))) ++closed;
  }
  CHECK(closed == 2);
  CHECK(live.window_rows() == 500);
  CHECK(live.current_rows() == 200);
  // The completed window is rows 500..999: its histogram equals the histogram of those values.
  const auto win = live.window();
  const std::vector<double> second(xs.begin() + 500, xs.begin() + 1000);
  CHECK(win[0].counts == fd::histogram(ref->features()[0].edges, second));
  CHECK(win[2].counts[1] == 500);  // code 1
}

TEST_CASE("live_profile: a sliding window forgets values older than `size` rows") {
  auto ref = std::make_shared<const fd::reference_profile>(small_reference());
  fd::window_options w;
  w.kind = fd::window_options::kind_t::sliding;
  w.size = 1000;
  w.slices = 10;
  fd::live_profile live(ref, w);
  for (int i = 0; i < 3000; ++i) {
    const std::vector<double> row{i < 1500 ? -5.0 : 5.0, 10.0, 7.0, 0.5};  // code 7 is unseen
    live.observe(std::span<const double>(row));
  }
  const auto win = live.window();
  // Only values >= row 2000 (all 5.0) can remain: nothing in the first bin.
  CHECK(win[0].counts.front() == 0);
  CHECK(live.window_rows() <= 1000);
  CHECK(live.window_rows() >= 900);
  CHECK(win[2].counts.back() == static_cast<double>(live.window_rows()));  // "other" bucket
}

TEST_CASE("live_profile: merging per-thread profiles equals observing everything in one") {
  auto ref = std::make_shared<const fd::reference_profile>(small_reference());
  fd::window_options unb;
  unb.kind = fd::window_options::kind_t::unbounded;
  fd::live_profile a(ref, unb);
  fd::live_profile b(ref, unb);
  fd::live_profile all(ref, unb);
  const auto xs = sample(301, 3000, 0.0, 1.0, 0);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const std::vector<double> row{xs[i], xs[i] * 3, std::floor(xs[i] * 4), xs[i]};
    (i % 2 ? a : b).observe(std::span<const double>(row));
    all.observe(std::span<const double>(row));
  }
  a.merge(b);
  const auto wa = a.window();
  const auto wall = all.window();
  for (std::size_t j = 0; j < wa.size(); ++j) {
    CHECK(wa[j].counts == wall[j].counts);
    CHECK(wa[j].seen == wall[j].seen);
  }
  CHECK(wa[0].sample.size() == unb.reservoir);
  CHECK(a.window_rows() == 3000);
}

TEST_CASE("evaluate: with every live value in the reservoir, KS equals ks_2samp on the samples") {
  const auto ref = small_reference();
  fd::live_profile live(std::make_shared<const fd::reference_profile>(ref),
                        fd::window_options{fd::window_options::kind_t::unbounded, 10, 1, 4096, 1});
  const auto xs = sample(401, 700, 0.1, 1.0, 0);
  for (double x : xs) {
    const std::vector<double> row{x, 12.0, 2.0, x};
    live.observe(std::span<const double>(row));
  }
  const auto rep = fd::evaluate(ref, live.window(), live.window_rows());
  const auto direct = fd::ks_2samp(ref.features()[0].sample, xs);
  CHECK(rep.features[0].statistic == direct.statistic);
  CHECK(rep.features[0].pvalue == direct.pvalue);
  CHECK(rep.features[0].test == "ks");
  CHECK(rep.features[2].test == "chi2");
  CHECK(rep.features[2].verdict == fd::verdict::drift);  // every live code is 2
}

TEST_CASE("monitor: a shifted feature fires the alert callback, stable ones do not drift") {
  fd::monitor_options opt;
  opt.window.size = 2000;
  fd::monitor m(small_reference(), opt);
  std::vector<std::vector<std::string>> alerts;
  m.on_alert([&](const fd::drift_report& r) { alerts.push_back(r.drifted()); });
  const auto xs = sample(501, 2000, 0.0, 1.0, 0);
  const auto ys = sample(502, 2000, 10.0, 5.0, 0);
  const auto cs = sample(503, 2000, 0.0, 4.0, 1.0);
  const auto ss = sample(504, 2000, 0.0, 1.0, 0);
  for (std::size_t i = 0; i < 2000; ++i)
    m.observe(row_of(xs[i], ys[i], cs[i]), static_cast<float>(ss[i]));
  CHECK(alerts.empty());
  const auto stable = m.last_report();
  REQUIRE(stable.features.size() == 4);
  for (const auto& f : stable.features) {
    CHECK(f.evaluated);
    CHECK(f.verdict == fd::verdict::stable);
  }
  // Second window: x shifted by half its range, the score drifts up as well.
  for (std::size_t i = 0; i < 2000; ++i) {
    m.observe(row_of(xs[i] + 0.5, ys[i], cs[i]), static_cast<float>(ss[i] * 0.5 + 0.5));
  }
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0] == std::vector<std::string>{"x", "score"});
  CHECK(m.last_report().evaluation == 2);
}

TEST_CASE("monitor: wrong widths and a schema without the score are typed errors") {
  fd::monitor m(small_reference());
  const std::vector<float> short_row{1.0F};
  CHECK_THROWS_AS(m.observe(short_row, 0.5F), funnel::dimension_mismatch);
  fd::reference_profile no_score;
  no_score.add_numeric("x", sample(1, 100, 0, 1, 0));
  CHECK_THROWS_WITH(fd::monitor(no_score), ContainsSubstring("numeric score 'score'"));
}

TEST_CASE("monitor: binds a feature producer by name and order, as a pipeline binds its model") {
  const fd::monitor m(small_reference());
  CHECK(m.feature_names() == std::vector<std::string>{"x", "y", "c"});
  const std::vector<std::string> same{"x", "y", "c"};
  CHECK_NOTHROW(m.bind(same));
  const std::vector<std::string> swapped{"x", "c", "y"};
  CHECK_THROWS_WITH(m.bind(swapped), ContainsSubstring("feature 1 is 'c' in the features but 'y'"));
  const std::vector<std::string> narrow{"x", "y"};
  CHECK_THROWS_AS(m.bind(narrow), funnel::dimension_mismatch);
}

TEST_CASE("monitor: too few live values leave a feature not evaluated (no false alarm)") {
  fd::monitor m(small_reference());
  m.observe(row_of(0.5, 10, 1), 0.5F);
  const auto r = m.evaluate_now();
  CHECK_FALSE(r.features[0].evaluated);
  CHECK(std::isnan(r.features[0].psi));
  CHECK(r.drifted().empty());
  CHECK(r.to_json()["features"][0]["psi"].is_null());
}

TEST_CASE("drift_report: Prometheus exposition has HELP/TYPE per family and escaped labels") {
  const auto text = report_after_one_window("we\"ird\\name", 200, 0).to_prometheus("model=\"ctr\"");
  CHECK_THAT(text, ContainsSubstring("# TYPE funnel_drift_psi gauge\n"));
  CHECK_THAT(text,
             ContainsSubstring("funnel_drift_psi{feature=\"we\\\"ird\\\\name\",model=\"ctr\"} "));
  CHECK_THAT(
      text, ContainsSubstring("funnel_drift_pvalue{feature=\"score\",test=\"ks\",model=\"ctr\"} "));
  CHECK_THAT(text, ContainsSubstring("funnel_drift_window_rows{model=\"ctr\"} 200\n"));
  // Every non-comment line is "name{labels} value" with a parseable value.
  std::size_t samples = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    REQUIRE(sp != std::string::npos);
    const std::string value = line.substr(sp + 1);
    CHECK((value == "NaN" || std::isfinite(std::stod(value))));
    ++samples;
  }
  CHECK(samples == 7 * 2 + 1);
}

TEST_CASE("drift_report: HTML has the table, one SVG per feature, and escapes names") {
  const auto html = report_after_one_window("<script>", 300, 0.3).to_html("t & t");
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto q = html.find(needle); q != std::string::npos; q = html.find(needle, q + 1)) ++n;
    return n;
  };
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(count("<svg") == 2);
  CHECK(count("</svg>") == 2);
  CHECK(count("<tr class=") == 2);
  CHECK(count("<rect class=\"ref\"") == 20);
  CHECK(count("<rect class=\"live\"") == 20);
  CHECK(count("<script>") == 0);
  CHECK(count("&lt;script&gt;") > 0);
  CHECK_THAT(html, ContainsSubstring("<title>t &amp; t</title>"));
  CHECK(count("<table") == count("</table>"));
  CHECK(count("<figure>") == count("</figure>"));
}

TEST_CASE("monitor: concurrent observe and per-thread absorb count every row", "[concurrency]") {
  fd::monitor_options opt;
  opt.window.kind = fd::window_options::kind_t::unbounded;
  fd::monitor m(small_reference(), opt);
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&m, t] {
      auto local = m.local_profile(static_cast<std::uint64_t>(t));
      const auto xs = sample(static_cast<std::uint64_t>(600 + t), per_thread, 0.0, 1.0, 0);
      for (int i = 0; i < per_thread; ++i) {
        const auto x = xs[static_cast<std::size_t>(i)];
        if (i % 2) {
          m.observe(row_of(x, 10, 1), static_cast<float>(x));
        } else {
          const std::vector<double> row{x, 10, 1, x};
          local.observe(std::span<const double>(row));
        }
      }
      m.absorb(local);
    });
  }
  for (auto& th : pool) th.join();
  const auto r = m.evaluate_now();
  CHECK(r.window_rows == threads * per_thread);
  CHECK(r.features[0].live_count == threads * per_thread);
}

TEST_CASE("chicago: 2014-16 vs 2001-03 flags ridership and stations, not the weather") {
  // modeldata::Chicago (MIT), trimmed by tests/fixtures/drift/trim_chicago.py.
  const auto t = funnel::read_csv(funnel::test::data("drift/chicago_trimmed.csv"));
  const auto dates = t.strings("date");
  const std::vector<std::string> numeric{
      "ridership", "Clark_Lake", "Austin",   "Quincy_Wells", "temp",         "temp_max",
      "dew",       "humidity",   "pressure", "wind",         "weather_rain", "weather_cloud"};
  fd::reference_profile ref;
  std::vector<std::vector<double>> cols;
  for (const auto& name : numeric) cols.push_back(t.numeric(name));
  cols.push_back(t.numeric("Bulls_Home"));
  auto in = [&](std::size_t i, const char* lo, const char* hi) {
    return dates[i] >= lo && dates[i] < hi;
  };
  for (std::size_t j = 0; j < cols.size(); ++j) {
    std::vector<double> r;
    for (std::size_t i = 0; i < t.rows(); ++i) {
      if (in(i, "2001-09-01", "2003-09-01")) r.push_back(cols[j][i]);
    }
    if (j < numeric.size()) {
      ref.add_numeric(numeric[j], r);
    } else {
      ref.add_categorical("Bulls_Home", r);
    }
  }
  fd::live_profile live(std::make_shared<const fd::reference_profile>(ref),
                        {fd::window_options::kind_t::unbounded, 1, 1, 1024, 1});
  for (std::size_t i = 0; i < t.rows(); ++i) {
    if (!in(i, "2014-09-01", "2016-09-01")) continue;
    std::vector<double> row;
    for (const auto& c : cols) row.push_back(c[i]);
    live.observe(std::span<const double>(row));
  }
  const auto rep = fd::evaluate(ref, live.window(), live.window_rows());
  CHECK(rep.window_rows == 728);
  const std::vector<std::string> expected{"ridership", "Clark_Lake", "Austin", "Quincy_Wells"};
  CHECK(rep.drifted() == expected);
  for (const auto& f : rep.features) {
    INFO(f.name << " psi=" << f.psi << " p=" << f.pvalue);
    const bool shifted = std::find(expected.begin(), expected.end(), f.name) != expected.end();
    if (shifted) {
      CHECK(f.psi > 1.0);
      CHECK(f.pvalue < 1e-20);
    } else {
      CHECK(f.psi < 0.25);
    }
  }
}

TEST_CASE(
    "compare: two batches give a report whose KS and chi-square equal the two-sample tests "
    "on the full columns") {
  const std::size_t n_ref = 1500;
  const std::size_t n_cur = 900;
  const auto xr = sample(501, n_ref, 0.0, 1.0, 0);
  const auto cr = sample(502, n_ref, 0.0, 4.0, 1.0);
  const auto xc = sample(503, n_cur, 0.2, 1.0, 0);
  const auto cc = sample(504, n_cur, 0.0, 5.0, 1.0);  // code 4 unseen in the reference
  funnel::matrix ref(n_ref, 2);
  funnel::matrix cur(n_cur, 2);
  std::vector<double> x_cur;
  for (std::size_t i = 0; i < n_ref; ++i) {
    ref(i, 0) = static_cast<float>(xr[i]);
    ref(i, 1) = static_cast<float>(cr[i]);
  }
  for (std::size_t i = 0; i < n_cur; ++i) {
    cur(i, 0) = i % 10 == 0 ? std::nanf("") : static_cast<float>(xc[i]);
    cur(i, 1) = static_cast<float>(cc[i]);
    if (i % 10 != 0) x_cur.push_back(static_cast<double>(static_cast<float>(xc[i])));
  }
  std::vector<double> x_ref;
  for (double v : xr) x_ref.push_back(static_cast<double>(static_cast<float>(v)));
  const std::vector<fd::feature_spec> schema{{"x", fd::feature_kind::numeric},
                                             {"c", fd::feature_kind::categorical}};
  const auto rep = fd::compare(ref, cur, schema);
  REQUIRE(rep.features.size() == 2);
  CHECK(rep.window_rows == n_cur);
  const auto& x = rep.features[0];
  const auto ks = fd::ks_2samp(x_ref, x_cur);  // every value: no reservoir, no subsample
  CHECK(x.test == "ks");
  CHECK(x.statistic == ks.statistic);
  CHECK(x.pvalue == ks.pvalue);
  CHECK(x.wasserstein == fd::wasserstein_1(x_ref, x_cur));
  CHECK(x.live_count == static_cast<double>(x_cur.size()));
  CHECK(x.live_missing_rate == Approx(0.1));
  CHECK(x.verdict != fd::verdict::stable);  // a 0.2 shift of U(0, 1)

  const auto& c = rep.features[1];
  CHECK(c.test == "chi2");
  const auto prof = fd::fit_reference_profile(ref, schema);
  std::vector<double> live_counts(prof.features()[1].bins(), 0.0);
  for (std::size_t i = 0; i < n_cur; ++i) {
    live_counts[prof.features()[1].bin_of(static_cast<double>(cur(i, 1)))] += 1;
  }
  const auto chi = fd::chi2_two_sample(prof.features()[1].counts, live_counts);
  CHECK(c.statistic == chi.statistic);
  CHECK(c.pvalue == chi.pvalue);
  CHECK(c.psi == fd::psi(prof.features()[1].counts, live_counts));
  // The usual outputs.
  CHECK(rep.to_json()["features"].size() == 2);
  CHECK(rep.to_html().find("<svg") != std::string::npos);
  CHECK(rep.to_prometheus().find("funnel_drift_psi{feature=\"x\"}") != std::string::npos);
}

TEST_CASE("compare: identical batches are stable; widths that differ are dimension_mismatch") {
  funnel::matrix a(400, 1);
  const auto xs = sample(601, 400, 0.0, 1.0, 0);
  for (std::size_t i = 0; i < 400; ++i) a(i, 0) = static_cast<float>(xs[i]);
  const std::vector<fd::feature_spec> schema{{"x", fd::feature_kind::numeric}};
  const auto rep = fd::compare(a, a, schema);
  CHECK(rep.features[0].statistic == 0.0);
  CHECK(rep.features[0].pvalue == 1.0);
  CHECK(rep.features[0].psi == 0.0);
  CHECK(rep.features[0].verdict == fd::verdict::stable);
  funnel::matrix wide(10, 2);
  CHECK_THROWS_AS(fd::compare(a, wide, schema), funnel::dimension_mismatch);
  CHECK_THROWS_AS(fd::compare(wide, a, schema), funnel::dimension_mismatch);
  const auto prof = fd::fit_reference_profile(a, schema);
  CHECK_THROWS_AS(fd::compare(prof, wide), funnel::dimension_mismatch);
}
