// The session's C callbacks: service thread, copy, queue (see callbacks.h).
#include "callbacks.h"

#include <utility>

#include "pump.h"

namespace convene_addon {

void Queue(SessCtx* ctx, Event&& e) { ctx->pump->Push(ctx->sid, std::move(e)); }

SessCtx::~SessCtx() { DropStreams(); }

void SessCtx::KeepStream(const otc_stream* s) {
  otc_stream* copy = otc_stream_copy(s);
  if (!copy) return;
  std::lock_guard<std::mutex> lock(streams_mu);
  otc_stream*& slot = streams[otc_stream_get_id(copy)];
  if (slot) otc_stream_delete(slot);
  slot = copy;
}

void SessCtx::DropStream(const std::string& id) {
  std::lock_guard<std::mutex> lock(streams_mu);
  auto it = streams.find(id);
  if (it == streams.end()) return;
  otc_stream_delete(it->second);
  streams.erase(it);
}

void SessCtx::DropStreams() {
  std::lock_guard<std::mutex> lock(streams_mu);
  for (auto& kv : streams) otc_stream_delete(kv.second);
  streams.clear();
}

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

const char* ReasonOr(const char* reason) { return reason ? reason : "clientDisconnected"; }

namespace {

SessCtx* Ctx(void* u) { return static_cast<SessCtx*>(u); }

void OnConnected(otc_session* s, void* u) {
  Event e(Kind::Connected);
  e.conn = CopyConn(otc_session_get_connection(s));  // owned by the session: not freed
  struct otc_session_capabilities caps = otc_session_get_capabilities(s);
  e.i1 = (caps.publish ? 1 : 0) | (caps.force_mute ? 2 : 0) | (caps.force_disconnect ? 4 : 0);
  e.s1 = convene_session_get_role(s);
  Queue(Ctx(u), std::move(e));
}

void OnDisconnected(otc_session* s, void* u) {
  Ctx(u)->DropStreams();
  Event e(Kind::Disconnected);
  e.s1 = ReasonOr(convene_session_get_disconnect_reason(s));
  Queue(Ctx(u), std::move(e));
}

void OnConnCreated(otc_session*, void* u, const otc_connection* c) {
  Event e(Kind::ConnectionCreated);
  e.conn = CopyConn(c);
  Queue(Ctx(u), std::move(e));
}

void OnConnDropped(otc_session*, void* u, const otc_connection* c) {
  Event e(Kind::ConnectionDropped);
  e.conn = CopyConn(c);
  e.s1 = ReasonOr(convene_connection_get_reason(c));
  Queue(Ctx(u), std::move(e));
}

void OnStreamReceived(otc_session*, void* u, const otc_stream* st) {
  Ctx(u)->KeepStream(st);
  Event e(Kind::StreamReceived);
  e.stream = CopyStream(st);
  Queue(Ctx(u), std::move(e));
}

void OnStreamDropped(otc_session*, void* u, const otc_stream* st) {
  Event e(Kind::StreamDropped);
  e.stream = CopyStream(st);
  Ctx(u)->DropStream(e.stream.id);
  e.s1 = ReasonOr(convene_stream_get_reason(st));
  Queue(Ctx(u), std::move(e));
}

void OnAudio(otc_session*, void* u, const otc_stream* st, otc_bool v) {
  Event e(Kind::StreamAudio);
  e.stream.id = otc_stream_get_id(st);
  e.b = v;
  Queue(Ctx(u), std::move(e));
}

void OnVideo(otc_session*, void* u, const otc_stream* st, otc_bool v) {
  Event e(Kind::StreamVideo);
  e.stream.id = otc_stream_get_id(st);
  e.b = v;
  Queue(Ctx(u), std::move(e));
}

void OnDims(otc_session*, void* u, const otc_stream* st, int w, int h) {
  Event e(Kind::StreamDims);
  e.stream.id = otc_stream_get_id(st);
  e.i1 = w;
  e.i2 = h;
  Queue(Ctx(u), std::move(e));
}

void OnVideoType(otc_session*, void* u, const otc_stream* st, enum otc_stream_video_type t) {
  Event e(Kind::StreamVideoType);
  e.stream.id = otc_stream_get_id(st);
  e.i1 = t;
  Queue(Ctx(u), std::move(e));
}

void OnSignal(otc_session*, void* u, const char* type, const char* data, const otc_connection* from) {
  Event e(Kind::Signal);
  e.s1 = type ? type : "";
  e.s2 = data ? data : "";
  if (from) {
    e.has_from = true;
    // The sender is known to JavaScript from its connectionCreated, unless those are suppressed.
    if (Ctx(u)->suppressed) e.conn = CopyConn(from);
    else e.conn.id = otc_connection_get_id(from);
    e.b = Ctx(u)->suppressed;
  }
  Queue(Ctx(u), std::move(e));
}

void OnReconnecting(otc_session*, void* u) { Queue(Ctx(u), Event(Kind::Reconnecting)); }

void OnReconnected(otc_session*, void* u) { Queue(Ctx(u), Event(Kind::Reconnected)); }

void OnError(otc_session*, void* u, const char* msg, enum otc_session_error_code code) {
  Event e(Kind::Error);
  e.i1 = code;
  e.s1 = msg ? msg : "";
  Queue(Ctx(u), std::move(e));
}

void OnMuteForced(otc_session*, void* u, otc_on_mute_forced_info* info) {
  Event e(Kind::MuteForced);
  e.b = info && info->active;
  Queue(Ctx(u), std::move(e));
}

}  // namespace

void OnDone(otc_session*, void* u, void* req, int code, const char* message) {
  Event e(Kind::Done);
  e.i1 = static_cast<int64_t>(reinterpret_cast<intptr_t>(req));
  e.i2 = code;
  e.s1 = message ? message : "";
  Queue(Ctx(u), std::move(e));
}

void OnSignalUndelivered(otc_session*, void* u, const char* type, const char* to, int code, const char* message) {
  Event e(Kind::SignalUndelivered);
  e.s1 = type ? type : "";
  e.conn.id = to ? to : "";
  e.i1 = code;
  e.s2 = message ? message : "";
  Queue(Ctx(u), std::move(e));
}

struct otc_session_callbacks SessionCallbacks(SessCtx* ctx) {
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
  cb.user_data = ctx;
  return cb;
}

}  // namespace convene_addon
