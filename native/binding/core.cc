// Core refcount and environment teardown (see core.h).
#include "core.h"

#include <mutex>
#include <vector>

#include "pump.h"
#include "session.h"

extern "C" {
#include "opentok.h"
}

namespace convene_addon {

namespace {
std::mutex g_core_mu;
int g_core_users = 0;

// The environment goes away with sessions still open: close them all (each waits for the
// service thread, so none of their callbacks runs after this), then let the pump go. Runs on
// the JS thread, before the instance data and the wrapped objects are finalized; the
// SessionWrap finalizers that follow find their session closed and do nothing.
void TeardownEnv(void* arg) {
  auto* d = static_cast<EnvData*>(arg);
  std::vector<SessionWrap*> open;
  open.reserve(d->sessions.size());
  for (auto& kv : d->sessions) open.push_back(kv.second);
  Pump* pump = d->pump;
  d->pump = nullptr;  // Close() must not touch the tsfn's loop reference any more
  for (SessionWrap* w : open) w->Close();
  d->sessions.clear();
  if (pump) StopPump(pump);
}
}  // namespace

bool AcquireCore() {
  std::lock_guard<std::mutex> lock(g_core_mu);
  if (g_core_users == 0 && otc_init(nullptr) != OTC_SUCCESS) return false;
  g_core_users++;
  return true;
}

void ReleaseCore() {
  std::lock_guard<std::mutex> lock(g_core_mu);
  if (--g_core_users == 0) otc_destroy();
}

EnvData* InstallEnv(Napi::Env env) {
  auto* data = new EnvData();
  env.SetInstanceData<EnvData>(data);  // deleted at env teardown, after the cleanup hook
  napi_add_env_cleanup_hook(env, TeardownEnv, data);
  return data;
}

}  // namespace convene_addon
