// The Node binding of the Convene C core (node-addon-api, NAPI_VERSION 8).
//
// Callbacks of the C core run on its service thread: they copy what they are handed into
// an Event and queue it; one ThreadSafeFunction call per batch carries every queued event
// to JavaScript. A session keeps the process alive (tsfn ref'd) only while it is
// connecting or connected. Every reference is released when the session is closed, is
// garbage collected, or its environment is torn down.
#include <napi.h>

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" {
#include "opentok.h"
#include "opentok/convene.h"
}

namespace {

// ---- process-wide core lifetime: one otc_init for every environment (main + workers) ----
std::mutex g_core_mu;
int g_core_users = 0;

bool AcquireCore() {
  std::lock_guard<std::mutex> lock(g_core_mu);
  if (g_core_users == 0 && otc_init(nullptr) != OTC_SUCCESS) return false;
  g_core_users++;
  return true;
}

void ReleaseCore() {
  std::lock_guard<std::mutex> lock(g_core_mu);
  if (--g_core_users == 0) otc_destroy();
}

// ---- events copied out of the callbacks ----
struct ConnData {
  std::string id, data;
  int64_t creation_time = 0;
};

struct StreamData {
  std::string id, connection_id, name;
  int64_t creation_time = 0;
  bool has_audio = false, has_video = false;
  int width = 0, height = 0;
  int video_type = 1;
};

enum class Kind {
  Connected, Disconnected, Error, ConnectionCreated, ConnectionDropped, StreamReceived, StreamDropped,
  StreamAudio, StreamVideo, StreamDims, StreamVideoType, Signal, Reconnecting, Reconnected, MuteForced,
  Done, PubCreated, PubDestroyed, PubError,
};

struct Event {
  explicit Event(Kind k) : kind(k) {}
  Kind kind;
  ConnData conn;
  StreamData stream;
  std::string s1, s2;  // reason / message / signal type+data / from
  int64_t i1 = 0, i2 = 0;
  bool b = false;
  bool has_from = false;
};

ConnData CopyConn(const otc_connection* c) {
  ConnData d;
  if (!c) return d;
  d.id = otc_connection_get_id(c);
  d.data = otc_connection_get_data(c);
  d.creation_time = otc_connection_get_creation_time(c);
  return d;
}

StreamData CopyStream(const otc_stream* s) {
  StreamData d;
  if (!s) return d;
  d.id = otc_stream_get_id(s);
  d.name = otc_stream_get_name(s);
  const otc_connection* c = otc_stream_get_connection(s);
  d.connection_id = c ? otc_connection_get_id(c) : "";
  d.creation_time = otc_stream_get_creation_time(s);
  d.has_audio = otc_stream_has_audio(s);
  d.has_video = otc_stream_has_video(s);
  d.width = otc_stream_get_video_width(s);
  d.height = otc_stream_get_video_height(s);
  d.video_type = otc_stream_get_video_type(s);
  return d;
}

const char* VideoTypeName(int t) { return t == 2 ? "screen" : t == 3 ? "custom" : "camera"; }

class SessionWrap;

// What the service thread and the tsfn share. Owned by the tsfn: freed by its finalizer,
// which runs after the last queued call, so a callback never sees it freed.
struct Shared {
  std::mutex mu;
  std::vector<Event> queue;
  bool scheduled = false;
  bool closed = false;
  SessionWrap* wrap = nullptr;  // JS thread only; nullptr once the wrap is closed
  void Push(Event&& ev);
  std::function<napi_status()> call;
};

struct EnvData {
  std::set<SessionWrap*> sessions;
  Napi::FunctionReference ctor;
};

struct PubCtx {
  Shared* shared;
  int64_t id;
  otc_publisher* publisher;
};

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit SessionWrap(const Napi::CallbackInfo& info);
  ~SessionWrap() override { Close(); }

  void Close();
  static void CallJs(Napi::Env env, Napi::Function cb, Shared* shared, void* unused);
  using Tsfn = Napi::TypedThreadSafeFunction<Shared, void, &SessionWrap::CallJs>;

 private:
  void Deliver(Napi::Env env, Napi::Function cb, std::vector<Event>& batch);

  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Disconnect(const Napi::CallbackInfo& info);
  Napi::Value Signal(const Napi::CallbackInfo& info);
  Napi::Value Moderate(const Napi::CallbackInfo& info);
  Napi::Value Publish(const Napi::CallbackInfo& info);
  Napi::Value Unpublish(const Napi::CallbackInfo& info);
  Napi::Value SetPublish(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);

  void Alive(Napi::Env env, bool on);

  otc_session* session_ = nullptr;
  Tsfn tsfn_;
  Shared* shared_ = nullptr;
  bool closed_ = false;
  bool alive_ = false;  // tsfn ref'd: keeps the event loop running
  bool core_ = false;
  EnvData* env_data_ = nullptr;
  std::unordered_map<int64_t, std::unique_ptr<PubCtx>> publishers_;
};

// ---- C callbacks (service thread) ----
Shared* W(void* user_data) { return static_cast<Shared*>(user_data); }

void OnConnected(otc_session* s, void* u) {
  Event e(Kind::Connected);
  otc_connection* me = otc_session_get_connection(s);
  e.conn = CopyConn(me);
  otc_connection_delete(me);
  struct otc_session_capabilities caps = otc_session_get_capabilities(s);
  e.i1 = (caps.publish ? 1 : 0) | (caps.force_mute ? 2 : 0) | (caps.force_disconnect ? 4 : 0);
  e.s1 = convene_session_get_role(s);
  W(u)->Push(std::move(e));
}
void OnDisconnected(otc_session* s, void* u) {
  Event e(Kind::Disconnected);
  const char* r = convene_session_get_disconnect_reason(s);
  e.s1 = r ? r : "clientDisconnected";
  W(u)->Push(std::move(e));
}
void OnConnCreated(otc_session*, void* u, const otc_connection* c) {
  Event e(Kind::ConnectionCreated);
  e.conn = CopyConn(c);
  W(u)->Push(std::move(e));
}
void OnConnDropped(otc_session*, void* u, const otc_connection* c) {
  Event e(Kind::ConnectionDropped);
  e.conn = CopyConn(c);
  const char* r = convene_connection_get_reason(c);
  e.s1 = r ? r : "clientDisconnected";
  W(u)->Push(std::move(e));
}
void OnStreamReceived(otc_session*, void* u, const otc_stream* st) {
  Event e(Kind::StreamReceived);
  e.stream = CopyStream(st);
  W(u)->Push(std::move(e));
}
void OnStreamDropped(otc_session*, void* u, const otc_stream* st) {
  Event e(Kind::StreamDropped);
  e.stream = CopyStream(st);
  const char* r = convene_stream_get_reason(st);
  e.s1 = r ? r : "clientDisconnected";
  W(u)->Push(std::move(e));
}
void OnAudio(otc_session*, void* u, const otc_stream* st, otc_bool v) {
  Event e(Kind::StreamAudio);
  e.stream.id = otc_stream_get_id(st);
  e.b = v;
  W(u)->Push(std::move(e));
}
void OnVideo(otc_session*, void* u, const otc_stream* st, otc_bool v) {
  Event e(Kind::StreamVideo);
  e.stream.id = otc_stream_get_id(st);
  e.b = v;
  W(u)->Push(std::move(e));
}
void OnDims(otc_session*, void* u, const otc_stream* st, int w, int h) {
  Event e(Kind::StreamDims);
  e.stream.id = otc_stream_get_id(st);
  e.i1 = w;
  e.i2 = h;
  W(u)->Push(std::move(e));
}
void OnVideoType(otc_session*, void* u, const otc_stream* st, enum otc_stream_video_type t) {
  Event e(Kind::StreamVideoType);
  e.stream.id = otc_stream_get_id(st);
  e.i1 = t;
  W(u)->Push(std::move(e));
}
void OnSignal(otc_session*, void* u, const char* type, const char* data, const otc_connection* from) {
  Event e(Kind::Signal);
  e.s1 = type ? type : "";
  e.s2 = data ? data : "";
  if (from) {
    e.has_from = true;
    e.conn = CopyConn(from);
  }
  W(u)->Push(std::move(e));
}
void OnReconnecting(otc_session*, void* u) { W(u)->Push(Event(Kind::Reconnecting)); }
void OnReconnected(otc_session*, void* u) { W(u)->Push(Event(Kind::Reconnected)); }
void OnError(otc_session*, void* u, const char* msg, enum otc_session_error_code code) {
  Event e(Kind::Error);
  e.i1 = code;
  e.s1 = msg ? msg : "";
  W(u)->Push(std::move(e));
}
void OnMuteForced(otc_session*, void* u, otc_on_mute_forced_info* info) {
  Event e(Kind::MuteForced);
  e.b = info && info->active;
  W(u)->Push(std::move(e));
}
void OnDone(otc_session*, void* u, void* req, int code, const char* message) {
  Event e(Kind::Done);
  e.i1 = static_cast<int64_t>(reinterpret_cast<intptr_t>(req));
  e.i2 = code;
  e.s1 = message ? message : "";
  W(u)->Push(std::move(e));
}

void OnPubCreated(otc_publisher*, void* u, const otc_stream* st) {
  auto* p = static_cast<PubCtx*>(u);
  Event e(Kind::PubCreated);
  e.i1 = p->id;
  e.stream = CopyStream(st);
  p->shared->Push(std::move(e));
}
void OnPubDestroyed(otc_publisher*, void* u, const otc_stream* st) {
  auto* p = static_cast<PubCtx*>(u);
  Event e(Kind::PubDestroyed);
  e.i1 = p->id;
  e.stream = CopyStream(st);
  const char* r = convene_stream_get_reason(st);
  e.s1 = r ? r : "clientDisconnected";
  p->shared->Push(std::move(e));
}
void OnPubError(otc_publisher*, void* u, const char* msg, enum otc_publisher_error_code code) {
  auto* p = static_cast<PubCtx*>(u);
  Event e(Kind::PubError);
  e.i1 = p->id;
  e.i2 = code;
  e.s1 = msg ? msg : "";
  p->shared->Push(std::move(e));
}

// ---- SessionWrap ----
Napi::Function SessionWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativeSession",
                     {InstanceMethod("connect", &SessionWrap::Connect),
                      InstanceMethod("disconnect", &SessionWrap::Disconnect),
                      InstanceMethod("signal", &SessionWrap::Signal),
                      InstanceMethod("moderate", &SessionWrap::Moderate),
                      InstanceMethod("publish", &SessionWrap::Publish),
                      InstanceMethod("unpublish", &SessionWrap::Unpublish),
                      InstanceMethod("setPublish", &SessionWrap::SetPublish),
                      InstanceMethod("close", &SessionWrap::CloseJs)});
}

std::string Str(const Napi::Value& v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(); }

// new NativeSession(apiKey, sessionId, options, onEvents)
SessionWrap::SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsObject() || !info[3].IsFunction()) {
    Napi::TypeError::New(env, "NativeSession(apiKey, sessionId, options, onEvents)").ThrowAsJavaScriptException();
    return;
  }
  if (!AcquireCore()) {
    Napi::Error::New(env, "convene: cannot start the native core (otc_init failed)").ThrowAsJavaScriptException();
    return;
  }
  core_ = true;
  Napi::Object opts = info[2].As<Napi::Object>();
  struct otc_session_settings* st = otc_session_settings_new();
  std::string url = Str(opts.Get("serverUrl"));
  if (!url.empty() && otc_session_settings_set_server_url(st, url.c_str()) != OTC_SUCCESS) {
    otc_session_settings_delete(st);
    Napi::TypeError::New(env, "serverUrl must be a ws:// or wss:// URL").ThrowAsJavaScriptException();
    return;
  }
  if (opts.Get("connectionEventsSuppressed").ToBoolean()) otc_session_settings_set_connection_events_suppressed(st, 1);
  Napi::Value timeout = opts.Get("connectTimeout");
  if (timeout.IsNumber()) otc_session_settings_set_connect_timeout(st, timeout.As<Napi::Number>().Int32Value());
  std::string ca = Str(opts.Get("caFile"));
  if (!ca.empty()) otc_session_settings_set_ca_file(st, ca.c_str());
  if (opts.Get("rejoin").ToBoolean()) convene_session_settings_set_rejoin(st, 1);
  Napi::Value backoff = opts.Get("reconnectBackoff");
  if (backoff.IsObject()) {
    Napi::Object b = backoff.As<Napi::Object>();
    int base = b.Get("base").IsNumber() ? b.Get("base").As<Napi::Number>().Int32Value() : 250;
    double factor = b.Get("factor").IsNumber() ? b.Get("factor").As<Napi::Number>().DoubleValue() : 2.0;
    int cap = b.Get("cap").IsNumber() ? b.Get("cap").As<Napi::Number>().Int32Value() : 5000;
    if (convene_session_settings_set_reconnect_backoff(st, base, factor, cap) != OTC_SUCCESS) {
      otc_session_settings_delete(st);
      Napi::TypeError::New(env, "reconnectBackoff: base >= 1, factor >= 1, cap >= base").ThrowAsJavaScriptException();
      return;
    }
  }
  Napi::Value verify = opts.Get("tlsVerify");
  if (verify.IsBoolean() && !verify.As<Napi::Boolean>().Value()) otc_session_settings_set_tls_verify(st, 0);

  struct otc_session_callbacks cb = {};
  cb.on_connected = OnConnected;
  cb.on_disconnected = OnDisconnected;
  cb.on_connection_created = OnConnCreated;
  cb.on_connection_dropped = OnConnDropped;
  cb.on_stream_received = OnStreamReceived;
  cb.on_stream_dropped = OnStreamDropped;
  cb.on_stream_has_audio_changed = OnAudio;
  cb.on_stream_has_video_changed = OnVideo;
  cb.on_stream_video_dimensions_changed = OnDims;
  cb.on_stream_video_type_changed = OnVideoType;
  cb.on_signal_received = OnSignal;
  cb.on_reconnection_started = OnReconnecting;
  cb.on_reconnected = OnReconnected;
  cb.on_error = OnError;
  cb.on_mute_forced = OnMuteForced;
  shared_ = new Shared();
  cb.user_data = shared_;
  session_ = otc_session_new_with_settings(Str(info[0]).c_str(), Str(info[1]).c_str(), &cb, st);
  otc_session_settings_delete(st);
  if (!session_) {
    delete shared_;
    shared_ = nullptr;
    Napi::TypeError::New(env, "cannot create the session: apiKey and sessionId must be non-empty strings")
        .ThrowAsJavaScriptException();
    return;
  }
  shared_->wrap = this;
  tsfn_ = Tsfn::New(env, info[3].As<Napi::Function>(), "convene-session", 0, 1, shared_,
                    [](Napi::Env, void*, Shared* sh) { delete sh; });
  Tsfn* t = &tsfn_;
  shared_->call = [t]() { return t->NonBlockingCall(); };
  tsfn_.Unref(env);
  env_data_ = env.GetInstanceData<EnvData>();
  if (env_data_) env_data_->sessions.insert(this);
}

// Any thread (the service thread, in practice). One tsfn call per batch.
void Shared::Push(Event&& ev) {
  std::lock_guard<std::mutex> lock(mu);
  if (closed) return;
  queue.push_back(std::move(ev));
  if (scheduled) return;
  scheduled = true;
  if (call() != napi_ok) scheduled = false;  // closing: the events go with the session
}

void SessionWrap::CallJs(Napi::Env env, Napi::Function cb, Shared* sh, void*) {
  if (sh == nullptr) return;
  std::vector<Event> batch;
  {
    std::lock_guard<std::mutex> lock(sh->mu);
    batch.swap(sh->queue);
    sh->scheduled = false;
  }
  // env is null while the environment is torn down: the events are dropped, memory freed.
  if (env == nullptr || sh->wrap == nullptr || batch.empty()) return;
  sh->wrap->Deliver(env, cb, batch);
}

Napi::Object ConnToJs(Napi::Env env, const ConnData& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("connectionId", c.id);
  o.Set("creationTime", Napi::Number::New(env, static_cast<double>(c.creation_time)));
  o.Set("data", c.data);
  return o;
}

Napi::Object StreamToJs(Napi::Env env, const StreamData& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("streamId", s.id);
  o.Set("connectionId", s.connection_id);
  o.Set("creationTime", Napi::Number::New(env, static_cast<double>(s.creation_time)));
  o.Set("name", s.name);
  o.Set("hasAudio", s.has_audio);
  o.Set("hasVideo", s.has_video);
  o.Set("videoType", VideoTypeName(s.video_type));
  Napi::Object d = Napi::Object::New(env);
  d.Set("width", s.width);
  d.Set("height", s.height);
  o.Set("videoDimensions", d);
  return o;
}

const char* KindName(Kind k) {
  switch (k) {
    case Kind::Connected: return "connected";
    case Kind::Disconnected: return "disconnected";
    case Kind::Error: return "error";
    case Kind::ConnectionCreated: return "connectionCreated";
    case Kind::ConnectionDropped: return "connectionDropped";
    case Kind::StreamReceived: return "streamReceived";
    case Kind::StreamDropped: return "streamDropped";
    case Kind::StreamAudio: return "streamAudio";
    case Kind::StreamVideo: return "streamVideo";
    case Kind::StreamDims: return "streamDims";
    case Kind::StreamVideoType: return "streamVideoType";
    case Kind::Signal: return "signal";
    case Kind::Reconnecting: return "reconnecting";
    case Kind::Reconnected: return "reconnected";
    case Kind::MuteForced: return "muteForced";
    case Kind::Done: return "done";
    case Kind::PubCreated: return "pubCreated";
    case Kind::PubDestroyed: return "pubDestroyed";
    case Kind::PubError: return "pubError";
  }
  return "unknown";
}

void SessionWrap::Deliver(Napi::Env env, Napi::Function cb, std::vector<Event>& batch) {
  Napi::HandleScope scope(env);
  Napi::Array arr = Napi::Array::New(env, batch.size());
  bool ended = false;
  for (size_t i = 0; i < batch.size(); i++) {
    const Event& e = batch[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("t", KindName(e.kind));
    switch (e.kind) {
      case Kind::Connected:
        o.Set("connection", ConnToJs(env, e.conn));
        o.Set("publish", (e.i1 & 1) != 0);
        o.Set("forceMute", (e.i1 & 2) != 0);
        o.Set("forceDisconnect", (e.i1 & 4) != 0);
        o.Set("role", e.s1);
        break;
      case Kind::Disconnected:
        o.Set("reason", e.s1);
        ended = true;
        break;
      case Kind::Error:
        o.Set("code", Napi::Number::New(env, static_cast<double>(e.i1)));
        o.Set("message", e.s1);
        break;
      case Kind::ConnectionCreated:
        o.Set("connection", ConnToJs(env, e.conn));
        break;
      case Kind::ConnectionDropped:
        o.Set("connection", ConnToJs(env, e.conn));
        o.Set("reason", e.s1);
        break;
      case Kind::StreamReceived:
        o.Set("stream", StreamToJs(env, e.stream));
        break;
      case Kind::StreamDropped:
        o.Set("stream", StreamToJs(env, e.stream));
        o.Set("reason", e.s1);
        break;
      case Kind::StreamAudio:
      case Kind::StreamVideo:
        o.Set("streamId", e.stream.id);
        o.Set("value", e.b);
        break;
      case Kind::StreamDims:
        o.Set("streamId", e.stream.id);
        o.Set("width", Napi::Number::New(env, static_cast<double>(e.i1)));
        o.Set("height", Napi::Number::New(env, static_cast<double>(e.i2)));
        break;
      case Kind::StreamVideoType:
        o.Set("streamId", e.stream.id);
        o.Set("videoType", VideoTypeName(static_cast<int>(e.i1)));
        break;
      case Kind::Signal:
        o.Set("type", e.s1);
        o.Set("data", e.s2);
        o.Set("from", e.has_from ? Napi::Value(ConnToJs(env, e.conn)) : env.Null());
        break;
      case Kind::Reconnecting:
      case Kind::Reconnected:
        break;
      case Kind::MuteForced:
        o.Set("active", e.b);
        break;
      case Kind::Done:
        o.Set("req", Napi::Number::New(env, static_cast<double>(e.i1)));
        o.Set("code", Napi::Number::New(env, static_cast<double>(e.i2)));
        o.Set("message", e.s1);
        break;
      case Kind::PubCreated:
        o.Set("pub", Napi::Number::New(env, static_cast<double>(e.i1)));
        o.Set("stream", StreamToJs(env, e.stream));
        break;
      case Kind::PubDestroyed:
        o.Set("pub", Napi::Number::New(env, static_cast<double>(e.i1)));
        o.Set("stream", StreamToJs(env, e.stream));
        o.Set("reason", e.s1);
        break;
      case Kind::PubError:
        o.Set("pub", Napi::Number::New(env, static_cast<double>(e.i1)));
        o.Set("code", Napi::Number::New(env, static_cast<double>(e.i2)));
        o.Set("message", e.s1);
        break;
    }
    arr[i] = o;
  }
  // After the session ended, nothing of it keeps the process alive.
  if (ended) Alive(env, false);
  cb.Call({arr});  // a throwing handler surfaces as an uncaught exception; state stays intact
}

// While alive, the tsfn keeps the loop running and a reference keeps this object from GC.
void SessionWrap::Alive(Napi::Env env, bool on) {
  if (on == alive_ || closed_) return;
  alive_ = on;
  if (on) {
    tsfn_.Ref(env);
    Ref();
  } else {
    tsfn_.Unref(env);
    Unref();
  }
}

Napi::Value SessionWrap::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Napi::Number::New(env, OTC_SESSION_ILLEGAL_STATE);
  std::string token = Str(info[0]);
  otc_status st = otc_session_connect(session_, token.c_str());
  if (st == OTC_SUCCESS) Alive(env, true);
  return Napi::Number::New(env, st);
}

// JS tells us when a connect attempt ended without a session (error before on_connected).
Napi::Value SessionWrap::Disconnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Napi::Number::New(env, OTC_SUCCESS);
  if (info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) {
    Alive(env, false);  // "release only": the attempt failed
    return Napi::Number::New(env, OTC_SUCCESS);
  }
  return Napi::Number::New(env, otc_session_disconnect(session_));
}

// signal(req, type, data, toConnectionId|null, retryAfterReconnect)
Napi::Value SessionWrap::Signal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Napi::Number::New(env, OTC_SESSION_NOT_CONNECTED);
  int64_t req = info[0].As<Napi::Number>().Int64Value();
  std::string type = Str(info[1]), data = Str(info[2]), to = Str(info[3]);
  bool retry = info[4].ToBoolean();
  otc_status st = convene_session_send_signal(session_, type.c_str(), data.c_str(), info[3].IsString() ? to.c_str() : nullptr,
                                              retry, OnDone, reinterpret_cast<void*>(static_cast<intptr_t>(req)));
  return Napi::Number::New(env, st);
}

// moderate(req, op, target|null, ids[])
Napi::Value SessionWrap::Moderate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Napi::Number::New(env, OTC_SESSION_NOT_CONNECTED);
  int64_t req = info[0].As<Napi::Number>().Int64Value();
  std::string op = Str(info[1]), target = Str(info[2]);
  std::vector<std::string> ids;
  if (info[3].IsArray()) {
    Napi::Array a = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) ids.push_back(Str(a.Get(i)));
  }
  std::vector<const char*> ptrs;
  for (auto& s : ids) ptrs.push_back(s.c_str());
  otc_status st = convene_session_moderate(session_, op.c_str(), info[2].IsString() ? target.c_str() : nullptr,
                                           ptrs.data(), ptrs.size(), OnDone,
                                           reinterpret_cast<void*>(static_cast<intptr_t>(req)));
  return Napi::Number::New(env, st);
}

// publish(pubId, name, hasAudio, hasVideo, videoType)
Napi::Value SessionWrap::Publish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) return Napi::Number::New(env, OTC_SESSION_NOT_CONNECTED);
  int64_t id = info[0].As<Napi::Number>().Int64Value();
  auto ctx = std::make_unique<PubCtx>();
  ctx->shared = shared_;
  ctx->id = id;
  struct otc_publisher_callbacks cb = {};
  cb.on_stream_created = OnPubCreated;
  cb.on_stream_destroyed = OnPubDestroyed;
  cb.on_error = OnPubError;
  cb.user_data = ctx.get();
  ctx->publisher = otc_publisher_new(Str(info[1]).c_str(), nullptr, &cb);
  if (!ctx->publisher) return Napi::Number::New(env, OTC_INVALID_PARAM);
  std::string vt = Str(info[4]);
  convene_publisher_set_video_type(ctx->publisher, vt == "screen"   ? OTC_STREAM_VIDEO_TYPE_SCREEN
                                                   : vt == "custom" ? OTC_STREAM_VIDEO_TYPE_CUSTOM
                                                                    : OTC_STREAM_VIDEO_TYPE_CAMERA);
  otc_publisher_set_publish_audio(ctx->publisher, info[2].ToBoolean());
  otc_publisher_set_publish_video(ctx->publisher, info[3].ToBoolean());
  otc_status st = otc_session_publish(session_, ctx->publisher);
  if (st != OTC_SUCCESS) {
    otc_publisher_delete(ctx->publisher);
    return Napi::Number::New(env, st);
  }
  publishers_[id] = std::move(ctx);
  return Napi::Number::New(env, OTC_SUCCESS);
}

// unpublish(pubId): unpublishes (if still published) and frees the publisher
Napi::Value SessionWrap::Unpublish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = publishers_.find(info[0].As<Napi::Number>().Int64Value());
  if (it == publishers_.end()) return Napi::Number::New(env, OTC_SESSION_PUBLISHER_NOT_FOUND);
  otc_publisher_delete(it->second->publisher);  // unpublishes if published; waits: no callback after this
  publishers_.erase(it);
  return Napi::Number::New(env, OTC_SUCCESS);
}

// setPublish(pubId, 'audio'|'video', on)
Napi::Value SessionWrap::SetPublish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = publishers_.find(info[0].As<Napi::Number>().Int64Value());
  if (it == publishers_.end()) return Napi::Number::New(env, OTC_SESSION_PUBLISHER_NOT_FOUND);
  bool on = info[2].ToBoolean();
  otc_status st = Str(info[1]) == "audio" ? otc_publisher_set_publish_audio(it->second->publisher, on)
                                          : otc_publisher_set_publish_video(it->second->publisher, on);
  return Napi::Number::New(env, st);
}

Napi::Value SessionWrap::CloseJs(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

// Frees the native session: no callback after this; releases every reference. Idempotent.
void SessionWrap::Close() {
  if (closed_) return;
  if (session_) {
    for (auto& p : publishers_) otc_publisher_delete(p.second->publisher);
    publishers_.clear();
    otc_session_delete(session_);  // waits for the service thread: no callback after this
    session_ = nullptr;
  }
  if (alive_) {
    alive_ = false;
    Unref();
  }
  closed_ = true;
  if (shared_) {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->closed = true;
      shared_->queue.clear();
    }
    shared_->wrap = nullptr;
    shared_ = nullptr;  // the tsfn finalizer frees it
    tsfn_.Release();
  }
  if (env_data_) env_data_->sessions.erase(this);
  env_data_ = nullptr;
  if (core_) {
    core_ = false;
    ReleaseCore();
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new EnvData();
  env.SetInstanceData<EnvData>(data);  // deleted at env teardown (after the cleanup hook)
  napi_add_env_cleanup_hook(
      env,
      [](void* arg) {
        auto* d = static_cast<EnvData*>(arg);
        // The environment goes away with sessions still open: close them all.
        std::set<SessionWrap*> open;
        open.swap(d->sessions);
        for (SessionWrap* w : open) w->Close();
      },
      data);
  exports.Set("NativeSession", SessionWrap::Init(env));
  exports.Set("version", Napi::String::New(env, "0.1.0"));
  return exports;
}

}  // namespace

NODE_API_MODULE(convene, Init)
