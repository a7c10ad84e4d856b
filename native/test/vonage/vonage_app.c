/*
 * A program written only with the Vonage SDK's documented calls, the way its samples and
 * plugins write them: every callback calls the getters (otc_session_get_id,
 * otc_session_get_connection, otc_publisher_get_stream, ...) and frees nothing they return,
 * and the app thread calls them too while it waits. Two sessions (A publishes, B watches)
 * in one process. Run under valgrind / ASan, it must show no error and no leak.
 * Includes only <opentok.h> and the C library; compiled with -pedantic-errors.
 */
#include <opentok.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vonage_app.h"

struct app_session {
  const char *name;
  otc_session *session;
  atomic_int connected, disconnected, conn_created, conn_dropped, streams_in, streams_out;
  atomic_int audio_changed, signals, errors;
  atomic_int getter_calls;
};

static struct app_session g_a = {.name = "A"}, g_b = {.name = "B"};
static atomic_int g_pub_created, g_pub_destroyed, g_pub_errors, g_log_lines;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* What a plugin does on every event: reads who it is and where. Nothing is freed. */
static void look_around(otc_session *session) {
  struct app_session *me = (struct app_session *)otc_session_get_user_data(session);
  const char *id = otc_session_get_id(session);
  otc_connection *conn = otc_session_get_connection(session);
  struct otc_session_capabilities caps = otc_session_get_capabilities(session);
  size_t n = strlen(id);
  if (conn) n += strlen(otc_connection_get_id(conn)) + strlen(otc_connection_get_data(conn)) +
                 strlen(otc_connection_get_session_id(conn)) + (size_t)(otc_connection_get_creation_time(conn) > 0);
  (void)caps.publish;
  if (n > 0) atomic_fetch_add(&me->getter_calls, 1);
}

static void look_at_stream(const otc_stream *stream) {
  size_t n = strlen(otc_stream_get_id(stream)) + strlen(otc_stream_get_name(stream));
  n += (size_t)(otc_stream_has_audio(stream) + otc_stream_has_video(stream) + otc_stream_has_audio_track(stream) +
                otc_stream_has_video_track(stream) + otc_stream_get_video_width(stream) +
                otc_stream_get_video_height(stream) + (int)otc_stream_get_video_type(stream));
  n += strlen(otc_connection_get_id(otc_stream_get_connection(stream))) + (size_t)(otc_stream_get_creation_time(stream) > 0);
  (void)n;
}

static struct app_session *app(void *user_data) { return (struct app_session *)user_data; }

static void on_connected(otc_session *session, void *user_data) {
  look_around(session);
  atomic_fetch_add(&app(user_data)->connected, 1);
}
static void on_disconnected(otc_session *session, void *user_data) {
  look_around(session);
  atomic_fetch_add(&app(user_data)->disconnected, 1);
}
static void on_connection_created(otc_session *session, void *user_data, const otc_connection *connection) {
  look_around(session);
  (void)otc_connection_get_id(connection);
  atomic_fetch_add(&app(user_data)->conn_created, 1);
}
static void on_connection_dropped(otc_session *session, void *user_data, const otc_connection *connection) {
  look_around(session);
  (void)otc_connection_get_data(connection);
  atomic_fetch_add(&app(user_data)->conn_dropped, 1);
}
static void on_stream_received(otc_session *session, void *user_data, const otc_stream *stream) {
  look_around(session);
  look_at_stream(stream);
  atomic_fetch_add(&app(user_data)->streams_in, 1);
}
static void on_stream_dropped(otc_session *session, void *user_data, const otc_stream *stream) {
  look_around(session);
  look_at_stream(stream);
  atomic_fetch_add(&app(user_data)->streams_out, 1);
}
static void on_stream_has_audio_changed(otc_session *session, void *user_data, const otc_stream *stream,
                                        otc_bool has_audio) {
  look_around(session);
  look_at_stream(stream);
  (void)has_audio;
  atomic_fetch_add(&app(user_data)->audio_changed, 1);
}
/* B answers every signal from A to A's connection, as the Vonage Signaling sample does. */
static void on_signal_received(otc_session *session, void *user_data, const char *type, const char *signal,
                               const otc_connection *connection) {
  look_around(session);
  struct app_session *me = app(user_data);
  atomic_fetch_add(&me->signals, 1);
  otc_connection *mine = otc_session_get_connection(session);
  if (me == &g_b && connection && mine && strcmp(otc_connection_get_id(connection), otc_connection_get_id(mine)) != 0 &&
      strcmp(type, "ping") == 0)
    otc_session_send_signal_to_connection(session, "pong", signal, connection);
}
static void on_error(otc_session *session, void *user_data, const char *error_string,
                     enum otc_session_error_code error) {
  fprintf(stderr, "vonage_app: session %s error %d: %s\n", app(user_data)->name, (int)error, error_string);
  atomic_fetch_add(&app(user_data)->errors, 1);
}

static void on_pub_stream_created(otc_publisher *publisher, void *user_data, const otc_stream *stream) {
  look_at_stream(stream);
  otc_stream *mine = otc_publisher_get_stream(publisher);
  if (mine) look_at_stream(mine);
  (void)otc_publisher_get_name(publisher);
  atomic_fetch_add(&g_pub_created, 1);
}
static void on_pub_stream_destroyed(otc_publisher *publisher, void *user_data, const otc_stream *stream) {
  look_at_stream(stream);
  (void)otc_publisher_get_stream(publisher);
  atomic_fetch_add(&g_pub_destroyed, 1);
}
static void on_pub_error(otc_publisher *publisher, void *user_data, const char *error_string,
                         enum otc_publisher_error_code error_code) {
  fprintf(stderr, "vonage_app: publisher error %d: %s\n", (int)error_code, error_string);
  atomic_fetch_add(&g_pub_errors, 1);
}

static void on_log(const char *message) {
  (void)message;
  atomic_fetch_add(&g_log_lines, 1);
}

/* Waits (calling the getters from this thread meanwhile) until *v >= want, for up to 120 s. */
static int wait_for(const char *what, atomic_int *v, int want, otc_publisher *publisher) {
  for (int waited = 0; waited < 120000; waited += 5) {
    if (atomic_load(v) >= want) return 1;
    if (g_a.session) look_around(g_a.session);
    if (g_b.session) look_around(g_b.session);
    if (publisher) {
      otc_stream *s = otc_publisher_get_stream(publisher);
      if (s) look_at_stream(s);
    }
    sleep_ms(5);
  }
  fprintf(stderr, "vonage_app: timed out waiting for %s (%d < %d)\n", what, atomic_load(v), want);
  return 0;
}

static otc_session *new_session(struct app_session *as, const char *api_key, const char *session_id) {
  struct otc_session_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.on_connected = on_connected;
  cb.on_disconnected = on_disconnected;
  cb.on_connection_created = on_connection_created;
  cb.on_connection_dropped = on_connection_dropped;
  cb.on_stream_received = on_stream_received;
  cb.on_stream_dropped = on_stream_dropped;
  cb.on_stream_has_audio_changed = on_stream_has_audio_changed;
  cb.on_signal_received = on_signal_received;
  cb.on_error = on_error;
  cb.user_data = as;
  as->session = otc_session_new(api_key, session_id, &cb);
  return as->session;
}

#define STEP(cond)                                                 \
  do {                                                             \
    if (!(cond)) {                                                 \
      fprintf(stderr, "vonage_app: step failed: %s\n", #cond);     \
      ok = 0;                                                      \
      goto end;                                                    \
    }                                                              \
  } while (0)

int vonage_app_run(const char *api_key, const char *session_id, const char *token_a, const char *token_b) {
  int ok = 1;
  otc_publisher *publisher = NULL;
  if (otc_init(NULL) != OTC_SUCCESS) return 1;
  otc_log_set_logger_callback(on_log);
  otc_log_enable(OTC_LOG_LEVEL_ALL);

  STEP(new_session(&g_a, api_key, session_id) != NULL);
  STEP(new_session(&g_b, api_key, session_id) != NULL);
  STEP(otc_session_connect(g_a.session, token_a) == OTC_SUCCESS);
  STEP(wait_for("A connected", &g_a.connected, 1, NULL));
  STEP(otc_session_connect(g_b.session, token_b) == OTC_SUCCESS);
  STEP(wait_for("B connected", &g_b.connected, 1, NULL));
  STEP(wait_for("A sees B", &g_a.conn_created, 1, NULL));

  struct otc_publisher_callbacks pcb;
  memset(&pcb, 0, sizeof pcb);
  pcb.on_stream_created = on_pub_stream_created;
  pcb.on_stream_destroyed = on_pub_stream_destroyed;
  pcb.on_error = on_pub_error;
  publisher = otc_publisher_new("vonage-cam", NULL, &pcb);
  STEP(publisher != NULL);
  STEP(otc_session_publish(g_a.session, publisher) == OTC_SUCCESS);
  STEP(wait_for("stream created", &g_pub_created, 1, publisher));
  STEP(wait_for("B receives the stream", &g_b.streams_in, 1, publisher));

  for (int i = 0; i < 20; i++) {
    char data[32];
    snprintf(data, sizeof data, "n=%d", i);
    STEP(otc_session_send_signal(g_a.session, "ping", data) == OTC_SUCCESS);
  }
  STEP(wait_for("B gets 20 signals", &g_b.signals, 20, publisher));
  STEP(wait_for("A gets its own 20 and 20 answers", &g_a.signals, 40, publisher));

  STEP(otc_publisher_set_publish_audio(publisher, OTC_FALSE) == OTC_SUCCESS);
  STEP(wait_for("B sees audio off", &g_b.audio_changed, 1, publisher));
  STEP(otc_session_unpublish(g_a.session, publisher) == OTC_SUCCESS);
  STEP(wait_for("stream destroyed", &g_pub_destroyed, 1, NULL));
  STEP(wait_for("B loses the stream", &g_b.streams_out, 1, NULL));

  STEP(otc_session_disconnect(g_b.session) == OTC_SUCCESS);
  STEP(wait_for("B disconnected", &g_b.disconnected, 1, NULL));
  STEP(wait_for("A sees B go", &g_a.conn_dropped, 1, NULL));
  STEP(otc_session_disconnect(g_a.session) == OTC_SUCCESS);
  STEP(wait_for("A disconnected", &g_a.disconnected, 1, NULL));
  STEP(atomic_load(&g_a.errors) == 0 && atomic_load(&g_b.errors) == 0 && atomic_load(&g_pub_errors) == 0);

end:
  if (g_a.session) otc_session_delete(g_a.session);
  if (g_b.session) otc_session_delete(g_b.session);
  g_a.session = g_b.session = NULL;
  if (publisher) otc_publisher_delete(publisher);
  otc_destroy();
  fprintf(stderr, "vonage_app: %s; getters called %d (A) + %d (B) times in callbacks and waits; %d log lines\n",
          ok ? "ok" : "FAILED", atomic_load(&g_a.getter_calls), atomic_load(&g_b.getter_calls),
          atomic_load(&g_log_lines));
  if (ok && atomic_load(&g_log_lines) == 0) ok = 0;
  return ok ? 0 : 1;
}
