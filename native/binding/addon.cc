// The Node binding of the Convene C core (node-addon-api, NAPI_VERSION 8).
//
// Callbacks of the C core run on its service thread: they copy what they are handed into
// an Event and queue it on the environment's one event pump. One ThreadSafeFunction call
// per batch carries every queued event, of every session of the environment, to a single
// JavaScript dispatcher as a flat array (kEventStride slots per event: the NativeSession
// object, the kind, then up to five fields; no per-event objects for the frequent kinds).
// The pump keeps the process alive (tsfn ref'd) only while some session is connecting or
// connected. Every reference is released when the session is closed, is garbage
// collected, or its environment is torn down.
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
  Done, PubCreated, PubDestroyed, PubError, SignalUndelivered,
};

struct Event {
  explicit Event(Kind k) : kind(k) {}
  Kind kind;
  uint32_t sid = 0;  // the session it belongs to (SessionWrap::id_)
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
struct Pump;

// Per session, what its C callbacks need: where to queue, and under which id.
struct SessCtx {
  Pump* pump;
  uint32_t sid;
  bool suppressed;  // connection events suppressed: signals carry their sender's details
};

struct EnvData {
  std::unordered_map<uint32_t, SessionWrap*> sessions;  // open sessions by id
  uint32_t next_id = 1;
  int alive = 0;  // sessions connecting/connected/reconnecting: the pump is ref'd while > 0
  Pump* pump = nullptr;
};

struct PubCtx {
  SessCtx* sess;
  int64_t id;
  otc_publisher* publisher;
};
class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit SessionWrap(const Napi::CallbackInfo& info);
  ~SessionWrap() override { Close(); }

  void Close();
  // The pump ended the session (its disconnected event is in the batch being delivered).
  void Ended(Napi::Env env) { Alive(env, false); }

 private:

  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Disconnect(const Napi::CallbackInfo& info);
  Napi::Value Signal(const Napi::CallbackInfo& info);
  Napi::Value Moderate(const Napi::CallbackInfo& info);
  Napi::Value Publish(const Napi::CallbackInfo& info);
  Napi::Value Unpublish(const Napi::CallbackInfo& info);
  Napi::Value SetPublish(const Napi::CallbackInfo& info);
  Napi::Value GetPublish(const Napi::CallbackInfo& info);
  Napi::Value CloseJs(const Napi::CallbackInfo& info);

  void Alive(Napi::Env env, bool on);

  otc_session* session_ = nullptr;
  SessCtx* ctx_ = nullptr;
  uint32_t id_ = 0;
  bool closed_ = false;
  bool alive_ = false;  // counted in EnvData::alive; this object is kept from GC
  bool core_ = false;
  EnvData* env_data_ = nullptr;
  std::unordered_map<int64_t, std::unique_ptr<PubCtx>> publishers_;
};

// ---- C callbacks (service thread) ----
void Q(void* user_data, Event&& e);

void OnConnected(otc_session* s, void* u) {
  Event e(Kind::Connected);
  otc_connection* me = otc_session_get_connection(s);
  e.conn = CopyConn(me);  // owned by the session: not freed
  struct otc_session_capabilities caps = otc_session_get_capabilities(s);
  e.i1 = (caps.publish ? 1 : 0) | (caps.force_mute ? 2 : 0) | (caps.force_disconnect ? 4 : 0);
  e.s1 = convene_session_get_role(s);
  Q(u, std::move(e));
}
void OnDisconnected(otc_session* s, void* u) {
  Event e(Kind::Disconnected);
  const char* r = convene_session_get_disconnect_reason(s);
  e.s1 = r ? r : "clientDisconnected";
  Q(u, std::move(e));
}
void OnConnCreated(otc_session*, void* u, const otc_connection* c) {
  Event e(Kind::ConnectionCreated);
  e.conn = CopyConn(c);
  Q(u, std::move(e));
}
void OnConnDropped(otc_session*, void* u, const otc_connection* c) {
  Event e(Kind::ConnectionDropped);
  e.conn = CopyConn(c);
  const char* r = convene_connection_get_reason(c);
  e.s1 = r ? r : "clientDisconnected";
  Q(u, std::move(e));
}
void OnStreamReceived(otc_session*, void* u, const otc_stream* st) {
  Event e(Kind::StreamReceived);
  e.stream = CopyStream(st);
  Q(u, std::move(e));
}
void OnStreamDropped(otc_session*, void* u, const otc_stream* st) {
  Event e(Kind::StreamDropped);
  e.stream = CopyStream(st);
  const char* r = convene_stream_get_reason(st);
  e.s1 = r ? r : "clientDisconnected";
  Q(u, std::move(e));
}
void OnAudio(otc_session*, void* u, const otc_stream* st, otc_bool v) {
  Event e(Kind::StreamAudio);
  e.stream.id = otc_stream_get_id(st);
  e.b = v;
  Q(u, std::move(e));
}
void OnVideo(otc_session*, void* u, const otc_stream* st, otc_bool v) {
  Event e(Kind::StreamVideo);
  e.stream.id = otc_stream_get_id(st);
  e.b = v;
  Q(u, std::move(e));
}
void OnDims(otc_session*, void* u, const otc_stream* st, int w, int h) {
  Event e(Kind::StreamDims);
  e.stream.id = otc_stream_get_id(st);
  e.i1 = w;
  e.i2 = h;
  Q(u, std::move(e));
}
void OnVideoType(otc_session*, void* u, const otc_stream* st, enum otc_stream_video_type t) {
  Event e(Kind::StreamVideoType);
  e.stream.id = otc_stream_get_id(st);
  e.i1 = t;
  Q(u, std::move(e));
}
void OnSignal(otc_session*, void* u, const char* type, const char* data, const otc_connection* from) {
  Event e(Kind::Signal);
  e.s1 = type ? type : "";
  e.s2 = data ? data : "";
  if (from) {
    e.has_from = true;
    // The sender is known to JavaScript from its connectionCreated, unless those are suppressed.
    if (static_cast<SessCtx*>(u)->suppressed) e.conn = CopyConn(from);
    else e.conn.id = otc_connection_get_id(from);
    e.b = static_cast<SessCtx*>(u)->suppressed;
  }
  Q(u, std::move(e));
}
void OnReconnecting(otc_session*, void* u) { Q(u, Event(Kind::Reconnecting)); }
void OnReconnected(otc_session*, void* u) { Q(u, Event(Kind::Reconnected)); }
void OnError(otc_session*, void* u, const char* msg, enum otc_session_error_code code) {
  Event e(Kind::Error);
  e.i1 = code;
  e.s1 = msg ? msg : "";
  Q(u, std::move(e));
}
void OnMuteForced(otc_session*, void* u, otc_on_mute_forced_info* info) {
  Event e(Kind::MuteForced);
  e.b = info && info->active;
  Q(u, std::move(e));
}
void OnDone(otc_session*, void* u, void* req, int code, const char* message) {
  Event e(Kind::Done);
  e.i1 = static_cast<int64_t>(reinterpret_cast<intptr_t>(req));
  e.i2 = code;
  e.s1 = message ? message : "";
  Q(u, std::move(e));
}

void OnSignalUndelivered(otc_session*, void* u, const char* type, const char* to, int code, const char* message) {
  Event e(Kind::SignalUndelivered);
  e.s1 = type ? type : "";
  e.conn.id = to ? to : "";
  e.i1 = code;
  e.s2 = message ? message : "";
  Q(u, std::move(e));
}

void OnPubCreated(otc_publisher*, void* u, const otc_stream* st) {
  auto* p = static_cast<PubCtx*>(u);
  Event e(Kind::PubCreated);
  e.i1 = p->id;
  e.stream = CopyStream(st);
  Q(p->sess, std::move(e));
}
void OnPubDestroyed(otc_publisher*, void* u, const otc_stream* st) {
  auto* p = static_cast<PubCtx*>(u);
  Event e(Kind::PubDestroyed);
  e.i1 = p->id;
  e.stream = CopyStream(st);
  const char* r = convene_stream_get_reason(st);
  e.s1 = r ? r : "clientDisconnected";
  Q(p->sess, std::move(e));
}
void OnPubError(otc_publisher*, void* u, const char* msg, enum otc_publisher_error_code code) {
  auto* p = static_cast<PubCtx*>(u);
  Event e(Kind::PubError);
  e.i1 = p->id;
  e.i2 = code;
  e.s1 = msg ? msg : "";
  Q(p->sess, std::move(e));
}

// ---- the event pump: one per environment ----
struct Pump;
void PumpCallJs(Napi::Env env, Napi::Function dispatch, Pump* pump, void* unused);
using PumpTsfn = Napi::TypedThreadSafeFunction<Pump, void, &PumpCallJs>;

// Shared by the service thread (Push) and the JS thread. Owned by its tsfn: freed by the
// finalizer, which runs after the last queued call, so a callback never sees it freed.
struct Pump {
  std::mutex mu;
  std::vector<Event> queue;
  bool scheduled = false;  // a tsfn call is on its way: later events ride along
  bool closed = false;
  EnvData* env_data = nullptr;  // JS thread only; nullptr once the environment is going
  PumpTsfn tsfn;

  // Queues one event. On the service thread the batch goes out at the end of the pass
  // (Flush, from the pass hook); from any other thread, at once.
  void Push(uint32_t sid, Event&& ev);
  // Hands what is queued to the JS thread: at most one tsfn call in flight.
  void Flush() {
    std::lock_guard<std::mutex> lock(mu);
    FlushLocked();
  }
  void FlushLocked() {
    if (closed || scheduled || queue.empty()) return;
    scheduled = true;
    if (tsfn.NonBlockingCall() != napi_ok) scheduled = false;  // closing: the events go with it
  }
};

constexpr size_t kEarlyBatch = 32;

// Every environment's pump, for the service thread's end-of-pass hook.
std::mutex g_pumps_mu;
std::set<Pump*> g_pumps;
thread_local bool t_service_thread = false;

void OnServicePass(void*) {
  t_service_thread = true;
  std::lock_guard<std::mutex> lock(g_pumps_mu);
  for (Pump* p : g_pumps) p->Flush();
}

void Pump::Push(uint32_t sid, Event&& ev) {
  ev.sid = sid;
  std::lock_guard<std::mutex> lock(mu);
  if (closed) return;
  queue.push_back(std::move(ev));
  // Off the service thread: now. On it: at the end of the pass, or as soon as a batch is big
  // enough to be worth a wake-up (a pass over many sockets would otherwise hold the first
  // events back until it has read them all).
  if (!t_service_thread || queue.size() >= kEarlyBatch) FlushLocked();
}

void Q(void* user_data, Event&& e) {
  auto* c = static_cast<SessCtx*>(user_data);
  c->pump->Push(c->sid, std::move(e));
}

constexpr uint32_t kEventStride = 7;  // target, kind, a, b, c, d, e

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

// Writes one event's slots into the flat batch array (see lib/client/native.ts for the layout).
void PutEvent(Napi::Env env, napi_value arr, uint32_t base, napi_value target, const Event& e) {
  napi_value v[kEventStride];
  napi_value undef = env.Undefined();
  for (uint32_t i = 0; i < kEventStride; i++) v[i] = undef;
  auto str = [&](const std::string& x) { return Napi::String::New(env, x).operator napi_value(); };
  auto num = [&](double x) { return Napi::Number::New(env, x).operator napi_value(); };
  auto boo = [&](bool x) { return Napi::Boolean::New(env, x).operator napi_value(); };
  v[0] = target;
  v[1] = num(static_cast<double>(e.kind));
  switch (e.kind) {
    case Kind::Connected:
      v[2] = str(e.conn.id), v[3] = num(static_cast<double>(e.conn.creation_time)), v[4] = str(e.conn.data);
      v[5] = num(static_cast<double>(e.i1)), v[6] = str(e.s1);
      break;
    case Kind::Disconnected:
      v[2] = str(e.s1);
      break;
    case Kind::Error:
      v[2] = num(static_cast<double>(e.i1)), v[3] = str(e.s1);
      break;
    case Kind::ConnectionCreated:
      v[2] = str(e.conn.id), v[3] = num(static_cast<double>(e.conn.creation_time)), v[4] = str(e.conn.data);
      break;
    case Kind::ConnectionDropped:
      v[2] = str(e.conn.id), v[3] = num(static_cast<double>(e.conn.creation_time)), v[4] = str(e.conn.data);
      v[5] = str(e.s1);
      break;
    case Kind::StreamReceived:
      v[2] = StreamToJs(env, e.stream);
      break;
    case Kind::StreamDropped:
      v[2] = StreamToJs(env, e.stream), v[3] = str(e.s1);
      break;
    case Kind::StreamAudio:
    case Kind::StreamVideo:
      v[2] = str(e.stream.id), v[3] = boo(e.b);
      break;
    case Kind::StreamDims:
      v[2] = str(e.stream.id), v[3] = num(static_cast<double>(e.i1)), v[4] = num(static_cast<double>(e.i2));
      break;
    case Kind::StreamVideoType:
      v[2] = str(e.stream.id), v[3] = Napi::String::New(env, VideoTypeName(static_cast<int>(e.i1)));
      break;
    case Kind::Signal:
      v[2] = str(e.s1), v[3] = str(e.s2);
      if (e.has_from) {
        v[4] = str(e.conn.id);
        if (e.b) v[5] = num(static_cast<double>(e.conn.creation_time)), v[6] = str(e.conn.data);
      } else {
        v[4] = env.Null();
      }
      break;
    case Kind::Reconnecting:
    case Kind::Reconnected:
      break;
    case Kind::MuteForced:
      v[2] = boo(e.b);
      break;
    case Kind::Done:
      v[2] = num(static_cast<double>(e.i1)), v[3] = num(static_cast<double>(e.i2)), v[4] = str(e.s1);
      break;
    case Kind::PubCreated:
      v[2] = num(static_cast<double>(e.i1)), v[3] = StreamToJs(env, e.stream);
      break;
    case Kind::PubDestroyed:
      v[2] = num(static_cast<double>(e.i1)), v[3] = StreamToJs(env, e.stream), v[4] = str(e.s1);
      break;
    case Kind::PubError:
      v[2] = num(static_cast<double>(e.i1)), v[3] = num(static_cast<double>(e.i2)), v[4] = str(e.s1);
      break;
    case Kind::SignalUndelivered:
      v[2] = str(e.s1), v[3] = str(e.conn.id), v[4] = num(static_cast<double>(e.i1)), v[5] = str(e.s2);
      break;
  }
  for (uint32_t i = 0; i < kEventStride; i++) napi_set_element(env, arr, base + i, v[i]);
}

// JS thread: one call carries every event queued since the last one, for every session.
void PumpCallJs(Napi::Env env, Napi::Function dispatch, Pump* pump, void*) {
  if (pump == nullptr) return;
  std::vector<Event> batch;
  {
    std::lock_guard<std::mutex> lock(pump->mu);
    batch.swap(pump->queue);
    pump->scheduled = false;
  }
  // env is null while the environment is torn down: the events are dropped, memory freed.
  EnvData* ed = pump->env_data;
  if (env == nullptr || ed == nullptr || batch.empty()) return;
  Napi::HandleScope scope(env);
  Napi::Array arr = Napi::Array::New(env, batch.size() * kEventStride);
  uint32_t n = 0;
  std::vector<SessionWrap*> ended;
  uint32_t last_sid = 0;
  SessionWrap* last = nullptr;
  napi_value target = nullptr;
  for (const Event& e : batch) {
    if (e.sid != last_sid || last == nullptr) {
      auto it = ed->sessions.find(e.sid);
      last_sid = e.sid;
      last = it == ed->sessions.end() ? nullptr : it->second;
      target = last ? last->Value().operator napi_value() : nullptr;
    }
    if (last == nullptr || target == nullptr) continue;  // closed or collected: its events go with it
    PutEvent(env, arr, n * kEventStride, target, e);
    n++;
    if (e.kind == Kind::Disconnected) ended.push_back(last);
  }
  if (n == 0) return;
  // After a session ended, nothing of it keeps the process alive.
  for (SessionWrap* w : ended) w->Ended(env);
  dispatch.Call({arr, Napi::Number::New(env, n)});  // the dispatcher surfaces a throwing listener as uncaught
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
                      InstanceMethod("getPublish", &SessionWrap::GetPublish),
                      InstanceMethod("close", &SessionWrap::CloseJs)});
}

std::string Str(const Napi::Value& v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(); }

// new NativeSession(apiKey, sessionId, options); events go to the dispatcher (setDispatcher)
SessionWrap::SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsObject()) {
    Napi::TypeError::New(env, "NativeSession(apiKey, sessionId, options)").ThrowAsJavaScriptException();
    return;
  }
  EnvData* ed = env.GetInstanceData<EnvData>();
  if (ed == nullptr || ed->pump == nullptr) {
    Napi::Error::New(env, "convene: setDispatcher() must be called before a NativeSession is created").ThrowAsJavaScriptException();
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
  bool suppressed = opts.Get("connectionEventsSuppressed").ToBoolean();
  if (suppressed) otc_session_settings_set_connection_events_suppressed(st, 1);
  Napi::Value timeout = opts.Get("connectTimeout");
  if (timeout.IsNumber()) otc_session_settings_set_connect_timeout(st, timeout.As<Napi::Number>().Int32Value());
  std::string ca = Str(opts.Get("caFile"));
  if (!ca.empty()) otc_session_settings_set_ca_file(st, ca.c_str());
  if (opts.Get("rejoin").ToBoolean()) convene_session_settings_set_rejoin(st, 1);
  Napi::Value rejoin_timeout = opts.Get("rejoinTimeout");
  if (!rejoin_timeout.IsUndefined() &&
      (!rejoin_timeout.IsNumber() ||
       convene_session_settings_set_rejoin_timeout(st, rejoin_timeout.As<Napi::Number>().Int32Value()) != OTC_SUCCESS)) {
    otc_session_settings_delete(st);
    Napi::TypeError::New(env, "rejoinTimeout must be a number of ms >= 0").ThrowAsJavaScriptException();
    return;
  }
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
  Napi::Value keepalive = opts.Get("keepalive");
  if (keepalive.IsObject()) {
    // one of the two may be left out: the other follows the server's ratio (10 s / 15 s)
    Napi::Object k = keepalive.As<Napi::Object>();
    Napi::Value iv = k.Get("interval"), tv = k.Get("timeout");
    double interval = iv.IsNumber() ? iv.As<Napi::Number>().DoubleValue() : -1;
    double timeout = tv.IsNumber() ? tv.As<Napi::Number>().DoubleValue() : -1;
    if (interval < 0 && timeout >= 0) interval = timeout * 2 / 3;
    if (timeout < 0 && interval >= 0) timeout = interval * 3 / 2;
    if ((!iv.IsUndefined() && !iv.IsNumber()) || (!tv.IsUndefined() && !tv.IsNumber()) || interval > 3600000 ||
        timeout > 3600000 ||
        convene_session_settings_set_keepalive(st, static_cast<int>(interval), static_cast<int>(timeout)) != OTC_SUCCESS) {
      otc_session_settings_delete(st);
      Napi::TypeError::New(env, "keepalive: interval >= 100 ms, timeout > interval").ThrowAsJavaScriptException();
      return;
    }
  } else if (!keepalive.IsUndefined()) {
    otc_session_settings_delete(st);
    Napi::TypeError::New(env, "keepalive must be an object {interval, timeout}").ThrowAsJavaScriptException();
    return;
  }
  Napi::Value max_queued = opts.Get("maxQueued");
  if (!max_queued.IsUndefined() &&
      (!max_queued.IsNumber() || convene_session_settings_set_max_queued(st, max_queued.As<Napi::Number>().Int32Value()) != OTC_SUCCESS)) {
    otc_session_settings_delete(st);
    Napi::TypeError::New(env, "maxQueued must be a number >= 0").ThrowAsJavaScriptException();
    return;
  }
  convene_session_settings_set_on_signal_undelivered(st, OnSignalUndelivered);
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
  id_ = ed->next_id++;
  if (ed->next_id == 0) ed->next_id = 1;
  ctx_ = new SessCtx{ed->pump, id_, suppressed};
  cb.user_data = ctx_;
  session_ = otc_session_new_with_settings(Str(info[0]).c_str(), Str(info[1]).c_str(), &cb, st);
  otc_session_settings_delete(st);
  if (!session_) {
    delete ctx_;
    ctx_ = nullptr;
    Napi::TypeError::New(env, "cannot create the session: apiKey and sessionId must be non-empty strings")
        .ThrowAsJavaScriptException();
    return;
  }
  env_data_ = ed;
  ed->sessions[id_] = this;
}

// While alive, the pump keeps the loop running and a reference keeps this object from GC.
void SessionWrap::Alive(Napi::Env env, bool on) {
  if (on == alive_ || closed_) return;
  alive_ = on;
  EnvData* ed = env_data_;
  if (on) {
    Ref();
    if (ed && ed->pump && ed->alive++ == 0) ed->pump->tsfn.Ref(env);
  } else {
    Unref();
    if (ed && ed->pump && --ed->alive == 0) ed->pump->tsfn.Unref(env);
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
  ctx->sess = ctx_;
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

// getPublish(pubId, 'audio'|'video'): 1 or 0 as the core has it now (a forced mute clears audio); -1 unknown
Napi::Value SessionWrap::GetPublish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = publishers_.find(info[0].As<Napi::Number>().Int64Value());
  if (it == publishers_.end()) return Napi::Number::New(env, -1);
  otc_bool on = Str(info[1]) == "audio" ? otc_publisher_get_publish_audio(it->second->publisher)
                                        : otc_publisher_get_publish_video(it->second->publisher);
  return Napi::Number::New(env, on ? 1 : 0);
}

Napi::Value SessionWrap::CloseJs(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

// Frees the native session: no callback after this; releases every reference. Idempotent.
// Events of this session still queued in the pump are dropped at delivery (unknown id).
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
    // The loop reference is dropped with the last alive session. When the environment is
    // being torn down (pump already gone), there is nothing left to unref.
    if (env_data_ && env_data_->pump && --env_data_->alive == 0) env_data_->pump->tsfn.Unref(Env());
  }
  closed_ = true;
  delete ctx_;
  ctx_ = nullptr;
  if (env_data_) env_data_->sessions.erase(id_);
  env_data_ = nullptr;
  if (core_) {
    core_ = false;
    ReleaseCore();
  }
}

// setDispatcher(fn(batch, count)): once per environment, before any session.
Napi::Value SetDispatcher(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvData* ed = env.GetInstanceData<EnvData>();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "setDispatcher(fn)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (ed->pump) {
    Napi::Error::New(env, "convene: setDispatcher() was already called").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* pump = new Pump();
  pump->env_data = ed;
  pump->tsfn = PumpTsfn::New(env, info[0].As<Napi::Function>(), "convene-events", 0, 1, pump,
                             [](Napi::Env, void*, Pump* p) { delete p; });
  pump->tsfn.Unref(env);
  ed->pump = pump;
  {
    std::lock_guard<std::mutex> lock(g_pumps_mu);
    g_pumps.insert(pump);
  }
  convene_set_pass_hook(OnServicePass, nullptr);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new EnvData();
  env.SetInstanceData<EnvData>(data);  // deleted at env teardown (after the cleanup hook)
  napi_add_env_cleanup_hook(
      env,
      [](void* arg) {
        auto* d = static_cast<EnvData*>(arg);
        // The environment goes away with sessions still open: close them all (each waits for
        // the service thread, so no callback pushes after this), then let the pump go.
        std::vector<SessionWrap*> open;
        for (auto& kv : d->sessions) open.push_back(kv.second);
        Pump* pump = d->pump;
        d->pump = nullptr;  // Close() must not touch the tsfn's loop reference any more
        for (SessionWrap* w : open) w->Close();
        d->sessions.clear();
        if (pump) {
          {
            std::lock_guard<std::mutex> lock(g_pumps_mu);
            g_pumps.erase(pump);
          }
          {
            std::lock_guard<std::mutex> lock(pump->mu);
            pump->closed = true;
            pump->queue.clear();
          }
          pump->env_data = nullptr;
          pump->tsfn.Release();  // its finalizer frees the pump
        }
      },
      data);
  exports.Set("NativeSession", SessionWrap::Init(env));
  exports.Set("setDispatcher", Napi::Function::New(env, SetDispatcher, "setDispatcher"));
  exports.Set("version", Napi::String::New(env, "0.1.0"));
  return exports;
}

}  // namespace

NODE_API_MODULE(convene, Init)
