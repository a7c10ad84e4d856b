/* The command queue (cmd_queue.c): pushes from several threads, take_all order, free. */
#include <pthread.h>

#include "check.h"
#include "internal.h"

#define THREADS 4
#define PER_THREAD 2000

static struct cv_cmdq g_q;

/* Each command records its producer in `retry` and its index in `type`-independent text. */
static void *producer(void *arg) {
  int t = (int)(intptr_t)arg;
  for (int i = 0; i < PER_THREAD; i++) {
    struct cv_cmd *c = cv_cmd_new(CV_CMD_REQUEST, NULL);
    CHECK_NOT_NULL(c);
    c->retry = t;
    char buf[32];
    snprintf(buf, sizeof buf, "%d", i);
    c->text = strdup(buf);
    c->fields = json_pack("{s:i}", "i", i); /* owned by the command: freed by cv_cmd_free */
    cv_cmdq_push(&g_q, c);
  }
  return NULL;
}

static void test_single_thread_order(void) {
  struct cv_cmdq q;
  cv_cmdq_init(&q);
  CHECK_NULL(cv_cmdq_take_all(&q));
  for (int i = 0; i < 5; i++) {
    struct cv_cmd *c = cv_cmd_new(CV_CMD_DISCONNECT, NULL);
    c->retry = i;
    CHECK_EQ(i == 0, cv_cmdq_push(&q, c)); /* only the first push of a burst needs a wake-up */
  }
  struct cv_cmd *all = cv_cmdq_take_all(&q);
  CHECK_NULL(cv_cmdq_take_all(&q)); /* emptied */
  struct cv_cmd *wake = cv_cmd_new(CV_CMD_DISCONNECT, NULL);
  CHECK_EQ(1, cv_cmdq_push(&q, wake)); /* empty again: wake */
  cv_cmd_free(cv_cmdq_take_all(&q));
  int n = 0;
  for (struct cv_cmd *c = all; c; c = c->next) CHECK_EQ(n++, c->retry);
  CHECK_EQ(5, n);
  /* the queue works again after being emptied, and keeps order */
  struct cv_cmd *c = cv_cmd_new(CV_CMD_STOP, NULL);
  cv_cmdq_push(&q, c);
  struct cv_cmd *again = cv_cmdq_take_all(&q);
  CHECK(again == c);
  CHECK_NULL(again->next);
  cv_cmd_free(again);
  while (all) {
    struct cv_cmd *next = all->next;
    cv_cmd_free(all);
    all = next;
  }
  /* destroy frees what is still queued */
  for (int i = 0; i < 3; i++) {
    struct cv_cmd *d = cv_cmd_new(CV_CMD_REQUEST, NULL);
    d->req = CV_REQ_SIGNAL;
    d->text = strdup("token");
    d->fields = json_object();
    cv_cmdq_push(&q, d);
  }
  cv_cmdq_destroy(&q);
  cv_cmd_free(NULL);
}

static void test_threads(void) {
  cv_cmdq_init(&g_q);
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++) CHECK_EQ(0, pthread_create(&th[t], NULL, producer, (void *)(intptr_t)t));
  /* take while they push: every command is taken exactly once, each producer's in order */
  int next[THREADS] = {0};
  int total = 0, joined = 0;
  while (total < THREADS * PER_THREAD) {
    struct cv_cmd *c = cv_cmdq_take_all(&g_q);
    while (c) {
      struct cv_cmd *n = c->next;
      int t = c->retry;
      CHECK(t >= 0 && t < THREADS);
      CHECK_EQ(next[t], atoi(c->text));
      CHECK_EQ(next[t], json_integer_value(json_object_get(c->fields, "i")));
      next[t]++;
      total++;
      cv_cmd_free(c);
      c = n;
    }
    if (!joined && total > THREADS * PER_THREAD / 2) {
      for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
      joined = 1;
    }
  }
  if (!joined)
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  for (int t = 0; t < THREADS; t++) CHECK_EQ(PER_THREAD, next[t]);
  CHECK_NULL(cv_cmdq_take_all(&g_q));
  cv_cmdq_destroy(&g_q);
}

int main(void) {
  test_single_thread_order();
  test_threads();
  return 0;
}
