/* The clock (base layer): monotonic milliseconds, replaceable by a test. */
#include <time.h>

#include "internal.h"

static _Atomic(int64_t (*)(void)) g_clock; /* NULL: CLOCK_MONOTONIC */

void cv_clock_set_for_testing(int64_t (*fn)(void)) { atomic_store(&g_clock, fn); }

int64_t cv_now_ms(void) {
  int64_t (*fn)(void) = atomic_load(&g_clock);
  if (fn) return fn();
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cv_wall_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
