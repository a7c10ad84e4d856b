/*
 * The timer heap alone (links only convene_base): ordering (earliest first, ties in
 * scheduling order), cancel, re-arm in place, timers scheduled from a callback, and many
 * timers against a reference model.
 */
#include <stdlib.h>

#include "check.h"
#include "internal.h"

struct item {
  struct cv_timer t;
  int id;
};
static int g_fired[4096];
static int g_nfired;
static void record(struct cv_timer *t) {
  struct item *it = lws_container_of(t, struct item, t);
  g_fired[g_nfired++] = it->id;
}

static void test_order_and_ties(void) {
  struct cv_timers h = {0};
  struct item a = {.id = 1}, b = {.id = 2}, c = {.id = 3}, d = {.id = 4};
  CHECK_EQ(INT64_MAX, cv_timers_next_due(&h));
  CHECK_EQ(0, cv_timers_schedule(&h, &a.t, record, 30));
  CHECK_EQ(0, cv_timers_schedule(&h, &b.t, record, 10));
  CHECK_EQ(0, cv_timers_schedule(&h, &c.t, record, 20));
  CHECK_EQ(0, cv_timers_schedule(&h, &d.t, record, 10)); /* ties with b: after it */
  CHECK_EQ(4, cv_timers_count(&h));
  CHECK_EQ(10, cv_timers_next_due(&h));
  g_nfired = 0;
  CHECK_EQ(0, cv_timers_run(&h, 9));
  CHECK_EQ(3, cv_timers_run(&h, 20));
  CHECK_EQ(3, g_nfired);
  CHECK_EQ(2, g_fired[0]);
  CHECK_EQ(4, g_fired[1]);
  CHECK_EQ(3, g_fired[2]);
  CHECK(!cv_timer_pending(&b.t));
  CHECK(cv_timer_pending(&a.t));
  CHECK_EQ(30, cv_timers_next_due(&h));
  CHECK_EQ(1, cv_timers_run(&h, 1000));
  CHECK_EQ(1, g_fired[3]);
  CHECK_EQ(0, cv_timers_count(&h));
  cv_timers_free(&h);
}

static void test_cancel_and_rearm(void) {
  struct cv_timers h = {0};
  struct item a = {.id = 1}, b = {.id = 2}, c = {.id = 3};
  cv_timers_schedule(&h, &a.t, record, 10);
  cv_timers_schedule(&h, &b.t, record, 20);
  cv_timers_schedule(&h, &c.t, record, 30);
  cv_timers_cancel(&h, &a.t);
  cv_timers_cancel(&h, &a.t); /* twice: harmless */
  CHECK(!cv_timer_pending(&a.t));
  CHECK_EQ(20, cv_timers_next_due(&h));
  cv_timers_schedule(&h, &c.t, record, 5); /* re-armed earlier, in place */
  CHECK_EQ(2, cv_timers_count(&h));
  CHECK_EQ(5, cv_timers_next_due(&h));
  cv_timers_schedule(&h, &c.t, record, 50); /* and later */
  CHECK_EQ(20, cv_timers_next_due(&h));
  g_nfired = 0;
  cv_timers_run(&h, 100);
  CHECK_EQ(2, g_nfired);
  CHECK_EQ(2, g_fired[0]);
  CHECK_EQ(3, g_fired[1]);
  struct item never = {.id = 9};
  cv_timers_cancel(&h, &never.t); /* never scheduled: harmless */
  cv_timers_schedule(&h, &a.t, record, 1);
  cv_timers_free(&h); /* forgets pending timers */
  CHECK(!cv_timer_pending(&a.t));
  CHECK_EQ(0, cv_timers_count(&h));
}

/* A callback that re-arms its own timer already due: fires once per run, not forever. */
static struct cv_timers g_h;
static int g_self;
static void rearm_self(struct cv_timer *t) {
  g_self++;
  cv_timers_schedule(&g_h, t, rearm_self, 0);
}

static void test_rearm_from_callback(void) {
  struct cv_timer t = {0};
  g_self = 0;
  cv_timers_schedule(&g_h, &t, rearm_self, 0);
  CHECK_EQ(1, cv_timers_run(&g_h, 10));
  CHECK_EQ(1, g_self);
  CHECK(cv_timer_pending(&t));
  CHECK_EQ(1, cv_timers_run(&g_h, 10));
  CHECK_EQ(2, g_self);
  cv_timers_free(&g_h);
}

/* Many timers, random deadlines, a third cancelled and a third re-armed: they fire in
 * deadline order and exactly the ones still scheduled fire. */
static void test_many(void) {
  enum { N = 4000 };
  struct cv_timers h = {0};
  struct item *items = calloc(N, sizeof *items);
  int64_t *due = calloc(N, sizeof *due);
  CHECK_NOT_NULL(items);
  srand(16);
  for (int i = 0; i < N; i++) {
    items[i].id = i;
    due[i] = rand() % 100000;
    CHECK_EQ(0, cv_timers_schedule(&h, &items[i].t, record, due[i]));
  }
  int live = N;
  for (int i = 0; i < N; i += 3) {
    cv_timers_cancel(&h, &items[i].t);
    due[i] = -1;
    live--;
  }
  for (int i = 1; i < N; i += 3) {
    due[i] = rand() % 100000;
    cv_timers_schedule(&h, &items[i].t, record, due[i]);
  }
  CHECK_EQ(live, (int)cv_timers_count(&h));
  g_nfired = 0;
  int64_t prev = -1;
  for (int64_t now = 0; now < 100000 + 997; now += 997) {
    int before = g_nfired;
    cv_timers_run(&h, now);
    for (int k = before; k < g_nfired; k++) {
      int64_t d = due[g_fired[k]];
      CHECK(d >= 0);      /* not a cancelled one */
      CHECK(d <= now);    /* not early */
      CHECK(d >= prev);   /* in order */
      prev = d;
    }
    CHECK(cv_timers_next_due(&h) > now);
  }
  CHECK_EQ(live, g_nfired);
  CHECK_EQ(0, (int)cv_timers_count(&h));
  cv_timers_free(&h);
  free(items);
  free(due);
}

int main(void) {
  test_order_and_ties();
  test_cancel_and_rearm();
  test_rearm_from_callback();
  test_many();
  return 0;
}
