/*
 * The bounded PCM queue (native/src/media/pcm_queue.c): back-pressure when full (all or
 * nothing), clear for barge-in, queued duration, exact pops across the ring's wrap, the
 * drop-oldest push and every counter.
 */
#include "check.h"
#include "media/pcm_queue.h"

/* a recognisable sample sequence: sample i of channel c */
static int16_t val(size_t i, int c) { return (int16_t)((i * 7 + (size_t)c * 3) & 0x7fff); }

static void fill(int16_t *pcm, size_t frames, int channels, size_t start) {
  for (size_t i = 0; i < frames; i++)
    for (int c = 0; c < channels; c++) pcm[i * (size_t)channels + (size_t)c] = val(start + i, c);
}

static void check_seq(const int16_t *pcm, size_t frames, int channels, size_t start) {
  for (size_t i = 0; i < frames; i++)
    for (int c = 0; c < channels; c++)
      if (pcm[i * (size_t)channels + (size_t)c] != val(start + i, c))
        CHECK_FAIL_("sample %zu channel %d: expected %d, got %d", start + i, c, val(start + i, c),
                    pcm[i * (size_t)channels + (size_t)c]);
}

static void test_full_and_backpressure(void) {
  cv_pcm_queue *q;
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_new(48000, 1, 100, &q)); /* 4800 samples */
  CHECK_EQ(4800, cv_pcm_queue_capacity(q));
  static int16_t in[960], out[960];
  size_t next = 0;
  for (int i = 0; i < 5; i++) {
    fill(in, 960, 1, next);
    CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_push(q, in, 960));
    next += 960;
    CHECK_EQ(20 * (i + 1), cv_pcm_queue_duration_ms(q));
  }
  CHECK_EQ(0, cv_pcm_queue_space(q));
  CHECK_EQ(CV_PCM_QUEUE_ERR_FULL, cv_pcm_queue_push(q, in, 1)); /* full: refused, nothing queued */
  CHECK_EQ(4800, cv_pcm_queue_frames(q));
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_pop(q, out, 960));
  check_seq(out, 960, 1, 0);
  fill(in, 960, 1, next);
  CHECK_EQ(CV_PCM_QUEUE_ERR_FULL, cv_pcm_queue_push(q, in, 961)); /* one more than the room: all or nothing */
  CHECK_EQ(3840, cv_pcm_queue_frames(q));
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_push(q, in, 960)); /* exactly the room, across the wrap */
  next += 960;
  for (size_t at = 960; at < next; at += 960) {
    CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_pop(q, out, 960));
    check_seq(out, 960, 1, at);
  }
  CHECK_EQ(CV_PCM_QUEUE_ERR_EMPTY, cv_pcm_queue_pop(q, out, 1));
  struct cv_pcm_queue_stats st = cv_pcm_queue_get_stats(q);
  CHECK_EQ(5760, st.pushed);
  CHECK_EQ(5760, st.popped);
  CHECK_EQ(1 + 961, st.refused);
  CHECK_EQ(2, st.full_events);
  CHECK_EQ(0, st.dropped);
  cv_pcm_queue_free(q);
}

/* ragged pushes and pops of other lengths go round the ring many times and keep the order */
static void test_wrap_stereo(void) {
  cv_pcm_queue *q;
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_new(16000, 2, 30, &q)); /* 480 samples */
  static int16_t in[333 * 2], out[320 * 2];
  size_t pushed = 0, popped = 0;
  for (int round = 0; round < 2000; round++) {
    size_t n = (size_t)(round * 37 % 333) + 1;
    fill(in, n, 2, pushed);
    int rc = cv_pcm_queue_push(q, in, n);
    if (rc == CV_PCM_QUEUE_OK) pushed += n;
    else CHECK(rc == CV_PCM_QUEUE_ERR_FULL && n > cv_pcm_queue_space(q));
    while (cv_pcm_queue_pop(q, out, 320) == CV_PCM_QUEUE_OK) {
      check_seq(out, 320, 2, popped);
      popped += 320;
    }
    CHECK_EQ(pushed - popped, cv_pcm_queue_frames(q));
    CHECK(cv_pcm_queue_frames(q) < 320);
  }
  CHECK(pushed > 100 * 480); /* went round the ring many times */
  cv_pcm_queue_free(q);
}

static void test_clear(void) {
  cv_pcm_queue *q;
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_new(8000, 1, 1000, &q));
  static int16_t in[800], out[160];
  fill(in, 800, 1, 0);
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_push(q, in, 800));
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_pop(q, out, 160));
  CHECK_EQ(80, cv_pcm_queue_duration_ms(q));
  cv_pcm_queue_clear(q); /* barge-in */
  CHECK_EQ(0, cv_pcm_queue_frames(q));
  CHECK_EQ(0, cv_pcm_queue_duration_ms(q));
  CHECK_EQ(CV_PCM_QUEUE_ERR_EMPTY, cv_pcm_queue_pop(q, out, 160));
  fill(in, 160, 1, 5000);
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_push(q, in, 160)); /* what comes after the clear, and only it */
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_pop(q, out, 160));
  check_seq(out, 160, 1, 5000);
  CHECK_EQ(640, cv_pcm_queue_get_stats(q).cleared);
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_pop(q, out, 0)); /* zero is a no-op */
  cv_pcm_queue_free(q);
}

static void test_drop_oldest(void) {
  cv_pcm_queue *q;
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_new(48000, 1, 40, &q)); /* 1920 = two 20 ms frames */
  static int16_t in[960 * 5], out[960 * 2];
  for (size_t f = 0; f < 5; f++) { /* a reader that stopped: five frames into room for two */
    fill(in, 960, 1, f * 960);
    CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_push_drop_oldest(q, in, 960));
  }
  CHECK_EQ(1920, cv_pcm_queue_frames(q));
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_pop(q, out, 1920));
  check_seq(out, 1920, 1, 3 * 960); /* the newest two */
  CHECK_EQ(3 * 960, cv_pcm_queue_get_stats(q).dropped);
  /* more than the capacity at once: only the newest capacity kept */
  fill(in, 960, 1, 0);
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_push(q, in, 960));
  fill(in, 960 * 5, 1, 10000);
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_push_drop_oldest(q, in, 960 * 5));
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_pop(q, out, 1920));
  check_seq(out, 1920, 1, 10000 + 3 * 960);
  CHECK_EQ(3 * 960 + 960 + 3 * 960, cv_pcm_queue_get_stats(q).dropped);
  cv_pcm_queue_free(q);
}

static void test_bad_args(void) {
  cv_pcm_queue *q = (cv_pcm_queue *)&q;
  CHECK_EQ(CV_PCM_QUEUE_ERR_ARG, cv_pcm_queue_new(48000, 3, 100, &q));
  CHECK_NULL(q);
  CHECK_EQ(CV_PCM_QUEUE_ERR_ARG, cv_pcm_queue_new(0, 1, 100, &q));
  CHECK_EQ(CV_PCM_QUEUE_ERR_ARG, cv_pcm_queue_new(48000, 1, 0, &q));
  CHECK_EQ(CV_PCM_QUEUE_ERR_ARG, cv_pcm_queue_new(48000, 1, CV_PCM_QUEUE_MAX_MS + 1, &q));
  CHECK_EQ(CV_PCM_QUEUE_ERR_ARG, cv_pcm_queue_new(100, 1, 1, &q)); /* less than one sample */
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_new(48000, 1, 10, &q));
  CHECK_EQ(CV_PCM_QUEUE_ERR_ARG, cv_pcm_queue_push(q, NULL, 1));
  CHECK_EQ(CV_PCM_QUEUE_OK, cv_pcm_queue_push(q, NULL, 0));
  CHECK_EQ(CV_PCM_QUEUE_ERR_ARG, cv_pcm_queue_pop(q, NULL, 1));
  CHECK_EQ(CV_PCM_QUEUE_ERR_ARG, cv_pcm_queue_push(NULL, NULL, 0));
  CHECK_EQ(0, cv_pcm_queue_duration_ms(NULL));
  cv_pcm_queue_clear(NULL);
  cv_pcm_queue_free(q);
  cv_pcm_queue_free(NULL);
}

int main(void) {
  test_full_and_backpressure();
  test_wrap_stereo();
  test_clear();
  test_drop_oldest();
  test_bad_args();
  printf("test_pcm_queue: ok\n");
  return 0;
}
