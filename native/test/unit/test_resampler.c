/*
 * The resampler (native/src/media/resampler.c) over the real speexdsp: 48 kHz stereo -> 16 kHz
 * mono of a 440 Hz tone is found at 440 Hz (Goertzel) and not 1 kHz; sample counts stay
 * exact over many frames for every rate pair; the FIFO's fixed frames, bound and reset.
 */
#include "check.h"
#include "media/resampler.h"
#include "media_tone.h"

#define AMPLITUDE 8000.0

static void test_48k_stereo_to_16k_mono(void) {
  struct cv_resampler_config c = {48000, 2, 16000, 1, 320, 0, -1};
  cv_resampler *r;
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_new(&c, &r));
  static int16_t in[480 * 2];
  static int16_t out[16000 * 2]; /* 2 s at 16 kHz mono */
  size_t got = 0, frames = 0;
  for (int i = 0; i < 200; i++) { /* 2 s in 10 ms pushes */
    tone_fill(in, 480, 2, 440, 48000, AMPLITUDE, (size_t)i * 480);
    CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_push(r, in, 480));
    int k;
    while ((k = cv_resampler_pop_frame(r, out + got)) == 1) {
      got += 320;
      frames++;
    }
    CHECK_EQ(0, k);
    CHECK(cv_resampler_available(r) < 320);
  }
  size_t total = got + cv_resampler_available(r);
  printf("48k stereo -> 16k mono: %zu frames of 320, %zu samples out of 96000 in (expected 32000)\n", frames, total);
  CHECK_EQ(32000, total);
  CHECK_EQ(100, frames);
  size_t skip = 320; /* the filter's delay */
  double a440 = goertzel(out + skip, got - skip, 1, 0, 440, 16000);
  double a1k = goertzel(out + skip, got - skip, 1, 0, 1000, 16000);
  printf("  440 Hz %.1f, 1 kHz %.1f\n", a440, a1k);
  CHECK(a440 > AMPLITUDE * 0.8);
  CHECK(a1k < AMPLITUDE * 0.01);
  cv_resampler_free(r);
}

/* every pair of rates and channel counts, pushed in ragged chunks: output count = input count
   * ratio (within the resampler's one-sample fractional phase), never more than a push's bound */
static void test_counts_every_pair(void) {
  static const int rates[] = {8000, 16000, 24000, 32000, 44100, 48000};
  static const size_t chunks[] = {1, 7, 137, 441, 480, 960, 1000};
  static int16_t in[2000 * 2], out[20000 * 2];
  for (size_t a = 0; a < 6; a++) {
    for (size_t b = 0; b < 6; b++) {
      for (int ch = 0; ch < 4; ch++) {
        int ic = 1 + (ch & 1), oc = 1 + (ch >> 1);
        struct cv_resampler_config c = {rates[a], ic, rates[b], oc, 0, 1000, -1};
        cv_resampler *r;
        CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_new(&c, &r));
        size_t total_in = 0, total_out = 0;
        for (int i = 0; i < 60; i++) {
          size_t n = chunks[(size_t)i % 7];
          tone_fill(in, n, ic, 440, rates[a], AMPLITUDE, total_in);
          size_t before = cv_resampler_available(r);
          CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_push(r, in, n));
          size_t produced = cv_resampler_available(r) - before;
          CHECK(produced <= (n * (size_t)rates[b] + (size_t)rates[a] - 1) / (size_t)rates[a] + 1);
          total_in += n;
          size_t popped = cv_resampler_pop(r, out, sizeof out / sizeof out[0] / 2);
          CHECK_EQ(produced + before, popped);
          if (oc == 2 && popped > 0) CHECK(out[0] == out[1] && out[2 * (popped - 1)] == out[2 * popped - 1]);
          total_out += popped;
        }
        double expected = (double)total_in * rates[b] / rates[a];
        if (total_out + 1.0 < expected || (double)total_out > expected + 1.0)
          CHECK_FAIL_("%d/%d ch -> %d/%d ch: %zu in, %zu out, expected %.2f", rates[a], ic, rates[b], oc, total_in,
                      total_out, expected);
        cv_resampler_free(r);
      }
    }
  }
}

static void test_same_rate_passes_through(void) {
  /* 48 kHz -> 48 kHz: bit-exact and without delay (no filter), the channels still converted */
  struct cv_resampler_config c = {48000, 1, 48000, 1, 480, 100, -1};
  cv_resampler *r;
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_new(&c, &r));
  static int16_t in[960], out[480], st[960 * 2], mono[480];
  tone_fill(in, 960, 1, 440, 48000, AMPLITUDE, 0);
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_push(r, in, 960));
  CHECK_EQ(960, cv_resampler_available(r));
  CHECK_EQ(1, cv_resampler_pop_frame(r, out));
  CHECK(memcmp(out, in, sizeof out) == 0);
  CHECK_EQ(1, cv_resampler_pop_frame(r, out));
  CHECK(memcmp(out, in + 480, sizeof out) == 0);
  cv_resampler_reset(r);
  CHECK_EQ(0, cv_resampler_available(r));
  cv_resampler_free(r);
  struct cv_resampler_config down = {48000, 2, 48000, 1, 480, 100, -1};
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_new(&down, &r));
  for (int i = 0; i < 480; i++) st[2 * i] = (int16_t)(i * 3), st[2 * i + 1] = (int16_t)(-i);
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_push(r, st, 480));
  CHECK_EQ(1, cv_resampler_pop_frame(r, mono));
  for (int i = 0; i < 480; i++) CHECK_EQ((i * 3 - i) / 2, mono[i]);
  cv_resampler_free(r);
}

static void test_fifo_bound_and_reset(void) {
  /* 48 kHz mono -> 48 kHz stereo, 20 ms frames, 100 ms of FIFO */
  struct cv_resampler_config c = {48000, 1, 48000, 2, 960, 100, -1};
  cv_resampler *r;
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_new(&c, &r));
  CHECK_EQ(4800, cv_resampler_capacity(r));
  static int16_t in[960], out[960 * 2];
  tone_fill(in, 960, 1, 440, 48000, AMPLITUDE, 0);
  int pushed = 0, rc;
  while ((rc = cv_resampler_push(r, in, 960)) == CV_RESAMPLER_OK) pushed++;
  CHECK_EQ(CV_RESAMPLER_ERR_FULL, rc);
  CHECK_EQ(4, pushed); /* a fifth might not fit (its bound is 961 of the 960 left) */
  size_t avail = cv_resampler_available(r);
  CHECK_EQ(CV_RESAMPLER_ERR_FULL, cv_resampler_push(r, in, 960)); /* refused whole: nothing taken */
  CHECK_EQ(avail, cv_resampler_available(r));
  CHECK_EQ(1, cv_resampler_pop_frame(r, out));
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_push(r, in, 960)); /* room again */
  CHECK_EQ(CV_RESAMPLER_ERR_ARG, cv_resampler_push(r, in, 48000)); /* larger than the FIFO: never fits */
  cv_resampler_reset(r);
  CHECK_EQ(0, cv_resampler_available(r));
  CHECK_EQ(0, cv_resampler_pop_frame(r, out));
  CHECK_EQ(0, cv_resampler_pop(r, out, 960));
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_push(r, in, 960));
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_push(r, NULL, 0));
  CHECK_EQ(CV_RESAMPLER_ERR_ARG, cv_resampler_push(r, NULL, 1));
  cv_resampler_free(r);

  /* without a fixed frame length, pop_frame is an argument error */
  struct cv_resampler_config free_len = {16000, 1, 8000, 1, 0, 0, 10};
  CHECK_EQ(CV_RESAMPLER_OK, cv_resampler_new(&free_len, &r));
  CHECK_EQ(CV_RESAMPLER_ERR_ARG, cv_resampler_pop_frame(r, out));
  cv_resampler_free(r);
  cv_resampler_free(NULL);
}

static void test_bad_config(void) {
  static const struct cv_resampler_config bad[] = {
      {22050, 1, 48000, 1, 0, 0, -1}, {48000, 1, 11025, 1, 0, 0, -1}, {48000, 0, 48000, 1, 0, 0, -1},
      {48000, 1, 48000, 3, 0, 0, -1}, {48000, 1, 48000, 1, 0, 0, 11},   {0, 1, 48000, 1, 0, 0, -1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cv_resampler *r = (cv_resampler *)&r;
    CHECK_EQ(CV_RESAMPLER_ERR_ARG, cv_resampler_new(&bad[i], &r));
    CHECK_NULL(r);
  }
  cv_resampler *r;
  CHECK_EQ(CV_RESAMPLER_ERR_ARG, cv_resampler_new(NULL, &r));
}

int main(void) {
  test_48k_stereo_to_16k_mono();
  test_counts_every_pair();
  test_same_rate_passes_through();
  test_fifo_bound_and_reset();
  test_bad_config();
  printf("test_resampler: ok\n");
  return 0;
}
