// mSPRT's JSON round trip: a restored test continues bit for bit; corrupt documents are typed.
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/experiments/sequential.hpp>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "funnel_catch.hpp"

namespace fe = funnel::experiments;

namespace {
std::vector<double> noise(std::size_t n, std::uint64_t seed, double shift) {
  std::vector<double> out;
  for (std::size_t i = 0; i < n; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    out.push_back(shift + static_cast<double>(seed >> 11) * 0x1.0p-53);
  }
  return out;
}
}  // namespace

TEST_CASE("mSPRT: a restored test continues bit for bit") {
  const auto a = noise(400, 1, 0.0);
  const auto b = noise(400, 2, 0.15);
  const auto dir = std::filesystem::temp_directory_path() / "funnel_test_msprt_json";
  std::filesystem::create_directories(dir);
  for (const std::size_t cut :
       {std::size_t{0}, std::size_t{10}, std::size_t{31}, std::size_t{250}}) {
    fe::msprt original(0.01, fe::msprt_options{0.05, 30});
    for (std::size_t i = 0; i < cut; ++i) {
      original.add_a(a[i]);
      original.add_b(b[i]);
      (void)original.look();
    }
    original.save(dir / "t.json");
    auto restored = fe::msprt::load(dir / "t.json");
    REQUIRE(restored == original);
    for (std::size_t i = cut; i < a.size(); ++i) {
      original.add_a(a[i]);
      restored.add_a(a[i]);
      original.add_b(b[i]);
      restored.add_b(b[i]);
      REQUIRE(original.look() == restored.look());
      REQUIRE(restored == original);
    }
    CHECK(original.rejected());
  }
  std::filesystem::remove_all(dir);
  CHECK(fe::msprt(0.01).to_json().at("lower") == "-inf");
  CHECK(fe::msprt(0.01).to_json().at("type") == "funnel.experiments.msprt");
}

TEST_CASE("mSPRT: corrupt documents are parse_errors naming the field") {
  fe::msprt t(0.01);
  for (int i = 0; i < 40; ++i) {
    t.add_a(i * 0.01);
    t.add_b(i * 0.02);
  }
  (void)t.look();
  const auto good = t.to_json();
  auto rejects = [&](auto edit, const char* names) {
    funnel::json j = good;
    edit(j);
    CHECK_THROWS_AS(fe::msprt::from_json(j), funnel::parse_error);
    CHECK_THROWS_WITH(fe::msprt::from_json(j), ContainsSubstring(names));
  };
  rejects([](funnel::json& j) { j["tau2"] = -1.0; }, "tau2");
  rejects([](funnel::json& j) { j["alpha"] = 1.0; }, "alpha");
  rejects([](funnel::json& j) { j["burn_in"] = "30"; }, "msprt.burn_in");
  rejects([](funnel::json& j) { j["a"]["n"] = -1.0; }, "msprt.a");
  rejects([](funnel::json& j) { j["b"]["n"] = 2.5; }, "msprt.b");
  rejects([](funnel::json& j) { j["b"]["m2"] = -1.0; }, "msprt.b");
  rejects([](funnel::json& j) { j["a"].erase("mean"); }, "missing field 'mean'");
  rejects([](funnel::json& j) { j["p_value"] = -0.5; }, "msprt.p_value");
  rejects([](funnel::json& j) { j["lower"] = "minus infinity"; }, "msprt.lower");
  rejects([](funnel::json& j) { j["type"] = "funnel.drift.adwin"; }, "type");
}
