// The Node binding of the Convene C core (node-addon-api, NAPI_VERSION 8): module init only.
//
// Files, by object (docs/architecture-binding.md has the threads and the event path):
//   core.{h,cc}       the C core's process-wide refcount; per-environment data and its teardown
//   events.h          the event kinds (numbered once, exported as EVENTS) and the Event copy
//   callbacks.{h,cc}  the session's C callbacks (service thread): copy into an Event, queue it
//   publisher.{h,cc}  a session's publisher and its callbacks (and its audio source's)
//   subscriber.{h,cc} a session's subscriber, its callbacks and its bounded audio buffer
//   pump.{h,cc}       the per-environment queue and ThreadSafeFunction: batches to JavaScript
//   marshal.{h,cc}    Event -> JavaScript values (the flat batch layout)
//   args.{h,cc}       argument checks at the C++ entry
//   options.{h,cc}    session options -> otc_session_settings
//   session.{h,cc}    NativeSession, the JavaScript class over one otc_session
#include <napi.h>

#include "core.h"
#include "events.h"
#include "marshal.h"
#include "pump.h"
#include "session.h"

extern "C" {
#include "opentok/convene.h"
}

namespace {

using namespace convene_addon;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallEnv(env);
  exports.Set("NativeSession", SessionWrap::Init(env));
  exports.Set("setDispatcher", Napi::Function::New(env, SetDispatcher, "setDispatcher"));
  exports.Set("EVENTS", EventKindsObject(env));
  exports.Set("EVENT_STRIDE", Napi::Number::New(env, kEventStride));
  exports.Set("AUDIO_QUEUE_FULL", Napi::Number::New(env, CONVENE_AUDIO_QUEUE_FULL));
  exports.Set("version", Napi::String::New(env, "0.1.0"));
  return exports;
}

}  // namespace

NODE_API_MODULE(convene, Init)
