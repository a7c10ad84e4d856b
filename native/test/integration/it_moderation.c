/* Moderation: force disconnect, force unpublish, force mute; and what non-moderators may not do. */
#include "harness.h"

struct room {
  struct rec mod, pub;
  struct prec cam;
  char mod_id[128], pub_id[128];
};

/* the moderator joins, then a publisher that publishes "cam" */
static void room_open(struct room *m) {
  rec_init(&m->mod);
  rec_init(&m->pub);
  it_session_new(&m->mod, "main", fx_session());
  it_session_new(&m->pub, "main", fx_session());
  it_connect(&m->mod, fx_token("moderator"));
  it_connect(&m->pub, fx_token("publisher"));
  it_my_id(&m->mod, m->mod_id, sizeof m->mod_id);
  it_my_id(&m->pub, m->pub_id, sizeof m->pub_id);
  prec_init(&m->cam, "cam");
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(m->pub.session, m->cam.publisher));
  WAIT_UNTIL(atomic_load(&m->cam.created) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&m->mod.stream_received) == 1 && atomic_load(&m->mod.conn_created) == 1, WAIT_MS);
}

static void room_close(struct room *m) {
  if (m->pub.session) it_disconnect_and_delete(&m->pub);
  if (m->mod.session) it_disconnect_and_delete(&m->mod);
  prec_free(&m->cam);
  rec_free(&m->mod);
  rec_free(&m->pub);
}

static void force_disconnect(void) {
  struct room m;
  room_open(&m);
  pthread_mutex_lock(&m.mod.lock);
  otc_connection *target = otc_connection_copy(m.mod.last_conn_created);
  pthread_mutex_unlock(&m.mod.lock);
  CHECK_STREQ(m.pub_id, otc_connection_get_id(target));
  CHECK_EQ(OTC_SUCCESS, otc_session_force_disconnect(m.mod.session, target));
  otc_connection_delete(target);
  WAIT_UNTIL(atomic_load(&m.pub.disconnected) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&m.mod.conn_dropped) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&m.mod.stream_dropped) == 1, WAIT_MS);
  CHECK_STREQ(m.pub_id, m.mod.last_conn_dropped);
  CHECK_STREQ(m.cam.stream_id, m.mod.last_stream_dropped);
  CHECK_EQ(1, atomic_load(&m.cam.destroyed));
  it_quiet(200);
  CHECK_EQ(0, atomic_load(&m.pub.errors)); /* a forced disconnect is not an error */
  CHECK_EQ(1, atomic_load(&m.pub.disconnected));
  CHECK_EQ(0, atomic_load(&m.mod.errors));
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(m.pub.session));
  it_quiet(50);
  CHECK_EQ(1, atomic_load(&m.pub.disconnected));
  it_delete(&m.pub);
  room_close(&m);
}

static void force_unpublish(void) {
  struct room m;
  room_open(&m);
  pthread_mutex_lock(&m.mod.lock);
  otc_stream *target = otc_stream_copy(m.mod.last_stream_received);
  pthread_mutex_unlock(&m.mod.lock);
  CHECK_EQ(OTC_SUCCESS, otc_session_force_unpublish(m.mod.session, target));
  otc_stream_delete(target);
  WAIT_UNTIL(atomic_load(&m.cam.destroyed) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&m.mod.stream_dropped) == 1, WAIT_MS);
  CHECK_NULL(otc_publisher_get_stream(m.cam.publisher));
  it_quiet(100);
  CHECK_EQ(0, atomic_load(&m.pub.stream_dropped)); /* its own stream: the publisher hears it */
  CHECK_EQ(0, atomic_load(&m.mod.conn_dropped));
  CHECK_EQ(0, atomic_load(&m.pub.disconnected));
  if (atomic_load(&m.pub.errors) + atomic_load(&m.mod.errors) != 0)
    CHECK_FAIL_("errors: publisher %d (last %d %s), moderator %d (last %d %s)", atomic_load(&m.pub.errors), m.pub.last_error,
                m.pub.last_error_msg, atomic_load(&m.mod.errors), m.mod.last_error, m.mod.last_error_msg);
  room_close(&m);
}

static void force_mute_stream(void) {
  struct room m;
  room_open(&m);
  CHECK_EQ(OTC_TRUE, otc_publisher_get_publish_audio(m.cam.publisher));
  CHECK_EQ(OTC_SUCCESS, otc_session_force_mute_stream(m.mod.session, m.cam.stream_id));
  WAIT_UNTIL(atomic_load(&m.pub.mute_forced) == 1, WAIT_MS);
  CHECK_EQ(OTC_TRUE, m.pub.last_mute_active);
  CHECK_EQ(OTC_FALSE, otc_publisher_get_publish_audio(m.cam.publisher));
  WAIT_UNTIL(atomic_load(&m.mod.audio_changed) == 1, WAIT_MS);
  CHECK_EQ(OTC_FALSE, m.mod.last_audio);
  it_quiet(100);
  CHECK_EQ(0, atomic_load(&m.mod.mute_forced));
  CHECK_EQ(1, atomic_load(&m.pub.mute_forced));
  /* the publisher turns its audio back on: the moderator sees it */
  CHECK_EQ(OTC_SUCCESS, otc_publisher_set_publish_audio(m.cam.publisher, OTC_TRUE));
  WAIT_UNTIL(atomic_load(&m.mod.audio_changed) == 2, WAIT_MS);
  CHECK_EQ(OTC_TRUE, m.mod.last_audio);
  CHECK_EQ(0, atomic_load(&m.pub.errors) + atomic_load(&m.mod.errors));
  room_close(&m);
}

static void force_mute_all(void) {
  struct room m;
  room_open(&m);
  CHECK_EQ(OTC_SUCCESS, otc_session_force_mute_all(m.mod.session, NULL, 0));
  WAIT_UNTIL(atomic_load(&m.pub.mute_forced) == 1, WAIT_MS);
  CHECK_EQ(OTC_TRUE, m.pub.last_mute_active);
  CHECK_EQ(OTC_FALSE, otc_publisher_get_publish_audio(m.cam.publisher));
  WAIT_UNTIL(atomic_load(&m.mod.audio_changed) == 1, WAIT_MS);
  CHECK_EQ(OTC_SUCCESS, otc_session_disable_force_mute(m.mod.session));
  WAIT_UNTIL(atomic_load(&m.pub.mute_forced) == 2, WAIT_MS);
  CHECK_EQ(OTC_FALSE, m.pub.last_mute_active);
  /* excluding the stream: no mute for it */
  char *excluded[] = {m.cam.stream_id};
  CHECK_EQ(OTC_SUCCESS, otc_session_force_mute_all(m.mod.session, excluded, 1));
  WAIT_UNTIL(atomic_load(&m.pub.mute_forced) == 3, WAIT_MS);
  it_quiet(100);
  CHECK_EQ(1, atomic_load(&m.mod.audio_changed));
  CHECK_EQ(0, atomic_load(&m.mod.mute_forced)); /* not the moderator itself */
  CHECK_EQ(0, atomic_load(&m.pub.errors) + atomic_load(&m.mod.errors));
  room_close(&m);
}

/* A publisher may not moderate: each request fails through on_error with the server's code. */
static void publisher_cannot_moderate(void) {
  struct room m;
  room_open(&m);
  pthread_mutex_lock(&m.pub.lock);
  otc_connection *mod_conn = otc_connection_copy(m.pub.last_conn_created);
  pthread_mutex_unlock(&m.pub.lock);
  CHECK_STREQ(m.mod_id, otc_connection_get_id(mod_conn));
  CHECK_EQ(OTC_SUCCESS, otc_session_force_disconnect(m.pub.session, mod_conn));
  WAIT_UNTIL(atomic_load(&m.pub.errors) == 1, WAIT_MS);
  CHECK_EQ(1520, rec_error_code(&m.pub, 0));
  CHECK_EQ(OTC_SUCCESS, otc_session_force_mute_stream(m.pub.session, m.cam.stream_id));
  WAIT_UNTIL(atomic_load(&m.pub.errors) == 2, WAIT_MS);
  CHECK_EQ(1540, rec_error_code(&m.pub, 1));
  otc_connection_delete(mod_conn);
  /* the moderator mutes a stream that does not exist */
  CHECK_EQ(OTC_SUCCESS, otc_session_force_mute_stream(m.mod.session, "no-such-stream"));
  WAIT_UNTIL(atomic_load(&m.mod.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_SESSION_FORCE_UNPUBLISH_OR_INVALID_STREAM, rec_error_code(&m.mod, 0));
  CHECK_EQ(0, atomic_load(&m.pub.mute_forced));
  CHECK_EQ(0, atomic_load(&m.mod.disconnected));
  atomic_store(&m.pub.errors, 0);
  atomic_store(&m.mod.errors, 0);
  room_close(&m);
}

static const struct it_case cases[] = {
    CASE(force_disconnect, 30),
    CASE(force_unpublish, 30),
    CASE(force_mute_stream, 30),
    CASE(force_mute_all, 30),
    CASE(publisher_cannot_moderate, 30),
};
IT_MAIN(cases)
