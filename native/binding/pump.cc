// The event pump (see pump.h).
#include "pump.h"

#include <memory>
#include <set>

#include "marshal.h"
#include "session.h"

extern "C" {
#include "opentok/convene.h"
}

namespace convene_addon {

namespace {

// On a hooked thread, a batch this big goes out before the end of the pass: a pass over
// many sockets would otherwise hold the first events back until it has read them all.
constexpr size_t kEarlyBatch = 32;

// Every environment's pump, for the service thread's end-of-pass hook.
std::mutex g_pumps_mu;
std::set<Pump*> g_pumps;
// A thread the core calls the pass hook on (its service thread after each pass, its media
// thread after each tick): events it queues wait for the hook (one JavaScript call per pass
// or tick), not a call each. Other threads' events go at once.
thread_local bool t_hooked_thread = false;

void OnServicePass(void*) {
  t_hooked_thread = true;
  std::lock_guard<std::mutex> lock(g_pumps_mu);
  for (Pump* p : g_pumps) p->Flush();
}

}  // namespace

void Pump::Push(uint32_t sid, Event&& ev) {
  ev.sid = sid;
  std::lock_guard<std::mutex> lock(mu);
  if (closed) return;
  queue.push_back(std::move(ev));
  if (!t_hooked_thread || queue.size() >= kEarlyBatch) FlushLocked();
}

void Pump::Flush() {
  std::lock_guard<std::mutex> lock(mu);
  FlushLocked();
}

void Pump::FlushLocked() {
  if (closed || scheduled || queue.empty()) return;
  auto* batch = new Batch();
  batch->swap(queue);
  napi_status st = tsfn.NonBlockingCall(batch);
  if (st == napi_ok) {
    scheduled = true;
    return;
  }
  delete batch;  // not queued: ours to free
  // napi_closing: the environment is being torn down and the tsfn may be freed soon after.
  // Never post again (there is no JavaScript left to deliver to).
  if (st == napi_closing) {
    closed = true;
    queue.clear();
  }
}

void Pump::KeepLoopAlive(Napi::Env env, bool on) {
  if (on) tsfn.Ref(env);
  else tsfn.Unref(env);
}

// JS thread: one call carries every event queued since the last one, for every session: its
// own batch, plus what was queued while it was on its way.
// env is null when the tsfn is finalized with calls still queued (environment teardown): the
// pump is already freed then; the batch is freed and nothing else is touched.
void PumpCallJs(Napi::Env env, Napi::Function dispatch, Pump* pump, Batch* data) {
  std::unique_ptr<Batch> batch(data);
  if (env == nullptr || pump == nullptr || batch == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(pump->mu);
    for (Event& e : pump->queue) batch->push_back(std::move(e));
    pump->queue.clear();
    pump->scheduled = false;
  }
  EnvData* ed = pump->env_data;
  if (ed == nullptr || batch->empty()) return;  // the environment is going
  Napi::HandleScope scope(env);
  Napi::Array arr = Napi::Array::New(env, batch->size() * kEventStride);
  uint32_t n = 0;
  std::vector<SessionWrap*> ended;
  uint32_t last_sid = 0;
  SessionWrap* last = nullptr;
  napi_value target = nullptr;
  for (Event& e : *batch) {
    if (e.sid != last_sid || last == nullptr) {
      auto it = ed->sessions.find(e.sid);
      last_sid = e.sid;
      last = it == ed->sessions.end() ? nullptr : it->second;
      target = last ? last->Value().operator napi_value() : nullptr;
    }
    if (last == nullptr || target == nullptr) continue;  // closed or collected: its events go with it
    if (e.kind == Kind::SubAudio) {
      // the frames buffered by now ride on this event; none if it was unsubscribed meanwhile
      Subscriber* sub = last->FindSubscriber(e.i1);
      if (sub == nullptr) continue;
      sub->TakeAudio(&e);
    } else if (e.kind == Kind::SubVideo) {
      Subscriber* sub = last->FindSubscriber(e.i1);
      if (sub == nullptr) continue;
      sub->TakeVideo(&e);
    }
    PutEvent(env, arr, n * kEventStride, target, e);
    n++;
    if (e.kind == Kind::Disconnected) ended.push_back(last);
  }
  if (n == 0) return;
  // After a session ended, nothing of it keeps the process alive.
  for (SessionWrap* w : ended) w->Ended(env);
  dispatch.Call({arr, Napi::Number::New(env, n)});  // the dispatcher surfaces a throwing listener as uncaught
}

Napi::Value SetDispatcher(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnvData* ed = env.GetInstanceData<EnvData>();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "setDispatcher(fn): fn must be a function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (ed->pump) {
    Napi::Error::New(env, "convene: setDispatcher() was already called").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* pump = new Pump();
  pump->env_data = ed;
  pump->tsfn = PumpTsfn::New(env, info[0].As<Napi::Function>(), "convene-events", 0, 1, pump,
                             [](Napi::Env, void*, Pump* p) { delete p; });
  pump->tsfn.Unref(env);  // no session alive yet
  ed->pump = pump;
  {
    std::lock_guard<std::mutex> lock(g_pumps_mu);
    g_pumps.insert(pump);
  }
  convene_set_pass_hook(OnServicePass, nullptr);
  return env.Undefined();
}

void StopPump(Pump* pump) {
  {
    std::lock_guard<std::mutex> lock(g_pumps_mu);
    g_pumps.erase(pump);  // the pass hook no longer sees it
  }
  {
    std::lock_guard<std::mutex> lock(pump->mu);
    pump->closed = true;
    pump->queue.clear();
  }
  pump->env_data = nullptr;
  pump->tsfn.Release();  // its finalizer frees the pump
}

}  // namespace convene_addon
