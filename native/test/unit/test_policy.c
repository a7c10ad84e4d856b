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
  CHECK_EQ(10, cv_keepalive_next_check(20000, 0, 0, 10000, 15000)); /* overdue: soon, not in the past */
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
  test_pace();
  return 0;
}
