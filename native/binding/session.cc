// NativeSession (see session.h). Every method checks its arguments first (args.h): the
// TypeScript Session validates what users pass, these keep the raw object safe.
#include "session.h"

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
  ctx_.reset(new SessCtx{ed->pump, id_, suppressed});
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

// publish(pubId, name, hasAudio, hasVideo, videoType)
Napi::Value SessionWrap::Publish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "publish(pubId, name, hasAudio, hasVideo, videoType)");
  int64_t id = 0;
  std::string name, video_type;
  bool audio = false, video = false;
  if (!args.Id(0, "pubId", &id) || !args.String(1, "name", &name) || !args.Bool(2, "hasAudio", &audio) ||
      !args.Bool(3, "hasVideo", &video) || !args.OneOf(4, "videoType", kVideoTypes, &video_type)) {
    return env.Undefined();
  }
  // A second publisher under a live id would orphan the first one's callback context.
  if (publishers_.count(id)) {
    args.Fail("pubId " + std::to_string(id) + " is in use");
    return env.Undefined();
  }
  if (closed_) return Napi::Number::New(env, OTC_SESSION_NOT_CONNECTED);
  std::unique_ptr<Publisher> pub = Publisher::Create(ctx_.get(), id, name, audio, video, video_type);
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

Napi::Value SessionWrap::CloseJs(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

// Events of this session still queued in the pump are dropped at delivery (unknown id).
void SessionWrap::Close() {
  if (closed_) return;
  if (session_) {
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
