/*
 * The recovery, keepalive and pace policy (policy.c), alone: pure functions, fed inputs
 * (time included), checked on their decisions. Links only the protocol layer and below.
 */
#include "check.h"
#include "internal.h"

static const struct cv_recovery_policy k_policy = {
    .base_ms = 100, .factor = 2.0, .cap_ms = 1000, .grace_window_ms = 5000, .rejoin = 0, .rejoin_timeout_ms = 0};

/* Resume attempts: growing delays (jitter 0: half the backoff), never past the grace window. */
static void test_resume_schedule(void) {
  struct cv_recovery r;
  cv_recovery_begin_resume(&r, &k_policy, 1000, 0);
  CHECK_EQ(6000, r.deadline_ms);
  struct cv_recovery_decision d = cv_recovery_next_resume(&r, &k_policy, 1000, 0.0);
  CHECK_EQ(CV_RECOVERY_RETRY, d.action);
  CHECK_EQ(50, d.delay_ms);
  d = cv_recovery_next_resume(&r, &k_policy, 1100, 0.0);
  CHECK_EQ(100, d.delay_ms);
  CHECK_EQ(2, r.attempt);
  /* near the deadline: the delay is cut to what is left */
  r.attempt = 10;
  d = cv_recovery_next_resume(&r, &k_policy, 5800, 0.0);
  CHECK_EQ(CV_RECOVERY_RETRY, d.action);
  CHECK_EQ(200, d.delay_ms);
  /* at the deadline: give up */
  d = cv_recovery_next_resume(&r, &k_policy, 6000, 0.0);
  CHECK_EQ(CV_RECOVERY_GIVE_UP, d.action);
}

/* After a flood close no attempt comes sooner than the floor. */
static void test_resume_floor(void) {
  struct cv_recovery r;
  cv_recovery_begin_resume(&r, &k_policy, 0, 1000);
  struct cv_recovery_decision d = cv_recovery_next_resume(&r, &k_policy, 0, 0.0);
  CHECK_EQ(1000, d.delay_ms);
}

/* Resuming failed: rejoin only when the settings allow it and a token is there. */
static void test_after_resume_failed(void) {
  struct cv_recovery r = {0};
  struct cv_recovery_policy p = k_policy;
  CHECK_EQ(CV_RECOVERY_GIVE_UP, cv_recovery_after_resume_failed(&r, &p, 0, 1).action);
  p.rejoin = 1;
  p.rejoin_timeout_ms = 3000;
  CHECK_EQ(CV_RECOVERY_GIVE_UP, cv_recovery_after_resume_failed(&r, &p, 0, 0).action);
  r.attempt = 7;
  CHECK_EQ(CV_RECOVERY_REJOIN, cv_recovery_after_resume_failed(&r, &p, 500, 1).action);
  CHECK_EQ(0, r.attempt);
  CHECK_EQ(3500, r.deadline_ms);
  /* rejoin attempts: retried until the rejoin deadline, not after a fatal answer */
  struct cv_recovery_decision d = cv_recovery_next_rejoin(&r, &p, 600, 0.0, 0);
  CHECK_EQ(CV_RECOVERY_RETRY, d.action);
  CHECK_EQ(50, d.delay_ms);
  CHECK_EQ(CV_RECOVERY_GIVE_UP, cv_recovery_next_rejoin(&r, &p, 600, 0.0, 1).action);
  CHECK_EQ(CV_RECOVERY_GIVE_UP, cv_recovery_next_rejoin(&r, &p, 3500, 0.0, 0).action);
  /* rejoin timeout 0: one attempt, then the end */
  p.rejoin_timeout_ms = 0;
  CHECK_EQ(CV_RECOVERY_REJOIN, cv_recovery_after_resume_failed(&r, &p, 100, 1).action);
  CHECK_EQ(CV_RECOVERY_GIVE_UP, cv_recovery_next_rejoin(&r, &p, 100, 0.0, 0).action);
}

/* Keepalive: a check at the next ping or at the dead line, whichever is first. */
static void test_keepalive(void) {
  CHECK_EQ(0, cv_keepalive_dead(14999, 0, 15000));
  CHECK_EQ(1, cv_keepalive_dead(15000, 0, 15000));
  CHECK_EQ(10000, cv_keepalive_next_check(0, 0, 0, 10000, 15000));
  CHECK_EQ(5000, cv_keepalive_next_check(10000, 0, 10000, 10000, 15000));
  CHECK_EQ(1, cv_keepalive_next_check(20000, 0, 0, 10000, 15000)); /* overdue: soon, not in the past */
}

/* Keepalive deadlines on a grid (a twentieth of the interval, at most 100 ms): sessions whose
 * pings are a few ms apart share their next check, so one wake-up serves them all. */
static void test_keepalive_tcp(void) {
  /* the default: 10 s of silence, then 5 probes a second apart: dead after 15 s, as the
   * user timeout for data left unacknowledged */
  struct cv_tcp_keepalive k = cv_keepalive_tcp(15000);
  CHECK_EQ(10, k.idle_s);
  CHECK_EQ(1, k.intvl_s);
  CHECK_EQ(5, k.cnt);
  CHECK_EQ(15000, k.user_timeout_ms);
  CHECK_EQ(15, k.idle_s + k.intvl_s * k.cnt);
  k = cv_keepalive_tcp(3000); /* a short session setting: 2 s + 1 probe */
  CHECK_EQ(2, k.idle_s);
  CHECK_EQ(1, k.cnt);
  CHECK_EQ(3000, k.user_timeout_ms);
  k = cv_keepalive_tcp(200); /* under the kernel's 1 s granularity: the least it can do */
  CHECK_EQ(1, k.idle_s);
  CHECK_EQ(1, k.cnt);
  CHECK_EQ(1000, k.user_timeout_ms);
}

static void test_keepalive_grid(void) {
  CHECK_EQ(100, cv_keepalive_granule_ms(10000));
  CHECK_EQ(50, cv_keepalive_granule_ms(1000));
  CHECK_EQ(1, cv_keepalive_granule_ms(10));
  /* pings at 0, 37 and 99 ms: all three next checked at 10,000 (absolute) */
  CHECK_EQ(10000, 0 + cv_keepalive_next_check(0, 0, 0, 10000, 15000));
  CHECK_EQ(10000, 37 + cv_keepalive_next_check(37, 37, 37, 10000, 15000));
  CHECK_EQ(10000, 99 + cv_keepalive_next_check(99, 99, 99, 10000, 15000));
  CHECK_EQ(10100, 100 + cv_keepalive_next_check(100, 100, 100, 10000, 15000));
  /* ...and each is due for its ping then: early by less than a granule, never late */
  CHECK(cv_keepalive_ping_due(10000, 99, 10000));
  CHECK(!cv_keepalive_ping_due(9999, 99, 10000));
  CHECK(!cv_keepalive_ping_due(9999, 0, 10000));
  CHECK(cv_keepalive_ping_due(10000, 0, 10000));
  /* the dead line rounds up: never declared dead before the timeout */
  CHECK_EQ(15100, 10037 + cv_keepalive_next_check(10037, 37, 10037, 10000, 15000));
  CHECK(!cv_keepalive_dead(15036, 37, 15000));
  CHECK(cv_keepalive_dead(15100, 37, 15000));
}

static void test_pace(void) {
  json_t *limits = json_pack("{s:i, s:i}", "signalsPerSecond", 100, "signalBurst", 40);
  CHECK(cv_pace_rate_for(limits) > 89.9 && cv_pace_rate_for(limits) < 90.1);
  CHECK(cv_pace_burst_for(limits) > 19.9 && cv_pace_burst_for(limits) < 20.1);
  json_decref(limits);
  limits = json_pack("{s:i}", "signalsPerSecond", 0);
  CHECK(cv_pace_rate_for(limits) == 0); /* no signal limit: not paced */
  json_decref(limits);
  CHECK(cv_pace_rate_for(NULL) == CV_PACE_DEFAULT_RATE);
}

int main(void) {
  test_resume_schedule();
  test_resume_floor();
  test_after_resume_failed();
  test_keepalive();
  test_keepalive_grid();
  test_keepalive_tcp();
  test_pace();
  return 0;
}
