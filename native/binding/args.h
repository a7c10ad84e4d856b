// Argument checks at the C++ entry. lib/client checks what users pass; these checks keep the
// native object itself safe when called directly with anything: a wrong type throws a
// TypeError that names the call and the argument, and the method returns at once. A JS
// exception already pending (a throwing getter, say) is never overwritten: the check fails
// and that exception propagates.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace convene_addon {

class Args {
 public:
  // `call` names the method in messages, e.g. "signal(req, type, data, to, retry)".
  Args(const Napi::CallbackInfo& info, const char* call) : info_(info), call_(call) {}

  // Each returns false once it has thrown; the caller returns at once.
  bool String(size_t i, const char* name, std::string* out);
  // A string, or null: *present says which (out is left empty for null).
  bool StringOrNull(size_t i, const char* name, std::string* out, bool* present);
  bool Bool(size_t i, const char* name, bool* out);
  // A boolean, or undefined (then `fallback`).
  bool OptionalBool(size_t i, const char* name, bool fallback, bool* out);
  // An integer 0 <= n <= 2^53 - 1 (request and publisher ids).
  bool Id(size_t i, const char* name, int64_t* out);
  // One of the strings in `allowed` (nullptr-terminated).
  bool OneOf(size_t i, const char* name, const char* const* allowed, std::string* out);
  // An array of strings.
  bool StringArray(size_t i, const char* name, std::vector<std::string>* out);
  // An integer lo <= n <= hi.
  bool Int(size_t i, const char* name, int lo, int hi, int* out);
  // An integer lo <= n <= hi, or undefined (then `fallback`).
  bool OptionalInt(size_t i, const char* name, int lo, int hi, int fallback, int* out);
  // An Int16Array: its samples (valid while the call runs) and their count.
  bool Int16Array(size_t i, const char* name, const int16_t** data, size_t* length);
  // A Uint8Array (a Buffer is one): its bytes (valid while the call runs) and their count.
  bool Uint8Array(size_t i, const char* name, const uint8_t** data, size_t* length);
  // A finite number.
  bool Number(size_t i, const char* name, double* out);

  // Throws TypeError "<call>: <message>" unless an exception is pending; returns false.
  bool Fail(const std::string& message);

 private:
  Napi::Value At(size_t i) const { return i < info_.Length() ? info_[i] : info_.Env().Undefined(); }
  bool Expected(const char* name, const char* what);

  const Napi::CallbackInfo& info_;
  const char* call_;
};

}  // namespace convene_addon
