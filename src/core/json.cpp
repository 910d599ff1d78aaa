#include <funnel/core/file.hpp>
#include <funnel/core/json.hpp>

namespace funnel {

json json_header(std::string_view type, int version) {
  return json{{"type", std::string(type)}, {"version", version}};
}

const json& json_field(const json& j, std::string_view key, std::string_view context) {
  if (!j.is_object()) {
    raise<parse_error>("json", "{}: expected an object holding '{}', found {}",
                       context.empty() ? "document" : context, key, j.type_name());
  }
  const auto it = j.find(key);
  if (it == j.end()) {
    raise<parse_error>("json", "{}: missing field '{}'", context.empty() ? "document" : context,
                       key);
  }
  return *it;
}

int check_json_header(const json& j, std::string_view type, int max_version,
                      std::string_view context) {
  const auto where = context.empty() ? std::string(type) : std::string(context);
  const auto found_type = json_get<std::string>(j, "type", where);
  if (found_type != type) {
    raise<parse_error>("json", "{}: expected type '{}', found '{}'", where, type, found_type);
  }
  const json& v = json_field(j, "version", where);
  if (!v.is_number_integer()) raise<parse_error>("json", "{}.version: expected an integer", where);
  const int version = v.get<int>();
  if (version < 1 || version > max_version) {
    raise<parse_error>("json", "{}.version: {} is not supported (this build reads 1..{})", where,
                       version, max_version);
  }
  return version;
}

json parse_json(std::string_view text, std::string_view source) {
  try {
    return json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    raise<parse_error>("json", "{}: invalid JSON at byte {}: {}", source, e.byte, e.what());
  }
}

json load_json_file(const std::filesystem::path& path) {
  return parse_json(read_file(path), path.string());
}

void save_json_file(const std::filesystem::path& path, const json& j, int indent) {
  // nlohmann::json writes doubles with max_digits10 precision, so they round-trip exactly.
  write_file_atomic(path, j.dump(indent));
}

}  // namespace funnel
