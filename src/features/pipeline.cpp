#include <funnel/features/pipeline.hpp>

#include <cmath>

namespace funnel::features {

namespace detail {

void check_schema(const schema& got, const schema& want, std::string_view what) {
  if (got.size() != want.size()) {
    raise<dimension_mismatch>("features.pipeline",
                              "{} has {} columns, the pipeline's schema has {}", what, got.size(),
                              want.size());
  }
  for (std::size_t c = 0; c < got.size(); ++c) {
    if (got[c].name != want[c].name || got[c].type != want[c].type ||
        got[c].missing != want[c].missing) {
      raise<invalid_argument>("features.pipeline",
                              "{} column {} is '{}' ({}, missing {}), the "
                              "pipeline expects '{}' ({}, missing {})",
                              what, c, got[c].name, to_string(got[c].type),
                              to_string(got[c].missing), want[c].name, to_string(want[c].type),
                              to_string(want[c].missing));
    }
  }
}

void check_target(std::span<const float> target, std::size_t rows) {
  if (target.size() != rows) {
    raise<dimension_mismatch>("features.pipeline", "target has {} values for {} rows",
                              target.size(), rows);
  }
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (!std::isfinite(target[i])) {
      raise<invalid_argument>("features.pipeline", "target, row {}: non-finite value {}", i,
                              target[i]);
    }
  }
}

}  // namespace detail

any_component registry::make(const json& j, std::string_view ctx) const {
  const auto type = json_get<std::string>(j, "type", ctx);
  const auto it = makers_.find(type);
  if (it == makers_.end()) {
    raise<parse_error>("features", "{}.type: unknown component type '{}'", ctx, type);
  }
  return it->second(j);
}

const registry& registry::builtin() {
  static const registry r = [] {
    registry x;
    x.add<numeric_column>();
    x.add<interaction>();
    x.add<one_hot>();
    x.add<ordinal_encoder>();
    x.add<count_encoder>();
    x.add<target_encoder>();
    x.add<feature_hasher>();
    x.add<hashed_cross>();
    return x;
  }();
  return r;
}

any_pipeline any_pipeline::from_json(const json& j, const registry& types) {
  const json& comps = components_of(j);
  auto s = schema::from_json(json_field(j, "schema", "pipeline"));
  std::vector<any_component> cs;
  cs.reserve(comps.size());
  for (std::size_t k = 0; k < comps.size(); ++k) {
    cs.push_back(types.make(comps[k], fmt::format("pipeline.components[{}]", k)));
  }
  return any_pipeline(std::move(s), std::move(cs));
}

any_pipeline any_pipeline::load(const std::filesystem::path& path, const registry& types) {
  return from_json(load_json_file(path), types);
}

}  // namespace funnel::features
