/*
 * The service thread's event loop (service.c): libev when the core is built with it (and
 * lws's libev plugin is installed), poll() when CONVENE_EVENT_LOOP=poll; in both, a timer
 * fires on time. The timer check is about correctness, not speed: lws 4.1's libev plugin
 * can leave an earlier timer waiting behind a later one (a 300 ms connect timeout fired
 * after 30 s) unless the service loop works around it.
 */
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

static void on_error(otc_session *s, void *u, const char *msg, enum otc_session_error_code code) {
  (void)s, (void)msg, (void)code;
  atomic_fetch_add((atomic_int *)u, 1);
}

/* A listener that never accepts: the TCP connect succeeds, the WebSocket upgrade never does. */
static int black_hole(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(0, bind(fd, (struct sockaddr *)&a, sizeof a));
  CHECK_EQ(0, listen(fd, 16));
  socklen_t len = sizeof a;
  CHECK_EQ(0, getsockname(fd, (struct sockaddr *)&a, &len));
  *port = ntohs(a.sin_port);
  return fd;
}

static otc_session *connect_with_timeout(int port, int timeout_ms, atomic_int *errors) {
  struct otc_session_settings *st = otc_session_settings_new();
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d", port);
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_server_url(st, url));
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_connect_timeout(st, timeout_ms));
  struct otc_session_callbacks cb = {.on_error = on_error, .user_data = errors};
  otc_session *s = otc_session_new_with_settings("key", "2_sid", &cb, st);
  otc_session_settings_delete(st);
  CHECK_NOT_NULL(s);
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(s, "token"));
  return s;
}

/*
 * A session with a 6 s connect timeout arms the loop's timer first; a second one with a
 * 300 ms timeout must still fail after about 300 ms. Returns the ms until its on_error.
 */
static int64_t earlier_timer_fires_after(int port) {
  atomic_int slow_errors = 0, fast_errors = 0;
  otc_session *slow = connect_with_timeout(port, 6000, &slow_errors);
  nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL); /* its timer is armed */
  int64_t t0 = cv_now_ms();
  otc_session *fast = connect_with_timeout(port, 300, &fast_errors);
  while (atomic_load(&fast_errors) == 0 && cv_now_ms() - t0 < 8000) nanosleep(&(struct timespec){0, 5000000}, NULL);
  int64_t elapsed = cv_now_ms() - t0;
  CHECK_EQ(0, atomic_load(&slow_errors)); /* not yet: 6 s */
  CHECK_EQ(OTC_SUCCESS, otc_session_delete(fast));
  CHECK_EQ(OTC_SUCCESS, otc_session_delete(slow));
  return elapsed;
}

static void check_loop(const char *want, int port) {
  CHECK_EQ(OTC_SUCCESS, otc_init(NULL));
  CHECK_STREQ(want, convene_event_loop_name());
  int64_t ms = earlier_timer_fires_after(port);
  CHECK(ms >= 250);  /* not before its time */
  CHECK(ms < 3000);  /* and not stuck behind the later timer (6 s) */
  CHECK_EQ(OTC_SUCCESS, otc_destroy());
}

int main(void) {
  int port;
  int fd = black_hole(&port);
  unsetenv("CONVENE_EVENT_LOOP");
#if defined(CONVENE_WITH_LIBEV)
  check_loop("libev", port);
#else
  check_loop("poll", port);
#endif
  setenv("CONVENE_EVENT_LOOP", "poll", 1);
  check_loop("poll", port);
  unsetenv("CONVENE_EVENT_LOOP");
  close(fd);
  return 0;
}
