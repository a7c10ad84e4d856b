/* Failures: bad tokens and session ids, no server, a server that never answers, a full session, signal checks. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* Connects with `token` to `session_id` and expects exactly one on_error(code), no on_connected
 * and no on_disconnected. */
static void expect_connect_error(const char *server, const char *session_id, const char *token, int code,
                                 const char *message_part, struct otc_session_settings *settings) {
  struct rec r;
  rec_init(&r);
  it_session_new_with(&r, server, session_id, settings);
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, token));
  WAIT_UNTIL(atomic_load(&r.errors) >= 1, WAIT_MS);
  CHECK_EQ(code, rec_error_code(&r, 0));
  if (message_part && !strstr(r.last_error_msg, message_part))
    CHECK_FAIL_("error message \"%s\" lacks \"%s\"", r.last_error_msg, message_part);
  it_quiet(300); /* the server closes the socket: no second error, no on_disconnected */
  CHECK_EQ(1, atomic_load(&r.errors));
  CHECK_EQ(0, atomic_load(&r.connected));
  CHECK_EQ(0, atomic_load(&r.disconnected));
  CHECK_NULL(otc_session_get_connection(r.session));
  /* disconnect after a failed connect: nothing */
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session));
  it_quiet(50);
  CHECK_EQ(0, atomic_load(&r.disconnected));
  it_delete(&r);
  CHECK_EQ(1, atomic_load(&r.errors));
  rec_free(&r);
}

static void bad_token(void) {
  expect_connect_error("main", fx_session(), fx_garbage_token(), OTC_SESSION_AUTHORIZATION_FAILURE, "malformed", NULL);
}

static void expired_token(void) {
  expect_connect_error("main", fx_session(), fx_token("expired"), OTC_SESSION_AUTHORIZATION_FAILURE, "expired", NULL);
}

static void token_of_other_session(void) {
  expect_connect_error("main", fx_session(), fx_token("otherSession"), OTC_SESSION_AUTHORIZATION_FAILURE,
                       "another session", NULL);
}

static void garbage_session_id(void) {
  expect_connect_error("main", "2_this-is-not-a-session-id", fx_token("publisher"), OTC_SESSION_INVALID_SESSION, NULL,
                       NULL);
  expect_connect_error("main", "garbage", fx_token("publisher"), OTC_SESSION_INVALID_SESSION, NULL, NULL);
}

/* A port nothing listens on: bound, then closed. */
static int dead_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
  CHECK_EQ(0, bind(fd, (struct sockaddr *)&a, sizeof a));
  socklen_t len = sizeof a;
  CHECK_EQ(0, getsockname(fd, (struct sockaddr *)&a, &len));
  close(fd);
  return ntohs(a.sin_port);
}

static void nothing_listening(void) {
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d", dead_port());
  expect_connect_error(url, fx_session(), fx_token("publisher"), OTC_SESSION_CONNECTION_FAILED, NULL, NULL);
}

/* A server that accepts TCP (the kernel's backlog) but never answers the WebSocket upgrade. */
static void handshake_timeout(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
  CHECK_EQ(0, bind(fd, (struct sockaddr *)&a, sizeof a));
  CHECK_EQ(0, listen(fd, 8));
  socklen_t len = sizeof a;
  CHECK_EQ(0, getsockname(fd, (struct sockaddr *)&a, &len));
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/v1", ntohs(a.sin_port));

  struct otc_session_settings *st = otc_session_settings_new();
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_connect_timeout(st, 300));
  int64_t t0 = it_now_ms();
  struct rec r;
  rec_init(&r);
  it_session_new_with(&r, url, fx_session(), st);
  otc_session_settings_delete(st);
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("publisher")));
  WAIT_UNTIL(atomic_load(&r.errors) >= 1, WAIT_MS);
  int64_t took = it_now_ms() - t0;
  CHECK_EQ(OTC_SESSION_CONNECTION_TIMED_OUT, rec_error_code(&r, 0));
  CHECK(took >= 290);
  if (it_slow() == 1) CHECK(took < 2000);
  it_quiet(300);
  CHECK_EQ(1, atomic_load(&r.errors));
  CHECK_EQ(0, atomic_load(&r.connected));
  CHECK_EQ(0, atomic_load(&r.disconnected));
  it_delete(&r);
  close(fd);
  rec_free(&r);
}

/* The "full" server allows one connection per session. */
static void session_full(void) {
  struct rec first;
  rec_init(&first);
  it_session_new(&first, "full", fx_session());
  it_connect(&first, fx_token("publisher"));
  expect_connect_error("full", fx_session(), fx_token("publisher2"), OTC_SESSION_CONNECTION_LIMIT_EXCEEDED, NULL, NULL);
  CHECK_EQ(0, atomic_load(&first.conn_created)); /* the refused client never joined */
  it_disconnect_and_delete(&first);
  CHECK_EQ(0, atomic_load(&first.errors));
  rec_free(&first);
}

static char *repeat(char c, size_t n) {
  char *s = malloc(n + 1);
  CHECK_NOT_NULL(s);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

static void signal_validation(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  struct otc_signal_options opts = {OTC_TRUE};
  /* before connect */
  CHECK_EQ(OTC_SESSION_NOT_CONNECTED, otc_session_send_signal(r.session, "chat", "x"));
  CHECK_EQ(OTC_SESSION_NOT_CONNECTED, otc_session_send_signal_with_options(r.session, "chat", "x", opts));
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER, otc_session_send_signal_to_connection(r.session, "chat", "x", NULL));
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER, otc_session_send_signal(NULL, "chat", "x"));

  it_connect(&r, fx_token("publisher"));
  char me[128];
  it_my_id(&r, me, sizeof me);
  char *t128 = repeat('t', 128), *t129 = repeat('t', 129), *d8192 = repeat('d', 8192), *d8193 = repeat('d', 8193);
  CHECK_EQ(OTC_SESSION_SIGNAL_TYPE_TOO_LONG, otc_session_send_signal(r.session, t129, "x"));
  CHECK_EQ(OTC_SESSION_SIGNAL_TYPE_TOO_LONG, otc_session_send_signal_with_options(r.session, t129, "x", opts));
  CHECK_EQ(OTC_SESSION_INVALID_SIGNAL_TYPE, otc_session_send_signal(r.session, "bad type!", "x"));
  CHECK_EQ(OTC_SESSION_INVALID_SIGNAL_TYPE, otc_session_send_signal(r.session, "chat.room", "x"));
  CHECK_EQ(OTC_SESSION_SIGNAL_DATA_TOO_LONG, otc_session_send_signal(r.session, "chat", d8193));
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER, otc_session_send_signal(r.session, "chat", "\xff\xfe")); /* not UTF-8 */
  /* at the limits: accepted by the library and by the server, delivered intact */
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(r.session, t128, d8192));
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(r.session, NULL, NULL)); /* type and data default to "" */
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(r.session, "utf8", "h\xc3\xa9llo \xe2\x82\xac"));
  WAIT_UNTIL(atomic_load(&r.signals) == 3, WAIT_MS);
  CHECK(rec_signal_is(&r, 0, t128, d8192, me));
  CHECK(rec_signal_is(&r, 1, "", "", me));
  CHECK(rec_signal_is(&r, 2, "utf8", "h\xc3\xa9llo \xe2\x82\xac", me));
  it_quiet(100);
  CHECK_EQ(3, atomic_load(&r.signals));
  CHECK_EQ(0, atomic_load(&r.errors));
  it_disconnect_and_delete(&r);
  free(t128);
  free(t129);
  free(d8192);
  free(d8193);
  rec_free(&r);
}

/* A subscriber may not signal: the call succeeds, the server's refusal comes as on_error 1550. */
static void subscriber_cannot_signal(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  it_connect(&r, fx_token("subscriber"));
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(r.session, "chat", "x"));
  WAIT_UNTIL(atomic_load(&r.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_SESSION_UNABLE_TO_SEND_SIGNAL, rec_error_code(&r, 0));
  CHECK_EQ(0, atomic_load(&r.signals));
  /* a subscriber may not publish either */
  struct prec p;
  prec_init(&p, "nope");
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(r.session, p.publisher));
  WAIT_UNTIL(atomic_load(&p.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_PUBLISHER_UNABLE_TO_PUBLISH, p.last_error);
  CHECK_EQ(0, atomic_load(&p.created));
  CHECK_NULL(otc_publisher_get_stream(p.publisher));
  it_disconnect_and_delete(&r);
  CHECK_EQ(1, atomic_load(&r.errors));
  prec_free(&p);
  rec_free(&r);
}

/* Requests to a session that is not connected. */
static void requests_when_not_connected(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  struct prec p;
  prec_init(&p, "cam");
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(r.session, p.publisher));
  WAIT_UNTIL(atomic_load(&p.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_PUBLISHER_SESSION_DISCONNECTED, p.last_error);
  CHECK_EQ(OTC_SUCCESS, otc_session_force_mute_stream(r.session, "s-1"));
  WAIT_UNTIL(atomic_load(&r.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_SESSION_NOT_CONNECTED, rec_error_code(&r, 0));
  CHECK_EQ(OTC_SUCCESS, otc_session_unpublish(r.session, p.publisher));
  WAIT_UNTIL(atomic_load(&r.errors) == 2, WAIT_MS);
  CHECK_EQ(OTC_SESSION_PUBLISHER_NOT_FOUND, rec_error_code(&r, 1));
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER, otc_session_force_disconnect(r.session, NULL));
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER, otc_session_force_mute_stream(r.session, NULL));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_publish(r.session, NULL));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_connect(r.session, ""));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_connect(r.session, NULL));
  it_delete(&r);
  prec_free(&p);
  rec_free(&r);
}

static const struct it_case cases[] = {
    CASE(bad_token, 30),
    CASE(expired_token, 30),
    CASE(token_of_other_session, 30),
    CASE(garbage_session_id, 30),
    CASE(nothing_listening, 30),
    CASE(handshake_timeout, 30),
    CASE(session_full, 30),
    CASE(signal_validation, 30),
    CASE(subscriber_cannot_signal, 30),
    CASE(requests_when_not_connected, 30),
};
IT_MAIN(cases)
