/* Two sessions in one process: connections, streams and signals between them. */
#include "harness.h"
#include "internal.h" /* mask_keys_from_pool: cv_transport_random_calls_for_testing */

struct pair {
  struct rec a, b;
  char a_id[128], b_id[128];
};

/* a connects, then b; each sees the other once. */
static void pair_connect(struct pair *p, const char *a_token, const char *b_token) {
  rec_init(&p->a);
  rec_init(&p->b);
  it_session_new(&p->a, "main", fx_session());
  it_session_new(&p->b, "main", fx_session());
  it_connect(&p->a, fx_token(a_token));
  it_connect(&p->b, fx_token(b_token));
  it_my_id(&p->a, p->a_id, sizeof p->a_id);
  it_my_id(&p->b, p->b_id, sizeof p->b_id);
  WAIT_UNTIL(atomic_load(&p->a.conn_created) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&p->b.conn_created) == 1, WAIT_MS);
  pthread_mutex_lock(&p->a.lock);
  CHECK_STREQ(p->b_id, otc_connection_get_id(p->a.last_conn_created));
  pthread_mutex_unlock(&p->a.lock);
  pthread_mutex_lock(&p->b.lock);
  CHECK_STREQ(p->a_id, otc_connection_get_id(p->b.last_conn_created));
  pthread_mutex_unlock(&p->b.lock);
}

static void pair_end(struct pair *p) {
  if (p->a.session) it_disconnect_and_delete(&p->a);
  if (p->b.session) it_disconnect_and_delete(&p->b);
  CHECK_EQ(0, atomic_load(&p->a.errors));
  CHECK_EQ(0, atomic_load(&p->b.errors));
  CHECK_EQ(1, atomic_load(&p->a.connected));
  CHECK_EQ(1, atomic_load(&p->b.connected));
  CHECK_EQ(1, atomic_load(&p->a.disconnected));
  CHECK_EQ(1, atomic_load(&p->b.disconnected));
  rec_free(&p->a);
  rec_free(&p->b);
}

static void two_sessions_see_each_other(void) {
  struct pair p;
  pair_connect(&p, "publisher", "publisher2");
  pthread_mutex_lock(&p.b.lock);
  CHECK_STREQ("name=pub", otc_connection_get_data(p.b.last_conn_created)); /* the token's data */
  CHECK_STREQ(fx_session(), otc_connection_get_session_id(p.b.last_conn_created));
  pthread_mutex_unlock(&p.b.lock);
  it_disconnect_and_delete(&p.b);
  WAIT_UNTIL(atomic_load(&p.a.conn_dropped) == 1, WAIT_MS);
  CHECK_STREQ(p.b_id, p.a.last_conn_dropped);
  it_quiet(100);
  CHECK_EQ(1, atomic_load(&p.a.conn_created));
  CHECK_EQ(1, atomic_load(&p.a.conn_dropped));
  CHECK_EQ(0, atomic_load(&p.b.conn_dropped));
  pair_end(&p);
}

/* With connection events suppressed, b hears of nobody. */
static void connection_events_suppressed(void) {
  struct rec a, b;
  rec_init(&a);
  rec_init(&b);
  it_session_new(&a, "main", fx_session());
  struct otc_session_settings *st = otc_session_settings_new();
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_connection_events_suppressed(st, OTC_TRUE));
  it_session_new_with(&b, "main", fx_session(), st);
  otc_session_settings_delete(st);
  it_connect(&a, fx_token("publisher"));
  it_connect(&b, fx_token("publisher2"));
  WAIT_UNTIL(atomic_load(&a.conn_created) == 1, WAIT_MS);
  /* barrier: a signal from a reaches b after anything a's connection caused */
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(a.session, "barrier", ""));
  WAIT_UNTIL(atomic_load(&b.signals) == 1, WAIT_MS);
  CHECK_EQ(0, atomic_load(&b.conn_created));
  /* b was never told of a's connection, yet the signal names its sender */
  char a_id[128];
  it_my_id(&a, a_id, sizeof a_id);
  CHECK(rec_signal_is(&b, 0, "barrier", "", a_id));
  it_disconnect_and_delete(&a);
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(b.session, "barrier", ""));
  WAIT_UNTIL(atomic_load(&b.signals) == 2, WAIT_MS);
  CHECK_EQ(0, atomic_load(&b.conn_dropped));
  it_disconnect_and_delete(&b);
  rec_free(&a);
  rec_free(&b);
}

static void stream_lifecycle(void) {
  struct pair p;
  pair_connect(&p, "publisher", "publisher2");
  struct prec pub;
  prec_init(&pub, "camera-1");
  CHECK_NULL(otc_publisher_get_stream(pub.publisher));
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(p.a.session, pub.publisher));
  WAIT_UNTIL(atomic_load(&pub.created) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&p.b.stream_received) == 1, WAIT_MS);

  otc_stream *mine = otc_publisher_get_stream(pub.publisher);
  CHECK_NOT_NULL(mine);
  CHECK_STREQ(pub.stream_id, otc_stream_get_id(mine));
  CHECK_STREQ("camera-1", otc_stream_get_name(mine));
  CHECK_STREQ(p.a_id, otc_connection_get_id(otc_stream_get_connection(mine)));

  pthread_mutex_lock(&p.b.lock);
  const otc_stream *seen = p.b.last_stream_received;
  CHECK_STREQ(pub.stream_id, otc_stream_get_id(seen));
  CHECK_STREQ("camera-1", otc_stream_get_name(seen));
  CHECK_EQ(OTC_TRUE, otc_stream_has_audio(seen));
  CHECK_EQ(OTC_TRUE, otc_stream_has_video(seen));
  CHECK_EQ(OTC_STREAM_VIDEO_TYPE_CAMERA, otc_stream_get_video_type(seen));
  CHECK_EQ(640, otc_stream_get_video_width(seen));
  CHECK_EQ(480, otc_stream_get_video_height(seen));
  CHECK_STREQ(p.a_id, otc_connection_get_id(otc_stream_get_connection(seen)));
  CHECK_STREQ("name=pub", otc_connection_get_data(otc_stream_get_connection(seen)));
  pthread_mutex_unlock(&p.b.lock);
  CHECK_EQ(0, atomic_load(&p.a.stream_received)); /* its own stream is the publisher's */

  /* publish the same publisher twice: refused */
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(p.a.session, pub.publisher));
  WAIT_UNTIL(atomic_load(&pub.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_PUBLISHER_UNABLE_TO_PUBLISH, pub.last_error);

  CHECK_EQ(OTC_SUCCESS, otc_publisher_set_publish_audio(pub.publisher, OTC_FALSE));
  CHECK_EQ(OTC_FALSE, otc_publisher_get_publish_audio(pub.publisher));
  WAIT_UNTIL(atomic_load(&p.b.audio_changed) == 1, WAIT_MS);
  CHECK_EQ(OTC_FALSE, p.b.last_audio);
  CHECK_EQ(OTC_SUCCESS, otc_publisher_set_publish_video(pub.publisher, OTC_FALSE));
  WAIT_UNTIL(atomic_load(&p.b.video_changed) == 1, WAIT_MS);
  CHECK_EQ(OTC_FALSE, p.b.last_video);
  CHECK_EQ(OTC_SUCCESS, otc_publisher_set_publish_audio(pub.publisher, OTC_TRUE));
  WAIT_UNTIL(atomic_load(&p.b.audio_changed) == 2, WAIT_MS);
  CHECK_EQ(OTC_TRUE, p.b.last_audio);

  CHECK_EQ(OTC_SUCCESS, otc_session_unpublish(p.a.session, pub.publisher));
  WAIT_UNTIL(atomic_load(&p.b.stream_dropped) == 1, WAIT_MS);
  CHECK_STREQ(pub.stream_id, p.b.last_stream_dropped);
  WAIT_UNTIL(atomic_load(&pub.destroyed) == 1, WAIT_MS);
  CHECK_NULL(otc_publisher_get_stream(pub.publisher));
  it_quiet(100);
  CHECK_EQ(1, atomic_load(&pub.created));
  CHECK_EQ(1, atomic_load(&pub.destroyed));
  CHECK_EQ(1, atomic_load(&p.b.stream_received));
  CHECK_EQ(1, atomic_load(&p.b.stream_dropped));
  CHECK_EQ(2, atomic_load(&p.b.audio_changed));
  CHECK_EQ(1, atomic_load(&p.b.video_changed));
  CHECK_EQ(0, atomic_load(&p.a.stream_dropped));

  /* publish again after unpublishing: a new stream */
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(p.a.session, pub.publisher));
  WAIT_UNTIL(atomic_load(&pub.created) == 2, WAIT_MS);
  WAIT_UNTIL(atomic_load(&p.b.stream_received) == 2, WAIT_MS);
  /* the publisher's session disconnects: its stream ends for both */
  it_disconnect_and_delete(&p.a);
  CHECK_EQ(2, atomic_load(&pub.destroyed));
  WAIT_UNTIL(atomic_load(&p.b.stream_dropped) == 2, WAIT_MS);
  WAIT_UNTIL(atomic_load(&p.b.conn_dropped) == 1, WAIT_MS);
  prec_free(&pub);
  pair_end(&p);
}

/* A client that joins after a stream was published receives it from the connected frame. */
static void late_joiner_sees_stream(void) {
  struct rec a, b;
  rec_init(&a);
  rec_init(&b);
  it_session_new(&a, "main", fx_session());
  it_connect(&a, fx_token("publisher"));
  struct prec pub;
  prec_init(&pub, "early");
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(a.session, pub.publisher));
  WAIT_UNTIL(atomic_load(&pub.created) == 1, WAIT_MS);
  it_session_new(&b, "main", fx_session());
  it_connect(&b, fx_token("subscriber"));
  WAIT_UNTIL(atomic_load(&b.stream_received) == 1 && atomic_load(&b.conn_created) == 1, WAIT_MS);
  CHECK_STREQ(pub.stream_id, otc_stream_get_id(b.last_stream_received));
  CHECK_STREQ("early", otc_stream_get_name(b.last_stream_received));
  CHECK_STREQ("name=pub", otc_connection_get_data(otc_stream_get_connection(b.last_stream_received)));
  /* deleting a published publisher unpublishes it */
  prec_free(&pub);
  WAIT_UNTIL(atomic_load(&b.stream_dropped) == 1, WAIT_MS);
  it_disconnect_and_delete(&a);
  it_disconnect_and_delete(&b);
  CHECK_EQ(0, atomic_load(&a.errors) + atomic_load(&b.errors));
  rec_free(&a);
  rec_free(&b);
}

static void signal_to_all(void) {
  struct pair p;
  pair_connect(&p, "publisher", "publisher2");
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(p.a.session, "chat", "hello everyone"));
  WAIT_UNTIL(atomic_load(&p.a.signals) == 1 && atomic_load(&p.b.signals) == 1, WAIT_MS);
  CHECK(rec_signal_is(&p.a, 0, "chat", "hello everyone", p.a_id)); /* the sender gets it too */
  CHECK(rec_signal_is(&p.b, 0, "chat", "hello everyone", p.a_id));
  struct otc_signal_options opts = {OTC_FALSE};
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal_with_options(p.b.session, "", "x", opts));
  WAIT_UNTIL(atomic_load(&p.a.signals) == 2 && atomic_load(&p.b.signals) == 2, WAIT_MS);
  CHECK(rec_signal_is(&p.a, 1, "", "x", p.b_id));
  CHECK(rec_signal_is(&p.b, 1, "", "x", p.b_id));
  it_quiet(100);
  CHECK_EQ(2, atomic_load(&p.a.signals));
  CHECK_EQ(2, atomic_load(&p.b.signals));
  pair_end(&p);
}

static void signal_to_connection(void) {
  struct pair p;
  pair_connect(&p, "publisher", "publisher2");
  /* a sends to b only, with the connection it got from on_connection_created */
  pthread_mutex_lock(&p.a.lock);
  otc_connection *to_b = otc_connection_copy(p.a.last_conn_created);
  pthread_mutex_unlock(&p.a.lock);
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal_to_connection(p.a.session, "direct", "just you", to_b));
  struct otc_signal_options opts = {OTC_TRUE};
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal_to_connection_with_options(p.a.session, "direct", "again", to_b, opts));
  /* barrier: a signal to all, sent after, reaches a after anything sent before */
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(p.a.session, "barrier", "all"));
  WAIT_UNTIL(atomic_load(&p.b.signals) == 3, WAIT_MS);
  WAIT_UNTIL(atomic_load(&p.a.signals) == 1, WAIT_MS);
  CHECK(rec_signal_is(&p.b, 0, "direct", "just you", p.a_id));
  CHECK(rec_signal_is(&p.b, 1, "direct", "again", p.a_id));
  CHECK(rec_signal_is(&p.b, 2, "barrier", "all", p.a_id));
  CHECK(rec_signal_is(&p.a, 0, "barrier", "all", p.a_id));
  /* b answers a with the connection of the stream-less sender from its own records */
  pthread_mutex_lock(&p.b.lock);
  otc_connection *to_a = otc_connection_copy(p.b.last_conn_created);
  pthread_mutex_unlock(&p.b.lock);
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal_to_connection(p.b.session, "reply", "ok", to_a));
  WAIT_UNTIL(atomic_load(&p.a.signals) == 2, WAIT_MS);
  CHECK(rec_signal_is(&p.a, 1, "reply", "ok", p.b_id));
  otc_connection_delete(to_a);
  otc_connection_delete(to_b);
  it_quiet(100);
  CHECK_EQ(3, atomic_load(&p.b.signals));
  CHECK_EQ(2, atomic_load(&p.a.signals));
  pair_end(&p);
}

/* A signal to a connection that left: the server answers 1011 through on_error. */
static void signal_to_departed_connection(void) {
  struct pair p;
  pair_connect(&p, "publisher", "publisher2");
  pthread_mutex_lock(&p.a.lock);
  otc_connection *to_b = otc_connection_copy(p.a.last_conn_created);
  pthread_mutex_unlock(&p.a.lock);
  it_disconnect_and_delete(&p.b);
  WAIT_UNTIL(atomic_load(&p.a.conn_dropped) == 1, WAIT_MS);
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal_to_connection(p.a.session, "direct", "gone?", to_b));
  WAIT_UNTIL(atomic_load(&p.a.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER, rec_error_code(&p.a, 0));
  atomic_store(&p.a.errors, 0);
  otc_connection_delete(to_b);
  pair_end(&p);
}

/* Signals of one sender arrive in the order sent, each once. */
static void signal_order(void) {
  enum { N = 200 };
  struct pair p;
  pair_connect(&p, "publisher", "publisher2");
  for (int i = 0; i < N; i++) {
    char data[16];
    snprintf(data, sizeof data, "%d", i);
    CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(p.a.session, "seq", data));
  }
  WAIT_UNTIL(atomic_load(&p.b.signals) == N && atomic_load(&p.a.signals) == N, 10000);
  for (int i = 0; i < N; i++) {
    char data[16];
    snprintf(data, sizeof data, "%d", i);
    CHECK(rec_signal_is(&p.b, (size_t)i, "seq", data, p.a_id));
    CHECK(rec_signal_is(&p.a, (size_t)i, "seq", data, p.a_id));
  }
  it_quiet(100);
  CHECK_EQ(N, atomic_load(&p.b.signals));
  pair_end(&p);
}

/* The mask key of every frame the client sends comes from the core's lws_get_random (a pool
 * of getrandom bytes), not a read of /dev/urandom per frame: libwebsockets' calls reach it
 * (interposed: docs/benchmarks.md, the fan-in's system calls), and the server, which checks
 * every client frame is masked, takes them all. */
static void mask_keys_from_pool(void) {
  enum { N = 100 };
  struct pair p;
  pair_connect(&p, "publisher", "publisher2");
  unsigned long long before = cv_transport_random_calls_for_testing();
  for (int i = 0; i < N; i++) CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(p.a.session, "seq", "x"));
  WAIT_UNTIL(atomic_load(&p.b.signals) == N, 10000);
  unsigned long long asked = cv_transport_random_calls_for_testing() - before;
  if (asked < N) CHECK_FAIL_("lws asked the core for %llu mask keys for %d frames", asked, N);
  CHECK_EQ(0, atomic_load(&p.a.errors) + atomic_load(&p.b.errors));
  pair_end(&p);
}

static const struct it_case cases[] = {
    CASE(two_sessions_see_each_other, 30),
    CASE(connection_events_suppressed, 30),
    CASE(stream_lifecycle, 30),
    CASE(late_joiner_sees_stream, 30),
    CASE(signal_to_all, 30),
    CASE(signal_to_connection, 30),
    CASE(signal_to_departed_connection, 30),
    CASE(signal_order, 60),
    CASE(mask_keys_from_pool, 30),
};
IT_MAIN(cases)
