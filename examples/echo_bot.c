/*
 * echo_bot: joins a session, prints every event, and echoes each signal back to its sender.
 *
 *   echo_bot API_KEY SESSION_ID TOKEN [SERVER_URL]
 *
 * Written against the otc_* API only: it compiles unchanged against the Vonage Linux SDK
 * (minus the Convene server URL setting).
 */
#define _DEFAULT_SOURCE
#include <opentok.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_done = 0;

static void on_connected(otc_session *session, void *user_data) {
  (void)user_data;
  otc_connection *me = otc_session_get_connection(session);
  printf("connected as %s\n", me ? otc_connection_get_id(me) : "?"); /* owned by the session */
  fflush(stdout);
}

static void on_disconnected(otc_session *session, void *user_data) {
  (void)session;
  (void)user_data;
  printf("disconnected\n");
  fflush(stdout);
  g_done = 1;
}

static void on_connection_created(otc_session *session, void *user_data, const otc_connection *c) {
  (void)session;
  (void)user_data;
  printf("connection created %s data=%s\n", otc_connection_get_id(c), otc_connection_get_data(c));
  fflush(stdout);
}

static void on_connection_dropped(otc_session *session, void *user_data, const otc_connection *c) {
  (void)session;
  (void)user_data;
  printf("connection dropped %s\n", otc_connection_get_id(c));
  fflush(stdout);
}

static void on_stream_received(otc_session *session, void *user_data, const otc_stream *s) {
  (void)session;
  (void)user_data;
  printf("stream received %s name=%s audio=%d video=%d\n", otc_stream_get_id(s), otc_stream_get_name(s),
         otc_stream_has_audio(s), otc_stream_has_video(s));
  fflush(stdout);
}

static void on_stream_dropped(otc_session *session, void *user_data, const otc_stream *s) {
  (void)session;
  (void)user_data;
  printf("stream dropped %s\n", otc_stream_get_id(s));
  fflush(stdout);
}

static void on_signal_received(otc_session *session, void *user_data, const char *type, const char *signal,
                               const otc_connection *from) {
  (void)user_data;
  printf("signal type=%s data=%s from=%s\n", type, signal, from ? otc_connection_get_id(from) : "server");
  fflush(stdout);
  otc_connection *me = otc_session_get_connection(session);
  int mine = me && from && strcmp(otc_connection_get_id(me), otc_connection_get_id(from)) == 0;
  if (from && !mine && strcmp(type, "echo") != 0) otc_session_send_signal_to_connection(session, "echo", signal, from);
}

static void on_error(otc_session *session, void *user_data, const char *error_string,
                     enum otc_session_error_code error) {
  (void)session;
  (void)user_data;
  printf("error %d: %s\n", (int)error, error_string);
  fflush(stdout);
}

static void on_stop(int sig) {
  (void)sig;
  g_done = 2;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s API_KEY SESSION_ID TOKEN [SERVER_URL]\n", argv[0]);
    return 2;
  }
  if (otc_init(NULL) != OTC_SUCCESS) return 1;
  struct otc_session_callbacks cb = {0};
  cb.on_connected = on_connected;
  cb.on_disconnected = on_disconnected;
  cb.on_connection_created = on_connection_created;
  cb.on_connection_dropped = on_connection_dropped;
  cb.on_stream_received = on_stream_received;
  cb.on_stream_dropped = on_stream_dropped;
  cb.on_signal_received = on_signal_received;
  cb.on_error = on_error;
  struct otc_session_settings *settings = otc_session_settings_new();
  if (argc > 4) otc_session_settings_set_server_url(settings, argv[4]);
  otc_session *session = otc_session_new_with_settings(argv[1], argv[2], &cb, settings);
  otc_session_settings_delete(settings);
  if (!session) {
    fprintf(stderr, "cannot create the session\n");
    otc_destroy();
    return 1;
  }
  signal(SIGINT, on_stop);
  signal(SIGTERM, on_stop);
  otc_session_connect(session, argv[3]);
  while (!g_done) usleep(50 * 1000);
  if (g_done == 2) otc_session_disconnect(session);
  otc_session_delete(session);
  otc_destroy();
  return 0;
}
