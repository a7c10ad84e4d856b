/*
 * Integration test harness: each test is a CASE of an it_*.c file, run in its own process
 * (`it_xxx CASE`) against the real server of the CTest fixture (fixture/server-fixture.js).
 * Callbacks are counted exactly (struct rec), waits are deadline loops (WAIT_UNTIL), and
 * the only fixed sleeps are quiet periods that back negative checks ("nothing more came").
 */
#ifndef CONVENE_TEST_HARNESS_H
#define CONVENE_TEST_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <opentok.h>

#include "check.h"

/* ---- time ---- */
int64_t it_now_ms(void);
void it_sleep_ms(int ms);
/* CONVENE_TEST_SLOW (valgrind: 8): deadlines are multiplied by it. */
int it_slow(void);
/* A quiet period (scaled) before checking that nothing else happened. */
void it_quiet(int ms);

#define WAIT_UNTIL(cond, ms)                                                              \
  do {                                                                                    \
    int64_t deadline_ = it_now_ms() + (int64_t)(ms) * it_slow();                          \
    while (!(cond)) {                                                                     \
      if (it_now_ms() > deadline_) CHECK_FAIL_("timed out after %d ms waiting for %s", (int)(ms), #cond); \
      it_sleep_ms(2);                                                                     \
    }                                                                                     \
  } while (0)

/* The default wait for something the server does at once. */
#define WAIT_MS 5000

/* ---- fixture (fixture.json) ---- */
const char *it_case(void);         /* the name of the running case */
const char *fx_api_key(void);
const char *fx_api_secret(void);
const char *fx_url(const char *server); /* "main" or "full" */
const char *fx_node(void);
const char *fx_cli(void);
const char *fx_garbage_token(void);
/* this case's session and its tokens: publisher, publisher2, moderator, subscriber,
 * publisheronly, legacy, expired, otherSession */
const char *fx_session(void);
const char *fx_token(const char *kind);

/* ---- recorded session callbacks ---- */
struct rec_signal {
  char *type, *data, *from; /* from: "" when the server sent it */
};

struct rec {
  otc_session *session;
  atomic_int connected, disconnected, conn_created, conn_dropped, stream_received, stream_dropped;
  atomic_int audio_changed, video_changed, dims_changed, type_changed, signals, errors, mute_forced;
  atomic_int reconnecting, reconnected;
  atomic_int late; /* callbacks after the session was deleted: must stay 0 */
  atomic_int deleted;
  atomic_int delete_in; /* behaviour: otc_session_delete from these callbacks (REC_IN_*) */
  atomic_int disconnect_in; /* behaviour: otc_session_disconnect from these callbacks */
  pthread_mutex_t lock; /* guards everything below */
  int last_error;
  char last_error_msg[512];
  int error_codes[16];
  otc_connection *last_conn_created; /* owned copies */
  char last_conn_dropped[128];
  otc_stream *last_stream_received;
  char last_stream_dropped[128];
  int last_audio, last_video, last_mute_active;
  struct rec_signal *sigs;
  size_t nsigs, capsigs;
};

enum { REC_IN_CONNECTED = 1, REC_IN_ERROR = 2, REC_IN_DISCONNECTED = 4, REC_IN_SIGNAL = 8, REC_IN_CONN_CREATED = 16 };

void rec_init(struct rec *r);
void rec_free(struct rec *r);
struct otc_session_callbacks rec_callbacks(struct rec *r);
/* A session of the case's session id on `server` (fx_url name or a ws:// URL), recording into r. */
otc_session *it_session_new(struct rec *r, const char *server, const char *session_id);
otc_session *it_session_new_with(struct rec *r, const char *url, const char *session_id,
                                 struct otc_session_settings *settings);
/* Connects r's session with the token and waits for on_connected. */
void it_connect(struct rec *r, const char *token);
/* Disconnects and waits for on_disconnected; then deletes. */
void it_disconnect_and_delete(struct rec *r);
/* Deletes (blocking) and marks r deleted: later callbacks count as late. */
void it_delete(struct rec *r);
/* This client's connection id (copied into buf). */
const char *it_my_id(struct rec *r, char *buf, size_t n);
/* Copy of the i-th recorded signal's fields, under the lock. */
int rec_signal_is(struct rec *r, size_t i, const char *type, const char *data, const char *from);
int rec_error_code(struct rec *r, int i);

/* ---- recorded publisher callbacks ---- */
struct prec {
  otc_publisher *publisher;
  atomic_int created, destroyed, errors;
  atomic_int delete_in_created; /* behaviour: otc_publisher_delete from on_stream_created */
  atomic_int gone;              /* otc_publisher_delete returned */
  atomic_int late;              /* callbacks after that: must stay 0 */
  pthread_mutex_t lock;
  char stream_id[128];
  int last_error;
};
void prec_init(struct prec *p, const char *name);
void prec_free(struct prec *p); /* deletes the publisher unless gone */

/* ---- a server of the test's own (child process) ---- */
struct child_server {
  pid_t pid;
  int out_fd;
  char url[128];
};
/* Starts `node dist/cli.js server --port 0` with the fixture's api key (extra args may be NULL). */
void child_server_start(struct child_server *cs, const char *const *extra_args);
void child_server_signal(struct child_server *cs, int sig);
/* SIGKILL (after SIGCONT) and reap. */
void child_server_kill(struct child_server *cs);

/* ---- cases ---- */
struct it_case {
  const char *name;
  void (*fn)(void);
  int timeout_s; /* read by CMake from the CASE line: the ctest TIMEOUT */
};
/* One line per case, `CASE(name, timeout_seconds),`: CMake registers a test for each. */
#define CASE(name, timeout) {#name, name, timeout}
int it_main(int argc, char **argv, const struct it_case *cases, size_t n);
#define IT_MAIN(cases) \
  int main(int argc, char **argv) { return it_main(argc, argv, cases, sizeof cases / sizeof cases[0]); }

#endif
