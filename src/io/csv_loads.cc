// Loads from CSV: one row per layer, one column per logical expert.
//
//   layer,e0,e1,e2,e3        <- optional header (first field not a number); a first column
//   3,120,80,0,7                named "layer" or "layer_id" (or unnamed: pandas' index) holds
//   4,95,101,3,9                the layer ids, otherwise the rows get ids 0..rows-1 and every
//                               column is an expert
//
// Blank lines are allowed only at the end; rows must all have the header's (or the first
// row's) column count. Errors read "<path>:<line>: column <c>: <problem>", 1-based.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "eplb/error.h"
#include "eplb/file_util.h"
#include "io/load_formats.h"

namespace eplb {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t begin = 0;
  while (true) {
    const size_t comma = line.find(',', begin);
    fields.push_back(
        trim(line.substr(begin, comma == std::string_view::npos ? comma : comma - begin)));
    if (comma == std::string_view::npos) return fields;
    begin = comma + 1;
  }
}

bool parse_double(std::string_view text, double* value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A header name, without the quotes a spreadsheet may put around it.
std::string_view unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

LoadMatrix parse_csv_loads(std::string_view content, const std::string& path) {
  std::string_view text = content;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark

  // [lines] text of each line, '\r' trimmed; trailing blank lines dropped.
  std::vector<std::string_view> lines;
  for (size_t begin = 0; begin < text.size();) {
    const size_t newline = std::min(text.find('\n', begin), text.size());
    lines.push_back(trim(text.substr(begin, newline - begin)));
    begin = newline + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) throw Error(path + ": empty file (expected one row of loads per layer)");

  auto where = [&](size_t line_idx) { return path + ":" + std::to_string(line_idx + 1) + ": "; };

  size_t first_row = 0;
  bool has_layer_column = false;
  std::vector<std::string_view> first = split_fields(lines[0]);
  double probe = 0;
  if (!parse_double(first[0], &probe)) {
    const std::string name = lower(unquote(first[0]));
    has_layer_column = name == "layer" || name == "layer_id" || name.empty();
    first_row = 1;
  }
  const size_t num_columns = first.size();
  const size_t expert_column = has_layer_column ? 1 : 0;
  if (num_columns <= expert_column) throw Error(where(0) + "no expert columns");
  if (first_row >= lines.size()) throw Error(path + ": no rows of loads after the header");

  if (lines.size() - first_row > static_cast<size_t>(INT_MAX) ||
      num_columns - expert_column > static_cast<size_t>(INT_MAX)) {
    throw Error(path + ": too many rows or columns");
  }
  LoadMatrix m;
  m.num_layers = static_cast<int>(lines.size() - first_row);
  m.num_experts = static_cast<int>(num_columns - expert_column);
  // rows x columns is a claim until every row is read (a header of 10^6 columns over 10^6 short
  // lines would ask for 10^12 loads); every value takes at least a digit and a separator.
  m.values.reserve(std::min(static_cast<size_t>(m.num_layers) * static_cast<size_t>(m.num_experts),
                            content.size() / 2 + 1));
  std::map<int, size_t> line_of_layer;  // layer id -> line index, to report repeats
  for (size_t l = first_row; l < lines.size(); ++l) {
    if (lines[l].empty()) throw Error(where(l) + "blank line between rows of loads");
    const std::vector<std::string_view> fields = split_fields(lines[l]);
    if (fields.size() != num_columns) {
      throw Error(where(l) + std::to_string(fields.size()) + " columns, expected " +
                  std::to_string(num_columns) + " as on line 1");
    }
    if (has_layer_column) {
      int layer_id = -1;
      const auto [end, ec] =
          std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), layer_id);
      if (fields[0].empty() || ec != std::errc() || end != fields[0].data() + fields[0].size() ||
          layer_id < 0) {
        throw Error(where(l) + "column 1: layer id \"" + std::string(fields[0]) +
                    "\" is not a non-negative integer");
      }
      const auto [it, inserted] = line_of_layer.emplace(layer_id, l);
      if (!inserted) {
        throw Error(where(l) + "column 1: layer id " + std::to_string(layer_id) + " repeats line " +
                    std::to_string(it->second + 1));
      }
      m.layer_ids.push_back(layer_id);
    } else {
      m.layer_ids.push_back(static_cast<int>(l - first_row));
    }
    for (size_t c = expert_column; c < num_columns; ++c) {
      // "<path>:<line>: column <c>: <field text><problem>"
      auto fail = [&](const std::string& shown, const char* problem) {
        throw Error(where(l) + "column " + std::to_string(c + 1) + ": " + shown + problem);
      };
      const std::string_view field = fields[c];
      double value = 0;
      // Built by append: g++ 12 -O3 warns (-Wrestrict, a false positive) on "\"" + string.
      std::string quoted(1, '"');
      quoted.append(field).push_back('"');
      if (!parse_double(field, &value)) fail(quoted, " is not a number");
      if (!std::isfinite(value)) fail(quoted, " is not a finite number");
      if (value < 0) fail(std::string(field), " is negative");
      m.values.push_back(value);
    }
  }
  return m;
}

LoadMatrix read_csv_loads(const std::string& path) {
  return parse_csv_loads(read_file(path), path);
}

}  // namespace eplb
