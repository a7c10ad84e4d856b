/*
 * Automatic reconnection: after a drop, retry with jittered exponential backoff until the
 * server's grace window would have expired, resume the connection (the server replays
 * what we missed; we resend requests it had not processed), or give up with an error.
 * Service thread only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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

static double jitter(void) { return (double)(rand() % 1000000) / 1000000.0; }

static void retry_tick(lws_sorted_usec_list_t *sul);

static void schedule(otc_session *s) {
  int64_t delay = cv_backoff_ms(s->reconnect_attempt, s->backoff_base_ms, s->backoff_factor, s->backoff_cap_ms, jitter());
  int64_t left = s->reconnect_deadline_ms - cv_now_ms();
  if (left <= 0) {
    cv_reconnect_give_up(s, "the connection could not be resumed within the server's grace window");
    return;
  }
  if (delay < s->retry_floor_ms) delay = s->retry_floor_ms;
  if (delay > left) delay = left;
  s->reconnect_attempt++;
  lws_sul_schedule(cv_service_context(), 0, &s->sul_retry, retry_tick, (lws_usec_t)delay * LWS_US_PER_MS);
}

static void attempt_timeout(lws_sorted_usec_list_t *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_handshake);
  if (atomic_load(&s->state) != CV_STATE_RECONNECTING) return;
  cv_transport_close(s);
  cv_reconnect_attempt_failed(s, "resume attempt timed out");
}

static void retry_tick(lws_sorted_usec_list_t *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_retry);
  if (atomic_load(&s->state) != CV_STATE_RECONNECTING || s->link) return;
  CV_INFO("session %.24s: reconnection attempt %d", s->session_id, s->reconnect_attempt);
  lws_sul_schedule(cv_service_context(), 0, &s->sul_handshake, attempt_timeout,
                   (lws_usec_t)s->connect_timeout_ms * LWS_US_PER_MS);
  if (cv_transport_open(s) != 0 && atomic_load(&s->state) == CV_STATE_RECONNECTING && !s->link) {
    lws_sul_cancel(&s->sul_handshake);
    schedule(s);
  }
}

void cv_reconnect_start(otc_session *s, const char *why) { cv_reconnect_start_after(s, why, 0); }

void cv_reconnect_start_after(otc_session *s, const char *why, int floor_ms) {
  s->retry_floor_ms = floor_ms;
  CV_INFO("session %.24s: connection dropped (%s); reconnecting", s->session_id, why ? why : "");
  atomic_store(&s->state, CV_STATE_RECONNECTING);
  lws_sul_cancel(&s->sul_keepalive);
  lws_sul_cancel(&s->sul_ack);
  lws_sul_cancel(&s->sul_pace);
  s->ack_scheduled = 0;
  cv_transport_close(s);
  s->reconnect_attempt = 0;
  s->queued_reconnecting = 0;
  s->reconnect_deadline_ms = cv_now_ms() + (s->grace_window_ms > 0 ? s->grace_window_ms : 30000);
  s->server_ended = 0;
  s->reported_fatal = 0;
  EMIT0(s, on_reconnection_started);
  if (atomic_load(&s->state) == CV_STATE_RECONNECTING) schedule(s);
}

void cv_reconnect_attempt_failed(otc_session *s, const char *why) {
  if (atomic_load(&s->state) != CV_STATE_RECONNECTING) return;
  CV_DEBUG("session %.24s: reconnection attempt failed: %s", s->session_id, why ? why : "");
  lws_sul_cancel(&s->sul_handshake);
  schedule(s);
}

void cv_reconnect_resumed(otc_session *s, json_t *f) {
  lws_sul_cancel(&s->sul_handshake);
  lws_sul_cancel(&s->sul_retry);
  cv_state_set_keepalive(s, json_object_get(f, "keepalive"));
  int grace = (int)cv_json_int(f, "graceWindow");
  if (grace > 0) s->grace_window_ms = grace;
  s->queued_reconnecting = 0;
  s->retry_floor_ms = 0;
  json_t *limits = json_object_get(f, "limits");
  double rate = cv_pace_rate_for(limits);
  if (limits && rate > 0 && (s->pace_rate <= 0 || rate < s->pace_rate)) s->pace_rate = rate; /* never faster than after a flood */
  s->acked_seq = s->last_seq; /* resume.lastSeq acknowledged everything processed */
  atomic_store(&s->state, CV_STATE_CONNECTED);
  cv_state_resend_after(s, (uint64_t)cv_json_int(f, "lastRequestId"));
  cv_state_start_keepalive(s);
  CV_INFO("session %.24s: resumed after %d attempt(s)", s->session_id, s->reconnect_attempt);
  EMIT0(s, on_reconnected);
}

static void rejoin_tick(lws_sorted_usec_list_t *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_retry);
  if (atomic_load(&s->state) != CV_STATE_CONNECTING || !s->rejoining || s->link) return;
  CV_INFO("session %.24s: rejoin attempt %d", s->session_id, s->reconnect_attempt);
  if (cv_state_connect_attempt(s) != 0 && atomic_load(&s->state) == CV_STATE_CONNECTING && !s->link)
    cv_state_on_transport_error(s, "cannot open a socket");
}

int cv_rejoin_attempt_failed(otc_session *s, const char *why) {
  if (!s->rejoining || s->deleted || s->reported_fatal) return 0;
  int64_t left = s->rejoin_deadline_ms - cv_now_ms();
  if (left <= 0) return 0;
  lws_sul_cancel(&s->sul_handshake);
  cv_transport_close(s);
  int64_t delay = cv_backoff_ms(s->reconnect_attempt, s->backoff_base_ms, s->backoff_factor, s->backoff_cap_ms, jitter());
  if (delay > left) delay = left;
  s->reconnect_attempt++;
  CV_DEBUG("session %.24s: rejoin attempt failed (%s); next in %lld ms", s->session_id, why ? why : "",
           (long long)delay);
  lws_sul_schedule(cv_service_context(), 0, &s->sul_retry, rejoin_tick, (lws_usec_t)delay * LWS_US_PER_MS);
  return 1;
}

void cv_reconnect_give_up(otc_session *s, const char *why) {
  lws_sul_cancel(&s->sul_retry);
  lws_sul_cancel(&s->sul_handshake);
  s->disconnect_reason = "networkDisconnected";
  s->fail_queued = 1;
  if (s->rejoin && s->token) {
    /* rejoin as a new connection: the error, then on_connected again (no on_disconnected) */
    char *token = strdup(s->token);
    char msg[320];
    snprintf(msg, sizeof msg, "%s; rejoining as a new connection", why);
    cv_state_report_error(s, OTC_SESSION_CONNECTION_DROPPED, msg);
    s->disconnect_reported = 1;
    /* the peers and streams the lost connection knew are reconciled with the new lists */
    struct cv_table conns = s->connections, streams = s->streams;
    memset(&s->connections, 0, sizeof s->connections);
    memset(&s->streams, 0, sizeof s->streams);
    cv_state_finish(s);
    s->stale_connections = conns;
    s->stale_streams = streams;
    if (token && !s->deleted) {
      s->rejoining = 1; /* if rejoining fails for good, on_disconnected ends the session */
      s->reconnect_attempt = 0;
      s->rejoin_deadline_ms = cv_now_ms() + s->rejoin_timeout_ms;
      cv_state_start_connect(s, token);
    } else {
      free(token);
    }
    return;
  }
  cv_state_report_error(s, OTC_SESSION_CONNECTION_DROPPED, why);
  cv_state_finish(s);
}
