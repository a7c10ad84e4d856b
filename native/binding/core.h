// Two lifetimes the rest of the binding relies on:
//  - the C core's, process-wide: one otc_init for every environment (main thread and
//    worker_threads), counted by the sessions that exist (AcquireCore / ReleaseCore);
//  - each environment's (EnvData, the napi instance data): its open sessions, their event
//    pump, and how many of them keep the event loop alive. The env cleanup hook installed by
//    InstallEnv closes what is still open when the environment goes away (a worker is
//    terminated, the process exits).
#pragma once

#include <napi.h>

#include <cstdint>
#include <unordered_map>

namespace convene_addon {

class SessionWrap;
struct Pump;

// otc_init on the first user, otc_destroy after the last. False: otc_init failed.
bool AcquireCore();
void ReleaseCore();

// Per environment; JS thread only.
struct EnvData {
  std::unordered_map<uint32_t, SessionWrap*> sessions;  // open sessions by id
  uint32_t next_id = 1;
  int alive = 0;          // sessions connecting/connected/reconnecting: the pump is ref'd while > 0
  Pump* pump = nullptr;   // set by setDispatcher(); nullptr again once the environment is going
};

// Creates the environment's EnvData and registers its teardown. Called once, from Init.
EnvData* InstallEnv(Napi::Env env);

}  // namespace convene_addon
