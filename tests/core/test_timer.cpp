#include <funnel/core/timer.hpp>

#include <thread>

#include "funnel_catch.hpp"

using namespace std::chrono_literals;

TEST_CASE("stopwatch: measures monotonic elapsed time") {
  funnel::stopwatch w;
  std::this_thread::sleep_for(2ms);
  CHECK(w.elapsed_ms() >= 2.0);
  w.reset();
  CHECK(w.elapsed_ms() < 1000.0);
}

TEST_CASE("deadline: expires, caps stage budgets, never() never expires") {
  auto d = funnel::deadline::after(1ms);
  std::this_thread::sleep_for(2ms);
  CHECK(d.expired());
  CHECK(d.remaining() == funnel::deadline::clock::duration::zero());
  auto n = funnel::deadline::never();
  CHECK_FALSE(n.expired());
  auto stage = n.capped(50ms);
  CHECK_FALSE(stage.expired());
  CHECK(stage.remaining() <= 50ms);
  CHECK(d.capped(1h).expired());
}
