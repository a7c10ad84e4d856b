/* Connecting: on_connected once, this client's connection, capabilities by role, tokens. */
#include "harness.h"

static void connect_once(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  CHECK_NULL(otc_session_get_connection(r.session)); /* nothing before on_connected */
  char *sid = otc_session_get_id(r.session);
  CHECK_STREQ(fx_session(), sid); /* owned by the session: not freed */
  it_connect(&r, fx_token("publisher"));
  otc_connection *me = otc_session_get_connection(r.session);
  CHECK_NOT_NULL(me);
  CHECK(strlen(otc_connection_get_id(me)) > 0);
  CHECK_STREQ("name=pub", otc_connection_get_data(me));
  CHECK_STREQ(fx_session(), otc_connection_get_session_id(me));
  CHECK(otc_connection_get_creation_time(me) > 1700000000000LL);
  it_quiet(200);
  CHECK_EQ(1, atomic_load(&r.connected));
  CHECK_EQ(0, atomic_load(&r.disconnected));
  CHECK_EQ(0, atomic_load(&r.errors));
  CHECK_EQ(0, atomic_load(&r.conn_created)); /* alone in the session */
  it_disconnect_and_delete(&r);
  CHECK_EQ(1, atomic_load(&r.connected));
  CHECK_EQ(1, atomic_load(&r.disconnected));
  CHECK_EQ(0, atomic_load(&r.errors));
  rec_free(&r);
}

static void check_caps(const char *kind, otc_bool publish, otc_bool force_mute, otc_bool force_disconnect) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  struct otc_session_capabilities caps = otc_session_get_capabilities(r.session);
  CHECK_EQ(0, caps.publish + caps.force_mute + caps.force_disconnect);
  it_connect(&r, fx_token(kind));
  caps = otc_session_get_capabilities(r.session);
  if (caps.publish != publish || caps.force_mute != force_mute || caps.force_disconnect != force_disconnect)
    CHECK_FAIL_("%s: capabilities publish=%d force_mute=%d force_disconnect=%d", kind, caps.publish, caps.force_mute,
                caps.force_disconnect);
  it_disconnect_and_delete(&r);
  CHECK_EQ(0, atomic_load(&r.errors));
  rec_free(&r);
}

static void capabilities_by_role(void) {
  check_caps("publisher", OTC_TRUE, OTC_FALSE, OTC_FALSE);
  check_caps("moderator", OTC_TRUE, OTC_TRUE, OTC_TRUE);
  check_caps("subscriber", OTC_FALSE, OTC_FALSE, OTC_FALSE);
  check_caps("publisheronly", OTC_TRUE, OTC_FALSE, OTC_FALSE);
}

static void legacy_token(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  it_connect(&r, fx_token("legacy"));
  otc_connection *me = otc_session_get_connection(r.session);
  CHECK_STREQ("name=legacy", otc_connection_get_data(me));
  it_disconnect_and_delete(&r);
  CHECK_EQ(1, atomic_load(&r.disconnected));
  rec_free(&r);
}

/* A session object can connect again after it disconnected. */
static void reconnect_same_object(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  char first[128], second[128];
  it_connect(&r, fx_token("publisher"));
  it_my_id(&r, first, sizeof first);
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r.session));
  WAIT_UNTIL(atomic_load(&r.disconnected) == 1, WAIT_MS);
  it_connect(&r, fx_token("publisher"));
  CHECK_EQ(2, atomic_load(&r.connected));
  it_my_id(&r, second, sizeof second);
  CHECK(strcmp(first, second) != 0); /* a new connection */
  it_disconnect_and_delete(&r);
  CHECK_EQ(2, atomic_load(&r.disconnected));
  CHECK_EQ(0, atomic_load(&r.errors));
  rec_free(&r);
}

/* connect while connected: on_error 1015, the session stays connected. */
static void connect_twice(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  it_connect(&r, fx_token("publisher"));
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("publisher")));
  WAIT_UNTIL(atomic_load(&r.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_SESSION_ILLEGAL_STATE, rec_error_code(&r, 0));
  /* still connected: a signal to everyone comes back */
  char me[128];
  it_my_id(&r, me, sizeof me);
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(r.session, "ping", "1"));
  WAIT_UNTIL(atomic_load(&r.signals) == 1, WAIT_MS);
  CHECK(rec_signal_is(&r, 0, "ping", "1", me));
  CHECK_EQ(1, atomic_load(&r.connected));
  it_disconnect_and_delete(&r);
  CHECK_EQ(1, atomic_load(&r.disconnected));
  rec_free(&r);
}

/* The session is connecting when connect is called again: 1015, then one on_connected. */
static void connect_twice_fast(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("publisher")));
  CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("publisher")));
  WAIT_UNTIL(atomic_load(&r.connected) == 1 && atomic_load(&r.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_SESSION_ILLEGAL_STATE, rec_error_code(&r, 0));
  it_quiet(200);
  CHECK_EQ(1, atomic_load(&r.connected));
  it_disconnect_and_delete(&r);
  rec_free(&r);
}

static void init_twice(void) {
  /* it_main called otc_init already */
  CHECK_EQ(OTC_ILLEGAL_STATE, otc_init(NULL));
  CHECK_EQ(OTC_SUCCESS, otc_destroy());
  CHECK_EQ(OTC_ILLEGAL_STATE, otc_destroy());
  struct otc_session_callbacks cb = {0};
  CHECK_NULL(otc_session_new(fx_api_key(), fx_session(), &cb)); /* not initialised */
  int dummy;
  CHECK_EQ(OTC_INVALID_PARAM, otc_init(&dummy));
  /* init again works, and the library is usable */
  CHECK_EQ(OTC_SUCCESS, otc_init(NULL));
  CHECK_EQ(OTC_ILLEGAL_STATE, otc_init(NULL));
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  it_connect(&r, fx_token("publisher"));
  it_disconnect_and_delete(&r);
  rec_free(&r);
}

/* otc_destroy with a connected session: on_disconnected fires, the session is freed. */
static void destroy_with_live_session(void) {
  struct rec r;
  rec_init(&r);
  it_session_new(&r, "main", fx_session());
  it_connect(&r, fx_token("publisher"));
  struct prec p;
  prec_init(&p, "cam");
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(r.session, p.publisher));
  WAIT_UNTIL(atomic_load(&p.created) == 1, WAIT_MS);
  CHECK_EQ(OTC_SUCCESS, otc_destroy());
  CHECK_EQ(1, atomic_load(&r.disconnected));
  CHECK_EQ(1, atomic_load(&p.destroyed));
  atomic_store(&r.deleted, 1);
  prec_free(&p); /* without a service thread: freed at once */
  CHECK_EQ(OTC_SUCCESS, otc_init(NULL));
  /* the disconnect request went out before the socket closed: a newcomer sees no connection
   * (or sees it leave at once), rather than one kept for the 30 s grace window of a drop */
  struct rec late;
  rec_init(&late);
  it_session_new(&late, "main", fx_session());
  it_connect(&late, fx_token("publisher2"));
  WAIT_UNTIL(atomic_load(&late.conn_created) == atomic_load(&late.conn_dropped) &&
                 atomic_load(&late.stream_received) == atomic_load(&late.stream_dropped),
             3000);
  it_disconnect_and_delete(&late);
  rec_free(&late);
  rec_free(&r);
}

static const struct it_case cases[] = {
    CASE(connect_once, 30),
    CASE(capabilities_by_role, 30),
    CASE(legacy_token, 30),
    CASE(reconnect_same_object, 30),
    CASE(connect_twice, 30),
    CASE(connect_twice_fast, 30),
    CASE(init_twice, 30),
    CASE(destroy_with_live_session, 30),
};
IT_MAIN(cases)
