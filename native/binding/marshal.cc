// Events to JavaScript values (see marshal.h).
#include "marshal.h"

#include <cstdlib>
#include <cstring>

namespace convene_addon {

namespace {

const char* VideoTypeName(int t) { return t == 2 ? "screen" : t == 3 ? "custom" : "camera"; }

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

// The frames of a SubAudio event: an array of Int16Array (returned) and the Float64Array of
// their kAudioMeta numbers each (*meta).
napi_value AudioToJs(Napi::Env env, const Event& e, napi_value* meta) {
  size_t n = e.audio.size();
  Napi::Array frames = Napi::Array::New(env, n);
  Napi::Float64Array m = Napi::Float64Array::New(env, n * kAudioMeta);
  for (size_t i = 0; i < n; i++) {
    const AudioChunk& c = e.audio[i];
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, c.pcm.size() * sizeof(int16_t));
    if (!c.pcm.empty()) std::memcpy(buf.Data(), c.pcm.data(), c.pcm.size() * sizeof(int16_t));
    frames.Set(static_cast<uint32_t>(i), Napi::Int16Array::New(env, c.pcm.size(), buf, 0));
    m[i * kAudioMeta] = c.timestamp;
    m[i * kAudioMeta + 1] = c.sample_rate;
    m[i * kAudioMeta + 2] = c.channels;
    m[i * kAudioMeta + 3] = c.level;
  }
  *meta = m;
  return frames;
}

// The frames of a SubVideo event: an array of Uint8Array (returned), each over the bytes the
// media thread copied (moved out of e: the ArrayBuffer frees them when collected), and the
// Float64Array of their kVideoMeta numbers each (*meta).
napi_value VideoToJs(Napi::Env env, Event& e, napi_value* meta) {
  size_t n = e.video.size();
  Napi::Array frames = Napi::Array::New(env, n);
  Napi::Float64Array m = Napi::Float64Array::New(env, n * kVideoMeta);
  for (size_t i = 0; i < n; i++) {
    VideoChunk& c = e.video[i];
    uint8_t* bytes = c.data.get();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes, c.size, [](Napi::Env, void* p) { std::free(p); });
    if (env.IsExceptionPending()) {  // not made: the bytes are still ours (freed with the event)
      env.GetAndClearPendingException();
      buf = Napi::ArrayBuffer::New(env, 0);
      c.size = 0;
    } else {
      (void)c.data.release();  // the ArrayBuffer owns them now
    }
    frames.Set(static_cast<uint32_t>(i), Napi::Uint8Array::New(env, c.size, buf, 0));
    m[i * kVideoMeta] = c.timestamp_us;
    m[i * kVideoMeta + 1] = c.width;
    m[i * kVideoMeta + 2] = c.height;
  }
  *meta = m;
  return frames;
}

}  // namespace

void PutEvent(Napi::Env env, napi_value arr, uint32_t base, napi_value target, Event& e) {
  napi_value v[kEventStride];
  napi_value undef = env.Undefined();
  for (uint32_t i = 0; i < kEventStride; i++) v[i] = undef;
  auto str = [&](const std::string& x) { return Napi::String::New(env, x).operator napi_value(); };
  auto num = [&](double x) { return Napi::Number::New(env, x).operator napi_value(); };
  auto boo = [&](bool x) { return Napi::Boolean::New(env, x).operator napi_value(); };
  auto conn = [&](const ConnData& c) {  // a id, b creationTime, c data
    v[2] = str(c.id), v[3] = num(static_cast<double>(c.creation_time)), v[4] = str(c.data);
  };
  v[0] = target;
  v[1] = num(static_cast<double>(e.kind));
  switch (e.kind) {
    case Kind::Connected:
      conn(e.conn);
      v[5] = num(static_cast<double>(e.i1)), v[6] = str(e.s1);
      break;
    case Kind::Disconnected:
      v[2] = str(e.s1);
      break;
    case Kind::Error:
      v[2] = num(static_cast<double>(e.i1)), v[3] = str(e.s1);
      break;
    case Kind::ConnectionCreated:
      conn(e.conn);
      break;
    case Kind::ConnectionDropped:
      conn(e.conn);
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
    case Kind::PubAudioSpace:
      v[2] = num(static_cast<double>(e.i1)), v[3] = num(static_cast<double>(e.i2));
      break;
    case Kind::SubConnected:
    case Kind::SubDisconnected:
      v[2] = num(static_cast<double>(e.i1));
      break;
    case Kind::SubError:
      v[2] = num(static_cast<double>(e.i1)), v[3] = num(static_cast<double>(e.i2)), v[4] = str(e.s1);
      break;
    case Kind::SubAudio:
      v[2] = num(static_cast<double>(e.i1)), v[3] = AudioToJs(env, e, &v[4]), v[5] = num(static_cast<double>(e.i2));
      break;
    case Kind::SubVideo:
      v[2] = num(static_cast<double>(e.i1)), v[3] = VideoToJs(env, e, &v[4]), v[5] = num(static_cast<double>(e.i2));
      break;
    case Kind::SubVideoEnabled:
    case Kind::SubVideoDisabled:
      v[2] = num(static_cast<double>(e.i1)), v[3] = num(static_cast<double>(e.i2));
      break;
  }
  for (uint32_t i = 0; i < kEventStride; i++) napi_set_element(env, arr, base + i, v[i]);
}

Napi::Object EventKindsObject(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (const KindName& k : kKindNames) o.Set(k.name, Napi::Number::New(env, static_cast<double>(k.kind)));
  o.Freeze();
  return o;
}

}  // namespace convene_addon
