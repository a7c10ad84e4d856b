// NativeSession (see session.h). Every method checks its arguments first (args.h): the
// TypeScript Session validates what users pass, these keep the raw object safe.
#include "session.h"

#include <time.h>

#include <string>
#include <vector>

#include "args.h"
#include "options.h"
#include "pump.h"

namespace convene_addon {

namespace {
const char* const kAudioVideo[] = {"audio", "video", nullptr};
const char* const kVideoTypes[] = {"camera", "screen", "custom", nullptr};

void* RequestData(int64_t req) { return reinterpret_cast<void*>(static_cast<intptr_t>(req)); }

int64_t NowUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// The bytes a tightly packed frame takes (lib/client/video-format.ts, videoFrameSize).
size_t FrameSize(enum otc_video_frame_format f, size_t w, size_t h) {
  size_t chroma = ((w + 1) / 2) * ((h + 1) / 2);
  switch (f) {
    case OTC_VIDEO_FRAME_FORMAT_YUV420P:
    case OTC_VIDEO_FRAME_FORMAT_NV12:
      return w * h + 2 * chroma;
    case OTC_VIDEO_FRAME_FORMAT_RGB24:
      return w * h * 3;
    default:
      return w * h * 4;
  }
}
}  // namespace

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
                      InstanceMethod("writeAudio", &SessionWrap::WriteAudio),
                      InstanceMethod("clearAudio", &SessionWrap::ClearAudio),
                      InstanceMethod("queuedAudio", &SessionWrap::QueuedAudio),
                      InstanceMethod("writeVideo", &SessionWrap::WriteVideo),
                      InstanceMethod("setVideoSource", &SessionWrap::SetVideoSource),
                      InstanceMethod("subscribe", &SessionWrap::Subscribe),
                      InstanceMethod("subscriberId", &SessionWrap::SubscriberId),
                      InstanceMethod("unsubscribe", &SessionWrap::Unsubscribe),
                      InstanceMethod("setSubscribeAudio", &SessionWrap::SetSubscribeAudio),
                      InstanceMethod("setSubscribeVideo", &SessionWrap::SetSubscribeVideo),
                      InstanceMethod("mediaStats", &SessionWrap::MediaStats),
                      InstanceMethod("close", &SessionWrap::CloseJs)});
}

SessionWrap::SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
  Napi::Env env = info.Env();
  Args args(info, "new NativeSession(apiKey, sessionId, options)");
  std::string api_key, session_id;
  if (!args.String(0, "apiKey", &api_key) || !args.String(1, "sessionId", &session_id)) return;
  if (info.Length() < 3 || !info[2].IsObject()) {
    args.Fail("options must be an object");
    return;
  }
  EnvData* ed = env.GetInstanceData<EnvData>();
  if (ed == nullptr || ed->pump == nullptr) {
    Napi::Error::New(env, "convene: setDispatcher() must be called before a NativeSession is created").ThrowAsJavaScriptException();
    return;
  }
  bool suppressed = false;
  struct otc_session_settings* st = SettingsFromOptions(env, info[2].As<Napi::Object>(), &suppressed);
  if (st == nullptr) return;
  convene_session_settings_set_on_signal_undelivered(st, OnSignalUndelivered);
  if (!AcquireCore()) {
    otc_session_settings_delete(st);
    Napi::Error::New(env, "convene: cannot start the native core (otc_init failed)").ThrowAsJavaScriptException();
    return;
  }
  core_ = true;  // released by Close(), also when this constructor throws (the wrapper deletes us)
  id_ = ed->next_id++;
  if (ed->next_id == 0) ed->next_id = 1;
  ctx_.reset(new SessCtx(ed->pump, id_, suppressed));
  struct otc_session_callbacks cb = SessionCallbacks(ctx_.get());
  session_ = otc_session_new_with_settings(api_key.c_str(), session_id.c_str(), &cb, st);
  otc_session_settings_delete(st);
  if (!session_) {
    ctx_.reset();
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
    if (ed && ed->pump && ed->alive++ == 0) ed->pump->KeepLoopAlive(env, true);
  } else {
    Unref();
    if (ed && ed->pump && --ed->alive == 0) ed->pump->KeepLoopAlive(env, false);
  }
}

// connect(token)
Napi::Value SessionWrap::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "connect(token)");
  std::string token;
  if (!args.String(0, "token", &token)) return env.Undefined();
  if (closed_) return Napi::Number::New(env, OTC_SESSION_ILLEGAL_STATE);
  otc_status st = otc_session_connect(session_, token.c_str());
  if (st == OTC_SUCCESS) Alive(env, true);
  return Napi::Number::New(env, st);
}

// disconnect(releaseOnly?): releaseOnly tells us a connect attempt ended without a session
// (error before on_connected, or cancelled): the core reports nothing more for it.
Napi::Value SessionWrap::Disconnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "disconnect(releaseOnly?)");
  bool release_only = false;
  if (!args.OptionalBool(0, "releaseOnly", false, &release_only)) return env.Undefined();
  if (closed_) return Napi::Number::New(env, OTC_SUCCESS);
  if (release_only) {
    Alive(env, false);
    return Napi::Number::New(env, OTC_SUCCESS);
  }
  return Napi::Number::New(env, otc_session_disconnect(session_));
}

// signal(req, type, data, toConnectionId|null, retryAfterReconnect)
Napi::Value SessionWrap::Signal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "signal(req, type, data, to, retryAfterReconnect)");
  int64_t req = 0;
  std::string type, data, to;
  bool has_to = false, retry = false;
  if (!args.Id(0, "req", &req) || !args.String(1, "type", &type) || !args.String(2, "data", &data) ||
      !args.StringOrNull(3, "to", &to, &has_to) || !args.Bool(4, "retryAfterReconnect", &retry)) {
    return env.Undefined();
  }
  if (closed_) return Napi::Number::New(env, OTC_SESSION_NOT_CONNECTED);
  otc_status st = convene_session_send_signal(session_, type.c_str(), data.c_str(), has_to ? to.c_str() : nullptr, retry,
                                              OnDone, RequestData(req));
  return Napi::Number::New(env, st);
}

// moderate(req, op, target|null, ids[])
Napi::Value SessionWrap::Moderate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "moderate(req, op, target, ids)");
  int64_t req = 0;
  std::string op, target;
  bool has_target = false;
  std::vector<std::string> ids;
  if (!args.Id(0, "req", &req) || !args.String(1, "op", &op) || !args.StringOrNull(2, "target", &target, &has_target) ||
      !args.StringArray(3, "ids", &ids)) {
    return env.Undefined();
  }
  if (closed_) return Napi::Number::New(env, OTC_SESSION_NOT_CONNECTED);
  std::vector<const char*> ptrs;
  ptrs.reserve(ids.size());
  for (auto& s : ids) ptrs.push_back(s.c_str());
  otc_status st = convene_session_moderate(session_, op.c_str(), has_target ? target.c_str() : nullptr, ptrs.data(),
                                           ptrs.size(), OnDone, RequestData(req));
  return Napi::Number::New(env, st);
}

// publish(pubId, name, hasAudio, hasVideo, videoType, audioQueueMs?, videoWidth?, videoHeight?,
// videoFps?): audioQueueMs > 0 gives the publisher an audio source (writeAudio) with a queue
// that long; videoWidth > 0 a video source (writeVideo) encoded at that size and rate; 0 or
// undefined: none
Napi::Value SessionWrap::Publish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "publish(pubId, name, hasAudio, hasVideo, videoType, audioQueueMs, videoWidth, videoHeight, videoFps)");
  int64_t id = 0;
  std::string name, video_type;
  bool audio = false, video = false;
  int queue_ms = 0;
  VideoSourceOptions vs;
  if (!args.Id(0, "pubId", &id) || !args.String(1, "name", &name) || !args.Bool(2, "hasAudio", &audio) ||
      !args.Bool(3, "hasVideo", &video) || !args.OneOf(4, "videoType", kVideoTypes, &video_type) ||
      !args.OptionalInt(5, "audioQueueMs", 0, 60000, 0, &queue_ms) ||
      !args.OptionalInt(6, "videoWidth", 0, 4096, 0, &vs.width) || !args.OptionalInt(7, "videoHeight", 0, 4096, 0, &vs.height) ||
      !args.OptionalInt(8, "videoFps", 0, 60, 0, &vs.fps)) {
    return env.Undefined();
  }
  if (queue_ms > 0 && queue_ms < 100) {
    args.Fail("audioQueueMs must be 0 (no audio source) or from 100 to 60000");
    return env.Undefined();
  }
  if (vs.width > 0 && (vs.width < 16 || vs.height < 16 || vs.fps < 1)) {
    args.Fail("a video source needs videoWidth and videoHeight from 16 to 4096 and videoFps from 1 to 60");
    return env.Undefined();
  }
  // A second publisher under a live id would orphan the first one's callback context.
  if (publishers_.count(id)) {
    args.Fail("pubId " + std::to_string(id) + " is in use");
    return env.Undefined();
  }
  if (closed_) return Napi::Number::New(env, OTC_SESSION_NOT_CONNECTED);
  std::unique_ptr<Publisher> pub = Publisher::Create(ctx_.get(), id, name, audio, video, video_type, queue_ms, vs);
  if (!pub) return Napi::Number::New(env, OTC_INVALID_PARAM);
  otc_status st = otc_session_publish(session_, pub->get());
  if (st != OTC_SUCCESS) return Napi::Number::New(env, st);  // pub is freed here
  publishers_[id] = std::move(pub);
  return Napi::Number::New(env, OTC_SUCCESS);
}

// unpublish(pubId): unpublishes (if still published) and frees the publisher
Napi::Value SessionWrap::Unpublish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "unpublish(pubId)");
  int64_t id = 0;
  if (!args.Id(0, "pubId", &id)) return env.Undefined();
  auto it = publishers_.find(id);
  if (it == publishers_.end()) return Napi::Number::New(env, OTC_SESSION_PUBLISHER_NOT_FOUND);
  publishers_.erase(it);  // ~Publisher waits: no callback after this
  return Napi::Number::New(env, OTC_SUCCESS);
}

// setPublish(pubId, 'audio'|'video', on)
Napi::Value SessionWrap::SetPublish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setPublish(pubId, what, on)");
  int64_t id = 0;
  std::string what;
  bool on = false;
  if (!args.Id(0, "pubId", &id) || !args.OneOf(1, "what", kAudioVideo, &what) || !args.Bool(2, "on", &on)) {
    return env.Undefined();
  }
  auto it = publishers_.find(id);
  if (it == publishers_.end()) return Napi::Number::New(env, OTC_SESSION_PUBLISHER_NOT_FOUND);
  otc_publisher* p = it->second->get();
  otc_status st = what == "audio" ? otc_publisher_set_publish_audio(p, on) : otc_publisher_set_publish_video(p, on);
  return Napi::Number::New(env, st);
}

// getPublish(pubId, 'audio'|'video'): 1 or 0 as the core has it now (a forced mute clears audio); -1 unknown
Napi::Value SessionWrap::GetPublish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getPublish(pubId, what)");
  int64_t id = 0;
  std::string what;
  if (!args.Id(0, "pubId", &id) || !args.OneOf(1, "what", kAudioVideo, &what)) return env.Undefined();
  auto it = publishers_.find(id);
  if (it == publishers_.end()) return Napi::Number::New(env, -1);
  otc_publisher* p = it->second->get();
  otc_bool on = what == "audio" ? otc_publisher_get_publish_audio(p) : otc_publisher_get_publish_video(p);
  return Napi::Number::New(env, on ? 1 : 0);
}

// writeAudio(pubId, samples: Int16Array, samplesPerChannel, sampleRate, channels): the core's
// status (CONVENE_AUDIO_QUEUE_FULL when it does not fit; nothing is queued then)
Napi::Value SessionWrap::WriteAudio(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "writeAudio(pubId, samples, samplesPerChannel, sampleRate, channels)");
  int64_t id = 0;
  const int16_t* data = nullptr;
  size_t len = 0;
  int spc = 0, rate = 0, channels = 0;
  if (!args.Id(0, "pubId", &id) || !args.Int16Array(1, "samples", &data, &len) ||
      !args.Int(2, "samplesPerChannel", 1, 48000 * 60, &spc) || !args.Int(3, "sampleRate", 8000, 48000, &rate) ||
      !args.Int(4, "channels", 1, 2, &channels)) {
    return env.Undefined();
  }
  if (len != static_cast<size_t>(spc) * static_cast<size_t>(channels)) {
    args.Fail("samples holds " + std::to_string(len) + " values, samplesPerChannel * channels is " +
              std::to_string(static_cast<size_t>(spc) * static_cast<size_t>(channels)));
    return env.Undefined();
  }
  otc_publisher* p = FindPublisher(id);
  if (!p) return Napi::Number::New(env, OTC_SESSION_PUBLISHER_NOT_FOUND);
  return Napi::Number::New(env, convene_publisher_write_audio(p, data, static_cast<size_t>(spc), rate, channels));
}

// clearAudio(pubId)
Napi::Value SessionWrap::ClearAudio(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "clearAudio(pubId)");
  int64_t id = 0;
  if (!args.Id(0, "pubId", &id)) return env.Undefined();
  otc_publisher* p = FindPublisher(id);
  if (!p) return Napi::Number::New(env, OTC_SESSION_PUBLISHER_NOT_FOUND);
  return Napi::Number::New(env, convene_publisher_clear_audio(p));
}

// queuedAudio(pubId): ms queued; -1 for an unknown publisher
Napi::Value SessionWrap::QueuedAudio(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "queuedAudio(pubId)");
  int64_t id = 0;
  if (!args.Id(0, "pubId", &id)) return env.Undefined();
  otc_publisher* p = FindPublisher(id);
  return Napi::Number::New(env, p ? convene_publisher_get_queued_audio_ms(p) : -1);
}

// writeVideo(pubId, format, width, height, data: Uint8Array, timestampUs): copies (converts,
// scales) one tightly packed frame into the publisher's video source; timestampUs < 0: now
// (CLOCK_MONOTONIC). The core's status.
Napi::Value SessionWrap::WriteVideo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "writeVideo(pubId, format, width, height, data, timestampUs)");
  int64_t id = 0;
  std::string format_name;
  int width = 0, height = 0;
  const uint8_t* data = nullptr;
  size_t len = 0;
  double ts = -1;
  if (!args.Id(0, "pubId", &id) || !args.String(1, "format", &format_name) || !args.Int(2, "width", 1, 8192, &width) ||
      !args.Int(3, "height", 1, 8192, &height) || !args.Uint8Array(4, "data", &data, &len) ||
      !args.Number(5, "timestampUs", &ts)) {
    return env.Undefined();
  }
  enum otc_video_frame_format format = OTC_VIDEO_FRAME_FORMAT_UNKNOWN;
  bool swap_rb = false;
  if (!VideoFormatFromName(format_name, &format, &swap_rb)) {
    args.Fail("format must be one of 'I420', 'NV12', 'RGBA', 'BGRA', 'ARGB', 'ABGR', 'RGB24', 'BGR24'");
    return env.Undefined();
  }
  size_t want = FrameSize(format, static_cast<size_t>(width), static_cast<size_t>(height));
  if (len != want) {
    args.Fail("data holds " + std::to_string(len) + " bytes, the frame takes " + std::to_string(want));
    return env.Undefined();
  }
  otc_publisher* p = FindPublisher(id);
  if (!p) return Napi::Number::New(env, OTC_SESSION_PUBLISHER_NOT_FOUND);
  if (swap_rb) {  // R G B in memory: the core takes B G R
    swap_scratch_.resize(len);
    for (size_t i = 0; i + 2 < len; i += 3) {
      swap_scratch_[i] = data[i + 2], swap_scratch_[i + 1] = data[i + 1], swap_scratch_[i + 2] = data[i];
    }
    data = swap_scratch_.data();
  }
  // A wrapper over the caller's bytes: the core copies them (the one copy) before this returns.
  otc_video_frame* frame =
      otc_video_frame_new_contiguous_memory_wrapper(format, width, height, OTC_FALSE, data, len, nullptr, nullptr);
  if (!frame) return Napi::Number::New(env, OTC_INVALID_PARAM);
  otc_video_frame_set_timestamp(frame, ts >= 0 ? static_cast<int64_t>(ts) : NowUs());
  otc_status st = convene_publisher_write_video(p, frame);
  otc_video_frame_delete(frame);
  return Napi::Number::New(env, st);
}

// setVideoSource(pubId, width, height, fps): the publisher's video source size and rate; while
// published, a mid-stream change (convene_publisher_set_video_source). The core's status.
Napi::Value SessionWrap::SetVideoSource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setVideoSource(pubId, width, height, fps)");
  int64_t id = 0;
  int width = 0, height = 0, fps = 0;
  if (!args.Id(0, "pubId", &id) || !args.Int(1, "width", 16, 4096, &width) || !args.Int(2, "height", 16, 4096, &height) ||
      !args.Int(3, "fps", 1, 60, &fps)) {
    return env.Undefined();
  }
  otc_publisher* p = FindPublisher(id);
  if (!p) return Napi::Number::New(env, OTC_SESSION_PUBLISHER_NOT_FOUND);
  return Napi::Number::New(env, convene_publisher_set_video_source(p, width, height, fps));
}

// subscribe(subId, streamId, audio, sampleRate, channels, frameMs, bufferMs, video?, videoFormat?,
// videoBufferFrames?): the core's status; OTC_SUBSCRIBER_SERVER_CANNOT_FIND_STREAM for a stream
// the session does not know (any more). Without the video arguments: no video.
Napi::Value SessionWrap::Subscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "subscribe(subId, streamId, audio, sampleRate, channels, frameMs, bufferMs, video, videoFormat, videoBufferFrames)");
  int64_t id = 0;
  std::string stream_id;
  SubscribeOptions opt;
  std::string video_format = "I420";
  if (!args.Id(0, "subId", &id) || !args.String(1, "streamId", &stream_id) || !args.Bool(2, "audio", &opt.audio) ||
      !args.Int(3, "sampleRate", 8000, 48000, &opt.sample_rate) || !args.Int(4, "channels", 1, 2, &opt.channels) ||
      !args.Int(5, "frameMs", 10, 60, &opt.frame_ms) || !args.Int(6, "bufferMs", 100, 60000, &opt.buffer_ms) ||
      !args.OptionalBool(7, "video", false, &opt.video) ||
      (!info[8].IsUndefined() && !args.String(8, "videoFormat", &video_format)) ||
      !args.OptionalInt(9, "videoBufferFrames", 1, 120, 4, &opt.video_buffer)) {
    return env.Undefined();
  }
  if (!VideoFormatFromName(video_format, &opt.video_format, &opt.swap_rb)) {
    args.Fail("videoFormat must be one of 'I420', 'NV12', 'RGBA', 'BGRA', 'ARGB', 'ABGR', 'RGB24', 'BGR24'");
    return env.Undefined();
  }
  if (subscribers_.count(id)) {
    args.Fail("subId " + std::to_string(id) + " is in use");
    return env.Undefined();
  }
  if (closed_) return Napi::Number::New(env, OTC_SESSION_NOT_CONNECTED);
  otc_status st = OTC_SUCCESS;
  std::unique_ptr<Subscriber> sub;
  {
    std::lock_guard<std::mutex> lock(ctx_->streams_mu);
    auto it = ctx_->streams.find(stream_id);
    if (it == ctx_->streams.end()) return Napi::Number::New(env, OTC_SUBSCRIBER_SERVER_CANNOT_FIND_STREAM);
    sub = Subscriber::Create(ctx_.get(), id, it->second, opt, &st);  // the subscriber copies the stream
  }
  if (!sub) return Napi::Number::New(env, st);
  st = otc_session_subscribe(session_, sub->get());
  if (st != OTC_SUCCESS) return Napi::Number::New(env, st);  // sub is freed here
  subscribers_[id] = std::move(sub);
  return Napi::Number::New(env, OTC_SUCCESS);
}

// subscriberId(subId): the core's id of the subscriber ('' for an unknown one)
Napi::Value SessionWrap::SubscriberId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "subscriberId(subId)");
  int64_t id = 0;
  if (!args.Id(0, "subId", &id)) return env.Undefined();
  Subscriber* s = FindSubscriber(id);
  const char* sid = s ? otc_subscriber_get_subscriber_id(s->get()) : nullptr;
  return Napi::String::New(env, sid ? sid : "");
}

// unsubscribe(subId): unsubscribes (if still subscribed) and frees the subscriber
Napi::Value SessionWrap::Unsubscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "unsubscribe(subId)");
  int64_t id = 0;
  if (!args.Id(0, "subId", &id)) return env.Undefined();
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return Napi::Number::New(env, OTC_SESSION_SUBSCRIBER_NOT_FOUND);
  subscribers_.erase(it);  // ~Subscriber waits: no callback after this
  return Napi::Number::New(env, OTC_SUCCESS);
}

// setSubscribeAudio(subId, on)
Napi::Value SessionWrap::SetSubscribeAudio(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setSubscribeAudio(subId, on)");
  int64_t id = 0;
  bool on = false;
  if (!args.Id(0, "subId", &id) || !args.Bool(1, "on", &on)) return env.Undefined();
  Subscriber* s = FindSubscriber(id);
  if (!s) return Napi::Number::New(env, OTC_SESSION_SUBSCRIBER_NOT_FOUND);
  return Napi::Number::New(env, otc_subscriber_set_subscribe_to_audio(s->get(), on));
}

// setSubscribeVideo(subId, on)
Napi::Value SessionWrap::SetSubscribeVideo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setSubscribeVideo(subId, on)");
  int64_t id = 0;
  bool on = false;
  if (!args.Id(0, "subId", &id) || !args.Bool(1, "on", &on)) return env.Undefined();
  Subscriber* s = FindSubscriber(id);
  if (!s) return Napi::Number::New(env, OTC_SESSION_SUBSCRIBER_NOT_FOUND);
  return Napi::Number::New(env, otc_subscriber_set_subscribe_to_video(s->get(), on));
}

// mediaStats('pub'|'sub', id): the core's counters, or null for an unknown one
Napi::Value SessionWrap::MediaStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  static const char* const kWhat[] = {"pub", "sub", nullptr};
  Args args(info, "mediaStats(what, id)");
  std::string what;
  int64_t id = 0;
  if (!args.OneOf(0, "what", kWhat, &what) || !args.Id(1, "id", &id)) return env.Undefined();
  struct convene_media_stats m = {};
  otc_status st = OTC_INVALID_PARAM;
  if (what == "pub") {
    if (otc_publisher* p = FindPublisher(id)) st = convene_publisher_get_media_stats(p, &m);
  } else if (Subscriber* s = FindSubscriber(id)) {
    st = convene_subscriber_get_media_stats(s->get(), &m);
  }
  if (st != OTC_SUCCESS) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  auto put = [&](const char* k, uint64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
  put("framesSent", m.frames_sent);
  put("framesReceived", m.frames_received);
  put("bytesSent", m.bytes_sent);
  put("bytesReceived", m.bytes_received);
  put("framesDecoded", m.frames_decoded);
  put("framesConcealed", m.frames_concealed);
  put("decodeErrors", m.decode_errors);
  put("framesLost", m.frames_lost);
  put("queueDropped", m.queue_dropped);
  put("queueRefused", m.queue_refused);
  put("videoFramesEncoded", m.frames_encoded);
  put("videoKeyframesSent", m.keyframes_sent);
  put("videoKeyframeRequests", m.keyframe_requests);
  put("videoFramesDropped", m.frames_dropped);
  put("videoFramesRendered", m.frames_rendered);
  put("videoPacketsSent", m.video_packets_sent);
  put("videoBytesSent", m.video_bytes_sent);
  put("videoPacketsDropped", m.video_packets_dropped);
  put("videoPacketsReceived", m.video_packets_received);
  put("videoBytesReceived", m.video_bytes_received);
  put("videoPacketsLost", m.video_packets_lost);
  put("videoDecodeErrors", m.video_decode_errors);
  auto put_int = [&](const char* k, int v) { o.Set(k, Napi::Number::New(env, v)); };
  put_int("videoBitrateKbps", m.bitrate_kbps);
  put_int("videoFps", m.fps);
  put_int("videoWidth", m.width);
  put_int("videoHeight", m.height);
  return o;
}

Napi::Value SessionWrap::CloseJs(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

// Events of this session still queued in the pump are dropped at delivery (unknown id).
void SessionWrap::Close() {
  if (closed_) return;
  if (session_) {
    subscribers_.clear();          // each waits for the core's threads
    publishers_.clear();           // each waits for the service thread
    otc_session_delete(session_);  // waits for the service thread: no callback after this
    session_ = nullptr;
  }
  if (alive_) {
    alive_ = false;
    Unref();
    // The loop reference is dropped with the last alive session. When the environment is
    // being torn down (pump already gone), there is nothing left to unref.
    if (env_data_ && env_data_->pump && --env_data_->alive == 0) env_data_->pump->KeepLoopAlive(Env(), false);
  }
  closed_ = true;
  ctx_.reset();
  if (env_data_) env_data_->sessions.erase(id_);
  env_data_ = nullptr;
  if (core_) {
    core_ = false;
    ReleaseCore();
  }
}

}  // namespace convene_addon
