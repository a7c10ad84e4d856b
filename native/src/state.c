/*
 * Session state, the connection (service thread only): connecting and the handshake,
 * disconnecting, the transport's events (the table given to every link), keepalive, and
 * whether a drop can be resumed. The other concerns of the state layer are in state_*.c
 * (see state.h); recovery.c carries out the reconnection policy.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* ---- connect / disconnect ---- */

static void handshake_timeout(struct cv_timer *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_handshake);
  if (atomic_load(&s->state) != CV_STATE_CONNECTING) return;
  cv_state_lost(s, CV_LOST_SILENT, 0, "no answer to connect");
}

int cv_state_connect_attempt(otc_session *s) {
  cv_timer_schedule(&s->sul_handshake, handshake_timeout, s->connect_timeout_ms);
  return cv_state_open_link(s);
}

int cv_state_open_link(otc_session *s) {
  int dead = s->ka_timeout_setting > 0 && s->ka_timeout_setting < CV_LINK_DEAD_MS ? s->ka_timeout_setting : CV_LINK_DEAD_MS;
  struct cv_transport_config cfg = {s->server_url, s->ca_file, s->tls_verify, s->session_id, cv_keepalive_tcp(dead)};
  return cv_transport_open(&cfg, &cv_state_transport_events, s, &s->link);
}

void cv_state_start_connect(otc_session *s, char *token) {
  int state = atomic_load(&s->state);
  if (state == CV_STATE_CONNECTING || state == CV_STATE_CONNECTED || state == CV_STATE_DISCONNECTING) {
    free(token);
    cv_state_report_error(s, OTC_SESSION_ILLEGAL_STATE, "otc_session_connect: the session is already connecting or connected");
    return;
  }
  free(s->token);
  s->token = token;
  s->last_seq = s->acked_seq = s->next_id = 0;
  cv_state_life_connecting(s);
  atomic_store(&s->state, CV_STATE_CONNECTING);
  CV_INFO("session %.24s: connecting to %s", s->session_id, s->server_url);
  if (cv_state_connect_attempt(s) != 0 && atomic_load(&s->state) == CV_STATE_CONNECTING && !s->link)
    cv_state_lost(s, CV_LOST_ERROR, 0, "cannot open a socket");
}

void cv_state_disconnect_for(otc_session *s, enum cv_end_cause cause) {
  int state = atomic_load(&s->state);
  CV_DEBUG("session %.24s: disconnecting", s->session_id);
  if (state == CV_STATE_CONNECTED && s->link) {
    atomic_store(&s->state, CV_STATE_DISCONNECTING);
    /* ids must follow each other: requests not written yet are given up (they fail below) */
    uint64_t id = s->unsent ? s->unsent->id : ++s->next_id;
    cv_state_send_owned(s, cv_frame_request("disconnect", id, NULL));
    cv_transport_await_server_close(s->link);
  }
  /* The transport flushes what is queued (the disconnect request), then closes cleanly. */
  cv_state_end(s, cause, 0, NULL);
}

void cv_state_disconnect(otc_session *s) { cv_state_disconnect_for(s, CV_END_CLIENT); }

void cv_state_on_open(otc_session *s) {
  s->last_rx_ms = cv_now_ms();
  if (atomic_load(&s->state) == CV_STATE_RECONNECTING) {
    const char *me = s->self ? s->self->id : "";
    cv_state_send_owned(s, cv_frame_resume(s->api_key, s->session_id, me, s->resume_token ? s->resume_token : "", s->last_seq));
    return;
  }
  cv_state_send_owned(s, cv_frame_connect(s->api_key, s->session_id, s->token ? s->token : "", s->suppress_connection_events));
}

/* What the loss of the socket means is decided in state_end.c (cv_state_lost). */
void cv_state_on_transport_error(otc_session *s, const char *why) { cv_state_lost(s, CV_LOST_ERROR, 0, why); }

void cv_state_on_closed(otc_session *s, int close_code, const char *reason) {
  cv_state_lost(s, CV_LOST_CLOSED, close_code, reason);
}

/* ---- keepalive ---- */

void cv_state_set_keepalive(otc_session *s, const json_t *ka) {
  int interval = (int)cv_json_int(ka, "interval"), timeout = (int)cv_json_int(ka, "timeout");
  if (interval > 0) s->keepalive_interval_ms = interval;
  if (timeout > 0) s->keepalive_timeout_ms = timeout;
  /* the settings win, but pings never less often than the server asks: it drops silent clients */
  if (s->ka_interval_setting > 0 && s->ka_interval_setting < s->keepalive_interval_ms)
    s->keepalive_interval_ms = s->ka_interval_setting;
  if (s->ka_timeout_setting > 0) s->keepalive_timeout_ms = s->ka_timeout_setting;
}

static void keepalive_tick(struct cv_timer *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_keepalive);
  if (atomic_load(&s->state) != CV_STATE_CONNECTED) return;
  int64_t now = cv_now_ms();
  if (cv_keepalive_dead(now, s->last_rx_ms, s->keepalive_timeout_ms)) {
    char msg[128];
    snprintf(msg, sizeof msg, "keepalive timeout: nothing received for %d ms", s->keepalive_timeout_ms);
    cv_state_lost(s, CV_LOST_SILENT, 0, msg);
    return;
  }
  if (cv_keepalive_ping_due(now, s->last_ping_ms, s->keepalive_interval_ms)) {
    s->last_ping_ms = now;
    cv_transport_ping(s->link);
  }
  /* absolute: the deadline stays on the keepalive grid (policy.c), shared with other sessions */
  cv_timer_schedule_at(&s->sul_keepalive, keepalive_tick,
                       now + cv_keepalive_next_check(now, s->last_rx_ms, s->last_ping_ms, s->keepalive_interval_ms,
                                                     s->keepalive_timeout_ms));
}

void cv_state_start_keepalive(otc_session *s) {
  int64_t now = cv_now_ms();
  s->last_ping_ms = now;
  cv_timer_schedule_at(&s->sul_keepalive, keepalive_tick,
                       now + cv_keepalive_next_check(now, s->last_rx_ms, s->last_ping_ms, s->keepalive_interval_ms,
                                                     s->keepalive_timeout_ms));
}

/* ---- the transport's events ---- */

static void ev_open(void *owner) { cv_state_on_open(owner); }
static void ev_text(void *owner, const char *text, size_t len) { cv_state_on_text(owner, text, len); }
static void ev_pong(void *owner) { ((otc_session *)owner)->last_rx_ms = cv_now_ms(); }
static void ev_error(void *owner, const char *why) { cv_state_on_transport_error(owner, why); }
static void ev_closed(void *owner, int code, const char *reason) { cv_state_on_closed(owner, code, reason); }
static void ev_binary(void *owner, const unsigned char *bytes, size_t len) { cv_state_on_binary(owner, bytes, len); }

const struct cv_transport_events cv_state_transport_events = {
    .on_open = ev_open,
    .on_text = ev_text,
    .on_pong = ev_pong,
    .on_error = ev_error,
    .on_closed = ev_closed,
    .on_binary = ev_binary,
    .on_writable = NULL, /* requests are paced by results and the token bucket, not by the socket */
};
