// Array arguments at the Python edge: numpy arrays, torch tensors and anything else that speaks
// DLPack or the buffer protocol, seen through nanobind's ndarray without copying.
//
// Inputs are read in place when they already have the dtype and C-contiguous layout the core
// wants, and converted into a copy otherwise (any integer dtype for ids, any real dtype for
// loads; floats for ids and arrays of the wrong shape are refused). Outputs the core writes
// into (counts=, out=) must match exactly: a copy would silently drop the result. Every
// refusal is a ValueError naming the argument, never a crash.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace eplb::python {

namespace nb = nanobind;

// Read-only view of any array-like: numpy, torch (DLPack), buffer protocol; other sequences
// (lists) go through numpy.asarray. Throws ValueError naming `name` when it is not an array,
// not on the host, or has `ndim` != the array's (ndim < 0: any).
nb::ndarray<nb::ro> as_input(nb::handle obj, const char* name, int ndim);

// Writable host array for an output argument; throws ValueError naming `name` when `obj` is not
// a writable, C-contiguous, host array of `dtype` and exactly `shape`.
nb::ndarray<> as_output(nb::handle obj, const char* name, nb::dlpack::dtype dtype,
                        std::span<const int64_t> shape);

// "int32", "float64", ... for messages.
std::string dtype_name(nb::dlpack::dtype dtype);
// "(3, 4)" for messages.
std::string shape_text(const nb::ndarray<nb::ro>& a);

bool is_c_contiguous(const nb::ndarray<nb::ro>& a);
bool is_integer(nb::dlpack::dtype dtype);

// Row-major copies converted element by element (any layout): reals (int/uint/float, not bool)
// to double; integers to int32, throwing ValueError naming `name` and the index for values
// outside int32.
std::vector<double> to_double_vector(const nb::ndarray<nb::ro>& a, const char* name);
std::vector<int32_t> to_int32_vector(const nb::ndarray<nb::ro>& a, const char* name);

// Integers of any dtype and layout to int64 (uint64 above int64's range saturates); throws
// ValueError naming `name` for non-integer dtypes.
std::vector<int64_t> to_int64_vector(const nb::ndarray<nb::ro>& a, const char* name);

// Integer ids read in place when `a` is C-contiguous int32 (else converted into `storage`;
// values outside int32 become -1, i.e. out of range for any expert count).
std::span<const int32_t> int32_ids(const nb::ndarray<nb::ro>& a, const char* name,
                                   std::vector<int32_t>& storage);

// Any iterable of Python ints (list, tuple, set, range, 1-D integer numpy array, ...; numpy
// integer scalars accepted, bool and float refused) as ints, in iteration order. Throws
// ValueError naming `name` and the offending value.
std::vector<int> int_list_arg(nb::handle obj, const char* name);

// The framework to hand results back in: "torch" for a torch tensor, else "numpy".
bool is_torch(nb::handle obj);

// A new array owning `values`, shaped `shape`, as numpy (or torch when `torch`, zero-copy
// through DLPack); writable. `data`, when given, receives the array's data pointer (owned by
// the returned object).
template <class T>
nb::object new_array(std::vector<T> values, std::vector<size_t> shape, bool torch = false,
                     T** data = nullptr);

}  // namespace eplb::python

// ---- implementation of the template above ----
namespace eplb::python {

template <class T>
nb::object new_array(std::vector<T> values, std::vector<size_t> shape, bool torch, T** data) {
  auto* owned = new std::vector<T>(std::move(values));
  if (owned->empty()) owned->reserve(1);  // a non-null data pointer even for empty arrays
  if (data != nullptr) *data = owned->data();
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  if (torch) {
    return nb::cast(nb::ndarray<nb::pytorch, T>(owned->data(), shape.size(), shape.data(), owner));
  }
  return nb::cast(nb::ndarray<nb::numpy, T>(owned->data(), shape.size(), shape.data(), owner));
}

}  // namespace eplb::python
