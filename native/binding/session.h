// NativeSession: the JavaScript object over one otc_session (lib/client/session.ts owns one
// per Session). JS thread only. Its events reach JS through the environment's pump, addressed
// by the session's id (EnvData::sessions); its `onEvent` property receives them
// (lib/client/native.ts, dispatch).
//
// Lifetime: while the session is alive (from a successful connect until its Disconnected event
// is delivered, or JS releases a failed attempt) a reference keeps this object from GC and the
// pump keeps the event loop open. Close() (close(), GC, or environment teardown) frees the core
// session and its publishers, waiting for the service thread: no callback runs after it.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "callbacks.h"
#include "core.h"
#include "publisher.h"
#include "subscriber.h"

namespace convene_addon {

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new NativeSession(apiKey, sessionId, options); setDispatcher() must have been called.
  explicit SessionWrap(const Napi::CallbackInfo& info);
  ~SessionWrap() override { Close(); }

  // Frees the native session; releases every reference. Idempotent.
  void Close();
  // The pump delivered the session's Disconnected event: it no longer keeps anything alive.
  void Ended(Napi::Env env) { Alive(env, false); }
  // A subscription of this session by JS id, or nullptr (unsubscribed meanwhile).
  Subscriber* FindSubscriber(int64_t id) const {
    auto it = subscribers_.find(id);
    return it == subscribers_.end() ? nullptr : it->second.get();
  }

 private:
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Disconnect(const Napi::CallbackInfo& info);
  Napi::Value Signal(const Napi::CallbackInfo& info);
  Napi::Value Moderate(const Napi::CallbackInfo& info);
  Napi::Value Publish(const Napi::CallbackInfo& info);
  Napi::Value Unpublish(const Napi::CallbackInfo& info);
  Napi::Value SetPublish(const Napi::CallbackInfo& info);
  Napi::Value GetPublish(const Napi::CallbackInfo& info);
  Napi::Value WriteAudio(const Napi::CallbackInfo& info);
  Napi::Value ClearAudio(const Napi::CallbackInfo& info);
  Napi::Value QueuedAudio(const Napi::CallbackInfo& info);
  Napi::Value WriteVideo(const Napi::CallbackInfo& info);
  Napi::Value SetVideoSource(const Napi::CallbackInfo& info);
  Napi::Value Subscribe(const Napi::CallbackInfo& info);
  Napi::Value SubscriberId(const Napi::CallbackInfo& info);
  Napi::Value Unsubscribe(const Napi::CallbackInfo& info);
  Napi::Value SetSubscribeAudio(const Napi::CallbackInfo& info);
  Napi::Value SetSubscribeVideo(const Napi::CallbackInfo& info);
  Napi::Value MediaStats(const Napi::CallbackInfo& info);
  otc_publisher* FindPublisher(int64_t id) const {
    auto it = publishers_.find(id);
    return it == publishers_.end() ? nullptr : it->second->get();
  }
  Napi::Value CloseJs(const Napi::CallbackInfo& info);

  void Alive(Napi::Env env, bool on);

  otc_session* session_ = nullptr;
  std::unique_ptr<SessCtx> ctx_;  // its callbacks' user_data
  uint32_t id_ = 0;
  bool closed_ = false;
  bool alive_ = false;  // counted in EnvData::alive; this object is kept from GC
  bool core_ = false;   // holds a core reference (AcquireCore)
  EnvData* env_data_ = nullptr;
  std::unordered_map<int64_t, std::unique_ptr<Publisher>> publishers_;  // by JS publisher id
  std::unordered_map<int64_t, std::unique_ptr<Subscriber>> subscribers_;  // by JS subscription id
  std::vector<uint8_t> swap_scratch_;  // WriteVideo: an RGB24 frame with R and B swapped
};

}  // namespace convene_addon
