#include "io/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "eplb/error.h"
#include "io/json_depth.h"
#include "io/load_formats.h"

namespace eplb {
namespace {

using nlohmann::json;

struct DtypeInfo {
  std::string_view name;
  size_t size;  // bytes per element
  std::optional<ElementType> type;
};

constexpr DtypeInfo kDtypes[] = {
    {"BOOL", 1, std::nullopt},     {"U8", 1, ElementType::kU8},   {"I8", 1, ElementType::kI8},
    {"F8_E5M2", 1, std::nullopt},  {"F8_E4M3", 1, std::nullopt},  {"I16", 2, ElementType::kI16},
    {"U16", 2, ElementType::kU16}, {"F16", 2, std::nullopt},      {"BF16", 2, std::nullopt},
    {"I32", 4, ElementType::kI32}, {"U32", 4, ElementType::kU32}, {"F32", 4, ElementType::kF32},
    {"I64", 8, ElementType::kI64}, {"U64", 8, ElementType::kU64}, {"F64", 8, ElementType::kF64},
};

bool is_count(const json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

// One header entry, checked against the `data_size` bytes that follow the header.
SafetensorsTensor parse_entry(const std::string& name, const json& entry, std::string_view data,
                              const std::string& where) {
  if (!entry.is_object()) {
    throw Error(where + ": expected an object with dtype, shape and data_offsets, got " +
                entry.type_name());
  }
  SafetensorsTensor t;
  t.name = name;
  const auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string())
    throw Error(where + ": dtype: expected a string");
  t.dtype = dtype->get<std::string>();
  const DtypeInfo* info = nullptr;
  for (const DtypeInfo& d : kDtypes) {
    if (d.name == t.dtype) info = &d;
  }
  if (info == nullptr) throw Error(where + ": dtype: unknown dtype \"" + t.dtype + "\"");
  t.type = info->type;

  const auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) {
    throw Error(where + ": shape: expected an array of sizes");
  }
  const size_t max_count = data.size() / info->size;
  size_t count = 1;
  for (const json& dim : *shape) {
    if (!is_count(dim)) throw Error(where + ": shape: " + dim.dump() + " is not a size");
    const uint64_t d = dim.get<uint64_t>();
    if (d > INT64_MAX) throw Error(where + ": shape: " + dim.dump() + " is not a size");
    t.shape.push_back(static_cast<int64_t>(d));
    if (d != 0 && count > max_count / d) {
      throw Error(where + ": shape " + shape->dump() + " of " + t.dtype +
                  " is larger than the file's " + std::to_string(data.size()) +
                  " data bytes (truncated file?)");
    }
    count *= static_cast<size_t>(d);
  }
  t.num_elements = count;

  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !is_count((*offsets)[0]) || !is_count((*offsets)[1])) {
    throw Error(where + ": data_offsets: expected [begin, end]");
  }
  const uint64_t begin = (*offsets)[0].get<uint64_t>();
  const uint64_t end = (*offsets)[1].get<uint64_t>();
  if (begin > end || end > data.size()) {
    throw Error(where + ": data_offsets " + offsets->dump() + " outside the " +
                std::to_string(data.size()) + " data bytes (truncated file?)");
  }
  if (end - begin != count * info->size) {
    throw Error(where + ": data_offsets " + offsets->dump() + " hold " +
                std::to_string(end - begin) + " bytes, shape " + shape->dump() + " of " + t.dtype +
                " needs " + std::to_string(count * info->size));
  }
  t.data = data.substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
  return t;
}

}  // namespace

std::vector<SafetensorsTensor> parse_safetensors(std::string_view bytes, const std::string& path) {
  if (bytes.size() < 8) {
    throw Error(path + ": truncated: " + std::to_string(bytes.size()) +
                " bytes, a safetensors file starts with an 8-byte header length");
  }
  uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) {
    header_length |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  }
  if (header_length > bytes.size() - 8) {
    throw Error(path + ": truncated: header length " + std::to_string(header_length) +
                " exceeds the " + std::to_string(bytes.size()) + "-byte file");
  }
  const std::string_view header_text = bytes.substr(8, static_cast<size_t>(header_length));
  const std::string_view data = bytes.substr(8 + static_cast<size_t>(header_length));
  check_json_depth(header_text, path + ": header");
  json header;
  try {
    header = json::parse(header_text.begin(), header_text.end());
  } catch (const json::exception& e) {
    throw Error(path + ": header: invalid JSON: " + json_reason(e));
  }
  if (!header.is_object()) {
    throw Error(path + ": header: expected a JSON object, got " + header.type_name());
  }
  std::vector<SafetensorsTensor> tensors;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    tensors.push_back(parse_entry(name, entry, data, path + ": tensor \"" + name + "\""));
  }
  // Tensors may not share bytes (the format's rule): otherwise a few MB of header entries all
  // naming one large data range would claim terabytes of counts from a small file.
  std::vector<std::pair<size_t, const SafetensorsTensor*>> by_begin;
  for (const SafetensorsTensor& t : tensors) {
    if (!t.data.empty())
      by_begin.emplace_back(static_cast<size_t>(t.data.data() - data.data()), &t);
  }
  std::sort(by_begin.begin(), by_begin.end());
  for (size_t i = 1; i < by_begin.size(); ++i) {
    const auto& [begin, t] = by_begin[i];
    const auto& [prev_begin, prev] = by_begin[i - 1];
    if (begin < prev_begin + prev->data.size()) {
      auto range = [](size_t b, const SafetensorsTensor* x) {
        // Built by append: g++ 12 -O3 warns (-Wrestrict, a false positive) on "[" + string.
        std::string text(1, '[');
        return text.append(std::to_string(b))
            .append(", ")
            .append(std::to_string(b + x->data.size()))
            .append("]");
      };
      throw Error(path + ": tensor \"" + t->name + "\": data_offsets " + range(begin, t) +
                  " overlap those of tensor \"" + prev->name + "\" " + range(prev_begin, prev));
    }
  }
  return tensors;
}

}  // namespace eplb
