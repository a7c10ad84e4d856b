/* Ending sessions: disconnect twice, delete at awkward moments, a server that hangs or dies. */
#include <signal.h>

#include "harness.h"

static void disconnect_twice(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  it_connect(&r, fx_token("publisher"));
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session));
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session));
  WAIT_UNTIL(atomic_load(&r.disconnected) == 1, WAIT_MS);
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session));
  it_quiet(300);
  CHECK_EQ(1, atomic_load(&r.disconnected));
  CHECK_EQ(0, atomic_load(&r.errors));
  CHECK_EQ(OTC_SESSION_NOT_CONNECTED, otc_session_send_signal(r.session, "x", "y"));
  it_delete(&r);
  CHECK_EQ(1, atomic_load(&r.disconnected));
  rec_free(&r);
}

/* disconnect before connecting, and before the connect got anywhere */
static void disconnect_early(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session)); /* never connected: nothing */
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("publisher")));
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session)); /* while connecting: no on_connected */
  it_quiet(300);
  /* (if this thread was descheduled long enough for the handshake to complete in between,
   * the session connected then disconnected: either way, the two come in pairs) */
  int first = atomic_load(&r.connected);
  CHECK(first <= 1);
  CHECK_EQ(first, atomic_load(&r.disconnected));
  CHECK_EQ(0, atomic_load(&r.errors));
  /* and the object still connects afterwards */
  it_connect(&r, fx_token("publisher"));
  it_disconnect_and_delete(&r);
  CHECK_EQ(first + 1, atomic_load(&r.connected));
  CHECK_EQ(first + 1, atomic_load(&r.disconnected));
  rec_free(&r);
}

static void delete_while_connecting(void) {
  for (int i = 0; i < 20; i++) {
    struct rec r;
    rec_init(&r);
    it_session_new(&r, "main", fx_session());
    CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("publisher")));
    if (i % 2) it_sleep_ms(i); /* at different points of the handshake */
    it_delete(&r);
    it_quiet(20);
    CHECK_EQ(0, atomic_load(&r.late));
    CHECK_EQ(0, atomic_load(&r.errors));
    CHECK(atomic_load(&r.connected) <= 1);
    CHECK_EQ(atomic_load(&r.connected), atomic_load(&r.disconnected));
    rec_free(&r);
  }
  it_quiet(200);
}

/* otc_session_delete from on_connected: no crash, no callback after, the peer sees it leave. */
static void delete_in_on_connected(void) {
  struct rec peer, r;
  rec_init(&peer);
  rec_init(&r);
  it_session_new(&peer, "main", fx_session());
  it_connect(&peer, fx_token("publisher2"));
  struct prec pub;
  prec_init(&pub, "peer-cam"); /* so the deleted session has a stream to announce */
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(peer.session, pub.publisher));
  WAIT_UNTIL(atomic_load(&pub.created) == 1, WAIT_MS);

  it_session_new(&r, "main", fx_session());
  atomic_store(&r.delete_in, REC_IN_CONNECTED);
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("publisher")));
  WAIT_UNTIL(atomic_load(&r.connected) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&peer.conn_created) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&peer.conn_dropped) == 1, WAIT_MS);
  it_quiet(200);
  CHECK_EQ(0, atomic_load(&r.late));
  CHECK_EQ(0, atomic_load(&r.conn_created)); /* after on_connected returned: none */
  CHECK_EQ(0, atomic_load(&r.stream_received));
  CHECK_EQ(0, atomic_load(&r.disconnected));
  CHECK_EQ(0, atomic_load(&r.errors));
  r.session = NULL;
  prec_free(&pub);
  it_disconnect_and_delete(&peer);
  CHECK_EQ(0, atomic_load(&peer.errors));
  rec_free(&r);
  rec_free(&peer);
}

/* otc_session_disconnect from on_connected: one on_disconnected, nothing else. */
static void disconnect_in_on_connected(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  atomic_store(&r.disconnect_in, REC_IN_CONNECTED);
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("publisher")));
  WAIT_UNTIL(atomic_load(&r.disconnected) == 1, WAIT_MS);
  it_quiet(200);
  CHECK_EQ(1, atomic_load(&r.connected));
  CHECK_EQ(1, atomic_load(&r.disconnected));
  CHECK_EQ(0, atomic_load(&r.errors));
  it_delete(&r);
  rec_free(&r);
}

/* otc_session_delete of a connected session (outside callbacks): the header promises
 * on_disconnected before it returns, and nothing after. */
static void delete_connected(void) {
  struct rec peer, r;
  rec_init(&peer);
  rec_init(&r);
  it_session_new(&peer, "main", fx_session());
  it_connect(&peer, fx_token("publisher2"));
  it_session_new(&r, "main", fx_session());
  it_connect(&r, fx_token("publisher"));
  WAIT_UNTIL(atomic_load(&peer.conn_created) == 1, WAIT_MS);
  it_delete(&r);
  CHECK_EQ(1, atomic_load(&r.disconnected));
  WAIT_UNTIL(atomic_load(&peer.conn_dropped) == 1, WAIT_MS); /* the disconnect went out */
  it_quiet(100);
  CHECK_EQ(0, atomic_load(&r.late));
  CHECK_EQ(0, atomic_load(&r.errors));
  it_disconnect_and_delete(&peer);
  rec_free(&r);
  rec_free(&peer);
}

/* The server process dies (SIGKILL): one on_error(1022), one on_disconnected. */
/* The server dies: the client reconnects, finds nothing, and after the grace window
 * (500 ms here) reports 1022 then on_disconnected; the publisher's stream goes. */
static const char *const k_short_grace[] = {"--grace-window", "500", NULL};

static void server_killed(void) {
  struct child_server cs;
  child_server_start(&cs, k_short_grace);
  struct rec r;
  rec_init(&r);
  it_session_new(&r, cs.url, fx_session());
  it_connect(&r, fx_token("publisher"));
  struct prec pub;
  prec_init(&pub, "cam");
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(r.session, pub.publisher));
  WAIT_UNTIL(atomic_load(&pub.created) == 1, WAIT_MS);
  child_server_kill(&cs);
  WAIT_UNTIL(atomic_load(&r.disconnected) == 1, WAIT_MS);
  CHECK_EQ(1, atomic_load(&r.reconnecting));
  CHECK_EQ(0, atomic_load(&r.reconnected));
  CHECK_EQ(1, atomic_load(&r.errors));
  CHECK_EQ(OTC_SESSION_CONNECTION_DROPPED, rec_error_code(&r, 0));
  CHECK_EQ(1, atomic_load(&pub.destroyed));
  CHECK_NULL(otc_publisher_get_stream(pub.publisher));
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session)); /* after the fact: nothing */
  it_quiet(200);
  CHECK_EQ(1, atomic_load(&r.disconnected));
  CHECK_EQ(1, atomic_load(&r.errors));
  it_delete(&r);
  prec_free(&pub);
  rec_free(&r);
}

/* The server hangs (SIGSTOP): disconnect still ends the session at once, exactly once. */
static void disconnect_server_hung(void) {
  struct child_server cs;
  child_server_start(&cs, NULL);
  struct rec r;
  rec_init(&r);
  it_session_new(&r, cs.url, fx_session());
  it_connect(&r, fx_token("publisher"));
  child_server_signal(&cs, SIGSTOP);
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session));
  WAIT_UNTIL(atomic_load(&r.disconnected) == 1, WAIT_MS);
  child_server_kill(&cs); /* the socket now dies under the closing link */
  it_quiet(300);
  CHECK_EQ(1, atomic_load(&r.disconnected));
  CHECK_EQ(0, atomic_load(&r.errors));
  it_delete(&r);
  rec_free(&r);
}

/* Delete the session while its server hangs, then let the server die. */
static void delete_server_hung(void) {
  struct child_server cs;
  child_server_start(&cs, NULL);
  struct rec r;
  rec_init(&r);
  it_session_new(&r, cs.url, fx_session());
  it_connect(&r, fx_token("publisher"));
  child_server_signal(&cs, SIGSTOP);
  it_delete(&r);
  CHECK_EQ(1, atomic_load(&r.disconnected));
  child_server_kill(&cs);
  it_quiet(200);
  rec_free(&r);
}

/* SIGTERM: the server says serverRotation and closes: the client reconnects without an
 * error; nothing comes back, so after the grace window one error (1022), one on_disconnected. */
static void server_shutdown(void) {
  struct child_server cs;
  child_server_start(&cs, k_short_grace);
  struct rec r;
  rec_init(&r);
  it_session_new(&r, cs.url, fx_session());
  it_connect(&r, fx_token("publisher"));
  child_server_signal(&cs, SIGTERM);
  WAIT_UNTIL(atomic_load(&r.reconnecting) == 1, WAIT_MS);
  CHECK_EQ(0, atomic_load(&r.errors));
  WAIT_UNTIL(atomic_load(&r.disconnected) == 1, WAIT_MS);
  it_quiet(200);
  CHECK_EQ(1, atomic_load(&r.errors));
  CHECK_EQ(OTC_SESSION_CONNECTION_DROPPED, rec_error_code(&r, 0));
  CHECK_EQ(1, atomic_load(&r.disconnected));
  it_delete(&r);
  child_server_kill(&cs);
  rec_free(&r);
}

static const struct it_case cases[] = {
    CASE(disconnect_twice, 30),
    CASE(disconnect_early, 30),
    CASE(delete_while_connecting, 60),
    CASE(delete_in_on_connected, 30),
    CASE(disconnect_in_on_connected, 30),
    CASE(delete_connected, 30),
    CASE(server_killed, 30),
    CASE(disconnect_server_hung, 30),
    CASE(delete_server_hung, 30),
    CASE(server_shutdown, 30),
};
IT_MAIN(cases)
