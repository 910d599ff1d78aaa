#pragma once
// Fixture readers shared by the tree-ensemble tests.
#include <funnel/core/file.hpp>

#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "funnel_catch.hpp"

namespace funnel::test {

/// A text matrix: one row per line, values separated by `sep`, "nan" = missing.
template <class T = double>
inline std::vector<std::vector<T>> read_rows(const std::filesystem::path& path, char sep = ',') {
  std::vector<std::vector<T>> rows;
  std::istringstream in(funnel::read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<T> row;
    std::size_t b = 0;
    while (b <= line.size()) {
      auto e = line.find(sep, b);
      if (e == std::string::npos) e = line.size();
      const auto tok = line.substr(b, e - b);
      if constexpr (std::is_same_v<T, float>) {
        row.push_back(tok == "nan" ? NAN : std::strtof(tok.c_str(), nullptr));
      } else {
        row.push_back(tok == "nan" ? NAN : std::strtod(tok.c_str(), nullptr));
      }
      b = e + 1;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

/// key=value lines.
inline std::map<std::string, std::string> read_meta(const std::filesystem::path& path) {
  std::map<std::string, std::string> out;
  std::istringstream in(funnel::read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

}  // namespace funnel::test
