/*
 * Logging through otc_log_set_logger_callback at OTC_LOG_LEVEL_ALL: a session that connects,
 * drops (its server hangs), reconnects, resumes and disconnects says so, line by line, and
 * never prints its token.
 */
#include <signal.h>
#include <stdlib.h>

#include "harness.h"

#define MAX_LINES 4096

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_lines[MAX_LINES];
static int g_nlines;

/* The logger may run on several threads: lines are kept under a lock. */
static void keep_line(const char *line) {
  pthread_mutex_lock(&g_lock);
  if (g_nlines < MAX_LINES) g_lines[g_nlines++] = strdup(line);
  pthread_mutex_unlock(&g_lock);
  fprintf(stderr, "[%s] log: %s\n", it_case(), line);
}

/* Lines holding every one of the (NULL-terminated) substrings. */
static int count_lines(const char *a, const char *b) {
  int n = 0;
  pthread_mutex_lock(&g_lock);
  for (int i = 0; i < g_nlines; i++)
    if (g_lines[i] && strstr(g_lines[i], a) && (!b || strstr(g_lines[i], b))) n++;
  pthread_mutex_unlock(&g_lock);
  return n;
}

static void free_lines(void) {
  pthread_mutex_lock(&g_lock);
  for (int i = 0; i < g_nlines; i++) free(g_lines[i]);
  g_nlines = 0;
  pthread_mutex_unlock(&g_lock);
}

static void session_story(void) {
  /* the server sends keepalives every 300 ms and the client drops after 1.5 s of silence
   * (times CONVENE_TEST_SLOW, as under valgrind) */
  char timeout[16];
  snprintf(timeout, sizeof timeout, "%d", 1500 * it_slow());
  const char *const fast_keepalive[] = {"--keepalive-interval", "300", "--keepalive-timeout", timeout,
                                        "--grace-window", "60000", NULL};
  struct child_server cs;
  child_server_start(&cs, fast_keepalive);
  otc_log_set_logger_callback(keep_line);
  otc_log_enable(OTC_LOG_LEVEL_ALL);
  CHECK_EQ(OTC_LOG_LEVEL_ALL, otc_get_log_level());

  struct rec r;
  rec_init(&r);
  otc_session_settings *settings = otc_session_settings_new();
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_connect_timeout(settings, 1000 * it_slow()));
  it_session_new_with(&r, cs.url, fx_session(), settings);
  otc_session_settings_delete(settings);
  const char *token = fx_token("publisher");
  it_connect(&r, token);
  char me[128];
  it_my_id(&r, me, sizeof me);

  /* the server hangs: keepalive timeout, reconnection attempts (which time out), then it
   * comes back and the next attempt resumes */
  child_server_signal(&cs, SIGSTOP);
  WAIT_UNTIL(atomic_load(&r.reconnecting) == 1, 10000);
  WAIT_UNTIL(count_lines("reconnection attempt 1", NULL) == 1, 10000);
  child_server_signal(&cs, SIGCONT);
  WAIT_UNTIL(atomic_load(&r.reconnected) == 1, 20000);
  it_disconnect_and_delete(&r);
  CHECK_EQ(0, atomic_load(&r.errors));

  CHECK_EQ(1, count_lines("connecting to ", cs.url));
  CHECK_EQ(1, count_lines("connected as ", me));
  CHECK_EQ(1, count_lines("connection dropped (keepalive timeout", "reconnecting"));
  CHECK(count_lines("reconnection attempt ", NULL) >= 1);
  CHECK_EQ(1, count_lines("resumed after ", NULL));
  CHECK_EQ(1, count_lines("disconnected (clientDisconnected)", NULL));
  /* every line names its session; no line holds the token (or any token) */
  int total = count_lines("", NULL);
  CHECK(total >= 6);
  CHECK_EQ(0, count_lines(token, NULL));
  CHECK_EQ(0, count_lines("T1==", NULL));
  CHECK_EQ(0, count_lines("oken", NULL));
  fprintf(stderr, "[%s] %d log lines\n", it_case(), total);

  otc_log_enable(OTC_LOG_LEVEL_WARN);
  otc_log_set_logger_callback(NULL);
  free_lines();
  rec_free(&r);
  child_server_kill(&cs);
}

/* An error is logged at OTC_LOG_LEVEL_ERROR, and a level below it hides the INFO lines. */
static void error_level(void) {
  otc_log_set_logger_callback(keep_line);
  otc_log_enable(OTC_LOG_LEVEL_ERROR);
  CHECK_EQ(OTC_LOG_LEVEL_ERROR, otc_get_log_level());
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_garbage_token()));
  WAIT_UNTIL(atomic_load(&r.errors) == 1, WAIT_MS);
  it_quiet(200);
  CHECK_EQ(1, count_lines("error 1004", NULL));
  CHECK_EQ(0, count_lines("connecting to ", NULL));
  CHECK_EQ(0, count_lines(fx_garbage_token(), NULL));
  it_delete(&r);
  otc_log_enable(OTC_LOG_LEVEL_WARN);
  otc_log_set_logger_callback(NULL);
  free_lines();
  rec_free(&r);
}

static const struct it_case cases[] = {
    CASE(session_story, 60),
    CASE(error_level, 30),
};
IT_MAIN(cases)
