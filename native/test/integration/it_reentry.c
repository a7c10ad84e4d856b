/* Calls from inside callbacks, and publishers deleted or unpublished at awkward moments. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* otc_session_delete from on_error (a refused token): no crash, nothing after. */
static void delete_in_on_error(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  atomic_store(&r.delete_in, REC_IN_ERROR);
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_garbage_token()));
  WAIT_UNTIL(atomic_load(&r.errors) == 1, WAIT_MS);
  r.session = NULL;
  it_quiet(300);
  CHECK_EQ(1, atomic_load(&r.errors));
  CHECK_EQ(0, atomic_load(&r.connected) + atomic_load(&r.disconnected));
  rec_free(&r); /* checks that nothing came late */
}

/* otc_session_delete from on_error when nothing listens (the error comes from the socket layer). */
static void delete_in_on_error_no_server(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
  CHECK_EQ(0, bind(fd, (struct sockaddr *)&a, sizeof a));
  socklen_t len = sizeof a;
  CHECK_EQ(0, getsockname(fd, (struct sockaddr *)&a, &len));
  close(fd);
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d", ntohs(a.sin_port));
  for (int i = 0; i < 5; i++) {
    struct rec r;
    rec_init(&r);
    it_session_new(&r, url, fx_session());
    atomic_store(&r.delete_in, REC_IN_ERROR);
    CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("publisher")));
    WAIT_UNTIL(atomic_load(&r.errors) == 1, WAIT_MS);
    CHECK_EQ(OTC_SESSION_CONNECTION_FAILED, rec_error_code(&r, 0));
    r.session = NULL;
    it_quiet(50);
    rec_free(&r);
  }
}

/* otc_session_delete from on_disconnected. */
static void delete_in_on_disconnected(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  atomic_store(&r.delete_in, REC_IN_DISCONNECTED);
  it_connect(&r, fx_token("publisher"));
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session));
  WAIT_UNTIL(atomic_load(&r.disconnected) == 1, WAIT_MS);
  r.session = NULL;
  it_quiet(200);
  CHECK_EQ(0, atomic_load(&r.errors));
  rec_free(&r);
}

/* otc_session_delete from on_signal_received, with more signals queued behind it. */
static void delete_in_on_signal(void) {
  struct rec a, b;
  rec_init(&a);
  rec_init(&b);
  it_session_new(&a, "main", fx_session());
  it_session_new(&b, "main", fx_session());
  it_connect(&a, fx_token("publisher"));
  it_connect(&b, fx_token("publisher2"));
  atomic_store(&b.delete_in, REC_IN_SIGNAL);
  for (int i = 0; i < 20; i++) CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(a.session, "burst", "x"));
  WAIT_UNTIL(atomic_load(&a.signals) == 20, WAIT_MS);
  WAIT_UNTIL(atomic_load(&a.conn_dropped) == 1, WAIT_MS); /* b's delete disconnected it */
  b.session = NULL;
  CHECK_EQ(1, atomic_load(&b.signals)); /* none after the one it deleted in */
  it_disconnect_and_delete(&a);
  CHECK_EQ(0, atomic_load(&a.errors) + atomic_load(&b.errors));
  rec_free(&a);
  rec_free(&b);
}

/* otc_session_delete from on_connection_created while connected frame's list is being replayed. */
static void delete_in_on_connection_created(void) {
  struct rec a, b, c;
  rec_init(&a);
  rec_init(&b);
  rec_init(&c);
  it_session_new(&a, "main", fx_session());
  it_session_new(&b, "main", fx_session());
  it_connect(&a, fx_token("publisher"));
  it_connect(&b, fx_token("publisher2"));
  it_session_new(&c, "main", fx_session());
  atomic_store(&c.delete_in, REC_IN_CONN_CREATED);
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(c.session, fx_token("subscriber")));
  WAIT_UNTIL(atomic_load(&c.conn_created) == 1, WAIT_MS);
  c.session = NULL;
  WAIT_UNTIL(atomic_load(&a.conn_dropped) == 1 && atomic_load(&b.conn_dropped) == 1, WAIT_MS);
  it_quiet(100);
  CHECK_EQ(1, atomic_load(&c.conn_created)); /* the second connection of the list: not reported */
  CHECK_EQ(0, atomic_load(&c.disconnected));
  it_disconnect_and_delete(&a);
  it_disconnect_and_delete(&b);
  rec_free(&a);
  rec_free(&b);
  rec_free(&c);
}

/* otc_publisher_delete from its own on_stream_created: deferred, then unpublished. */
static void publisher_delete_in_callback(void) {
  struct rec a, b;
  rec_init(&a);
  rec_init(&b);
  it_session_new(&a, "main", fx_session());
  it_session_new(&b, "main", fx_session());
  it_connect(&a, fx_token("publisher"));
  it_connect(&b, fx_token("publisher2"));
  struct prec pub;
  prec_init(&pub, "short-lived");
  atomic_store(&pub.delete_in_created, 1);
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(a.session, pub.publisher));
  WAIT_UNTIL(atomic_load(&pub.created) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&b.stream_received) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&b.stream_dropped) == 1, WAIT_MS);
  it_quiet(100);
  CHECK_EQ(0, atomic_load(&pub.destroyed)); /* deleted: no more publisher callbacks */
  CHECK_EQ(0, atomic_load(&a.errors));
  it_disconnect_and_delete(&a);
  it_disconnect_and_delete(&b);
  prec_free(&pub);
  rec_free(&a);
  rec_free(&b);
}

/* Delete a publisher before its publish result arrives: the stream must not stay behind. */
static void publisher_delete_before_result(void) {
  struct rec a, b;
  rec_init(&a);
  rec_init(&b);
  it_session_new(&a, "main", fx_session());
  it_session_new(&b, "main", fx_session());
  it_connect(&a, fx_token("publisher"));
  it_connect(&b, fx_token("publisher2"));
  for (int i = 0; i < 5; i++) {
    struct prec pub;
    prec_init(&pub, "gone-early");
    CHECK_EQ(OTC_SUCCESS, otc_session_publish(a.session, pub.publisher));
    prec_free(&pub); /* blocks until deleted on the service thread: before the result */
  }
  /* b sees each stream appear and disappear (or never) */
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(a.session, "barrier", ""));
  WAIT_UNTIL(atomic_load(&b.signals) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&b.stream_received) == atomic_load(&b.stream_dropped), WAIT_MS);
  /* a newcomer sees no stream */
  struct rec c;
  rec_init(&c);
  it_session_new(&c, "main", fx_session());
  it_connect(&c, fx_token("subscriber"));
  WAIT_UNTIL(atomic_load(&c.conn_created) == 2, WAIT_MS);
  WAIT_UNTIL(atomic_load(&c.stream_received) == atomic_load(&c.stream_dropped), WAIT_MS);
  CHECK_EQ(0, atomic_load(&a.errors) + atomic_load(&b.errors) + atomic_load(&c.errors));
  it_disconnect_and_delete(&a);
  it_disconnect_and_delete(&b);
  it_disconnect_and_delete(&c);
  rec_free(&a);
  rec_free(&b);
  rec_free(&c);
}

/* Unpublish before the publish result arrives: no on_stream_created, no stream left behind. */
static void unpublish_before_result(void) {
  struct rec a, b;
  rec_init(&a);
  rec_init(&b);
  it_session_new(&a, "main", fx_session());
  it_session_new(&b, "main", fx_session());
  it_connect(&a, fx_token("publisher"));
  it_connect(&b, fx_token("publisher2"));
  struct prec pub;
  prec_init(&pub, "cam");
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(a.session, pub.publisher));
  CHECK_EQ(OTC_SUCCESS, otc_session_unpublish(a.session, pub.publisher));
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(a.session, "barrier", ""));
  WAIT_UNTIL(atomic_load(&b.signals) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&b.stream_received) == atomic_load(&b.stream_dropped), WAIT_MS);
  /* normally no on_stream_created; 1 (and its on_stream_destroyed) only if this thread was
   * descheduled long enough for the result to come back between the two calls */
  int first = atomic_load(&pub.created);
  CHECK(first <= 1);
  CHECK_EQ(first, atomic_load(&pub.destroyed));
  CHECK_NULL(otc_publisher_get_stream(pub.publisher));
  /* and it can publish again */
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(a.session, pub.publisher));
  WAIT_UNTIL(atomic_load(&pub.created) == first + 1, WAIT_MS);
  CHECK_EQ(0, atomic_load(&a.errors) + atomic_load(&pub.errors));
  it_disconnect_and_delete(&a);
  it_disconnect_and_delete(&b);
  prec_free(&pub);
  rec_free(&a);
  rec_free(&b);
}

static const struct it_case cases[] = {
    CASE(delete_in_on_error, 30),
    CASE(delete_in_on_error_no_server, 30),
    CASE(delete_in_on_disconnected, 30),
    CASE(delete_in_on_signal, 30),
    CASE(delete_in_on_connection_created, 30),
    CASE(publisher_delete_in_callback, 30),
    CASE(publisher_delete_before_result, 30),
    CASE(unpublish_before_result, 30),
};
IT_MAIN(cases)
