#include "arrays.h"

#include <nanobind/stl/string.h>

#include <limits>

namespace eplb::python {
namespace {

[[noreturn]] void fail(const std::string& message) { throw nb::value_error(message.c_str()); }

std::string python_type_name(nb::handle obj) { return nb::type_name(obj.type()).c_str(); }

// Calls fn(flat_idx, element_offset) for every element of `a` in row-major order, whatever
// its strides (in elements).
template <class Fn>
void for_each_element(const nb::ndarray<nb::ro>& a, Fn fn) {
  const size_t ndim = a.ndim();
  const size_t size = a.size();
  if (size == 0) return;
  std::vector<size_t> index(ndim, 0);
  int64_t offset = 0;
  for (size_t flat = 0; flat < size; ++flat) {
    fn(flat, offset);
    for (size_t d = ndim; d-- > 0;) {  // odometer step over the last dimension first
      offset += a.stride(d);
      if (++index[d] < a.shape(d)) break;
      offset -= a.stride(d) * static_cast<int64_t>(a.shape(d));
      index[d] = 0;
    }
  }
}

// The element at `offset` (in elements) converted to To; false for dtypes not listed.
template <class To>
bool read_element(const nb::ndarray<nb::ro>& a, int64_t offset, To* out) {
  const void* base = a.data();
  const nb::dlpack::dtype t = a.dtype();
  auto at = [&](auto tag) {
    using From = decltype(tag);
    return static_cast<To>(static_cast<const From*>(base)[offset]);
  };
  using code = nb::dlpack::dtype_code;
  if (t.lanes != 1) return false;
  switch (static_cast<code>(t.code)) {
    case code::Int:
      if (t.bits == 8) *out = at(int8_t{});
      else if (t.bits == 16) *out = at(int16_t{});
      else if (t.bits == 32) *out = at(int32_t{});
      else if (t.bits == 64) *out = at(int64_t{});
      else return false;
      return true;
    case code::UInt:
      if (t.bits == 8) *out = at(uint8_t{});
      else if (t.bits == 16) *out = at(uint16_t{});
      else if (t.bits == 32) *out = at(uint32_t{});
      else if (t.bits == 64) *out = at(uint64_t{});
      else return false;
      return true;
    case code::Float:
      if (t.bits == 32) *out = at(float{});
      else if (t.bits == 64) *out = at(double{});
      else return false;
      return true;
    default:
      return false;
  }
}

// Integers of any width to int64 (uint64 above int64's range saturates, staying out of range).
bool read_integer(const nb::ndarray<nb::ro>& a, int64_t offset, int64_t* out) {
  const nb::dlpack::dtype t = a.dtype();
  if (t.code == static_cast<uint8_t>(nb::dlpack::dtype_code::UInt) && t.bits == 64) {
    const uint64_t v = static_cast<const uint64_t*>(a.data())[offset];
    *out = v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? std::numeric_limits<int64_t>::max()
               : static_cast<int64_t>(v);
    return true;
  }
  return read_element(a, offset, out);
}

}  // namespace

std::string dtype_name(nb::dlpack::dtype t) {
  using code = nb::dlpack::dtype_code;
  std::string base;
  switch (static_cast<code>(t.code)) {
    case code::Int: base = "int"; break;
    case code::UInt: base = "uint"; break;
    case code::Float: base = "float"; break;
    case code::Bfloat: base = "bfloat"; break;
    case code::Complex: base = "complex"; break;
    case code::Bool: return "bool";
    default: base = "dtype" + std::to_string(t.code) + "_"; break;
  }
  return base + std::to_string(t.bits);
}

std::string shape_text(const nb::ndarray<nb::ro>& a) {
  std::string text = "(";
  for (size_t d = 0; d < a.ndim(); ++d) {
    if (d > 0) text += ", ";
    text += std::to_string(a.shape(d));
  }
  return text + (a.ndim() == 1 ? ",)" : ")");
}

bool is_integer(nb::dlpack::dtype t) {
  using code = nb::dlpack::dtype_code;
  return t.lanes == 1 && (t.code == static_cast<uint8_t>(code::Int) ||
                          t.code == static_cast<uint8_t>(code::UInt));
}

bool is_c_contiguous(const nb::ndarray<nb::ro>& a) {
  int64_t expected = 1;
  for (size_t d = a.ndim(); d-- > 0;) {
    if (a.shape(d) == 0) return true;
    if (a.shape(d) != 1 && a.stride(d) != expected) return false;
    expected *= static_cast<int64_t>(a.shape(d));
  }
  return true;
}

bool is_torch(nb::handle obj) {
  nb::object module = nb::getattr(obj.type(), "__module__", nb::none());
  if (!nb::isinstance<nb::str>(module)) return false;
  const std::string name = nb::cast<std::string>(module);
  return name == "torch" || name.rfind("torch.", 0) == 0;
}

nb::ndarray<nb::ro> as_input(nb::handle obj, const char* name, int ndim) {
  nb::ndarray<nb::ro> a;
  if (!nb::try_cast(obj, a, /*convert=*/false)) {
    // Sequences (lists, tuples) and scalars: through numpy, which picks int64 or float64.
    nb::object converted;
    try {
      converted = nb::module_::import_("numpy").attr("asarray")(obj);
    } catch (nb::python_error& e) {
      fail(std::string(name) + ": expected an array (numpy, torch or any DLPack array), got " +
           python_type_name(obj) + " (" + e.what() + ")");
    }
    if (!nb::try_cast(converted, a, /*convert=*/false)) {
      fail(std::string(name) + ": expected an array of numbers (numpy, torch or any DLPack "
           "array), got " + python_type_name(obj));
    }
  }
  if (a.device_type() != nb::device::cpu::value) {
    fail(std::string(name) + ": the array is on device type " + std::to_string(a.device_type()) +
         ", not the host: eplb's Python functions read host memory (move it with .cpu())");
  }
  if (ndim >= 0 && a.ndim() != static_cast<size_t>(ndim)) {
    fail(std::string(name) + ": expected a " + std::to_string(ndim) + "-D array, got shape " +
         shape_text(a));
  }
  return a;
}

nb::ndarray<> as_output(nb::handle obj, const char* name, nb::dlpack::dtype dtype,
                        std::span<const int64_t> shape) {
  std::string wanted = "a writable, C-contiguous " + dtype_name(dtype) + " array of shape (";
  for (size_t d = 0; d < shape.size(); ++d) {
    wanted += (d > 0 ? ", " : "") + std::to_string(shape[d]);
  }
  wanted += shape.size() == 1 ? ",)" : ")";
  wanted += " on the host (it is written in place, so it cannot be converted)";
  nb::ndarray<> out;
  if (!nb::try_cast(obj, out, /*convert=*/false)) {
    nb::ndarray<nb::ro> read_only;
    const bool is_array = nb::try_cast(obj, read_only, /*convert=*/false);
    fail(std::string(name) + ": expected " + wanted + ", got " +
         (is_array ? "a read-only array" : python_type_name(obj)));
  }
  const nb::ndarray<nb::ro> view(out);
  std::string got;
  if (out.device_type() != nb::device::cpu::value) {
    got = "an array on device type " + std::to_string(out.device_type());
  } else if (out.dtype() != dtype) {
    got = dtype_name(out.dtype());
  } else if (out.ndim() != shape.size()) {
    got = "shape " + shape_text(view);
  } else {
    for (size_t d = 0; d < shape.size(); ++d) {
      if (static_cast<int64_t>(out.shape(d)) != shape[d]) got = "shape " + shape_text(view);
    }
    if (got.empty() && !is_c_contiguous(view)) got = "a non-contiguous array";
  }
  if (!got.empty()) fail(std::string(name) + ": expected " + wanted + ", got " + got);
  return out;
}

std::vector<double> to_double_vector(const nb::ndarray<nb::ro>& a, const char* name) {
  std::vector<double> values(a.size());
  const nb::dlpack::dtype t = a.dtype();
  const bool real = t.lanes == 1 && (is_integer(t) || t.code == static_cast<uint8_t>(
                                                          nb::dlpack::dtype_code::Float));
  if (real && t.code == static_cast<uint8_t>(nb::dlpack::dtype_code::Float) && t.bits == 64 &&
      is_c_contiguous(a)) {
    const auto* data = static_cast<const double*>(a.data());
    values.assign(data, data + a.size());
    return values;
  }
  bool ok = real;
  if (ok) {
    for_each_element(a, [&](size_t flat, int64_t offset) {
      ok = ok && read_element(a, offset, &values[flat]);
    });
  }
  if (!ok) {
    fail(std::string(name) + ": expected real numbers (an integer or float dtype), got " +
         dtype_name(t));
  }
  return values;
}

std::vector<int32_t> to_int32_vector(const nb::ndarray<nb::ro>& a, const char* name) {
  if (!is_integer(a.dtype())) {
    fail(std::string(name) + ": expected integers (an int dtype), got " + dtype_name(a.dtype()));
  }
  std::vector<int32_t> values(a.size());
  for_each_element(a, [&](size_t flat, int64_t offset) {
    int64_t v = 0;
    read_integer(a, offset, &v);
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      fail(std::string(name) + ": element " + std::to_string(flat) + " = " + std::to_string(v) +
           " does not fit int32");
    }
    values[flat] = static_cast<int32_t>(v);
  });
  return values;
}

std::vector<int64_t> to_int64_vector(const nb::ndarray<nb::ro>& a, const char* name) {
  if (!is_integer(a.dtype())) {
    fail(std::string(name) + ": expected integer ids (int32 or int64), got " +
         dtype_name(a.dtype()));
  }
  std::vector<int64_t> values(a.size());
  for_each_element(a, [&](size_t flat, int64_t offset) { read_integer(a, offset, &values[flat]); });
  return values;
}

std::span<const int32_t> int32_ids(const nb::ndarray<nb::ro>& a, const char* name,
                                   std::vector<int32_t>& storage) {
  if (a.dtype() == nb::dtype<int32_t>() && is_c_contiguous(a)) {
    return {static_cast<const int32_t*>(a.data()), a.size()};
  }
  if (!is_integer(a.dtype())) {
    fail(std::string(name) + ": expected integer ids (int32 or int64), got " +
         dtype_name(a.dtype()));
  }
  storage.resize(a.size());
  for_each_element(a, [&](size_t flat, int64_t offset) {
    int64_t v = 0;
    read_integer(a, offset, &v);
    const bool fits = v >= std::numeric_limits<int32_t>::min() &&
                      v <= std::numeric_limits<int32_t>::max();
    storage[flat] = fits ? static_cast<int32_t>(v) : -1;
  });
  return storage;
}

std::vector<int> int_list_arg(nb::handle obj, const char* name) {
  auto refuse = [&](nb::handle value, const std::string& what) {
    throw nb::value_error((std::string(name) + ": expected an iterable of ints, got " + what +
                           nb::repr(value).c_str() + " (" + nb::type_name(value.type()).c_str() +
                           ")")
                              .c_str());
  };
  if (nb::isinstance<nb::str>(obj) || nb::isinstance<nb::bytes>(obj)) refuse(obj, "");
  nb::object it = nb::steal(PyObject_GetIter(obj.ptr()));
  if (!it.is_valid()) {
    PyErr_Clear();
    refuse(obj, "");
  }
  std::vector<int> values;
  while (true) {
    nb::object item = nb::steal(PyIter_Next(it.ptr()));
    if (!item.is_valid()) {
      if (PyErr_Occurred() != nullptr) throw nb::python_error();
      break;
    }
    if (PyBool_Check(item.ptr())) refuse(item, "the item ");
    nb::object index = nb::steal(PyNumber_Index(item.ptr()));
    if (!index.is_valid()) {
      PyErr_Clear();
      refuse(item, "the item ");
    }
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
    if (overflow != 0 || v < std::numeric_limits<int>::min() ||
        v > std::numeric_limits<int>::max()) {
      throw nb::value_error(
          (std::string(name) + ": " + nb::repr(item).c_str() + " is outside the int32 range")
              .c_str());
    }
    values.push_back(static_cast<int>(v));
  }
  return values;
}

}  // namespace eplb::python
