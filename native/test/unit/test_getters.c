/*
 * Ownership of what the getters return (Vonage semantics): otc_session_get_id,
 * otc_session_get_connection and otc_publisher_get_stream hand out objects the library
 * owns, valid until the session / publisher is deleted, so code written for the Vonage SDK
 * (which never frees them) does not leak, and what it holds stays readable while the
 * service thread moves on. Run under ASan and valgrind, a use after free or a leak fails.
 */
#include <pthread.h>
#include <sched.h>

#include "check.h"
#include "internal.h"

static int g_pub_created, g_pub_destroyed;
static void pub_created(otc_publisher *p, void *u, const otc_stream *st) { g_pub_created++; }
static void pub_destroyed(otc_publisher *p, void *u, const otc_stream *st) { g_pub_destroyed++; }

static const struct otc_session_callbacks k_cb = {0};

static void feed(otc_session *s, const char *text) { cv_state_on_text(s, text, strlen(text)); }

#define CONNECTED_FRAME                                                                                    \
  "{\"type\":\"connected\",\"v\":1,\"sessionId\":\"2_s\",\"connection\":{\"id\":\"c-me\",\"creationTime\":1," \
  "\"data\":\"me=1\"},\"role\":\"publisher\",\"capabilities\":{\"publish\":1},\"resumeToken\":\"rt\","       \
  "\"connections\":[],\"streams\":[],\"keepalive\":{\"interval\":10000,\"timeout\":15000},"                  \
  "\"graceWindow\":30000,\"lastSeq\":0}"

static otc_session *connected_session(void) {
  otc_session *s = cv_testing_session_new("4700123", "2_s", &k_cb);
  CHECK_NOT_NULL(s);
  feed(s, CONNECTED_FRAME);
  CHECK_EQ(CV_STATE_CONNECTED, atomic_load(&s->state));
  return s;
}

/* What on_connected does when the session connects again (new connection id). */
static void replace_self(otc_session *s, const char *id) {
  json_t *obj = json_pack("{s:s, s:s, s:I}", "id", id, "data", "again", "creationTime", (json_int_t)2);
  otc_connection *c = cv_connection_from_json(obj, s->session_id);
  json_decref(obj);
  CHECK_NOT_NULL(c);
  pthread_mutex_lock(&s->info_lock);
  otc_connection_delete(s->self);
  s->self = c;
  pthread_mutex_unlock(&s->info_lock);
}

static void test_session_getters(void) {
  otc_session *s = connected_session();
  /* the id: the session's own string, the same every time */
  char *id = otc_session_get_id(s);
  CHECK_STREQ("2_s", id);
  CHECK(id == otc_session_get_id(s));

  /* the connection: one object per connection, owned by the session */
  otc_connection *me = otc_session_get_connection(s);
  CHECK_NOT_NULL(me);
  CHECK(me == otc_session_get_connection(s));
  CHECK_STREQ("c-me", otc_connection_get_id(me));
  CHECK_EQ(OTC_INVALID_PARAM, otc_connection_delete(me)); /* refused: still readable below */
  CHECK_STREQ("me=1", otc_connection_get_data(me));

  /* a copy is the caller's */
  otc_connection *copy = otc_connection_copy(me);
  CHECK_NOT_NULL(copy);
  CHECK_STREQ("c-me", otc_connection_get_id(copy));
  CHECK_EQ(OTC_SUCCESS, otc_connection_delete(copy));

  /* connecting again: a new object; the old one stays valid until the session goes */
  replace_self(s, "c-me-2");
  otc_connection *me2 = otc_session_get_connection(s);
  CHECK(me2 != me);
  CHECK_STREQ("c-me-2", otc_connection_get_id(me2));
  CHECK_STREQ("c-me", otc_connection_get_id(me));
  CHECK_STREQ("2_s", otc_connection_get_session_id(me));
  CHECK(me2 == otc_session_get_connection(s));
  cv_testing_session_free(s); /* frees both: valgrind / ASan see no leak */
}

static void test_publisher_stream(void) {
  otc_session *s = connected_session();
  struct otc_publisher_callbacks pcb = {.on_stream_created = pub_created, .on_stream_destroyed = pub_destroyed};
  otc_publisher *p = otc_publisher_new("cam", NULL, &pcb);
  CHECK_NOT_NULL(p);
  CHECK_NULL(otc_publisher_get_stream(p));
  otc_stream *first = NULL;
  for (int round = 0; round < 2; round++) {
    cv_state_publish(s, p);
    char text[400];
    snprintf(text, sizeof text,
             "{\"type\":\"result\",\"seq\":%d,\"id\":%llu,\"ok\":true,\"stream\":{\"id\":\"s-%d\","
             "\"connectionId\":\"c-me\",\"name\":\"cam\",\"hasAudio\":true,\"hasVideo\":false}}",
             2 * round + 1, (unsigned long long)s->next_id, round);
    feed(s, text);
    CHECK_EQ(round + 1, g_pub_created);
    otc_stream *st = otc_publisher_get_stream(p);
    CHECK_NOT_NULL(st);
    CHECK(st == otc_publisher_get_stream(p));
    CHECK_EQ(OTC_INVALID_PARAM, otc_stream_delete(st)); /* refused */
    CHECK_EQ(OTC_INVALID_PARAM, otc_connection_delete((otc_connection *)otc_stream_get_connection(st)));
    CHECK_STREQ("me=1", otc_connection_get_data(otc_stream_get_connection(st)));
    CHECK_EQ(OTC_TRUE, otc_stream_has_audio(st));
    CHECK_EQ(OTC_FALSE, otc_stream_has_video(st));
    otc_stream *copy = otc_stream_copy(st); /* a copy is the caller's, and deletable */
    CHECK_NOT_NULL(copy);
    CHECK_EQ(OTC_SUCCESS, otc_stream_delete(copy));
    if (round == 0) first = st;
    /* the stream goes (force-unpublished): the getter says NULL, what the app holds stays valid */
    snprintf(text, sizeof text,
             "{\"type\":\"streamDestroyed\",\"seq\":%d,\"stream\":{\"id\":\"s-%d\"},\"reason\":\"forceUnpublished\"}",
             2 * round + 2, round);
    feed(s, text);
    CHECK_EQ(round + 1, g_pub_destroyed);
    CHECK_NULL(otc_publisher_get_stream(p));
    CHECK_STREQ(round == 0 ? "s-0" : "s-1", otc_stream_get_id(st));
    CHECK_STREQ("cam", otc_stream_get_name(st));
  }
  CHECK_STREQ("s-0", otc_stream_get_id(first));
  cv_testing_session_free(s);
  CHECK_EQ(OTC_SUCCESS, otc_publisher_delete(p)); /* frees both streams handed out */
}

/* One thread reads the connection (as the app thread would) while another replaces it (as
 * the service thread does on each connect): every pointer read stays valid. */
struct reader {
  otc_session *s;
  atomic_int stop;
  atomic_long reads;
};

static void *read_loop(void *arg) {
  struct reader *r = arg;
  while (!atomic_load(&r->stop)) {
    otc_connection *c = otc_session_get_connection(r->s);
    CHECK_NOT_NULL(c);
    CHECK(strncmp(otc_connection_get_id(c), "c-me", 4) == 0);
    CHECK_STREQ("2_s", otc_connection_get_session_id(c));
    atomic_fetch_add(&r->reads, 1);
  }
  return NULL;
}

static void test_concurrent_reads(void) {
  otc_session *s = connected_session();
  struct reader r = {.s = s};
  pthread_t t;
  CHECK_EQ(0, pthread_create(&t, NULL, read_loop, &r));
  while (atomic_load(&r.reads) == 0) sched_yield();
  char id[32];
  for (int i = 0; i < 200; i++) {
    if (i % 20 == 0) sched_yield(); /* let the reader in between */
    snprintf(id, sizeof id, "c-me-%d", i);
    replace_self(s, id);
    otc_connection *c = otc_session_get_connection(s);
    CHECK_STREQ(id, otc_connection_get_id(c));
  }
  atomic_store(&r.stop, 1);
  CHECK_EQ(0, pthread_join(t, NULL));
  cv_testing_session_free(s);
}

int main(void) {
  CHECK_EQ(0, cv_testing_begin());
  test_session_getters();
  test_publisher_stream();
  test_concurrent_reads();
  cv_testing_end();
  return 0;
}
