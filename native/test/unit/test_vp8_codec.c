/*
 * VP8 over libvpx (native/src/media/vp8_codec.c): a moving picture encodes and decodes back
 * close to the original (PSNR), the first frame and requested frames are keyframes, the
 * bitrate follows set_rates, and the decoder refuses delta frames before a keyframe and
 * corrupt input without crashing (counted).
 */
#include <math.h>

#include "check.h"
#include "media/vp8_codec.h"

#define W 320
#define H 240

static uint8_t y[W * H], u[W * H / 4], v[W * H / 4];

/* a gradient with a moving bright square */
static void picture(int t) {
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++) {
      int inside = c >= (t * 4) % (W - 40) && c < (t * 4) % (W - 40) + 40 && r >= 100 && r < 140;
      y[r * W + c] = inside ? 235 : (uint8_t)(16 + (r + c) % 200);
    }
  for (int i = 0; i < W * H / 4; i++) u[i] = (uint8_t)(100 + i % 50), v[i] = (uint8_t)(150 - i % 40);
}

static double psnr_y(const struct cv_vp8_picture *p) {
  double se = 0;
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++) {
      double d = (double)y[r * W + c] - p->plane[0][r * p->stride[0] + c];
      se += d * d;
    }
  double mse = se / (W * H);
  return mse == 0 ? 99 : 10 * log10(255.0 * 255.0 / mse);
}

static uint8_t out[W * H * 3 / 2 + 4096];

static size_t encode(cv_vp8_encoder *e, int t, int *key) {
  picture(t);
  size_t len = 0;
  CHECK_EQ(CV_VP8_OK, cv_vp8_encoder_encode(e, y, W, u, W / 2, v, W / 2, (int64_t)t * 3000, out, sizeof out, &len, key));
  return len;
}

static void test_round_trip(void) {
  cv_vp8_encoder *e;
  struct cv_vp8_encoder_options o = {.width = W, .height = H, .fps = 30, .bitrate_kbps = 800, .keyframe_interval = 1000};
  CHECK_EQ(CV_VP8_OK, cv_vp8_encoder_new(&o, &e));
  cv_vp8_decoder *d;
  CHECK_EQ(CV_VP8_OK, cv_vp8_decoder_new(1, &d));
  int keys = 0;
  for (int t = 0; t < 30; t++) {
    if (t == 20) cv_vp8_encoder_request_keyframe(e);
    int key = 0;
    size_t len = encode(e, t, &key);
    if (len == 0) continue; /* dropped by rate control */
    if (t == 0 || t == 20) CHECK_EQ(1, key);
    keys += key;
    int w = 0, h = 0;
    CHECK_EQ(key, cv_vp8_peek(out, len, &w, &h));
    if (key) CHECK(w == W && h == H);
    struct cv_vp8_picture p;
    CHECK_EQ(CV_VP8_OK, cv_vp8_decoder_decode(d, out, len, &p));
    CHECK(p.width == W && p.height == H);
    double q = psnr_y(&p);
    if (q < 28) CHECK_FAIL_("frame %d: PSNR %.1f dB", t, q);
  }
  CHECK_EQ(2, keys);
  struct cv_vp8_decoder_stats s;
  cv_vp8_decoder_stats(d, &s);
  CHECK(s.frames >= 28);
  CHECK_EQ(0, s.corrupt);
  cv_vp8_decoder_free(d);
  cv_vp8_encoder_free(e);
}

static size_t bytes_at(int kbps) {
  cv_vp8_encoder *e;
  struct cv_vp8_encoder_options o = {.width = W, .height = H, .fps = 30, .bitrate_kbps = 2000};
  CHECK_EQ(CV_VP8_OK, cv_vp8_encoder_new(&o, &e));
  CHECK_EQ(CV_VP8_OK, cv_vp8_encoder_set_rates(e, kbps, 30));
  CHECK_EQ(kbps, cv_vp8_encoder_bitrate_kbps(e));
  size_t total = 0;
  for (int t = 0; t < 60; t++) {
    int key;
    total += encode(e, t * 7, &key); /* fast motion: the rate controller has work */
  }
  cv_vp8_encoder_free(e);
  return total;
}

static void test_rates(void) {
  size_t low = bytes_at(100), high = bytes_at(1500);
  if (!(low * 3 < high)) CHECK_FAIL_("100 kbit/s gave %zu bytes, 1500 kbit/s %zu", low, high);
  CHECK(cv_vp8_default_bitrate_kbps(640, 360, 30) > cv_vp8_default_bitrate_kbps(320, 180, 30));
  CHECK_EQ(60, cv_vp8_default_bitrate_kbps(16, 16, 1));
  CHECK_EQ(4000, cv_vp8_default_bitrate_kbps(4096, 4096, 60));
}

static void test_decoder_hostile(void) {
  cv_vp8_encoder *e;
  struct cv_vp8_encoder_options o = {.width = W, .height = H, .fps = 30};
  CHECK_EQ(CV_VP8_OK, cv_vp8_encoder_new(&o, &e));
  static uint8_t key[sizeof out], delta[sizeof out];
  int k;
  size_t klen = encode(e, 0, &k);
  memcpy(key, out, klen);
  size_t dlen = encode(e, 1, &k);
  CHECK_EQ(0, k);
  memcpy(delta, out, dlen);
  cv_vp8_encoder_free(e);

  cv_vp8_decoder *d;
  CHECK_EQ(CV_VP8_OK, cv_vp8_decoder_new(0, &d));
  struct cv_vp8_picture p;
  CHECK_EQ(CV_VP8_ERR_NO_KEY, cv_vp8_decoder_decode(d, delta, dlen, &p)); /* no keyframe yet */
  const uint8_t junk[16] = {0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0x7f, 0xff, 0x7f, 1, 2, 3, 4, 5, 6};
  CHECK_EQ(CV_VP8_ERR_CORRUPT, cv_vp8_decoder_decode(d, junk, sizeof junk, &p)); /* 16383 x 16383 announced */
  const uint8_t bad_start[12] = {0x10, 0x02, 0x00, 0x11, 0x22, 0x33, 64, 0, 64, 0, 0, 0};
  CHECK_EQ(CV_VP8_ERR_CORRUPT, cv_vp8_decoder_decode(d, bad_start, sizeof bad_start, &p));
  /* every truncation of a real keyframe: an error or a picture, never a crash */
  for (size_t n = 1; n < klen; n += klen / 50 + 1) {
    int rc = cv_vp8_decoder_decode(d, key, n, &p);
    CHECK(rc == CV_VP8_OK || rc == CV_VP8_ERR_CORRUPT || rc == CV_VP8_ERR_NO_KEY);
  }
  CHECK_EQ(CV_VP8_OK, cv_vp8_decoder_decode(d, key, klen, &p)); /* a whole keyframe recovers */
  CHECK_EQ(CV_VP8_OK, cv_vp8_decoder_decode(d, delta, dlen, &p));
  struct cv_vp8_decoder_stats s;
  cv_vp8_decoder_stats(d, &s);
  CHECK(s.corrupt >= 2);
  CHECK_EQ(1, s.no_key >= 1);
  CHECK_EQ(CV_VP8_ERR_ARG, cv_vp8_decoder_decode(d, NULL, 3, &p));
  cv_vp8_decoder_free(d);
  CHECK_EQ(CV_VP8_ERR_CORRUPT, cv_vp8_peek(junk, 2, NULL, NULL));

  struct cv_vp8_encoder_options bad = {.width = 1, .height = H, .fps = 30};
  CHECK_EQ(CV_VP8_ERR_ARG, cv_vp8_encoder_new(&bad, &e));
  CHECK_NULL(e);
  bad.width = W, bad.fps = 0;
  CHECK_EQ(CV_VP8_ERR_ARG, cv_vp8_encoder_new(&bad, &e));
  cv_vp8_encoder_free(NULL);
  cv_vp8_decoder_free(NULL);
}

int main(void) {
  test_round_trip();
  test_rates();
  test_decoder_hostile();
  printf("test_vp8_codec: ok\n");
  return 0;
}
