/*
 * Timers (base layer): a binary min-heap of deadlines, O(log N) to schedule, re-arm or
 * cancel, O(1) to read the earliest. The transport drives the heap with ONE lws timer (or the
 * event loop's own timer) armed for the earliest deadline, so no per-session timer sits in
 * libwebsockets' sorted list, whose insert costs O(number of timers).
 *
 * Equal deadlines fire in the order they were scheduled (a sequence number breaks the tie).
 * No I/O, no clock of its own: time is an argument. Not thread-safe (service thread only).
 */
#include <stdlib.h>

#include "internal.h"

static int before(const struct cv_timer *a, const struct cv_timer *b) {
  return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void place(struct cv_timers *h, size_t i, struct cv_timer *t) {
  h->heap[i] = t;
  t->slot = i + 1;
}

static void sift_up(struct cv_timers *h, size_t i) {
  struct cv_timer *t = h->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(t, h->heap[parent])) break;
    place(h, i, h->heap[parent]);
    i = parent;
  }
  place(h, i, t);
}

static void sift_down(struct cv_timers *h, size_t i) {
  struct cv_timer *t = h->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && before(h->heap[c + 1], h->heap[c])) c++;
    if (!before(h->heap[c], t)) break;
    place(h, i, h->heap[c]);
    i = c;
  }
  place(h, i, t);
}

static void remove_at(struct cv_timers *h, size_t i) {
  h->heap[i]->slot = 0;
  h->n--;
  if (i == h->n) return;
  place(h, i, h->heap[h->n]);
  if (i > 0 && before(h->heap[i], h->heap[(i - 1) / 2]))
    sift_up(h, i);
  else
    sift_down(h, i);
}

int cv_timers_schedule(struct cv_timers *h, struct cv_timer *t, cv_timer_fn cb, int64_t due_ms) {
  if (!h || !t) return -1;
  t->cb = cb;
  t->due_ms = due_ms;
  t->seq = ++h->seq;
  if (t->slot) { /* re-arm in place */
    size_t i = t->slot - 1;
    if (i > 0 && before(t, h->heap[(i - 1) / 2]))
      sift_up(h, i);
    else
      sift_down(h, i);
    return 0;
  }
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    struct cv_timer **grown = realloc(h->heap, cap * sizeof *grown);
    if (!grown) return -1;
    h->heap = grown;
    h->cap = cap;
  }
  place(h, h->n++, t);
  sift_up(h, h->n - 1);
  return 0;
}

void cv_timers_cancel(struct cv_timers *h, struct cv_timer *t) {
  if (!h || !t || !t->slot || t->slot > h->n || h->heap[t->slot - 1] != t) return;
  remove_at(h, t->slot - 1);
}

int cv_timer_pending(const struct cv_timer *t) { return t && t->slot != 0; }

int64_t cv_timers_next_due(const struct cv_timers *h) { return h && h->n ? h->heap[0]->due_ms : INT64_MAX; }

size_t cv_timers_count(const struct cv_timers *h) { return h ? h->n : 0; }

int cv_timers_run(struct cv_timers *h, int64_t now_ms) {
  /* Timers scheduled from a callback (seq above `last`) wait for the next run, even when
   * already due: a callback that re-arms itself at 0 ms cannot keep this loop going. */
  uint64_t last = h->seq;
  int fired = 0;
  while (h->n && h->heap[0]->due_ms <= now_ms && h->heap[0]->seq <= last) {
    struct cv_timer *t = h->heap[0];
    remove_at(h, 0);
    fired++;
    if (t->cb) t->cb(t);
  }
  return fired;
}

void cv_timers_free(struct cv_timers *h) {
  if (!h) return;
  for (size_t i = 0; i < h->n; i++) h->heap[i]->slot = 0;
  free(h->heap);
  h->heap = NULL;
  h->n = h->cap = 0;
}
