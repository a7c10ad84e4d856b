// Session options to settings (see options.h).
#include "options.h"

#include <cmath>
#include <memory>
#include <string>

extern "C" {
#include "opentok/convene.h"
}

namespace convene_addon {

namespace {

// A number of ms as the setters take it; one out of int's range becomes -1, which every
// setter rejects (a plain cast would be undefined behaviour).
int Ms(double d) { return d >= -1.0 && d <= 2147483647.0 ? static_cast<int>(d) : -1; }

// Reads one object's properties; after a failure (thrown), every later read fails too.
class Reader {
 public:
  Reader(Napi::Env env, Napi::Object obj) : env_(env), obj_(obj) {}

  // The property, or an empty value when absent (undefined or null). False: a getter threw.
  bool Get(const char* name, Napi::Value* out) {
    if (failed_) return false;
    Napi::Value v = obj_.Get(name);
    if (env_.IsExceptionPending()) return failed_ = true, false;
    *out = (v.IsUndefined() || v.IsNull()) ? Napi::Value() : v;
    return true;
  }

  bool Fail(const std::string& message) {
    if (!env_.IsExceptionPending()) Napi::TypeError::New(env_, message).ThrowAsJavaScriptException();
    failed_ = true;
    return false;
  }

  // A boolean option; absent leaves *out as it is.
  bool Bool(const char* name, bool* out) {
    Napi::Value v;
    if (!Get(name, &v)) return false;
    if (v.IsEmpty()) return true;
    if (!v.IsBoolean()) return Fail(std::string(name) + " must be a boolean");
    *out = v.As<Napi::Boolean>().Value();
    return true;
  }

  // A string option; absent leaves *out empty.
  bool String(const char* name, std::string* out) {
    Napi::Value v;
    if (!Get(name, &v)) return false;
    if (v.IsEmpty()) return true;
    if (!v.IsString()) return Fail(std::string(name) + " must be a string");
    *out = v.As<Napi::String>().Utf8Value();
    return true;
  }

  // A number option; *present says whether it was given. A non-number or a non-finite one
  // fails with `message`.
  bool Number(const char* name, const char* message, double* out, bool* present) {
    Napi::Value v;
    *present = false;
    if (!Get(name, &v)) return false;
    if (v.IsEmpty()) return true;
    if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) return Fail(message);
    *out = v.As<Napi::Number>().DoubleValue();
    *present = true;
    return true;
  }

 private:
  Napi::Env env_;
  Napi::Object obj_;
  bool failed_ = false;
};

struct SettingsDeleter {
  void operator()(struct otc_session_settings* st) const { otc_session_settings_delete(st); }
};
using Settings = std::unique_ptr<struct otc_session_settings, SettingsDeleter>;

bool ReadBackoff(Napi::Env env, Reader& r, struct otc_session_settings* st) {
  const char* msg = "reconnectBackoff: base >= 1, factor >= 1, cap >= base (numbers, in ms)";
  Napi::Value v;
  if (!r.Get("reconnectBackoff", &v)) return false;
  if (v.IsEmpty()) return true;
  if (!v.IsObject()) return r.Fail("reconnectBackoff must be an object {base, factor, cap}");
  Reader b(env, v.As<Napi::Object>());
  double base = 250, factor = 2.0, cap = 5000;
  bool has = false;
  if (!b.Number("base", msg, &base, &has) || !b.Number("factor", msg, &factor, &has) || !b.Number("cap", msg, &cap, &has)) {
    return r.Fail(msg);
  }
  if (convene_session_settings_set_reconnect_backoff(st, Ms(base), factor, Ms(cap)) != OTC_SUCCESS) {
    return r.Fail(msg);
  }
  return true;
}

bool ReadKeepalive(Napi::Env env, Reader& r, struct otc_session_settings* st) {
  const char* msg = "keepalive: interval >= 100 ms, timeout > interval";
  Napi::Value v;
  if (!r.Get("keepalive", &v)) return false;
  if (v.IsEmpty()) return true;
  if (!v.IsObject()) return r.Fail("keepalive must be an object {interval, timeout}");
  // One of the two may be left out: the other follows the server's ratio (10 s / 15 s).
  Reader k(env, v.As<Napi::Object>());
  double interval = -1, timeout = -1;
  bool has_interval = false, has_timeout = false;
  if (!k.Number("interval", msg, &interval, &has_interval) || !k.Number("timeout", msg, &timeout, &has_timeout)) {
    return r.Fail(msg);
  }
  if (!has_interval && has_timeout) interval = timeout * 2 / 3;
  if (!has_timeout && has_interval) timeout = interval * 3 / 2;
  if (interval > 3600000 || timeout > 3600000 || convene_session_settings_set_keepalive(st, Ms(interval), Ms(timeout)) != OTC_SUCCESS) {
    return r.Fail(msg);
  }
  return true;
}

}  // namespace

struct otc_session_settings* SettingsFromOptions(Napi::Env env, Napi::Object opts, bool* suppressed) {
  Settings st(otc_session_settings_new());
  if (!st) {
    Napi::Error::New(env, "convene: out of memory").ThrowAsJavaScriptException();
    return nullptr;
  }
  Reader r(env, opts);
  bool has = false;

  std::string url;
  if (!r.String("serverUrl", &url)) return nullptr;
  if (!url.empty() && otc_session_settings_set_server_url(st.get(), url.c_str()) != OTC_SUCCESS) {
    r.Fail("serverUrl must be a ws:// or wss:// URL");
    return nullptr;
  }

  *suppressed = false;
  if (!r.Bool("connectionEventsSuppressed", suppressed)) return nullptr;
  if (*suppressed) otc_session_settings_set_connection_events_suppressed(st.get(), 1);

  double connect_timeout = 0;
  const char* ct_msg = "connectTimeout must be a number of ms > 0";
  if (!r.Number("connectTimeout", ct_msg, &connect_timeout, &has)) return nullptr;
  if (has && otc_session_settings_set_connect_timeout(st.get(), Ms(connect_timeout)) != OTC_SUCCESS) {
    r.Fail(ct_msg);
    return nullptr;
  }

  std::string ca;
  if (!r.String("caFile", &ca)) return nullptr;
  if (!ca.empty()) otc_session_settings_set_ca_file(st.get(), ca.c_str());

  bool verify = true;
  if (!r.Bool("tlsVerify", &verify)) return nullptr;
  if (!verify) otc_session_settings_set_tls_verify(st.get(), 0);

  bool rejoin = false;
  if (!r.Bool("rejoin", &rejoin)) return nullptr;
  if (rejoin) convene_session_settings_set_rejoin(st.get(), 1);

  double rejoin_timeout = 0;
  const char* rt_msg = "rejoinTimeout must be a number of ms >= 0";
  if (!r.Number("rejoinTimeout", rt_msg, &rejoin_timeout, &has)) return nullptr;
  if (has && convene_session_settings_set_rejoin_timeout(st.get(), Ms(rejoin_timeout)) != OTC_SUCCESS) {
    r.Fail(rt_msg);
    return nullptr;
  }

  if (!ReadBackoff(env, r, st.get()) || !ReadKeepalive(env, r, st.get())) return nullptr;

  double max_queued = 0;
  const char* mq_msg = "maxQueued must be a number >= 0";
  if (!r.Number("maxQueued", mq_msg, &max_queued, &has)) return nullptr;
  if (has && convene_session_settings_set_max_queued(st.get(), Ms(max_queued)) != OTC_SUCCESS) {
    r.Fail(mq_msg);
    return nullptr;
  }
  return st.release();
}

}  // namespace convene_addon
