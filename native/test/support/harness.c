/* Integration test harness: fixture, recorded callbacks, case dispatch. See harness.h. */
#include "harness.h"

#include <jansson.h>
#include <signal.h>
#include <time.h>

/* ---- time ---- */

int64_t it_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

int it_slow(void) {
  static int slow = 0;
  if (!slow) {
    const char *s = getenv("CONVENE_TEST_SLOW");
    slow = s && atoi(s) > 0 ? atoi(s) : 1;
  }
  return slow;
}

void it_quiet(int ms) { it_sleep_ms(ms * (it_slow() > 1 ? 3 : 1)); }

/* ---- fixture ---- */

static json_t *g_fx;
static const char *g_case;

const char *it_case(void) { return g_case; }

static const char *fx_path_str(const char *what, json_t *v) {
  const char *s = json_string_value(v);
  if (!s) CHECK_FAIL_("fixture.json has no %s (case %s)", what, g_case);
  return s;
}

const char *fx_api_key(void) { return fx_path_str("apiKey", json_object_get(g_fx, "apiKey")); }
const char *fx_api_secret(void) { return fx_path_str("apiSecret", json_object_get(g_fx, "apiSecret")); }
const char *fx_node(void) { return fx_path_str("node", json_object_get(g_fx, "node")); }
const char *fx_cli(void) { return fx_path_str("cli", json_object_get(g_fx, "cli")); }
const char *fx_garbage_token(void) { return fx_path_str("garbageToken", json_object_get(g_fx, "garbageToken")); }

const char *fx_url(const char *server) {
  if (strncmp(server, "ws://", 5) == 0) return server;
  return fx_path_str(server, json_object_get(json_object_get(json_object_get(g_fx, "servers"), server), "url"));
}

static json_t *my_session(void) { return json_object_get(json_object_get(g_fx, "sessions"), g_case); }

const char *fx_session(void) { return fx_path_str("session id", json_object_get(my_session(), "id")); }

const char *fx_token(const char *kind) {
  return fx_path_str(kind, json_object_get(json_object_get(my_session(), "tokens"), kind));
}

/* ---- recorded session callbacks ---- */

static char *dup_s(const char *s) {
  char *d = strdup(s ? s : "");
  CHECK_NOT_NULL(d);
  return d;
}

#define REC(u) ((struct rec *)(u))
#define LATE_CHECK(r) \
  if (atomic_load(&(r)->deleted)) atomic_fetch_add(&(r)->late, 1)

/* The delete_in / disconnect_in behaviours, from inside callback `which`. */
static void maybe_end(struct rec *r, otc_session *s, int which) {
  if (atomic_load(&r->delete_in) & which) {
    atomic_fetch_and(&r->delete_in, ~which);
    CHECK_EQ(OTC_SUCCESS, otc_session_delete(s));
    atomic_store(&r->deleted, 1);
  } else if (atomic_load(&r->disconnect_in) & which) {
    atomic_fetch_and(&r->disconnect_in, ~which);
    CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(s));
  }
}

static void on_connected(otc_session *s, void *u) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  CHECK(s == r->session);
  atomic_fetch_add(&r->connected, 1);
  maybe_end(r, s, REC_IN_CONNECTED);
}

static void on_disconnected(otc_session *s, void *u) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  atomic_fetch_add(&r->disconnected, 1);
  maybe_end(r, s, REC_IN_DISCONNECTED);
}

static void on_connection_created(otc_session *s, void *u, const otc_connection *c) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  CHECK_NOT_NULL(otc_connection_get_id(c));
  pthread_mutex_lock(&r->lock);
  otc_connection_delete(r->last_conn_created);
  r->last_conn_created = otc_connection_copy(c);
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->conn_created, 1);
  maybe_end(r, s, REC_IN_CONN_CREATED);
}

static void on_connection_dropped(otc_session *s, void *u, const otc_connection *c) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  pthread_mutex_lock(&r->lock);
  snprintf(r->last_conn_dropped, sizeof r->last_conn_dropped, "%s", otc_connection_get_id(c));
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->conn_dropped, 1);
}

static void on_stream_received(otc_session *s, void *u, const otc_stream *st) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  pthread_mutex_lock(&r->lock);
  if (r->last_stream_received) otc_stream_delete(r->last_stream_received);
  r->last_stream_received = otc_stream_copy(st);
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->stream_received, 1);
}

static void on_stream_dropped(otc_session *s, void *u, const otc_stream *st) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  pthread_mutex_lock(&r->lock);
  snprintf(r->last_stream_dropped, sizeof r->last_stream_dropped, "%s", otc_stream_get_id(st));
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->stream_dropped, 1);
}

static void on_audio(otc_session *s, void *u, const otc_stream *st, otc_bool v) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  CHECK_EQ(v, otc_stream_has_audio(st));
  pthread_mutex_lock(&r->lock);
  r->last_audio = v;
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->audio_changed, 1);
}

static void on_video(otc_session *s, void *u, const otc_stream *st, otc_bool v) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  pthread_mutex_lock(&r->lock);
  r->last_video = v;
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->video_changed, 1);
}

static void on_dims(otc_session *s, void *u, const otc_stream *st, int w, int h) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  atomic_fetch_add(&r->dims_changed, 1);
}

static void on_vtype(otc_session *s, void *u, const otc_stream *st, enum otc_stream_video_type t) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  atomic_fetch_add(&r->type_changed, 1);
}

static void on_signal(otc_session *s, void *u, const char *type, const char *data, const otc_connection *from) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  CHECK_NOT_NULL(type);
  CHECK_NOT_NULL(data);
  pthread_mutex_lock(&r->lock);
  if (r->nsigs == r->capsigs) {
    r->capsigs = r->capsigs ? 2 * r->capsigs : 16;
    r->sigs = realloc(r->sigs, r->capsigs * sizeof *r->sigs);
    CHECK_NOT_NULL(r->sigs);
  }
  struct rec_signal *sg = &r->sigs[r->nsigs++];
  sg->type = dup_s(type);
  sg->data = dup_s(data);
  sg->from = dup_s(from ? otc_connection_get_id(from) : "");
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->signals, 1);
  maybe_end(r, s, REC_IN_SIGNAL);
}

static void on_error(otc_session *s, void *u, const char *msg, enum otc_session_error_code code) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  CHECK_NOT_NULL(msg);
  fprintf(stderr, "[%s] on_error %d: %s\n", g_case, (int)code, msg);
  pthread_mutex_lock(&r->lock);
  r->last_error = (int)code;
  snprintf(r->last_error_msg, sizeof r->last_error_msg, "%s", msg);
  int n = atomic_load(&r->errors);
  if (n < 16) r->error_codes[n] = (int)code;
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->errors, 1);
  maybe_end(r, s, REC_IN_ERROR);
}

static void on_mute_forced(otc_session *s, void *u, otc_on_mute_forced_info *info) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  CHECK_NOT_NULL(info);
  pthread_mutex_lock(&r->lock);
  r->last_mute_active = info->active;
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->mute_forced, 1);
}

static void on_reconnecting(otc_session *s, void *u) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  atomic_fetch_add(&r->reconnecting, 1);
}

static void on_reconnected(otc_session *s, void *u) {
  struct rec *r = REC(u);
  LATE_CHECK(r);
  atomic_fetch_add(&r->reconnected, 1);
}

void rec_init(struct rec *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->lock, NULL);
}

void rec_free(struct rec *r) {
  CHECK_EQ(0, atomic_load(&r->late));
  otc_connection_delete(r->last_conn_created);
  if (r->last_stream_received) otc_stream_delete(r->last_stream_received);
  for (size_t i = 0; i < r->nsigs; i++) {
    free(r->sigs[i].type);
    free(r->sigs[i].data);
    free(r->sigs[i].from);
  }
  free(r->sigs);
  pthread_mutex_destroy(&r->lock);
  memset(r, 0, sizeof *r);
}

struct otc_session_callbacks rec_callbacks(struct rec *r) {
  struct otc_session_callbacks cb = {
      .on_connected = on_connected,
      .on_disconnected = on_disconnected,
      .on_connection_created = on_connection_created,
      .on_connection_dropped = on_connection_dropped,
      .on_stream_received = on_stream_received,
      .on_stream_dropped = on_stream_dropped,
      .on_stream_has_audio_changed = on_audio,
      .on_stream_has_video_changed = on_video,
      .on_stream_video_dimensions_changed = on_dims,
      .on_stream_video_type_changed = on_vtype,
      .on_signal_received = on_signal,
      .on_reconnection_started = on_reconnecting,
      .on_reconnected = on_reconnected,
      .on_error = on_error,
      .user_data = r,
      .on_mute_forced = on_mute_forced,
  };
  return cb;
}

otc_session *it_session_new_with(struct rec *r, const char *url, const char *session_id,
                                 struct otc_session_settings *settings) {
  struct otc_session_callbacks cb = rec_callbacks(r);
  int own = settings == NULL;
  if (own) settings = otc_session_settings_new();
  CHECK_NOT_NULL(settings);
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_server_url(settings, fx_url(url)));
  r->session = otc_session_new_with_settings(fx_api_key(), session_id, &cb, settings);
  CHECK_NOT_NULL(r->session);
  if (own) otc_session_settings_delete(settings);
  CHECK(otc_session_get_user_data(r->session) == r);
  return r->session;
}

otc_session *it_session_new(struct rec *r, const char *server, const char *session_id) {
  return it_session_new_with(r, server, session_id, NULL);
}

void it_connect(struct rec *r, const char *token) {
  int before = atomic_load(&r->connected);
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r->session, token));
  WAIT_UNTIL(atomic_load(&r->connected) == before + 1 || atomic_load(&r->errors) > 0, WAIT_MS);
  if (atomic_load(&r->errors)) CHECK_FAIL_("connect failed: %d %s", r->last_error, r->last_error_msg);
}

void it_delete(struct rec *r) {
  CHECK_EQ(OTC_SUCCESS, otc_session_delete(r->session));
  atomic_store(&r->deleted, 1);
  r->session = NULL;
}

void it_disconnect_and_delete(struct rec *r) {
  int before = atomic_load(&r->disconnected);
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r->session));
  WAIT_UNTIL(atomic_load(&r->disconnected) == before + 1, WAIT_MS);
  it_delete(r);
}

const char *it_my_id(struct rec *r, char *buf, size_t n) {
  otc_connection *me = otc_session_get_connection(r->session);
  CHECK_NOT_NULL(me);
  snprintf(buf, n, "%s", otc_connection_get_id(me));
  return buf;
}

int rec_signal_is(struct rec *r, size_t i, const char *type, const char *data, const char *from) {
  pthread_mutex_lock(&r->lock);
  int ok = i < r->nsigs && strcmp(r->sigs[i].type, type) == 0 && strcmp(r->sigs[i].data, data) == 0 &&
           strcmp(r->sigs[i].from, from) == 0;
  if (!ok && i < r->nsigs)
    fprintf(stderr, "[%s] signal %zu is (%s, %.40s..., %s), expected (%s, %.40s..., %s)\n", g_case, i,
            r->sigs[i].type, r->sigs[i].data, r->sigs[i].from, type, data, from);
  pthread_mutex_unlock(&r->lock);
  return ok;
}

int rec_error_code(struct rec *r, int i) {
  pthread_mutex_lock(&r->lock);
  int code = i < 16 ? r->error_codes[i] : 0;
  pthread_mutex_unlock(&r->lock);
  return code;
}

/* ---- recorded publisher callbacks ---- */

static void pub_created(otc_publisher *p, void *u, const otc_stream *st) {
  struct prec *pr = u;
  if (atomic_load(&pr->gone)) atomic_fetch_add(&pr->late, 1);
  CHECK(p == pr->publisher);
  pthread_mutex_lock(&pr->lock);
  snprintf(pr->stream_id, sizeof pr->stream_id, "%s", otc_stream_get_id(st));
  pthread_mutex_unlock(&pr->lock);
  atomic_fetch_add(&pr->created, 1);
  if (atomic_load(&pr->delete_in_created)) {
    CHECK_EQ(OTC_SUCCESS, otc_publisher_delete(p)); /* deferred: freed after this callback */
    atomic_store(&pr->gone, 1);
  }
}

static void pub_destroyed(otc_publisher *p, void *u, const otc_stream *st) {
  struct prec *pr = u;
  if (atomic_load(&pr->gone)) atomic_fetch_add(&pr->late, 1);
  CHECK_NOT_NULL(otc_stream_get_id(st));
  atomic_fetch_add(&pr->destroyed, 1);
}

static void pub_error(otc_publisher *p, void *u, const char *msg, enum otc_publisher_error_code code) {
  struct prec *pr = u;
  if (atomic_load(&pr->gone)) atomic_fetch_add(&pr->late, 1);
  fprintf(stderr, "[%s] publisher on_error %d: %s\n", g_case, (int)code, msg);
  pthread_mutex_lock(&pr->lock);
  pr->last_error = (int)code;
  pthread_mutex_unlock(&pr->lock);
  atomic_fetch_add(&pr->errors, 1);
}

void prec_init(struct prec *p, const char *name) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->lock, NULL);
  struct otc_publisher_callbacks cb = {
      .on_stream_created = pub_created, .on_stream_destroyed = pub_destroyed, .on_error = pub_error, .user_data = p};
  p->publisher = otc_publisher_new(name, NULL, &cb);
  CHECK_NOT_NULL(p->publisher);
  CHECK(otc_publisher_get_user_data(p->publisher) == p);
}

void prec_free(struct prec *p) {
  if (!atomic_load(&p->gone)) {
    CHECK_EQ(OTC_SUCCESS, otc_publisher_delete(p->publisher));
    atomic_store(&p->gone, 1); /* callbacks from here on are late */
  }
  CHECK_EQ(0, atomic_load(&p->late));
  pthread_mutex_destroy(&p->lock);
  memset(p, 0, sizeof *p);
}

/* ---- main ---- */

static void load_fixture(void) {
  const char *path = getenv("CONVENE_TEST_FIXTURE");
  if (!path) CHECK_FAIL_("CONVENE_TEST_FIXTURE is not set (run through ctest)");
  json_error_t err;
  g_fx = json_load_file(path, 0, &err);
  if (!g_fx) CHECK_FAIL_("cannot read %s: %s", path, err.text);
}

static void log_line(const char *line) { fprintf(stderr, "[%s] convene: %s\n", g_case, line); }

int it_main(int argc, char **argv, const struct it_case *cases, size_t n) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE\ncases:\n", argv[0]);
    for (size_t i = 0; i < n; i++) fprintf(stderr, "  %s\n", cases[i].name);
    return 2;
  }
  const struct it_case *c = NULL;
  for (size_t i = 0; i < n; i++)
    if (strcmp(cases[i].name, argv[1]) == 0) c = &cases[i];
  if (!c) {
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
  }
  g_case = c->name;
  signal(SIGPIPE, SIG_IGN);
  load_fixture();
  const char *lvl = getenv("CONVENE_TEST_LOG");
  otc_log_set_logger_callback(log_line);
  otc_log_enable(lvl ? atoi(lvl) : OTC_LOG_LEVEL_WARN);
  CHECK_EQ(OTC_SUCCESS, otc_init(NULL));
  int64_t t0 = it_now_ms();
  c->fn();
  CHECK_EQ(OTC_SUCCESS, otc_destroy());
  json_decref(g_fx);
  fprintf(stderr, "[%s] passed in %lld ms\n", g_case, (long long)(it_now_ms() - t0));
  return 0;
}
