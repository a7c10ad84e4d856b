/*
 * Session state (service thread only): the handshake, event sequence numbers and
 * acknowledgements, request ids and the requests awaiting a result, the connections and
 * streams of the session, and every session/publisher callback. It sends frames through
 * the transport and never touches a socket itself.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ACK_EVERY 32
#define ACK_DELAY_MS 1000
/* Request pacing: the server closes a socket past 5 x signalsPerSecond + 100 frames in a
 * second (4429) and refuses signals past signalsPerSecond (1429, bucket of signalBurst). The
 * client stays under both with a token bucket of its own, 90 % of signalsPerSecond and half
 * of signalBurst (no pace when the server has no signal limit: its guard is then 1e6 frames
 * a second), and keeps at most CV_MAX_IN_FLIGHT requests waiting for their result. Traffic
 * under the server's limits goes out at once; a backlog (after a resume) drains at the pace. */
#define CV_MAX_IN_FLIGHT 1024
#define CV_FLOOD_CODE 4429 /* CONVENE_FLOOD: fatal, close 1008 */
#define FLOOD_RETRY_FLOOR_MS 1000

static void report_error(otc_session *s, int code, const char *message) {
  CV_ERROR("session %.24s: error %d: %s", s->session_id, code, message);
  CV_EMIT(s, on_error, message, (enum otc_session_error_code)code);
}

/* ---- completions and reasons ---- */

#define CV_COMPLETE(s, done, data, code, msg)                           \
  do {                                                               \
    if ((done) && !(s)->deleted) {                                   \
      (s)->in_callback++;                                            \
      (done)((s), (s)->cb.user_data, (data), (code), (msg));         \
      (s)->in_callback--;                                            \
    }                                                                \
  } while (0)

const char *cv_static_reason(const char *reason) {
  static const char *const known[] = {"clientDisconnected", "forceDisconnected", "networkDisconnected",
                                      "forceUnpublished",   "mediaStopped",      "serverRotation"};
  for (size_t i = 0; reason && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(reason, known[i]) == 0) return known[i];
  return "clientDisconnected";
}

static const char *static_role(const char *role) {
  static const char *const known[] = {"subscriber", "publisher", "publisheronly", "moderator"};
  for (size_t i = 0; role && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(role, known[i]) == 0) return known[i];
  return "publisher";
}

/* ---- sending ---- */

void cv_state_send(otc_session *s, const char *text) { cv_transport_send(s->link, text); }

static void send_owned(otc_session *s, char *text) {
  cv_state_send(s, text);
  free(text);
}

static void send_ack(otc_session *s) {
  if (s->last_seq > s->acked_seq && s->link && atomic_load(&s->state) == CV_STATE_CONNECTED) {
    s->acked_seq = s->last_seq;
    send_owned(s, cv_frame_ack(s->last_seq));
  }
}

static void ack_timer(lws_sorted_usec_list_t *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_ack);
  s->ack_scheduled = 0;
  send_ack(s);
}

/* ---- reset between connections ---- */

static void free_pending(otc_session *s) {
  struct cv_pending *p = s->pending_head;
  s->pending_head = s->pending_tail = NULL;
  s->unsent = NULL;
  s->in_flight = 0;
  while (p) {
    struct cv_pending *next = p->next;
    if (p->done) {
      CV_COMPLETE(s, p->done, p->done_data, OTC_SESSION_NOT_CONNECTED, "the session ended before the request completed");
    } else if (s->fail_queued && strcmp(p->type, "signal") == 0) {
      char msg[96];
      snprintf(msg, sizeof msg, "signal #%llu was not sent: the connection could not be resumed", (unsigned long long)p->id);
      report_error(s, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    }
    free(p->type);
    free(p->text);
    free(p);
    p = next;
  }
  s->pending_head = s->pending_tail = NULL;
}

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

/* Publishers of this session lose their streams when the session ends. */
static void end_publishers(otc_session *s) {
  while (s->publishers.len) {
    otc_publisher *p = s->publishers.items[--s->publishers.len];
    pthread_mutex_lock(&p->lock);
    otc_stream *stream = p->stream;
    p->stream = NULL;
    pthread_mutex_unlock(&p->lock);
    p->session = NULL;
    if (stream) {
      stream->reason = s->disconnect_reason ? s->disconnect_reason : "clientDisconnected";
      CV_PUB_EMIT(p, on_stream_destroyed, stream);
      otc_stream_delete(stream);
    }
  }
}

/* The session is over: every state goes, on_disconnected fires once if it had connected. */
static void finish(otc_session *s) {
  int state = atomic_load(&s->state);
  if (state == CV_STATE_DISCONNECTED || state == CV_STATE_IDLE) return;
  atomic_store(&s->state, CV_STATE_DISCONNECTED);
  if (!s->disconnect_reason) s->disconnect_reason = "networkDisconnected";
  CV_INFO("session %.24s: disconnected (%s)", s->session_id, s->disconnect_reason);
  cancel_timers(s);
  cv_transport_close(&s->link);
  free_pending(s);
  end_publishers(s);
  clear_tables(s);
  s->fail_queued = 0;
  free(s->token);
  s->token = NULL;
  if ((s->had_connected || s->rejoining) && !s->disconnect_reported) {
    s->disconnect_reported = 1;
    CV_EMIT0(s, on_disconnected);
  }
  s->rejoining = 0;
}

void cv_state_report_error(otc_session *s, int code, const char *message) { report_error(s, code, message); }
void cv_state_finish(otc_session *s) { finish(s); }

static void pace_tick(lws_sorted_usec_list_t *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_pace);
  cv_state_pump(s);
}

void cv_state_pump(otc_session *s) {
  if (!s->unsent || !s->link || atomic_load(&s->state) != CV_STATE_CONNECTED) return;
  int paced = s->pace_rate > 0;
  if (paced) {
    int64_t now = cv_now_ms();
    s->pace_tokens += (double)(now - s->pace_at_ms) * s->pace_rate / 1000.0;
    if (s->pace_tokens > s->pace_burst) s->pace_tokens = s->pace_burst;
    s->pace_at_ms = now;
  }
  while (s->unsent && s->in_flight < CV_MAX_IN_FLIGHT && (!paced || s->pace_tokens >= 1.0)) {
    struct cv_pending *p = s->unsent;
    cv_state_send(s, p->text);
    p->sent = 1;
    s->in_flight++;
    if (paced) s->pace_tokens -= 1.0;
    s->unsent = p->next;
  }
  if (!paced) return; /* a full window: results call pump again */
  /* out of tokens: come back when one is there; a full window: results call pump again */
  if (s->unsent && s->in_flight < CV_MAX_IN_FLIGHT) {
    int64_t ms = (int64_t)((1.0 - s->pace_tokens) * 1000.0 / s->pace_rate) + 1;
    cv_timer_schedule(&s->sul_pace, pace_tick, (ms < 2 ? 2 : ms));
  }
}

void cv_state_resend_after(otc_session *s, uint64_t last_request_id) {
  s->unsent = NULL;
  s->in_flight = 0;
  for (struct cv_pending *p = s->pending_head; p; p = p->next) {
    if (p->id <= last_request_id) {
      p->sent = 2;
    } else {
      p->sent = 0;
      if (!s->unsent) s->unsent = p;
    }
  }
  cv_state_pump(s);
}

/* ---- connect / disconnect ---- */

static void handshake_timeout(lws_sorted_usec_list_t *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_handshake);
  if (atomic_load(&s->state) != CV_STATE_CONNECTING) return;
  char msg[160];
  snprintf(msg, sizeof msg, "no answer from %s within %d ms", s->server_url, s->connect_timeout_ms);
  if (cv_rejoin_attempt_failed(s, msg)) return;
  report_error(s, OTC_SESSION_CONNECTION_TIMED_OUT, msg);
  finish(s);
}

int cv_state_connect_attempt(otc_session *s) {
  cv_timer_schedule(&s->sul_handshake, handshake_timeout, s->connect_timeout_ms);
  return cv_state_open_link(s);
}

int cv_state_open_link(otc_session *s) {
  struct cv_transport_config cfg = {s->server_url, s->ca_file, s->tls_verify, s->session_id};
  return cv_transport_open(&cfg, &cv_state_transport_events, s, &s->link);
}

void cv_state_start_connect(otc_session *s, char *token) {
  int state = atomic_load(&s->state);
  if (state == CV_STATE_CONNECTING || state == CV_STATE_CONNECTED || state == CV_STATE_DISCONNECTING) {
    free(token);
    report_error(s, OTC_SESSION_ILLEGAL_STATE, "otc_session_connect: the session is already connecting or connected");
    return;
  }
  free(s->token);
  s->token = token;
  s->last_seq = s->acked_seq = s->next_id = 0;
  s->had_connected = 0;
  s->disconnect_reported = 0;
  atomic_store(&s->state, CV_STATE_CONNECTING);
  CV_INFO("session %.24s: connecting to %s", s->session_id, s->server_url);
  if (cv_state_connect_attempt(s) != 0) {
    if (cv_rejoin_attempt_failed(s, "cannot open a socket")) return;
    char msg[160];
    snprintf(msg, sizeof msg, "cannot connect to %s", s->server_url);
    report_error(s, OTC_SESSION_CONNECTION_FAILED, msg);
    finish(s);
  }
}

void cv_state_disconnect(otc_session *s) {
  int state = atomic_load(&s->state);
  if (!s->disconnect_reason) s->disconnect_reason = "clientDisconnected";
  CV_DEBUG("session %.24s: disconnecting", s->session_id);
  if (state == CV_STATE_CONNECTED && s->link) {
    atomic_store(&s->state, CV_STATE_DISCONNECTING);
    /* ids must follow each other: requests not written yet are given up (they fail below) */
    uint64_t id = s->unsent ? s->unsent->id : ++s->next_id;
    send_owned(s, cv_frame_request("disconnect", id, NULL));
    cv_transport_await_server_close(s->link);
  }
  /* The transport flushes what is queued (the disconnect request), then closes cleanly. */
  finish(s);
}

void cv_state_on_open(otc_session *s) {
  s->last_rx_ms = cv_now_ms();
  if (atomic_load(&s->state) == CV_STATE_RECONNECTING) {
    const char *me = s->self ? s->self->id : "";
    send_owned(s, cv_frame_resume(s->api_key, s->session_id, me, s->resume_token ? s->resume_token : "", s->last_seq));
    return;
  }
  send_owned(s, cv_frame_connect(s->api_key, s->session_id, s->token ? s->token : "", s->suppress_connection_events));
}

/* A drop can be resumed unless the server ended the session (force disconnect). */
static int can_resume(otc_session *s) {
  return s->resume_token && *s->resume_token && s->self &&
         !(s->server_ended && s->disconnect_reason && strcmp(s->disconnect_reason, "forceDisconnected") == 0);
}

void cv_state_on_transport_error(otc_session *s, const char *why) {
  int state = atomic_load(&s->state);
  if (state == CV_STATE_CONNECTING && cv_rejoin_attempt_failed(s, why)) return;
  if (state == CV_STATE_CONNECTING) {
    char msg[256];
    snprintf(msg, sizeof msg, "cannot connect to %s: %s", s->server_url, why ? why : "unknown error");
    report_error(s, OTC_SESSION_CONNECTION_FAILED, msg);
  } else if (state == CV_STATE_RECONNECTING) {
    cv_reconnect_attempt_failed(s, why);
    return;
  } else if (state == CV_STATE_CONNECTED && can_resume(s)) {
    cv_reconnect_start(s, why);
    return;
  } else if (state == CV_STATE_CONNECTED) {
    report_error(s, OTC_SESSION_CONNECTION_DROPPED, why ? why : "connection dropped");
  }
  finish(s);
}

void cv_state_on_closed(otc_session *s, int close_code, const char *reason) {
  int state = atomic_load(&s->state);
  if (state == CV_STATE_CONNECTED && s->reported_fatal) s->fail_queued = 1;
  if (state == CV_STATE_CONNECTING && !s->reported_fatal && cv_rejoin_attempt_failed(s, "socket closed")) return;
  if (state == CV_STATE_CONNECTING && !s->reported_fatal) {
    char msg[256];
    snprintf(msg, sizeof msg, "server closed the connection during the handshake (%d %s)", close_code,
             reason ? reason : "");
    report_error(s, OTC_SESSION_CONNECTION_FAILED, msg);
  } else if (state == CV_STATE_RECONNECTING) {
    cv_reconnect_attempt_failed(s, "socket closed");
    return;
  } else if (state == CV_STATE_CONNECTED && !s->reported_fatal && can_resume(s)) {
    char why[96];
    snprintf(why, sizeof why, "close code %d", close_code);
    if (s->flooded || close_code == 1008) {
      /* the guard counts frames per second: the first attempt waits for the next second */
      s->flooded = 0;
      cv_reconnect_start_after(s, why, FLOOD_RETRY_FLOOR_MS);
      return;
    }
    cv_reconnect_start(s, why);
    return;
  } else if (state == CV_STATE_CONNECTED && !s->reported_fatal && !s->server_ended) {
    s->fail_queued = 1; /* signals waiting for a result fail one by one, not silently */
    char msg[256];
    snprintf(msg, sizeof msg, "connection dropped (close code %d%s%s)", close_code, reason && *reason ? ": " : "",
             reason ? reason : "");
    report_error(s, OTC_SESSION_CONNECTION_DROPPED, msg);
  }
  finish(s);
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

static void keepalive_tick(lws_sorted_usec_list_t *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_keepalive);
  if (atomic_load(&s->state) != CV_STATE_CONNECTED) return;
  int64_t now = cv_now_ms();
  if (cv_keepalive_dead(now, s->last_rx_ms, s->keepalive_timeout_ms)) {
    char msg[128];
    snprintf(msg, sizeof msg, "keepalive timeout: nothing received for %d ms", s->keepalive_timeout_ms);
    if (can_resume(s)) {
      cv_reconnect_start(s, msg);
    } else {
      report_error(s, OTC_SESSION_CONNECTION_DROPPED, msg);
      finish(s);
    }
    return;
  }
  if (now - s->last_ping_ms >= s->keepalive_interval_ms) {
    s->last_ping_ms = now;
    cv_transport_ping(s->link);
  }
  int64_t next = cv_keepalive_next_check(now, s->last_rx_ms, s->last_ping_ms, s->keepalive_interval_ms,
                                         s->keepalive_timeout_ms);
  cv_timer_schedule(&s->sul_keepalive, keepalive_tick, next);
}

void cv_state_start_keepalive(otc_session *s) {
  s->last_ping_ms = cv_now_ms();
  cv_timer_schedule(&s->sul_keepalive, keepalive_tick,
                    cv_keepalive_next_check(s->last_ping_ms, s->last_rx_ms, s->last_ping_ms, s->keepalive_interval_ms,
                                            s->keepalive_timeout_ms));
}

/* ---- requests ---- */

void cv_state_request(otc_session *s, const char *type, json_t *fields, otc_publisher *pub) {
  cv_state_request_ex(s, type, fields, pub, NULL, NULL);
}

void cv_state_request_ex(otc_session *s, const char *type, json_t *fields, otc_publisher *pub,
                         convene_completion_cb done, void *done_data) {
  int state = atomic_load(&s->state);
  if (state == CV_STATE_RECONNECTING && s->queued_reconnecting >= s->max_queued) {
    if (fields) json_decref(fields);
    char msg[128];
    snprintf(msg, sizeof msg, "%s: %d requests already wait for the reconnection", type, s->max_queued);
    if (done)
      CV_COMPLETE(s, done, done_data, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    else
      report_error(s, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    return;
  }
  if (state != CV_STATE_CONNECTED && state != CV_STATE_RECONNECTING) {
    if (fields) json_decref(fields);
    char msg[128];
    snprintf(msg, sizeof msg, "%s: the session is not connected", type);
    if (done)
      CV_COMPLETE(s, done, done_data, OTC_SESSION_NOT_CONNECTED, msg);
    else if (pub)
      CV_PUB_EMIT(pub, on_error, msg, OTC_PUBLISHER_SESSION_DISCONNECTED);
    else
      report_error(s, OTC_SESSION_NOT_CONNECTED, msg);
    return;
  }
  struct cv_pending *p = calloc(1, sizeof *p);
  if (!p) {
    if (fields) json_decref(fields);
    CV_COMPLETE(s, done, done_data, OTC_SESSION_INTERNAL_ERROR, "out of memory");
    return;
  }
  p->id = ++s->next_id;
  p->type = strdup(type);
  p->text = cv_frame_request(type, p->id, fields);
  p->publisher = pub;
  p->done = done;
  p->done_data = done_data;
  if (!p->type || !p->text) {
    free(p->type);
    free(p->text);
    free(p);
    CV_COMPLETE(s, done, done_data, OTC_SESSION_NULL_OR_INVALID_PARAMETER, "the request could not be encoded");
    return;
  }
  if (s->pending_tail)
    s->pending_tail->next = p;
  else
    s->pending_head = p;
  s->pending_tail = p;
  if (state == CV_STATE_RECONNECTING) s->queued_reconnecting++;
  if (!s->unsent) s->unsent = p;
  /* while reconnecting it waits: cv_state_resend_after() sends it after the resume */
  cv_state_pump(s);
}

void cv_state_signal(otc_session *s, json_t *fields, int retry_after_reconnect, convene_completion_cb done,
                     void *done_data) {
  if (!retry_after_reconnect && atomic_load(&s->state) == CV_STATE_RECONNECTING) {
    json_decref(fields);
    const char *msg = "signal not sent: the session is reconnecting and retry_after_reconnect is false";
    if (done)
      CV_COMPLETE(s, done, done_data, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    else
      report_error(s, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    return;
  }
  cv_state_request_ex(s, "signal", fields, NULL, done, done_data);
}

static struct cv_pending *take_pending(otc_session *s, uint64_t id) {
  struct cv_pending **pp = &s->pending_head, *prev = NULL;
  while (*pp) {
    struct cv_pending *p = *pp;
    if (p->id == id) {
      *pp = p->next;
      if (s->pending_tail == p) s->pending_tail = prev;
      if (s->unsent == p) s->unsent = p->next;
      if (p->sent == 1) s->in_flight--;
      return p;
    }
    prev = p;
    pp = &p->next;
  }
  return NULL;
}

/* ---- publishers ---- */

static otc_publisher *publisher_of_stream(otc_session *s, const char *stream_id) {
  for (size_t i = 0; i < s->publishers.len; i++) {
    otc_publisher *p = s->publishers.items[i];
    if (p->stream && strcmp(p->stream->id, stream_id) == 0) return p;
  }
  return NULL;
}

static void drop_publisher(otc_session *s, otc_publisher *p) {
  for (size_t i = 0; i < s->publishers.len; i++) {
    if (s->publishers.items[i] == p) {
      memmove(&s->publishers.items[i], &s->publishers.items[i + 1], (s->publishers.len - i - 1) * sizeof(void *));
      s->publishers.len--;
      break;
    }
  }
  p->session = NULL;
}

static void publisher_stream_gone(otc_session *s, otc_publisher *p, const char *reason) {
  pthread_mutex_lock(&p->lock);
  otc_stream *stream = p->stream;
  p->stream = NULL;
  pthread_mutex_unlock(&p->lock);
  drop_publisher(s, p);
  if (stream) {
    stream->reason = reason;
    CV_PUB_EMIT(p, on_stream_destroyed, stream);
    otc_stream_delete(stream);
  }
}

void cv_state_publish(otc_session *s, otc_publisher *p) {
  if (p->session) {
    CV_PUB_EMIT(p, on_error, "the publisher is already published", OTC_PUBLISHER_UNABLE_TO_PUBLISH);
    return;
  }
  if (atomic_load(&s->state) != CV_STATE_CONNECTED) {
    CV_PUB_EMIT(p, on_error, "publish: the session is not connected", OTC_PUBLISHER_SESSION_DISCONNECTED);
    return;
  }
  json_t *fields = json_pack("{s:s, s:b, s:b, s:s, s:{s:i, s:i}}", "name", p->name, "hasAudio",
                             atomic_load(&p->publish_audio), "hasVideo", atomic_load(&p->publish_video), "videoType",
                             cv_video_type_to_string((enum otc_stream_video_type)atomic_load(&p->video_type)), "videoDimensions", "width", 640,
                             "height", 480);
  if (cv_table_add(&s->publishers, p, NULL) != 0) {
    json_decref(fields);
    return;
  }
  p->session = s;
  CV_DEBUG("session %.24s: publishing \"%s\"", s->session_id, p->name);
  cv_state_request(s, "publish", fields, p);
}

void cv_state_unpublish(otc_session *s, otc_publisher *p) {
  if (p->session != s) {
    report_error(s, OTC_SESSION_PUBLISHER_NOT_FOUND, "otc_session_unpublish: the publisher is not published here");
    return;
  }
  if (!p->stream) { /* the publish result has not come back: forget it; the stream is unpublished on arrival */
    drop_publisher(s, p);
    return;
  }
  cv_state_request(s, "unpublish", json_pack("{s:s}", "streamId", p->stream->id), NULL);
  publisher_stream_gone(s, p, "clientDisconnected");
}

void cv_state_publisher_update(otc_session *s, otc_publisher *p, json_t *fields) {
  if (p->session != s || !p->stream) {
    json_decref(fields);
    return; /* applied at the next publish */
  }
  json_object_set_new(fields, "streamId", json_string(p->stream->id));
  cv_state_request(s, "updateStream", fields, p);
}

void cv_state_forget_publisher(otc_session *s, otc_publisher *p) {
  for (struct cv_pending *q = s->pending_head; q; q = q->next)
    if (q->publisher == p) q->publisher = NULL;
  if (p->session == s) {
    if (p->stream && atomic_load(&s->state) == CV_STATE_CONNECTED)
      cv_state_request(s, "unpublish", json_pack("{s:s}", "streamId", p->stream->id), NULL);
    drop_publisher(s, p);
  }
}

static void on_result(otc_session *s, json_t *f) {
  struct cv_pending *req = take_pending(s, (uint64_t)cv_json_int(f, "id"));
  if (!req) return;
  otc_publisher *pub = req->publisher;
  if (!cv_json_bool(f, "ok")) {
    json_t *err = json_object_get(f, "error");
    int code = (int)cv_json_int(err, "code");
    const char *message = cv_json_str(err, "message");
    if (req->done) {
      CV_COMPLETE(s, req->done, req->done_data, code ? code : OTC_SESSION_INTERNAL_ERROR, message);
    } else if (pub && strcmp(req->type, "publish") == 0) {
      drop_publisher(s, pub);
      CV_PUB_EMIT(pub, on_error, message, (enum otc_publisher_error_code)(code ? code : OTC_PUBLISHER_UNABLE_TO_PUBLISH));
    } else {
      report_error(s, code ? code : OTC_SESSION_INTERNAL_ERROR, message);
    }
  } else if (req->done) {
    CV_COMPLETE(s, req->done, req->done_data, 0, "");
  } else if (strcmp(req->type, "publish") == 0) { /* pub is NULL when deleted meanwhile */
    otc_stream *stream = cv_stream_from_json(json_object_get(f, "stream"), s->self, s->session_id);
    if (stream && pub && pub->session == s) {
      pthread_mutex_lock(&pub->lock);
      pub->stream = stream;
      pthread_mutex_unlock(&pub->lock);
      CV_DEBUG("session %.24s: stream %s published", s->session_id, stream->id);
      CV_PUB_EMIT(pub, on_stream_created, stream);
    } else if (stream) { /* unpublished or deleted before the result came */
      cv_state_request(s, "unpublish", json_pack("{s:s}", "streamId", stream->id), NULL);
      otc_stream_delete(stream);
    }
  }
  free(req->type);
  free(req->text);
  free(req);
  cv_state_pump(s); /* room in the window */
}

/* ---- events ---- */

static int listed(const json_t *arr, const char *id) {
  size_t i;
  json_t *item;
  json_array_foreach(arr, i, item) if (strcmp(cv_json_str(item, "id"), id) == 0) return 1;
  return 0;
}

/* Rejoined after the lost connection: what it knew and is gone now is dropped (streams, then
 * connections, reason networkDisconnected); what is still there stays in the stale tables for
 * on_connected to take over without events. */
static void reconcile_stale(otc_session *s, json_t *f) {
  const json_t *streams = json_object_get(f, "streams"), *conns = json_object_get(f, "connections");
  for (size_t i = s->stale_streams.len; i-- > 0;) {
    otc_stream *st = s->stale_streams.items[i];
    if (listed(streams, st->id)) continue;
    cv_table_remove(&s->stale_streams, st->id, cv_stream_id_of);
    st->reason = "networkDisconnected";
    CV_EMIT(s, on_stream_dropped, st);
    otc_stream_delete(st);
  }
  for (size_t i = s->stale_connections.len; i-- > 0;) {
    otc_connection *c = s->stale_connections.items[i];
    if (listed(conns, c->id)) continue;
    cv_table_remove(&s->stale_connections, c->id, cv_connection_id_of);
    c->reason = "networkDisconnected";
    CV_EMIT(s, on_connection_dropped, c);
    otc_connection_delete(c);
  }
}

static void on_connected(otc_session *s, json_t *f) {
  cv_timer_cancel(&s->sul_handshake);
  otc_connection *self = cv_connection_from_json(json_object_get(f, "connection"), s->session_id);
  if (!self) {
    report_error(s, OTC_SESSION_UNEXPECTED_GET_SESSION_INFO_REPONSE, "server sent a connected frame without a connection");
    finish(s);
    return;
  }
  json_t *caps = json_object_get(f, "capabilities");
  pthread_mutex_lock(&s->info_lock);
  if (s->self) otc_connection_delete(s->self);
  s->self = self;
  s->caps.publish = (int)cv_json_int(caps, "publish") ? OTC_TRUE : OTC_FALSE;
  s->caps.force_mute = (int)cv_json_int(caps, "forceMute") ? OTC_TRUE : OTC_FALSE;
  s->caps.force_disconnect = (int)cv_json_int(caps, "forceDisconnect") ? OTC_TRUE : OTC_FALSE;
  pthread_mutex_unlock(&s->info_lock);
  free(s->resume_token);
  s->resume_token = strdup(cv_json_str(f, "resumeToken"));
  s->role = static_role(cv_json_str(f, "role"));
  CV_INFO("session %.24s: connected as %s (role %s)", s->session_id, self->id, s->role);
  s->disconnect_reason = NULL;
  s->keepalive_interval_ms = 10000;
  s->keepalive_timeout_ms = 15000;
  cv_state_set_keepalive(s, json_object_get(f, "keepalive"));
  s->last_seq = s->acked_seq = (uint64_t)cv_json_int(f, "lastSeq");
  int grace = (int)cv_json_int(f, "graceWindow");
  s->grace_window_ms = grace > 0 ? grace : 30000;
  s->pace_rate = cv_pace_rate_for(json_object_get(f, "limits"));
  s->pace_burst = cv_pace_burst_for(json_object_get(f, "limits"));
  s->pace_tokens = s->pace_burst;
  s->pace_at_ms = cv_now_ms();
  s->had_connected = 1;
  s->rejoining = 0;
  atomic_store(&s->state, CV_STATE_CONNECTED);
  cv_state_start_keepalive(s);
  CV_EMIT0(s, on_connected);
  size_t i;
  json_t *item;
  if (s->stale_connections.len || s->stale_streams.len) reconcile_stale(s, f);
  json_array_foreach(json_object_get(f, "connections"), i, item) {
    /* rejoined: a connection the lost one knew already is kept, without a second event */
    otc_connection *known = cv_table_remove(&s->stale_connections, cv_json_str(item, "id"), cv_connection_id_of);
    if (known) {
      if (cv_table_add(&s->connections, known, cv_connection_id_of) != 0) otc_connection_delete(known);
      continue;
    }
    otc_connection *c = cv_connection_from_json_in(item, s->session_id);
    if (!c || cv_table_add(&s->connections, c, cv_connection_id_of) != 0) {
      otc_connection_delete(c);
      continue;
    }
    CV_EMIT(s, on_connection_created, c);
  }
  json_array_foreach(json_object_get(f, "streams"), i, item) {
    otc_stream *known = cv_table_remove(&s->stale_streams, cv_json_str(item, "id"), cv_stream_id_of);
    if (known) {
      if (cv_table_add(&s->streams, known, cv_stream_id_of) != 0) otc_stream_delete(known);
      continue;
    }
    const otc_connection *owner = cv_table_find(&s->connections, cv_json_str(item, "connectionId"), cv_connection_id_of);
    otc_stream *st = cv_stream_from_json(item, owner, s->session_id);
    if (!st || cv_table_add(&s->streams, st, cv_stream_id_of) != 0) {
      otc_stream_delete(st);
      continue;
    }
    CV_EMIT(s, on_stream_received, st);
  }
}

static void on_property_changed(otc_session *s, json_t *f) {
  otc_stream *st = cv_table_find(&s->streams, cv_json_str(f, "streamId"), cv_stream_id_of);
  if (!st) return;
  const char *prop = cv_json_str(f, "changedProperty");
  json_t *nv = json_object_get(f, "newValue");
  if (strcmp(prop, "hasAudio") == 0) {
    st->has_audio = json_is_true(nv);
    CV_EMIT(s, on_stream_has_audio_changed, st, st->has_audio);
  } else if (strcmp(prop, "hasVideo") == 0) {
    st->has_video = json_is_true(nv);
    CV_EMIT(s, on_stream_has_video_changed, st, st->has_video);
  } else if (strcmp(prop, "videoDimensions") == 0) {
    st->width = (int)cv_json_int(nv, "width");
    st->height = (int)cv_json_int(nv, "height");
    CV_EMIT(s, on_stream_video_dimensions_changed, st, st->width, st->height);
  } else if (strcmp(prop, "videoType") == 0) {
    st->video_type = cv_video_type_from_string(json_string_value(nv));
    CV_EMIT(s, on_stream_video_type_changed, st, st->video_type);
  } else if (strcmp(prop, "name") == 0 && json_is_string(nv)) {
    char *name = strdup(json_string_value(nv));
    if (name) {
      free(st->name);
      st->name = name;
    }
  }
}

static void dispatch(otc_session *s, struct cv_frame *fr) {
  json_t *f = fr->root;
  switch (fr->type) {
    case CV_FRAME_CONNECTED:
      if (atomic_load(&s->state) == CV_STATE_CONNECTING) on_connected(s, f);
      break;
    case CV_FRAME_ERROR: {
      int code = (int)cv_json_int(f, "code");
      if (atomic_load(&s->state) == CV_STATE_RECONNECTING && cv_json_bool(f, "fatal")) {
        char msg[256];
        snprintf(msg, sizeof msg, "the connection could not be resumed: %s", cv_json_str(f, "message"));
        cv_reconnect_give_up(s, msg);
        break;
      }
      if (code == CV_FLOOD_CODE && cv_json_bool(f, "fatal") && atomic_load(&s->state) == CV_STATE_CONNECTED &&
          can_resume(s)) {
        /* the flood guard closes the socket (1008) but keeps the connection for its grace
         * window: resume, more slowly, rather than end (and lose what waits for a result) */
        s->flooded = 1;
        s->pace_rate = s->pace_rate > 0 ? s->pace_rate / 2 : CV_PACE_DEFAULT_RATE / 2;
        if (s->pace_rate < CV_PACE_MIN_RATE) s->pace_rate = CV_PACE_MIN_RATE;
        CV_WARN("session %.24s: the server's flood guard closed the socket (%s); resuming at %.0f requests/s",
                s->session_id, cv_json_str(f, "message"), s->pace_rate);
        break;
      }
      if (cv_json_bool(f, "fatal")) s->reported_fatal = 1;
      report_error(s, code ? code : OTC_SESSION_INTERNAL_ERROR, cv_json_str(f, "message"));
      if (s->reported_fatal && atomic_load(&s->state) == CV_STATE_CONNECTING) finish(s);
      break;
    }
    case CV_FRAME_RESULT:
      on_result(s, f);
      break;
    case CV_FRAME_CONNECTION_CREATED: {
      otc_connection *c = cv_connection_from_json_in(json_object_get(f, "connection"), s->session_id);
      if (!c || cv_table_add(&s->connections, c, cv_connection_id_of) != 0) {
        otc_connection_delete(c);
        break;
      }
      CV_EMIT(s, on_connection_created, c);
      break;
    }
    case CV_FRAME_CONNECTION_DESTROYED: {
      otc_connection *c = cv_table_remove(&s->connections, cv_json_str(json_object_get(f, "connection"), "id"),
                                          cv_connection_id_of);
      if (!c) break;
      c->reason = cv_static_reason(cv_json_str(f, "reason"));
      CV_EMIT(s, on_connection_dropped, c);
      otc_connection_delete(c);
      break;
    }
    case CV_FRAME_STREAM_CREATED: {
      json_t *js = json_object_get(f, "stream");
      const otc_connection *owner = cv_table_find(&s->connections, cv_json_str(js, "connectionId"), cv_connection_id_of);
      otc_stream *st = cv_stream_from_json(js, owner, s->session_id);
      if (!st || cv_table_add(&s->streams, st, cv_stream_id_of) != 0) {
        otc_stream_delete(st);
        break;
      }
      CV_EMIT(s, on_stream_received, st);
      break;
    }
    case CV_FRAME_STREAM_DESTROYED: {
      const char *id = cv_json_str(json_object_get(f, "stream"), "id");
      const char *reason = cv_static_reason(cv_json_str(f, "reason"));
      otc_publisher *mine = publisher_of_stream(s, id);
      if (mine) {
        publisher_stream_gone(s, mine, reason);
        break;
      }
      otc_stream *st = cv_table_remove(&s->streams, id, cv_stream_id_of);
      if (!st) break;
      st->reason = reason;
      CV_EMIT(s, on_stream_dropped, st);
      otc_stream_delete(st);
      break;
    }
    case CV_FRAME_STREAM_PROPERTY_CHANGED:
      on_property_changed(s, f);
      break;
    case CV_FRAME_SIGNAL: {
      const char *from = json_string_value(json_object_get(f, "from"));
      const otc_connection *c = NULL;
      otc_connection *unknown = NULL;
      if (from) {
        c = (s->self && strcmp(s->self->id, from) == 0) ? s->self
                                                         : cv_table_find(&s->connections, from, cv_connection_id_of);
        if (!c) { /* a sender we were not told of (connection events suppressed): its id only */
          json_t *o = json_pack("{s:s}", "id", from);
          c = unknown = cv_connection_from_json(o, s->session_id);
          json_decref(o);
        }
      }
      CV_EMIT(s, on_signal_received, cv_json_str(f, "signalType"), cv_json_str(f, "data"), c);
      if (unknown) otc_connection_delete(unknown);
      break;
    }
    case CV_FRAME_MUTE_FORCED: {
      int active = cv_json_bool(f, "active");
      if (active) {
        const char *sid = cv_json_str(f, "streamId");
        for (size_t i = 0; i < s->publishers.len; i++) {
          otc_publisher *p = s->publishers.items[i];
          if (!*sid || (p->stream && strcmp(p->stream->id, sid) == 0)) atomic_store(&p->publish_audio, 0);
        }
      }
      otc_on_mute_forced_info info = {.active = active ? OTC_TRUE : OTC_FALSE};
      CV_EMIT(s, on_mute_forced, &info);
      break;
    }
    case CV_FRAME_SESSION_DISCONNECTED:
      s->server_ended = 1;
      s->disconnect_reason = cv_static_reason(cv_json_str(f, "reason"));
      /* serverRotation: the close that follows starts a reconnection, without an error */
      break;
    case CV_FRAME_RESUMED:
      if (atomic_load(&s->state) == CV_STATE_RECONNECTING) cv_reconnect_resumed(s, f);
      break;
    case CV_FRAME_SIGNAL_UNDELIVERED: {
      /* a signal the server had acknowledged could not reach one addressee (protocol 11) */
      json_t *err = json_object_get(f, "error");
      int code = (int)cv_json_int(err, "code");
      const char *type = cv_json_str(f, "signalType"), *to = cv_json_str(f, "to");
      CV_INFO("session %.24s: signal '%s' (request %lld) not delivered to %s", s->session_id, type,
              (long long)cv_json_int(f, "requestId"), to);
      if (!s->deleted && s->on_signal_undelivered) {
        s->in_callback++;
        s->on_signal_undelivered(s, s->cb.user_data, type, to, code ? code : CONVENE_SIGNAL_UNDELIVERED,
                                 cv_json_str(err, "message"));
        s->in_callback--;
      }
      break;
    }
    case CV_FRAME_PONG:
    case CV_FRAME_UNKNOWN:
      break;
  }
}

void cv_state_on_text(otc_session *s, const char *text, size_t len) {
  s->last_rx_ms = cv_now_ms();
  struct cv_frame fr;
  if (cv_frame_decode(text, len, &fr) != 0) {
    CV_WARN("session %.24s: ignoring a frame that is not protocol v1 JSON", s->session_id);
    return;
  }
  if (fr.seq) {
    if (fr.seq <= s->last_seq) { /* replayed after a resume: processed already */
      cv_frame_clear(&fr);
      return;
    }
    if (fr.seq != s->last_seq + 1) {
      char msg[128];
      snprintf(msg, sizeof msg, "protocol error: event %llu after %llu", (unsigned long long)fr.seq,
               (unsigned long long)s->last_seq);
      cv_frame_clear(&fr);
      report_error(s, OTC_SESSION_CONNECTION_DROPPED, msg);
      finish(s);
      return;
    }
    s->last_seq = fr.seq;
  }
  dispatch(s, &fr);
  cv_frame_clear(&fr);
  if (atomic_load(&s->state) != CV_STATE_CONNECTED) return;
  if (s->last_seq - s->acked_seq >= ACK_EVERY) {
    send_ack(s);
  } else if (s->last_seq > s->acked_seq && !s->ack_scheduled) {
    s->ack_scheduled = 1;
    cv_timer_schedule(&s->sul_ack, ack_timer, ACK_DELAY_MS);
  }
}

void cv_state_free(otc_session *s) {
  cancel_timers(s);
  cv_transport_close(&s->link);
  free_pending(s);
  end_publishers(s);
  clear_tables(s);
  cv_table_free(&s->connections);
  cv_table_free(&s->streams);
  cv_table_free(&s->stale_connections);
  cv_table_free(&s->stale_streams);
  cv_table_free(&s->publishers);
  free(s->token);
  free(s->resume_token);
}

/* ---- the transport's events ---- */

static void ev_open(void *owner) { cv_state_on_open(owner); }
static void ev_text(void *owner, const char *text, size_t len) { cv_state_on_text(owner, text, len); }
static void ev_pong(void *owner) { ((otc_session *)owner)->last_rx_ms = cv_now_ms(); }
static void ev_error(void *owner, const char *why) { cv_state_on_transport_error(owner, why); }
static void ev_closed(void *owner, int code, const char *reason) { cv_state_on_closed(owner, code, reason); }

const struct cv_transport_events cv_state_transport_events = {
    .on_open = ev_open,
    .on_text = ev_text,
    .on_pong = ev_pong,
    .on_error = ev_error,
    .on_closed = ev_closed,
    .on_writable = NULL, /* requests are paced by results and the token bucket, not by the socket */
};

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
