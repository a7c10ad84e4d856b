/*
 * Recovery (state layer): carries out what policy.c decides after a drop. Retry with
 * jittered exponential backoff until the server's grace window would have expired, resume
 * the connection (the server replays what we missed; we resend requests it had not
 * processed), then rejoin as a new connection or give up with an error. The decisions
 * (when, whether) are policy.c's; the timers, sockets and callbacks are here.
 * Service thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

static double jitter(void) { return (double)(rand() % 1000000) / 1000000.0; }

static struct cv_recovery_policy policy_of(const otc_session *s) {
  struct cv_recovery_policy p = {s->backoff_base_ms, s->backoff_factor, s->backoff_cap_ms,
                                 s->grace_window_ms, s->rejoin,        s->rejoin_timeout_ms};
  return p;
}

static void retry_tick(struct cv_timer *sul);

static void schedule(otc_session *s) {
  struct cv_recovery_policy p = policy_of(s);
  struct cv_recovery_decision d = cv_recovery_next_resume(&s->rec, &p, cv_now_ms(), jitter());
  if (d.action != CV_RECOVERY_RETRY) {
    cv_reconnect_give_up(s, "the connection could not be resumed within the server's grace window");
    return;
  }
  cv_timer_schedule(&s->sul_retry, retry_tick, d.delay_ms);
}

static void attempt_timeout(struct cv_timer *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_handshake);
  if (atomic_load(&s->state) != CV_STATE_RECONNECTING) return;
  cv_transport_close(&s->link);
  cv_reconnect_attempt_failed(s, "resume attempt timed out");
}

static void retry_tick(struct cv_timer *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_retry);
  if (atomic_load(&s->state) != CV_STATE_RECONNECTING || s->link) return;
  CV_INFO("session %.24s: reconnection attempt %d", s->session_id, s->rec.attempt);
  cv_timer_schedule(&s->sul_handshake, attempt_timeout, s->connect_timeout_ms);
  if (cv_state_open_link(s) != 0 && atomic_load(&s->state) == CV_STATE_RECONNECTING && !s->link) {
    cv_timer_cancel(&s->sul_handshake);
    schedule(s);
  }
}

void cv_reconnect_start(otc_session *s, const char *why) { cv_reconnect_start_after(s, why, 0); }

void cv_reconnect_start_after(otc_session *s, const char *why, int floor_ms) {
  CV_INFO("session %.24s: connection dropped (%s); reconnecting", s->session_id, why ? why : "");
  atomic_store(&s->state, CV_STATE_RECONNECTING);
  cv_timer_cancel(&s->sul_keepalive);
  cv_timer_cancel(&s->sul_ack);
  cv_timer_cancel(&s->sul_pace);
  s->ack_scheduled = 0;
  cv_transport_close(&s->link);
  struct cv_recovery_policy p = policy_of(s);
  cv_recovery_begin_resume(&s->rec, &p, cv_now_ms(), floor_ms);
  s->queued_reconnecting = 0;
  cv_state_forget_announced(s);
  CV_EMIT0(s, on_reconnection_started);
  if (atomic_load(&s->state) == CV_STATE_RECONNECTING) schedule(s);
}

void cv_reconnect_attempt_failed(otc_session *s, const char *why) {
  if (atomic_load(&s->state) != CV_STATE_RECONNECTING) return;
  CV_DEBUG("session %.24s: reconnection attempt failed: %s", s->session_id, why ? why : "");
  cv_timer_cancel(&s->sul_handshake);
  schedule(s);
}

void cv_reconnect_resumed(otc_session *s, json_t *f) {
  cv_timer_cancel(&s->sul_handshake);
  cv_timer_cancel(&s->sul_retry);
  cv_state_set_keepalive(s, json_object_get(f, "keepalive"));
  int grace = (int)cv_json_int(f, "graceWindow");
  if (grace > 0) s->grace_window_ms = grace;
  s->queued_reconnecting = 0;
  s->rec.floor_ms = 0;
  json_t *limits = json_object_get(f, "limits");
  double rate = cv_pace_rate_for(limits);
  if (limits && rate > 0 && (s->pace_rate <= 0 || rate < s->pace_rate)) s->pace_rate = rate; /* never faster than after a flood */
  s->acked_seq = s->last_seq; /* resume.lastSeq acknowledged everything processed */
  atomic_store(&s->state, CV_STATE_CONNECTED);
  cv_state_resend_after(s, (uint64_t)cv_json_int(f, "lastRequestId"));
  cv_state_start_keepalive(s);
  CV_INFO("session %.24s: resumed after %d attempt(s)", s->session_id, s->rec.attempt);
  CV_EMIT0(s, on_reconnected);
}

static void rejoin_tick(struct cv_timer *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_retry);
  if (atomic_load(&s->state) != CV_STATE_CONNECTING || s->end.life != CV_LIFE_REJOINING || s->link) return;
  CV_INFO("session %.24s: rejoin attempt %d", s->session_id, s->rec.attempt);
  if (cv_state_connect_attempt(s) != 0 && atomic_load(&s->state) == CV_STATE_CONNECTING && !s->link)
    cv_state_lost(s, CV_LOST_ERROR, 0, "cannot open a socket");
}

int cv_rejoin_attempt_failed(otc_session *s, const char *why) {
  if (s->end.life != CV_LIFE_REJOINING || s->end.deleted) return 0;
  struct cv_recovery_policy p = policy_of(s);
  struct cv_recovery_decision d =
      cv_recovery_next_rejoin(&s->rec, &p, cv_now_ms(), jitter(), s->end.announced == CV_ANNOUNCED_FATAL);
  if (d.action != CV_RECOVERY_RETRY) return 0;
  cv_timer_cancel(&s->sul_handshake);
  cv_transport_close(&s->link);
  CV_DEBUG("session %.24s: rejoin attempt failed (%s); next in %lld ms", s->session_id, why ? why : "",
           (long long)d.delay_ms);
  cv_timer_schedule(&s->sul_retry, rejoin_tick, d.delay_ms);
  return 1;
}

void cv_reconnect_give_up(otc_session *s, const char *why) {
  cv_timer_cancel(&s->sul_retry);
  cv_timer_cancel(&s->sul_handshake);
  char *token = s->token && !s->end.deleted ? strdup(s->token) : NULL;
  struct cv_recovery_policy p = policy_of(s);
  struct cv_recovery_decision d = cv_recovery_after_resume_failed(&s->rec, &p, cv_now_ms(), token != NULL);
  if (d.action != CV_RECOVERY_REJOIN) {
    free(token);
    cv_state_end(s, CV_END_GAVE_UP, OTC_SESSION_CONNECTION_DROPPED, why);
    return;
  }
  /* rejoin as a new connection: the end's callbacks (state_end.c), then on_connected again */
  char msg[320];
  snprintf(msg, sizeof msg, "%s; rejoining as a new connection", why);
  cv_state_end(s, CV_END_REJOIN, OTC_SESSION_CONNECTION_DROPPED, msg);
  if (!s->end.deleted) {
    cv_state_start_connect(s, token);
  } else {
    free(token);
  }
}
