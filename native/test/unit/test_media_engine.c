/*
 * The media engine's hand-over of encoded frames (native/src/media/engine.c) with its real
 * media thread: many publishers encode while this thread, in the service thread's role,
 * flushes as fast as it can. Every publisher must keep sending. The media thread marks a
 * publisher ready (mark_ready) at any time, also while a flush is still handing out the list
 * it took: the flush used to walk that list through next_ready, which the media thread
 * rewrites, and then unlinked it, cutting publishers out of the new list while their
 * in_ready stayed set. They were never flushed again (found by bench:media's scale ramp: "a
 * subscriber got 0/500 frames" at 100 sessions).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "check.h"
#include "media/engine.h"
#include "media_tone.h"

#define PUBS 100
#define RATE 48000
#define FRAME 960 /* 20 ms */

static atomic_int enabled = 1;
static unsigned long sent[PUBS];
static int owners[PUBS];

static void wake(void) {}

static int send_frame(void *owner, const uint8_t *bytes, size_t len, int video) {
  (void)bytes;
  (void)video;
  CHECK(len > 0);
  sent[*(int *)owner]++;
  /* a socket write takes a while: the media thread marks more publishers meanwhile */
  struct timespec t = {0, 50000};
  nanosleep(&t, NULL);
  return 0;
}

static int64_t mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(void) {
  struct cv_media_ops ops = {.wake = wake};
  CHECK_EQ(0, cv_media_start(&ops));
  cv_media_pub *pubs[PUBS];
  for (int i = 0; i < PUBS; i++) {
    owners[i] = i;
    pubs[i] = cv_media_pub_new(&owners[i], &enabled);
    CHECK(pubs[i] != NULL);
    CHECK_EQ(CV_MEDIA_PCM_OK, cv_media_pub_set_source(pubs[i], 1000));
    cv_media_pub_attach(pubs[i], (uint16_t)(i + 1));
  }
  struct cv_media_sink sink = {.send = send_frame};
  int16_t pcm[FRAME];
  size_t at = 0;
  unsigned long before[PUBS];
  int64_t start = mono_ms(), next_write = start, seen = 0;
  for (int64_t now = start; now - start < 4000; now = mono_ms()) {
    if (now >= next_write) { /* 20 ms of a tone into every publisher, a little ahead */
      tone_fill(pcm, FRAME, 1, 440, RATE, 8000, at);
      at += FRAME;
      for (int i = 0; i < PUBS; i++) (void)cv_media_pub_write(pubs[i], pcm, FRAME, RATE, 1);
      next_write += 20;
    }
    if (!seen && now - start >= 1000) {
      memcpy(before, sent, sizeof before);
      seen = 1;
    }
    /* as the service thread does when woken: the flush races the media thread's marks */
    cv_media_flush(&sink);
    struct timespec t = {0, 1000000};
    nanosleep(&t, NULL);
  }
  /* over the last 3 s: ~150 frames each in real time; far fewer under valgrind, never none */
  int silent = 0;
  for (int i = 0; i < PUBS; i++)
    if (sent[i] == before[i]) silent++;
  if (silent) fprintf(stderr, "%d of %d publishers sent nothing in the last 3 s\n", silent, PUBS);
  CHECK_EQ(0, silent);
  for (int i = 0; i < PUBS; i++) cv_media_pub_free(pubs[i]);
  cv_media_stop();
  return 0;
}
