// The event pump: one per environment, created by setDispatcher().
//
// The service thread queues events (Push); one TypedThreadSafeFunction call carries every
// event queued since the previous call, of every session of the environment, to the single
// JavaScript dispatcher (lib/client/native.ts) as a flat array of kEventStride slots per event.
// At most one call is in flight: events queued meanwhile ride along with it. On the service
// thread, a batch goes out at the end of the pass (the core's pass hook) or once it holds
// kEarlyBatch events; from any other thread, at once.
//
// The pump holds the event loop open (tsfn ref'd) only while some session of the environment
// is alive (connecting, connected, reconnecting): SessionWrap counts them in EnvData::alive.
#pragma once

#include <napi.h>

#include <mutex>
#include <vector>

#include "core.h"
#include "events.h"

namespace convene_addon {

struct Pump;
using Batch = std::vector<Event>;
void PumpCallJs(Napi::Env env, Napi::Function dispatch, Pump* pump, Batch* batch);
using PumpTsfn = Napi::TypedThreadSafeFunction<Pump, Batch, &PumpCallJs>;

// Shared by the service thread (Push, Flush) and the JS thread. Owned by its tsfn: freed by
// its finalizer. Node runs that finalizer *before* it hands the calls still queued to
// PumpCallJs with a null env (environment teardown), so each call carries its events as its
// own data (a Batch) and a call with a null env frees that and never touches the pump.
struct Pump {
  std::mutex mu;
  Batch queue;                  // events not yet handed to a tsfn call
  bool scheduled = false;       // a tsfn call is on its way: later events ride along with it
  bool closed = false;          // the environment is going (or the tsfn is closing): drop, never post
  EnvData* env_data = nullptr;  // JS thread only; nullptr once the environment is going
  PumpTsfn tsfn;

  // Any thread: queues one event of session `sid`.
  void Push(uint32_t sid, Event&& ev);
  // Hands what is queued to the JS thread.
  void Flush();
  // JS thread: hold / stop holding the event loop open.
  void KeepLoopAlive(Napi::Env env, bool on);

 private:
  void FlushLocked();
};

// setDispatcher(fn(batch, count)): once per environment, before any session.
Napi::Value SetDispatcher(const Napi::CallbackInfo& info);

// JS thread, environment teardown, after every session of the environment is closed: drops
// what is queued and releases the tsfn (whose finalizer frees the pump).
void StopPump(Pump* pump);

}  // namespace convene_addon
