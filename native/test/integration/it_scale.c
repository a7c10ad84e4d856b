/* Many sessions in one process. */
#include "harness.h"

enum { N = 200 };

/* 200 sessions connect and disconnect; every callback counted exactly. */
static void many_sessions(void) {
  static struct rec r[N];
  struct otc_session_settings *st = otc_session_settings_new();
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_connection_events_suppressed(st, OTC_TRUE));
  for (int i = 0; i < N; i++) {
    rec_init(&r[i]);
    it_session_new_with(&r[i], "main", fx_session(), st);
  }
  otc_session_settings_delete(st);
  for (int i = 0; i < N; i++) CHECK_EQ(OTC_SUCCESS, otc_session_connect(r[i].session, fx_token("publisher")));
  for (int i = 0; i < N; i++) WAIT_UNTIL(atomic_load(&r[i].connected) == 1 || atomic_load(&r[i].errors), 20000);
  for (int i = 0; i < N; i++) {
    if (atomic_load(&r[i].errors)) CHECK_FAIL_("session %d: error %d %s", i, r[i].last_error, r[i].last_error_msg);
  }
  /* all distinct connections */
  char first[128], other[128];
  it_my_id(&r[0], first, sizeof first);
  it_my_id(&r[N - 1], other, sizeof other);
  CHECK(strcmp(first, other) != 0);
  /* one signal reaches everyone */
  CHECK_EQ(OTC_SUCCESS, otc_session_send_signal(r[0].session, "hello", "all"));
  for (int i = 0; i < N; i++) WAIT_UNTIL(atomic_load(&r[i].signals) == 1, 20000);
  for (int i = 0; i < N; i++) CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(r[i].session));
  for (int i = 0; i < N; i++) WAIT_UNTIL(atomic_load(&r[i].disconnected) == 1, 20000);
  for (int i = 0; i < N; i++) it_delete(&r[i]);
  for (int i = 0; i < N; i++) {
    CHECK_EQ(1, atomic_load(&r[i].connected));
    CHECK_EQ(1, atomic_load(&r[i].disconnected));
    CHECK_EQ(0, atomic_load(&r[i].errors));
    CHECK_EQ(0, atomic_load(&r[i].conn_created));
    CHECK(rec_signal_is(&r[i], 0, "hello", "all", first));
    rec_free(&r[i]);
  }
}

/* 40 sessions that see each other: N*(N-1) connection events, each exactly once. */
static void crowd_events(void) {
  enum { M = 40 };
  static struct rec r[M];
  for (int i = 0; i < M; i++) {
    rec_init(&r[i]);
    it_session_new(&r[i], "main", fx_session());
    it_connect(&r[i], fx_token(i % 2 ? "publisher" : "publisher2"));
  }
  for (int i = 0; i < M; i++) WAIT_UNTIL(atomic_load(&r[i].conn_created) == M - 1, 20000);
  for (int i = 1; i < M; i++) {
    WAIT_UNTIL(atomic_load(&r[i].conn_dropped) == i - 1, WAIT_MS); /* those that left before it */
    it_disconnect_and_delete(&r[i]);
  }
  WAIT_UNTIL(atomic_load(&r[0].conn_dropped) == M - 1, 20000);
  it_quiet(100);
  for (int i = 1; i < M; i++) CHECK_EQ(i - 1, atomic_load(&r[i].conn_dropped)); /* those that left before it */
  it_disconnect_and_delete(&r[0]);
  for (int i = 0; i < M; i++) {
    CHECK_EQ(M - 1, atomic_load(&r[i].conn_created));
    CHECK_EQ(0, atomic_load(&r[i].errors));
    CHECK_EQ(1, atomic_load(&r[i].disconnected));
    rec_free(&r[i]);
  }
}

/* Sessions created and deleted from several threads at once. */
static void *churn(void *arg) {
  (void)arg;
  for (int k = 0; k < 10; k++) {
    struct rec r;
    rec_init(&r);
    it_session_new(&r, "main", fx_session());
    CHECK_EQ(OTC_SUCCESS, otc_session_connect(r.session, fx_token("subscriber")));
    if (k % 3 == 0) WAIT_UNTIL(atomic_load(&r.connected) == 1, WAIT_MS);
    it_delete(&r);
    CHECK_EQ(atomic_load(&r.connected), atomic_load(&r.disconnected));
    CHECK_EQ(0, atomic_load(&r.errors));
    rec_free(&r);
  }
  return NULL;
}

static void threads_churn(void) {
  pthread_t th[4];
  for (int i = 0; i < 4; i++) CHECK_EQ(0, pthread_create(&th[i], NULL, churn, NULL));
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
}

static const struct it_case cases[] = {
    CASE(many_sessions, 60),
    CASE(crowd_events, 60),
    CASE(threads_churn, 60),
};
IT_MAIN(cases)
