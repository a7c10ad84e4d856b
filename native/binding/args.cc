// Argument checks (see args.h).
#include "args.h"

#include <cmath>

namespace convene_addon {

bool Args::Fail(const std::string& message) {
  Napi::Env env = info_.Env();
  if (!env.IsExceptionPending()) Napi::TypeError::New(env, std::string(call_) + ": " + message).ThrowAsJavaScriptException();
  return false;
}

bool Args::Expected(const char* name, const char* what) { return Fail(std::string(name) + " must be " + what); }

bool Args::String(size_t i, const char* name, std::string* out) {
  Napi::Value v = At(i);
  if (!v.IsString()) return Expected(name, "a string");
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

bool Args::StringOrNull(size_t i, const char* name, std::string* out, bool* present) {
  Napi::Value v = At(i);
  if (v.IsNull()) {
    out->clear();
    *present = false;
    return true;
  }
  if (!v.IsString()) return Expected(name, "a string or null");
  *out = v.As<Napi::String>().Utf8Value();
  *present = true;
  return true;
}

bool Args::Bool(size_t i, const char* name, bool* out) {
  Napi::Value v = At(i);
  if (!v.IsBoolean()) return Expected(name, "a boolean");
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool Args::OptionalBool(size_t i, const char* name, bool fallback, bool* out) {
  if (At(i).IsUndefined()) {
    *out = fallback;
    return true;
  }
  return Bool(i, name, out);
}

bool Args::Id(size_t i, const char* name, int64_t* out) {
  Napi::Value v = At(i);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) return Expected(name, "an integer >= 0");
  *out = static_cast<int64_t>(d);
  return true;
}

bool Args::Int(size_t i, const char* name, int lo, int hi, int* out) {
  Napi::Value v = At(i);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : std::nan("");
  if (!(d >= lo && d <= hi) || std::floor(d) != d) {
    return Expected(name, ("an integer from " + std::to_string(lo) + " to " + std::to_string(hi)).c_str());
  }
  *out = static_cast<int>(d);
  return true;
}

bool Args::OptionalInt(size_t i, const char* name, int lo, int hi, int fallback, int* out) {
  if (At(i).IsUndefined()) {
    *out = fallback;
    return true;
  }
  return Int(i, name, lo, hi, out);
}

bool Args::Int16Array(size_t i, const char* name, const int16_t** data, size_t* length) {
  Napi::Value v = At(i);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int16_array) return Expected(name, "an Int16Array");
  Napi::Int16Array a = v.As<Napi::Int16Array>();
  *data = a.Data();
  *length = a.ElementLength();
  return true;
}

bool Args::Uint8Array(size_t i, const char* name, const uint8_t** data, size_t* length) {
  Napi::Value v = At(i);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) return Expected(name, "a Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  *data = a.Data();
  *length = a.ElementLength();
  return true;
}

bool Args::Number(size_t i, const char* name, double* out) {
  Napi::Value v = At(i);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : std::nan("");
  if (!std::isfinite(d)) return Expected(name, "a finite number");
  *out = d;
  return true;
}

bool Args::OneOf(size_t i, const char* name, const char* const* allowed, std::string* out) {
  std::string s;
  Napi::Value v = At(i);
  if (v.IsString()) {
    s = v.As<Napi::String>().Utf8Value();
    for (const char* const* a = allowed; *a; a++) {
      if (s == *a) {
        *out = std::move(s);
        return true;
      }
    }
  }
  std::string list;
  for (const char* const* a = allowed; *a; a++) list += std::string(list.empty() ? "'" : ", '") + *a + "'";
  return Expected(name, ("one of " + list).c_str());
}

bool Args::StringArray(size_t i, const char* name, std::vector<std::string>* out) {
  Napi::Value v = At(i);
  if (!v.IsArray()) return Expected(name, "an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  uint32_t n = a.Length();
  out->clear();
  out->reserve(n < 1024 ? n : 1024);  // a sparse array may claim a length it does not hold
  for (uint32_t k = 0; k < n; k++) {
    Napi::Value e = a.Get(k);  // may run a getter that throws: Fail keeps that exception
    if (!e.IsString()) return Expected(name, "an array of strings");
    out->push_back(e.As<Napi::String>().Utf8Value());
  }
  return true;
}

}  // namespace convene_addon
