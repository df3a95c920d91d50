#include "io/npy.h"

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "eplb/error.h"

namespace eplb {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the .npy and safetensors readers decode little-endian data in place");

constexpr std::string_view kMagic = "\x93NUMPY";

struct DtypeName {
  std::string_view descr;
  ElementType type;
};

// '|' marks a byte order that does not apply (one-byte types); numpy writes '<' on every
// little-endian machine for the others.
constexpr DtypeName kDtypes[] = {
    {"|i1", ElementType::kI8},  {"<i1", ElementType::kI8},  {"|u1", ElementType::kU8},
    {"<u1", ElementType::kU8},  {"<i2", ElementType::kI16}, {"<u2", ElementType::kU16},
    {"<i4", ElementType::kI32}, {"<u4", ElementType::kU32}, {"<i8", ElementType::kI64},
    {"<u8", ElementType::kU64}, {"<f4", ElementType::kF32}, {"<f8", ElementType::kF64},
};

template <typename T>
double load_as_double(const char* data, size_t index) {
  T value;
  std::memcpy(&value, data + index * sizeof(T), sizeof(T));
  return static_cast<double>(value);
}

// The header: a Python dict literal, e.g.
//   {'descr': '<u4', 'fortran_order': False, 'shape': (200, 58, 256), }
// read by recursive descent; every problem names the byte offset inside the header.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  NpyArray parse() {
    NpyArray array;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (!consume('}')) {
      const std::string key = string_literal("a quoted key");
      expect(':');
      if (key == "descr") {
        skip_space();
        if (peek() == '[')
          fail("descr: structured dtypes are not supported (expected a number array)");
        array.descr = string_literal("a dtype string");
        has_descr = true;
      } else if (key == "fortran_order") {
        if (boolean()) {
          throw Error(path_ +
                      ": fortran_order is True: Fortran-ordered arrays are not supported "
                      "(save a C-ordered copy, np.ascontiguousarray)");
        }
        has_order = true;
      } else if (key == "shape") {
        array.shape = tuple();
        has_shape = true;
      } else {
        fail("unexpected key '" + key + "' (expected descr, fortran_order, shape)");
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    if (!has_descr || !has_order || !has_shape) {
      fail(std::string("missing key '") +
           (!has_descr   ? "descr"
            : !has_order ? "fortran_order"
                         : "shape") +
           "'");
    }
    return array;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(path_ + ": header: " + problem + " (at header offset " + std::to_string(pos_) +
                ")");
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n')) {
      ++pos_;
    }
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  bool consume(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }

  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "'");
  }

  std::string string_literal(const char* what) {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail(std::string("expected ") + what);
    const size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }

  bool boolean() {
    skip_space();
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("fortran_order: expected True or False");
  }

  // "(200, 58, 256)", "(5,)", "()"; Python 2 wrote "58L".
  std::vector<int64_t> tuple() {
    std::vector<int64_t> shape;
    expect('(');
    while (!consume(')')) {
      skip_space();
      int64_t dim = 0;
      const char* begin = text_.data() + pos_;
      const auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), dim);
      if (ec != std::errc() || dim < 0) fail("shape: expected a non-negative integer");
      pos_ += static_cast<size_t>(end - begin);
      if (peek() == 'L') ++pos_;
      shape.push_back(dim);
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  std::string_view text_;
  const std::string& path_;
  size_t pos_ = 0;
};

}  // namespace

size_t element_size(ElementType type) {
  switch (type) {
    case ElementType::kI8:
    case ElementType::kU8: return 1;
    case ElementType::kI16:
    case ElementType::kU16: return 2;
    case ElementType::kI32:
    case ElementType::kU32:
    case ElementType::kF32: return 4;
    case ElementType::kI64:
    case ElementType::kU64:
    case ElementType::kF64: return 8;
  }
  return 1;
}

double element_value(ElementType type, const char* data, size_t index) {
  switch (type) {
    case ElementType::kI8: return load_as_double<int8_t>(data, index);
    case ElementType::kU8: return load_as_double<uint8_t>(data, index);
    case ElementType::kI16: return load_as_double<int16_t>(data, index);
    case ElementType::kU16: return load_as_double<uint16_t>(data, index);
    case ElementType::kI32: return load_as_double<int32_t>(data, index);
    case ElementType::kU32: return load_as_double<uint32_t>(data, index);
    case ElementType::kI64: return load_as_double<int64_t>(data, index);
    case ElementType::kU64: return load_as_double<uint64_t>(data, index);
    case ElementType::kF32: return load_as_double<float>(data, index);
    case ElementType::kF64: return load_as_double<double>(data, index);
  }
  return 0.0;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

NpyArray parse_npy(std::string_view bytes, const std::string& path) {
  // Preamble: magic, major, minor, then the header length (2 bytes LE in 1.0, 4 in 2.0/3.0).
  if (bytes.size() < 10 || bytes.substr(0, kMagic.size()) != kMagic) {
    throw Error(path + ": not a .npy file (no \\x93NUMPY magic string)");
  }
  const auto major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3) {
    throw Error(path + ": .npy format version " + std::to_string(major) +
                " is not supported (expected 1, 2 or 3)");
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_bytes) throw Error(path + ": truncated .npy preamble");
  size_t header_length = 0;
  for (size_t i = 0; i < length_bytes; ++i) {
    header_length |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  }
  const size_t header_begin = 8 + length_bytes;
  if (header_length > bytes.size() - header_begin) {
    throw Error(path + ": truncated: header length " + std::to_string(header_length) +
                " exceeds the " + std::to_string(bytes.size()) + "-byte file");
  }

  NpyArray array = HeaderParser(bytes.substr(header_begin, header_length), path).parse();
  bool known = false;
  for (const DtypeName& d : kDtypes) {
    if (d.descr == array.descr) {
      array.type = d.type;
      known = true;
    }
  }
  if (!known) {
    const std::string why = !array.descr.empty() && array.descr[0] == '>' ? " (big-endian)" : "";
    throw Error(path + ": descr: dtype '" + array.descr + "'" + why +
                " is not supported (expected |u1 |i1 <i2 <u2 <i4 <u4 <i8 <u8 <f4 <f8)");
  }

  // Check the element count against the bytes actually present before anything is sized by it.
  const size_t data_bytes = bytes.size() - header_begin - header_length;
  const size_t item = element_size(array.type);
  const size_t max_count = SIZE_MAX / item;
  size_t count = 1;
  for (int64_t dim : array.shape) {
    const auto d = static_cast<size_t>(dim);
    if (d != 0 && count > max_count / d) {
      throw Error(path + ": truncated: shape " + shape_text(array.shape) + " is larger than the " +
                  std::to_string(data_bytes) + " data bytes in the file");
    }
    count *= d;
  }
  if (count * item != data_bytes) {
    throw Error(path + (count * item > data_bytes ? ": truncated" : ": trailing bytes") +
                ": shape " + shape_text(array.shape) + " of " + array.descr + " needs " +
                std::to_string(count * item) + " data bytes, the file has " +
                std::to_string(data_bytes));
  }
  array.num_elements = count;
  array.data = bytes.substr(header_begin + header_length);
  return array;
}

}  // namespace eplb
