#include <funnel/core/file.hpp>
#include <funnel/core/json.hpp>

#include <utility>

namespace funnel {

json json_header(std::string_view type, int version) {
  return json{{"type", std::string(type)}, {"version", version}};
}

const json& json_field(const json& j, std::string_view key, std::string_view context) {
  if (!j.is_object()) {
    raise<parse_error>("core.json", "{}: expected an object holding '{}', found {}",
                       context.empty() ? "document" : context, key, j.type_name());
  }
  const auto it = j.find(key);
  if (it == j.end()) {
    raise<parse_error>("core.json", "{}: missing field '{}'",
                       context.empty() ? "document" : context, key);
  }
  return *it;
}

std::string json_preview(const json& v) {
  constexpr std::size_t max_text = 48;
  auto clip = [&](std::string s) {
    if (s.size() > max_text) s = s.substr(0, max_text) + "...";
    return s;
  };
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "boolean true" : "boolean false";
    case json::value_t::string: {
      // Escaped by dump(); a string holds no nesting, so dump() is safe and bounded by clip.
      const auto& s = v.get_ref<const std::string&>();
      return "string " + clip(json(s.substr(0, max_text + 1))
                                  .dump(-1, ' ', true, json::error_handler_t::replace));
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number " + clip(v.dump());
    case json::value_t::array:
      return fmt::format("array of {}", v.size());
    case json::value_t::object:
      return fmt::format("object of {}", v.size());
    case json::value_t::binary:
      return fmt::format("binary of {} bytes", v.get_binary().size());
    case json::value_t::discarded:
      break;
  }
  return "discarded value";
}

namespace detail {

void json_type_error(std::string_view context, std::string_view key, std::string_view expected,
                     const json& v) {
  raise<parse_error>("core.json", "{}{}{}: wrong type ({}), expected {}",
                     context.empty() && key.empty() ? "value" : context,
                     context.empty() || key.empty() ? "" : ".", key, json_preview(v), expected);
}

void json_range_error(std::string_view context, std::string_view key, const json& v,
                      std::string_view type_name) {
  raise<parse_error>("core.json", "{}{}{}: {} is out of range for {}",
                     context.empty() && key.empty() ? "value" : context,
                     context.empty() || key.empty() ? "" : ".", key, json_preview(v), type_name);
}

namespace {

/// nlohmann's DOM builder with a nesting bound: returning false from start_* stops the parser
/// at once, so neither the parser's recursion (UBJ) nor the DOM can exceed json_max_depth.
class bounded_sax : public nlohmann::detail::json_sax_dom_parser<json> {
  using base = nlohmann::detail::json_sax_dom_parser<json>;

 public:
  explicit bounded_sax(json& root) : base(root, /*allow_exceptions=*/false) {}

  bool start_object(std::size_t n) { return enter() && base::start_object(n); }
  bool end_object() {
    --depth_;
    return base::end_object();
  }
  bool start_array(std::size_t n) { return enter() && base::start_array(n); }
  bool end_array() {
    --depth_;
    return base::end_array();
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) {
    position_ = position;
    message_ = e.what();
    return false;
  }

  [[nodiscard]] bool deep() const noexcept { return deep_; }
  [[nodiscard]] std::size_t position() const noexcept { return position_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

 private:
  /// One level deeper: false (stop) past json_max_depth.
  bool enter() {
    if (++depth_ <= json_max_depth) return true;
    deep_ = true;
    return false;
  }
  int depth_ = 0;
  bool deep_ = false;
  std::size_t position_ = 0;
  std::string message_;
};

template <class Parse>
json parse_bounded(std::string_view format, std::string_view source, Parse&& parse) {
  json root;
  bounded_sax sax(root);
  bool ok = false;
  try {
    ok = parse(sax);
  } catch (const nlohmann::json::exception& e) {
    // Exceptions nlohmann raises outside the SAX error channel (e.g. number overflow, invalid
    // UTF-8 in some readers): typed like every other parse failure.
    raise<parse_error>("core.json", "{}: invalid {}: {}", source, format, e.what());
  }
  if (sax.deep()) {
    raise<parse_error>("core.json", "{}: {} nests deeper than {} levels", source, format,
                       json_max_depth);
  }
  if (!ok || sax.is_errored()) {
    raise<parse_error>("core.json", "{}: invalid {} at byte {}: {}", source, format, sax.position(),
                       sax.message().empty() ? "malformed document" : sax.message());
  }
  return root;
}

}  // namespace
}  // namespace detail

int check_json_header(const json& j, std::string_view type, int max_version,
                      std::string_view context) {
  return check_json_header(j, type, {}, max_version, context);
}

int check_json_header(const json& j, std::string_view type,
                      std::span<const std::string_view> legacy_types, int max_version,
                      std::string_view context) {
  const auto where = context.empty() ? std::string(type) : std::string(context);
  const auto found_type = json_get<std::string>(j, "type", where);
  bool legacy = false;
  for (const auto t : legacy_types) legacy = legacy || found_type == t;
  if (found_type != type && !legacy) {
    raise<parse_error>("core.json", "{}: expected type '{}', found '{}'", where, type,
                       found_type.substr(0, 48));
  }
  const json& v = json_field(j, "version", where);
  if (!v.is_number_integer()) {
    raise<parse_error>("core.json", "{}.version: expected an integer, found {}", where,
                       json_preview(v));
  }
  const bool in_range = v.is_number_unsigned() ? v.get<std::uint64_t>() <= 1000000U
                                               : v.get<std::int64_t>() <= 1000000;
  const int version = in_range ? static_cast<int>(v.get<std::int64_t>()) : max_version + 1;
  if (version < 1 || version > max_version) {
    raise<parse_error>("core.json", "{}.version: {} is not supported (this build reads 1..{})",
                       where, v.dump(), max_version);
  }
  return version;
}

json parse_json(std::string_view text, std::string_view source) {
  return detail::parse_bounded("JSON", source, [&](detail::bounded_sax& sax) {
    return json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json,
                           /*strict=*/true);
  });
}

json parse_ubjson(std::span<const std::uint8_t> bytes, std::string_view source) {
  return detail::parse_bounded("UBJSON", source, [&](detail::bounded_sax& sax) {
    return json::sax_parse(bytes.begin(), bytes.end(), &sax,
                           nlohmann::detail::input_format_t::ubjson, /*strict=*/true);
  });
}

json load_json_file(const std::filesystem::path& path) {
  return parse_json(read_file(path), path.string());
}

void save_json_file(const std::filesystem::path& path, const json& j, int indent) {
  // nlohmann::json writes doubles with max_digits10 precision, so they round-trip exactly.
  write_file_atomic(path, j.dump(indent));
}

}  // namespace funnel
