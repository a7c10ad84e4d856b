/*
 * The public session API: checks arguments, copies what it is given and enqueues a
 * command for the service thread. Safe from any thread, including from callbacks.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_SERVER_URL "ws://127.0.0.1:4100"
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_BACKOFF_BASE_MS 250
#define DEFAULT_BACKOFF_FACTOR 2.0
#define DEFAULT_BACKOFF_CAP_MS 5000
#define DEFAULT_MAX_QUEUED 1000
#define DEFAULT_REJOIN_TIMEOUT_MS 60000

struct otc_session_settings {
  int suppress;
  char *proxy_url;
  char *server_url;
  char *ca_file;
  int tls_verify;
  int connect_timeout_ms;
  int backoff_base_ms;
  double backoff_factor;
  int backoff_cap_ms;
  int max_queued;
  int rejoin;
  int keepalive_interval_ms; /* 0: the server's */
  int keepalive_timeout_ms;
  convene_signal_undelivered_cb on_signal_undelivered;
  int rejoin_timeout_ms;
};

static int replace_str(char **dst, const char *src) {
  char *copy = src ? strdup(src) : NULL;
  if (src && !copy) return -1;
  free(*dst);
  *dst = copy;
  return 0;
}

struct otc_session_settings *otc_session_settings_new(void) {
  struct otc_session_settings *st = calloc(1, sizeof *st);
  if (st) {
    st->tls_verify = 1;
    st->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    st->backoff_base_ms = DEFAULT_BACKOFF_BASE_MS;
    st->backoff_factor = DEFAULT_BACKOFF_FACTOR;
    st->backoff_cap_ms = DEFAULT_BACKOFF_CAP_MS;
    st->max_queued = DEFAULT_MAX_QUEUED;
    st->rejoin_timeout_ms = DEFAULT_REJOIN_TIMEOUT_MS;
  }
  return st;
}

otc_status otc_session_settings_delete(struct otc_session_settings *st) {
  if (!st) return OTC_INVALID_PARAM;
  free(st->proxy_url);
  free(st->server_url);
  free(st->ca_file);
  free(st);
  return OTC_SUCCESS;
}

otc_status otc_session_settings_set_connection_events_suppressed(struct otc_session_settings *st, otc_bool v) {
  if (!st) return OTC_INVALID_PARAM;
  st->suppress = v ? 1 : 0;
  return OTC_SUCCESS;
}

otc_status otc_session_settings_set_proxy_url(struct otc_session_settings *st, const char *url) {
  if (!st) return OTC_INVALID_PARAM;
  return replace_str(&st->proxy_url, url) == 0 ? OTC_SUCCESS : OTC_FATAL;
}

static int valid_server_url(const char *url) {
  return url && (strncmp(url, "ws://", 5) == 0 || strncmp(url, "wss://", 6) == 0) && strlen(url) < 500;
}

otc_status otc_session_settings_set_server_url(struct otc_session_settings *st, const char *url) {
  if (!st || !valid_server_url(url)) return OTC_INVALID_PARAM;
  return replace_str(&st->server_url, url) == 0 ? OTC_SUCCESS : OTC_FATAL;
}

otc_status otc_session_settings_set_ca_file(struct otc_session_settings *st, const char *path) {
  if (!st || !path) return OTC_INVALID_PARAM;
  return replace_str(&st->ca_file, path) == 0 ? OTC_SUCCESS : OTC_FATAL;
}

otc_status otc_session_settings_set_tls_verify(struct otc_session_settings *st, otc_bool verify) {
  if (!st) return OTC_INVALID_PARAM;
  st->tls_verify = verify ? 1 : 0;
  return OTC_SUCCESS;
}

otc_status otc_session_settings_set_connect_timeout(struct otc_session_settings *st, int timeout_ms) {
  if (!st || timeout_ms <= 0) return OTC_INVALID_PARAM;
  st->connect_timeout_ms = timeout_ms;
  return OTC_SUCCESS;
}

otc_status convene_session_settings_set_reconnect_backoff(struct otc_session_settings *st, int base_ms, double factor,
                                                         int cap_ms) {
  if (!st || base_ms < 1 || factor < 1.0 || cap_ms < base_ms) return OTC_INVALID_PARAM;
  st->backoff_base_ms = base_ms;
  st->backoff_factor = factor;
  st->backoff_cap_ms = cap_ms;
  return OTC_SUCCESS;
}

otc_status convene_session_settings_set_rejoin(struct otc_session_settings *st, otc_bool rejoin) {
  if (!st) return OTC_INVALID_PARAM;
  st->rejoin = rejoin ? 1 : 0;
  return OTC_SUCCESS;
}

otc_status convene_session_settings_set_rejoin_timeout(struct otc_session_settings *st, int timeout_ms) {
  if (!st || timeout_ms < 0) return OTC_INVALID_PARAM;
  st->rejoin_timeout_ms = timeout_ms;
  return OTC_SUCCESS;
}

otc_status convene_session_settings_set_max_queued(struct otc_session_settings *st, int max_requests) {
  if (!st || max_requests < 0) return OTC_INVALID_PARAM;
  st->max_queued = max_requests;
  return OTC_SUCCESS;
}

otc_status convene_session_settings_set_keepalive(struct otc_session_settings *st, int interval_ms, int timeout_ms) {
  if (!st || interval_ms < 100 || timeout_ms <= interval_ms || timeout_ms > 3600000) return OTC_INVALID_PARAM;
  st->keepalive_interval_ms = interval_ms;
  st->keepalive_timeout_ms = timeout_ms;
  return OTC_SUCCESS;
}

otc_status convene_session_settings_set_on_signal_undelivered(struct otc_session_settings *st,
                                                             convene_signal_undelivered_cb cb) {
  if (!st) return OTC_INVALID_PARAM;
  st->on_signal_undelivered = cb;
  return OTC_SUCCESS;
}

otc_session *otc_session_new_with_settings(const char *apikey, const char *session_id,
                                           const struct otc_session_callbacks *callbacks,
                                           otc_session_settings *settings) {
  if (!apikey || !*apikey || !session_id || !*session_id || !callbacks || !cv_service_running()) return NULL;
  otc_session *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  pthread_mutex_init(&s->info_lock, NULL);
  s->cb = *callbacks;
  s->api_key = strdup(apikey);
  s->session_id = strdup(session_id);
  const char *env_url = getenv("CONVENE_SERVER_URL");
  const char *url = settings && settings->server_url ? settings->server_url
                    : valid_server_url(env_url)     ? env_url
                                                    : DEFAULT_SERVER_URL;
  s->server_url = strdup(url);
  s->ca_file = settings && settings->ca_file ? strdup(settings->ca_file) : NULL;
  s->tls_verify = settings ? settings->tls_verify : 1;
  s->suppress_connection_events = settings ? settings->suppress : 0;
  s->connect_timeout_ms = settings ? settings->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
  s->backoff_base_ms = settings ? settings->backoff_base_ms : DEFAULT_BACKOFF_BASE_MS;
  s->backoff_factor = settings ? settings->backoff_factor : DEFAULT_BACKOFF_FACTOR;
  s->backoff_cap_ms = settings ? settings->backoff_cap_ms : DEFAULT_BACKOFF_CAP_MS;
  s->max_queued = settings ? settings->max_queued : DEFAULT_MAX_QUEUED;
  s->max_backlog = s->max_queued;
  s->rejoin = settings ? settings->rejoin : 0;
  s->rejoin_timeout_ms = settings ? settings->rejoin_timeout_ms : DEFAULT_REJOIN_TIMEOUT_MS;
  s->ka_interval_setting = settings ? settings->keepalive_interval_ms : 0;
  s->ka_timeout_setting = settings ? settings->keepalive_timeout_ms : 0;
  s->on_signal_undelivered = settings ? settings->on_signal_undelivered : NULL;
  if (settings && settings->proxy_url) CV_WARN("proxy URL %s ignored: proxies are not supported yet", settings->proxy_url);
  atomic_store(&s->state, CV_STATE_IDLE);
  if (!s->api_key || !s->session_id || !s->server_url) {
    cv_session_free(s);
    return NULL;
  }
  return s;
}

otc_session *otc_session_new(const char *apikey, const char *session_id, const struct otc_session_callbacks *callbacks) {
  return otc_session_new_with_settings(apikey, session_id, callbacks, NULL);
}

otc_status otc_session_delete(otc_session *s) {
  if (!s) return OTC_INVALID_PARAM;
  if (cv_on_service_thread()) {
    cv_state_silence(s); /* no more callbacks from here on; freed when the command runs */
  }
  return cv_service_submit(cv_cmd_new(CV_CMD_DELETE, s), 1);
}

otc_status otc_session_connect(otc_session *s, const char *token) {
  if (!s || !token || !*token) return OTC_INVALID_PARAM;
  struct cv_cmd *c = cv_cmd_new(CV_CMD_CONNECT, s);
  if (!c || !(c->text = strdup(token))) {
    cv_cmd_free(c);
    return OTC_FATAL;
  }
  return cv_service_submit(c, 0);
}

otc_status otc_session_disconnect(otc_session *s) {
  if (!s) return OTC_INVALID_PARAM;
  return cv_service_submit(cv_cmd_new(CV_CMD_DISCONNECT, s), 0);
}

static otc_status submit_request(otc_session *s, enum cv_request_kind kind, json_t *fields, int retry) {
  struct cv_cmd *c = cv_cmd_new(CV_CMD_REQUEST, s);
  if (!c) {
    cv_cmd_free(c);
    if (fields) json_decref(fields);
    return OTC_FATAL;
  }
  c->req = kind;
  c->fields = fields;
  c->retry = retry;
  return cv_service_submit(c, 0);
}

static otc_status send_signal(otc_session *s, const char *type, const char *data, const otc_connection *to, int retry) {
  return convene_session_send_signal(s, type, data, to ? to->id : NULL, retry, NULL, NULL);
}

otc_status otc_session_send_signal(otc_session *s, const char *type, const char *signal) {
  return send_signal(s, type, signal, NULL, 1);
}

otc_status otc_session_send_signal_to_connection(otc_session *s, const char *type, const char *signal,
                                                 const otc_connection *connection) {
  if (!connection) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  return send_signal(s, type, signal, connection, 1);
}

otc_status otc_session_send_signal_with_options(otc_session *s, const char *type, const char *signal,
                                                struct otc_signal_options options) {
  return send_signal(s, type, signal, NULL, options.retry_after_reconnect);
}

otc_status otc_session_send_signal_to_connection_with_options(otc_session *s, const char *type, const char *signal,
                                                              const otc_connection *connection,
                                                              struct otc_signal_options options) {
  if (!connection) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  return send_signal(s, type, signal, connection, options.retry_after_reconnect);
}

static otc_status publisher_cmd(enum cv_cmd_type type, otc_session *s, otc_publisher *p) {
  if (!s || !p) return OTC_INVALID_PARAM;
  struct cv_cmd *c = cv_cmd_new(type, s);
  if (!c) return OTC_FATAL;
  c->publisher = p;
  return cv_service_submit(c, 0);
}

otc_status otc_session_publish(otc_session *s, otc_publisher *p) { return publisher_cmd(CV_CMD_PUBLISH, s, p); }
otc_status otc_session_unpublish(otc_session *s, otc_publisher *p) { return publisher_cmd(CV_CMD_UNPUBLISH, s, p); }

/* The id is copied at creation and never changes: no lock needed. */
char *otc_session_get_id(const otc_session *s) { return s ? s->session_id : NULL; }

/* s->self is replaced (under info_lock) when the session connects again; what the app
 * got stays valid: each connection is copied once into `handed`, freed with the session. */
otc_connection *otc_session_get_connection(const otc_session *s) {
  if (!s) return NULL;
  otc_session *m = (otc_session *)s;
  pthread_mutex_lock(&m->info_lock);
  otc_connection *c = NULL;
  if (m->self) {
    c = m->handed.len ? m->handed.items[m->handed.len - 1] : NULL;
    if (!c || strcmp(c->id, m->self->id) != 0) {
      c = cv_connection_owned_copy(m->self);
      if (c && cv_table_add(&m->handed, c, NULL) != 0) {
        cv_connection_free_owned(c);
        c = NULL;
      }
    }
  }
  pthread_mutex_unlock(&m->info_lock);
  return c;
}

struct otc_session_capabilities otc_session_get_capabilities(const otc_session *s) {
  struct otc_session_capabilities caps = {0, 0, 0};
  if (!s) return caps;
  otc_session *m = (otc_session *)s;
  pthread_mutex_lock(&m->info_lock);
  caps = s->caps;
  pthread_mutex_unlock(&m->info_lock);
  return caps;
}

void *otc_session_get_user_data(const otc_session *s) { return s ? s->cb.user_data : NULL; }

otc_status otc_session_force_disconnect(otc_session *s, const otc_connection *c) {
  if (!s || !c) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  return submit_request(s, CV_REQ_FORCE_DISCONNECT, json_pack("{s:s}", "connectionId", c->id), 1);
}

otc_status otc_session_force_unpublish(otc_session *s, const otc_stream *stream) {
  if (!s || !stream) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  return submit_request(s, CV_REQ_FORCE_UNPUBLISH, json_pack("{s:s}", "streamId", stream->id), 1);
}

otc_status otc_session_force_mute_stream(otc_session *s, const char *stream_id) {
  if (!s || !stream_id) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  return submit_request(s, CV_REQ_FORCE_MUTE_STREAM, json_pack("{s:s}", "streamId", stream_id), 1);
}

otc_status otc_session_force_mute_all(otc_session *s, char **excluded, size_t len) {
  if (!s || (len && !excluded)) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  json_t *ids = json_array();
  for (size_t i = 0; i < len; i++)
    if (excluded[i]) json_array_append_new(ids, json_string(excluded[i]));
  return submit_request(s, CV_REQ_FORCE_MUTE_ALL, json_pack("{s:o}", "excludedStreamIds", ids), 1);
}

otc_status otc_session_disable_force_mute(otc_session *s) {
  if (!s) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  return submit_request(s, CV_REQ_DISABLE_FORCE_MUTE, NULL, 1);
}
