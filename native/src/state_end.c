/*
 * Session state, the end, written once: what the loss of a socket means (resume, retry a
 * rejoin, or end), what the server announced before closing, and for each cause of an end
 * the callbacks that fire and their order (k_rows: the table of opentok/session.h in code).
 * Then what an end frees (timers, socket, requests, publishers, tables). Service thread only.
 *
 * Only this file writes struct cv_end (and convene_session_get_disconnect_reason's value);
 * otc_session_delete reaches it through cv_state_silence.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

#define FLOOD_RETRY_FLOOR_MS 1000

void cv_state_report_error(otc_session *s, int code, const char *message) {
  CV_ERROR("session %.24s: error %d: %s", s->session_id, code, message);
  CV_EMIT(s, on_error, message, (enum otc_session_error_code)code);
}

/* ---- the end table ---- */

/* One row per cause; the callbacks fire in the column order. */
struct end_row {
  int error;          /* on_error(code, message) first (the cause's own error) */
  int fail_signals;   /* then requests: signals without a completion each get on_error(1550) too */
  int disconnected;   /* last: on_disconnected, when the life owes it */
  const char *reason; /* convene_session_get_disconnect_reason and the publishers' streams'
                       * reason, unless the server announced its own (sessionDisconnected) */
};

static const struct end_row k_rows[CV_END_COUNT] = {
    [CV_END_CLIENT] = {0, 0, 1, "clientDisconnected"},
    [CV_END_DELETE] = {0, 0, 1, "clientDisconnected"},
    [CV_END_SERVER] = {0, 0, 1, "clientDisconnected"}, /* the announced reason, e.g. forceDisconnected */
    [CV_END_FATAL] = {0, 1, 1, "networkDisconnected"}, /* its error was reported when the frame came */
    [CV_END_DROPPED] = {1, 1, 1, "networkDisconnected"},
    [CV_END_GAVE_UP] = {1, 1, 1, "networkDisconnected"},
    [CV_END_REJOIN] = {1, 1, 0, "networkDisconnected"}, /* no on_disconnected: on_connected again */
    [CV_END_CONNECT_FAILED] = {1, 1, 1, "networkDisconnected"},
};

static void clear_tables(otc_session *s) {
  for (size_t i = 0; i < s->connections.len; i++) otc_connection_delete(s->connections.items[i]);
  cv_table_clear(&s->connections);
  for (size_t i = 0; i < s->streams.len; i++) otc_stream_delete(s->streams.items[i]);
  cv_table_clear(&s->streams);
  for (size_t i = 0; i < s->stale_connections.len; i++) otc_connection_delete(s->stale_connections.items[i]);
  cv_table_clear(&s->stale_connections);
  for (size_t i = 0; i < s->stale_streams.len; i++) otc_stream_delete(s->stale_streams.items[i]);
  cv_table_clear(&s->stale_streams);
}

static void cancel_timers(otc_session *s) {
  cv_timer_cancel(&s->sul_pace);
  cv_timer_cancel(&s->sul_retry);
  cv_timer_cancel(&s->sul_handshake);
  cv_timer_cancel(&s->sul_keepalive);
  cv_timer_cancel(&s->sul_ack);
  s->ack_scheduled = 0;
}

void cv_state_end(otc_session *s, enum cv_end_cause cause, int code, const char *message) {
  int state = atomic_load(&s->state);
  if (state == CV_STATE_DISCONNECTED || state == CV_STATE_IDLE) return;
  if (cause <= CV_END_NONE || cause >= CV_END_COUNT) cause = CV_END_DROPPED;
  const struct end_row *row = &k_rows[cause];
  atomic_store(&s->state, CV_STATE_DISCONNECTED);
  s->end.cause = cause;
  s->disconnect_reason =
      s->end.announced == CV_ANNOUNCED_END && s->end.announced_reason ? s->end.announced_reason : row->reason;
  CV_INFO("session %.24s: disconnected (%s)", s->session_id, s->disconnect_reason);
  /* 1. the cause's error */
  if (row->error && code) cv_state_report_error(s, code, message ? message : "");
  cancel_timers(s);
  cv_transport_close(&s->link);
  /* 2. requests waiting for a result: each its one final callback */
  cv_state_end_requests(s, row->fail_signals);
  /* 3. publishers lose their streams, subscribers their subscriptions */
  cv_state_end_publishers(s);
  cv_state_end_subscribers(s);
  if (cause == CV_END_REJOIN) {
    /* the peers and streams the lost connection knew are reconciled with the rejoined
     * connection's lists (state_dispatch.c); anything stale from before goes */
    for (size_t i = 0; i < s->stale_connections.len; i++) otc_connection_delete(s->stale_connections.items[i]);
    for (size_t i = 0; i < s->stale_streams.len; i++) otc_stream_delete(s->stale_streams.items[i]);
    cv_table_free(&s->stale_connections);
    cv_table_free(&s->stale_streams);
    s->stale_connections = s->connections;
    s->stale_streams = s->streams;
    memset(&s->connections, 0, sizeof s->connections);
    memset(&s->streams, 0, sizeof s->streams);
  } else {
    clear_tables(s);
  }
  free(s->token);
  s->token = NULL;
  /* 4. on_disconnected, once, if on_connected had fired (or a rejoin was under way) */
  int owed = s->end.life == CV_LIFE_CONNECTED || s->end.life == CV_LIFE_REJOINING;
  if (cause == CV_END_REJOIN) {
    s->end.life = CV_LIFE_REJOINING; /* recovery.c connects again; if that fails, on_disconnected */
    return;
  }
  s->end.life = CV_LIFE_ENDED;
  if (owed && row->disconnected) CV_EMIT0(s, on_disconnected);
}

/* ---- what the socket's loss means ---- */

/* A drop can be resumed unless the server ended the session (force disconnect or a fatal error). */
int cv_state_can_resume(otc_session *s) {
  if (s->end.announced == CV_ANNOUNCED_FATAL) return 0;
  if (s->end.announced == CV_ANNOUNCED_END && s->end.announced_reason &&
      strcmp(s->end.announced_reason, "forceDisconnected") == 0)
    return 0;
  return s->resume_token && *s->resume_token && s->self;
}

void cv_state_lost(otc_session *s, enum cv_loss how, int close_code, const char *why) {
  char msg[320];
  switch ((enum cv_session_state)atomic_load(&s->state)) {
    case CV_STATE_CONNECTING:
      if (s->end.announced == CV_ANNOUNCED_FATAL) { /* reported already; ended when it came */
        cv_state_end(s, CV_END_FATAL, 0, NULL);
        return;
      }
      if (cv_rejoin_attempt_failed(s, why)) return; /* a rejoin: retried with backoff */
      if (how == CV_LOST_SILENT) {
        snprintf(msg, sizeof msg, "no answer from %s within %d ms", s->server_url, s->connect_timeout_ms);
        cv_state_end(s, CV_END_CONNECT_FAILED, OTC_SESSION_CONNECTION_TIMED_OUT, msg);
      } else if (how == CV_LOST_CLOSED) {
        snprintf(msg, sizeof msg, "server closed the connection during the handshake (%d %s)", close_code,
                 why ? why : "");
        cv_state_end(s, CV_END_CONNECT_FAILED, OTC_SESSION_CONNECTION_FAILED, msg);
      } else {
        snprintf(msg, sizeof msg, "cannot connect to %s: %s", s->server_url, why ? why : "unknown error");
        cv_state_end(s, CV_END_CONNECT_FAILED, OTC_SESSION_CONNECTION_FAILED, msg);
      }
      return;
    case CV_STATE_RECONNECTING:
      cv_reconnect_attempt_failed(s, why);
      return;
    case CV_STATE_CONNECTED:
      if (s->end.announced == CV_ANNOUNCED_FATAL) {
        cv_state_end(s, CV_END_FATAL, 0, NULL);
      } else if (cv_state_can_resume(s)) {
        if (how == CV_LOST_CLOSED) snprintf(msg, sizeof msg, "close code %d", close_code);
        else snprintf(msg, sizeof msg, "%s", why ? why : "connection lost");
        /* the flood guard counts frames per second: the first attempt waits for the next second */
        int floor = (s->flooded || (how == CV_LOST_CLOSED && close_code == 1008)) ? FLOOD_RETRY_FLOOR_MS : 0;
        s->flooded = 0;
        cv_reconnect_start_after(s, msg, floor);
      } else if (s->end.announced == CV_ANNOUNCED_END) {
        cv_state_end(s, CV_END_SERVER, 0, NULL);
      } else {
        if (how == CV_LOST_CLOSED)
          snprintf(msg, sizeof msg, "connection dropped (close code %d%s%s)", close_code, why && *why ? ": " : "",
                   why ? why : "");
        else
          snprintf(msg, sizeof msg, "%s", why ? why : "connection dropped");
        cv_state_end(s, CV_END_DROPPED, OTC_SESSION_CONNECTION_DROPPED, msg);
      }
      return;
    case CV_STATE_IDLE:
    case CV_STATE_DISCONNECTING:
    case CV_STATE_DISCONNECTED:
      return; /* ended already: the socket was detached */
  }
}

void cv_state_server_error(otc_session *s, int code, const char *message, int fatal) {
  int state = atomic_load(&s->state);
  if (fatal && state == CV_STATE_RECONNECTING) { /* resume refused */
    char msg[256];
    snprintf(msg, sizeof msg, "the connection could not be resumed: %s", message);
    cv_reconnect_give_up(s, msg);
    return;
  }
  if (fatal) s->end.announced = CV_ANNOUNCED_FATAL;
  cv_state_report_error(s, code ? code : OTC_SESSION_INTERNAL_ERROR, message);
  /* while connected the close that follows ends it (cv_state_lost) */
  if (fatal && state == CV_STATE_CONNECTING) cv_state_end(s, CV_END_FATAL, 0, NULL);
}

void cv_state_server_ending(otc_session *s, const char *reason) {
  s->end.announced = CV_ANNOUNCED_END;
  s->end.announced_reason = cv_static_reason(reason);
  /* serverRotation: the close that follows starts a reconnection, without an error */
}

void cv_state_life_connected(otc_session *s) {
  s->end.life = CV_LIFE_CONNECTED;
  s->end.cause = CV_END_NONE;
  s->disconnect_reason = NULL;
}

void cv_state_life_connecting(otc_session *s) {
  /* a rejoin's connect keeps owing on_disconnected; an application's connect starts afresh */
  if (s->end.life != CV_LIFE_REJOINING) s->end.life = CV_LIFE_NEW;
  s->end.cause = CV_END_NONE;
  cv_state_forget_announced(s);
}

void cv_state_forget_announced(otc_session *s) {
  s->end.announced = CV_ANNOUNCED_NOTHING;
  s->end.announced_reason = NULL;
}

void cv_state_silence(otc_session *s) { s->end.deleted = 1; }

void cv_state_delete(otc_session *s) {
  cv_state_disconnect_for(s, CV_END_DELETE);
  cv_state_silence(s);
}

/* ---- freeing ---- */

void cv_state_free(otc_session *s) {
  cancel_timers(s);
  cv_transport_close(&s->link);
  cv_state_end_requests(s, 0);
  cv_state_end_publishers(s);
  cv_state_end_subscribers(s);
  clear_tables(s);
  cv_table_free(&s->connections);
  cv_table_free(&s->streams);
  cv_table_free(&s->stale_connections);
  cv_table_free(&s->stale_streams);
  cv_table_free(&s->publishers);
  cv_table_free(&s->subscribers);
  free(s->token);
  free(s->resume_token);
}

void cv_session_free(otc_session *s) {
  otc_connection_delete(s->self);
  for (size_t i = 0; i < s->handed.len; i++) cv_connection_free_owned(s->handed.items[i]);
  cv_table_free(&s->handed);
  free(s->api_key);
  free(s->session_id);
  free(s->server_url);
  free(s->ca_file);
  pthread_mutex_destroy(&s->info_lock);
  free(s);
}
