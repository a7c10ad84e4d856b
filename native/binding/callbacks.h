// The session's C callbacks. They run on the core's service thread: each copies what it is
// handed (valid for the call only) into an Event and queues it on its environment's pump. They
// never touch JavaScript. Publishers' callbacks live in publisher.cc and work the same way.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "events.h"

extern "C" {
#include "opentok.h"
#include "opentok/convene.h"
}

namespace convene_addon {

struct Pump;

// A session's callback context (user_data of its callbacks): where to queue, under which id,
// and a copy of every stream of the session (the service thread keeps them as streams come
// and go; the JS thread subscribes from them). Owned by the SessionWrap; freed after
// otc_session_delete, when no callback can run.
struct SessCtx {
  SessCtx(Pump* p, uint32_t id, bool supp) : pump(p), sid(id), suppressed(supp) {}
  ~SessCtx();
  SessCtx(const SessCtx&) = delete;
  SessCtx& operator=(const SessCtx&) = delete;

  Pump* pump;
  uint32_t sid;
  bool suppressed;  // connection events suppressed: signals carry their sender's details

  std::mutex streams_mu;
  std::unordered_map<std::string, otc_stream*> streams;  // owned copies (otc_stream_copy), by id

  // Any thread: keeps a copy of `s` (replacing one of the same id) / drops the one of `id` / all.
  void KeepStream(const otc_stream* s);
  void DropStream(const std::string& id);
  void DropStreams();
};

// Queues an event of the session `ctx` (any thread).
void Queue(SessCtx* ctx, Event&& e);

ConnData CopyConn(const otc_connection* c);
StreamData CopyStream(const otc_stream* s);
// A reason handed by the core, or the default one.
const char* ReasonOr(const char* reason);

// The session callbacks with user_data = ctx.
struct otc_session_callbacks SessionCallbacks(SessCtx* ctx);
// Completion of a signal or moderation request (request_data = the JS request id).
void OnDone(otc_session* s, void* user_data, void* request, int code, const char* message);
// A signal the server could not deliver (session settings hook).
void OnSignalUndelivered(otc_session* s, void* user_data, const char* type, const char* to, int code,
                         const char* message);

}  // namespace convene_addon
