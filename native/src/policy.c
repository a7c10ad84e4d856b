/*
 * Policy (protocol layer): the decisions of reconnection, keepalive and pacing as pure
 * functions. Inputs in (settings, what the server announced, the time, a jitter draw),
 * a decision out; no I/O, no timers, no session. recovery.c and state.c carry them out.
 */
#include <math.h>

#include "internal.h"

#define PACE_DEFAULT_BURST 200.0
#define PACE_MAX_BURST 1000.0

int64_t cv_backoff_ms(int attempt, int base_ms, double factor, int cap_ms, double r01) {
  if (base_ms < 1) base_ms = 1;
  if (factor < 1.0) factor = 1.0;
  if (cap_ms < base_ms) cap_ms = base_ms;
  double d = (double)base_ms * pow(factor, attempt < 0 ? 0 : attempt > 60 ? 60 : attempt);
  if (d > cap_ms) d = cap_ms;
  if (r01 < 0) r01 = 0;
  if (r01 >= 1) r01 = 0.999999;
  return (int64_t)(d * (0.5 + r01 / 2));
}

static struct cv_recovery_decision decide(enum cv_recovery_action action, int64_t delay_ms) {
  struct cv_recovery_decision d = {action, delay_ms};
  return d;
}

void cv_recovery_begin_resume(struct cv_recovery *r, const struct cv_recovery_policy *p, int64_t now, int floor_ms) {
  r->attempt = 0;
  r->floor_ms = floor_ms;
  r->deadline_ms = now + (p->grace_window_ms > 0 ? p->grace_window_ms : 30000);
}

struct cv_recovery_decision cv_recovery_next_resume(struct cv_recovery *r, const struct cv_recovery_policy *p,
                                                    int64_t now, double r01) {
  int64_t left = r->deadline_ms - now;
  if (left <= 0) return decide(CV_RECOVERY_GIVE_UP, 0);
  int64_t delay = cv_backoff_ms(r->attempt, p->base_ms, p->factor, p->cap_ms, r01);
  if (delay < r->floor_ms) delay = r->floor_ms;
  if (delay > left) delay = left;
  r->attempt++;
  return decide(CV_RECOVERY_RETRY, delay);
}

struct cv_recovery_decision cv_recovery_after_resume_failed(struct cv_recovery *r, const struct cv_recovery_policy *p,
                                                            int64_t now, int have_token) {
  if (!p->rejoin || !have_token) return decide(CV_RECOVERY_GIVE_UP, 0);
  r->attempt = 0;
  r->floor_ms = 0;
  r->deadline_ms = now + (p->rejoin_timeout_ms > 0 ? p->rejoin_timeout_ms : 0);
  return decide(CV_RECOVERY_REJOIN, 0);
}

struct cv_recovery_decision cv_recovery_next_rejoin(struct cv_recovery *r, const struct cv_recovery_policy *p,
                                                    int64_t now, double r01, int fatal) {
  int64_t left = r->deadline_ms - now;
  if (fatal || left <= 0) return decide(CV_RECOVERY_GIVE_UP, 0);
  int64_t delay = cv_backoff_ms(r->attempt, p->base_ms, p->factor, p->cap_ms, r01);
  if (delay > left) delay = left;
  r->attempt++;
  return decide(CV_RECOVERY_RETRY, delay);
}

int cv_keepalive_dead(int64_t now, int64_t last_rx, int timeout_ms) { return now - last_rx >= timeout_ms; }

/* Keepalive deadlines sit on a grid of the clock, one granule apart (a twentieth of the
 * interval, at most 100 ms), so that the checks of many sessions fall due together and are
 * served in one wake-up of the service thread: at 10,000 sessions pinging every 10 s, about
 * ten wake-ups a second instead of a thousand. A ping goes out up to a granule early (never
 * later than the interval the server asked for); a dead path is noticed up to a granule late. */
int cv_keepalive_granule_ms(int interval_ms) {
  int g = interval_ms / 20;
  return g < 1 ? 1 : g > 100 ? 100 : g;
}

static int64_t floor_to(int64_t t, int g) { return t >= 0 ? t - t % g : -((-t + g - 1) / g) * g; }
static int64_t ceil_to(int64_t t, int g) { return -floor_to(-t, g); }

int cv_keepalive_ping_due(int64_t now, int64_t last_ping, int interval_ms) {
  return now >= floor_to(last_ping + interval_ms, cv_keepalive_granule_ms(interval_ms));
}

int64_t cv_keepalive_next_check(int64_t now, int64_t last_rx, int64_t last_ping, int interval_ms, int timeout_ms) {
  int g = cv_keepalive_granule_ms(interval_ms);
  int64_t ping_at = floor_to(last_ping + interval_ms, g), dead_at = ceil_to(last_rx + timeout_ms, g);
  int64_t next = (ping_at < dead_at ? ping_at : dead_at) - now;
  return next < 1 ? 1 : next;
}

struct cv_tcp_keepalive cv_keepalive_tcp(int dead_ms) {
  int total_s = dead_ms < 2000 ? 2 : dead_ms / 1000;
  struct cv_tcp_keepalive k;
  k.idle_s = total_s * 2 / 3;
  if (k.idle_s < 1) k.idle_s = 1;
  k.intvl_s = 1;
  k.cnt = total_s - k.idle_s;
  if (k.cnt < 1) k.cnt = 1;
  k.user_timeout_ms = dead_ms < 1000 ? 1000 : dead_ms;
  return k;
}

double cv_pace_rate_for(const json_t *limits) {
  json_t *sps = json_object_get(limits, "signalsPerSecond");
  if (!json_is_integer(sps)) return CV_PACE_DEFAULT_RATE;
  if (json_integer_value(sps) <= 0) return 0; /* no signal limit: no pace */
  double r = (double)json_integer_value(sps) * 0.9;
  return r < CV_PACE_MIN_RATE ? CV_PACE_MIN_RATE : r;
}

double cv_pace_burst_for(const json_t *limits) {
  json_t *burst = json_object_get(limits, "signalBurst");
  if (!json_is_integer(burst) || json_integer_value(burst) <= 0) return PACE_DEFAULT_BURST;
  double b = (double)json_integer_value(burst) / 2;
  return b < 1 ? 1 : b > PACE_MAX_BURST ? PACE_MAX_BURST : b;
}
