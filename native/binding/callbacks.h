// The session's C callbacks. They run on the core's service thread: each copies what it is
// handed (valid for the call only) into an Event and queues it on its environment's pump. They
// never touch JavaScript. Publishers' callbacks live in publisher.cc and work the same way.
#pragma once

#include "events.h"

extern "C" {
#include "opentok.h"
#include "opentok/convene.h"
}

namespace convene_addon {

struct Pump;

// A session's callback context (user_data of its callbacks): where to queue, under which id.
// Owned by the SessionWrap; freed after otc_session_delete, when no callback can run.
struct SessCtx {
  Pump* pump;
  uint32_t sid;
  bool suppressed;  // connection events suppressed: signals carry their sender's details
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
