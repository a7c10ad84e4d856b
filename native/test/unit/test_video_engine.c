/*
 * The video half of the media engine (native/src/media/video_engine.c), driven with explicit
 * times (no thread): the newest-frame slot (conversion, scaling, rotation, drops counted), the
 * frame rate, keyframes (first, on request, after re-enabling, a new size), the bandwidth
 * adaptation (bitrate down then frame rate, back up after draining), and the receiving side
 * (decode and convert, keyframe requests rate-bounded, garbage survived).
 */
#include <stdlib.h>

#include "check.h"
#include "media/video_engine.h"
#include "media/vp8_codec.h"

#define W 320
#define H 240

/* packets the sender emitted, fed to a receiver */
struct wire {
  uint8_t *pk[256];
  size_t len[256];
  int n;
  int previews, preview_w;
};
static void emit(void *ctx, const uint8_t *b, size_t len) {
  struct wire *w = ctx;
  CHECK(w->n < 256);
  w->pk[w->n] = malloc(len);
  memcpy(w->pk[w->n], b, len);
  w->len[w->n++] = len;
}
static void preview(void *ctx, const otc_video_frame *f) {
  struct wire *w = ctx;
  w->preview_w = otc_video_frame_get_width(f);
  w->previews++;
}
static void wire_clear(struct wire *w) {
  for (int i = 0; i < w->n; i++) free(w->pk[i]);
  w->n = 0;
}

/* the receiver's frames */
struct screen {
  int frames, w, h, r, g, b;
};
static void on_frame(void *ctx, const otc_video_frame *f) {
  struct screen *s = ctx;
  s->frames++;
  s->w = otc_video_frame_get_width(f);
  s->h = otc_video_frame_get_height(f);
  CHECK_EQ(OTC_VIDEO_FRAME_FORMAT_ARGB32, otc_video_frame_get_format(f));
  const uint8_t *p = otc_video_frame_get_plane_binary_data(f, OTC_VIDEO_FRAME_PLANE_PACKED);
  int stride = otc_video_frame_get_plane_stride(f, OTC_VIDEO_FRAME_PLANE_PACKED);
  p += (size_t)(s->h / 2) * (size_t)stride + (size_t)(s->w / 2) * 4;
  s->b = p[0], s->g = p[1], s->r = p[2];
}

/* Feeds the wire to the receiver; returns how many times it asked for a keyframe. */
static int deliver(cv_video_sub *rx, struct wire *w, int64_t now, struct screen *scr) {
  struct cv_video_sub_out out = {.on_frame = on_frame, .ctx = scr};
  int asks = 0;
  for (int i = 0; i < w->n; i++) {
    struct cv_media_frame fr;
    CHECK_EQ(CV_MEDIA_OK, cv_media_frame_decode(w->pk[i], w->len[i], &fr));
    CHECK_EQ(CV_MEDIA_KIND_VIDEO, fr.header.kind);
    CHECK_EQ(9, fr.header.track);
    cv_video_sub_count_received(rx, w->len[i]);
    asks += cv_video_sub_packet(rx, &fr.header, fr.payload, fr.payload_len, now, &out);
  }
  wire_clear(w);
  return asks;
}

/* A flat colour (R, G, B) frame in ARGB32 (B G R A bytes). */
static otc_video_frame *flat(int w, int h, int r, int g, int b) {
  uint8_t *px = malloc((size_t)w * (size_t)h * 4);
  for (int i = 0; i < w * h; i++) px[i * 4] = (uint8_t)b, px[i * 4 + 1] = (uint8_t)g, px[i * 4 + 2] = (uint8_t)r, px[i * 4 + 3] = 255;
  otc_video_frame *f = otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_ARGB32, w, h, px);
  free(px);
  return f;
}

static void test_send_receive(void) {
  cv_video_pub *tx = cv_video_pub_new();
  cv_video_sub *rx = cv_video_sub_new();
  CHECK_EQ(CV_VIDEO_EARG, cv_video_pub_configure(tx, 1, H, 15));
  CHECK_EQ(CV_VIDEO_EARG, cv_video_pub_configure(tx, W, H, 0));
  otc_video_frame *f = flat(2 * W, 2 * H, 200, 40, 40); /* scaled down to 320x240 */
  CHECK_EQ(CV_VIDEO_ENOSOURCE, cv_video_pub_put(tx, f, 0));
  CHECK_EQ(CV_VIDEO_OK, cv_video_pub_configure(tx, W, H, 15));
  CHECK_EQ(CV_VIDEO_EARG, cv_video_pub_put(tx, f, 45));
  CHECK_EQ(CV_VIDEO_EARG, cv_video_sub_set_format(rx, OTC_VIDEO_FRAME_FORMAT_YUY2));
  CHECK_EQ(CV_VIDEO_OK, cv_video_sub_set_format(rx, OTC_VIDEO_FRAME_FORMAT_ARGB32));
  struct wire w = {0};
  struct screen scr = {0};
  struct cv_video_pub_out out = {.emit = emit, .preview = preview, .ctx = &w};
  int64_t t = 1000;
  /* nothing waits: nothing is sent */
  CHECK_EQ(0, cv_video_pub_tick(tx, t, 9, 1, &out));
  /* two frames before the encoder's turn: the older is dropped */
  CHECK_EQ(CV_VIDEO_OK, cv_video_pub_put(tx, f, 0));
  CHECK_EQ(CV_VIDEO_OK, cv_video_pub_put(tx, f, 0));
  CHECK(cv_video_pub_tick(tx, t, 9, 1, &out) > 0);
  CHECK_EQ(0, deliver(rx, &w, t, &scr));
  CHECK_EQ(1, scr.frames);
  CHECK_EQ(W, scr.w);
  CHECK_EQ(H, scr.h);
  CHECK(abs(scr.r - 200) < 30 && abs(scr.g - 40) < 30 && abs(scr.b - 40) < 30);
  /* the rate: a frame 10 ms later waits for its turn (66 ms at 15 fps, with a quarter's slack) */
  CHECK_EQ(CV_VIDEO_OK, cv_video_pub_put(tx, f, 0));
  CHECK_EQ(0, cv_video_pub_tick(tx, t + 10, 9, 1, &out));
  CHECK(cv_video_pub_tick(tx, t + 60, 9, 1, &out) > 0);
  CHECK_EQ(0, deliver(rx, &w, t + 60, &scr));
  CHECK_EQ(2, scr.frames);
  struct convene_media_stats st = {0};
  cv_video_pub_stats(tx, &st);
  CHECK_EQ(2, (int)st.frames_encoded);
  CHECK_EQ(1, (int)st.keyframes_sent);
  CHECK_EQ(1, (int)st.frames_dropped);
  CHECK_EQ(W, st.width);
  CHECK_EQ(15, st.fps);
  CHECK_EQ(2, w.previews);
  /* a keyframe on request, counted; with nothing new, the last picture again */
  cv_video_pub_request_keyframe(tx, 1);
  CHECK(cv_video_pub_tick(tx, t + 130, 9, 1, &out) > 0);
  deliver(rx, &w, t + 130, &scr);
  cv_video_pub_stats(tx, &st);
  CHECK_EQ(2, (int)st.keyframes_sent);
  CHECK_EQ(1, (int)st.keyframe_requests);
  /* disabled: nothing; enabled again: a keyframe */
  CHECK_EQ(CV_VIDEO_OK, cv_video_pub_put(tx, f, 0));
  CHECK_EQ(0, cv_video_pub_tick(tx, t + 200, 9, 0, &out));
  CHECK(cv_video_pub_tick(tx, t + 270, 9, 1, &out) > 0);
  deliver(rx, &w, t + 270, &scr);
  cv_video_pub_stats(tx, &st);
  CHECK_EQ(3, (int)st.keyframes_sent);
  /* a new size: a new encoder, a keyframe; rotation 90 of a 240x320 frame fills 320x240 */
  CHECK_EQ(CV_VIDEO_OK, cv_video_pub_configure(tx, W / 2, H / 2, 15));
  otc_video_frame *tall = flat(H, W, 40, 40, 200);
  CHECK_EQ(CV_VIDEO_OK, cv_video_pub_put(tx, tall, 90));
  CHECK(cv_video_pub_tick(tx, t + 340, 9, 1, &out) > 0);
  CHECK_EQ(W / 2, w.preview_w);
  deliver(rx, &w, t + 340, &scr);
  CHECK_EQ(W / 2, scr.w);
  CHECK_EQ(H / 2, scr.h);
  CHECK(abs(scr.b - 200) < 30);
  cv_video_pub_stats(tx, &st);
  CHECK_EQ(4, (int)st.keyframes_sent);
  struct convene_media_stats rs = {0};
  cv_video_sub_stats(rx, &rs, t + 400, 1);
  CHECK_EQ(0, (int)rs.video_decode_errors);
  CHECK_EQ(5, (int)rs.frames_rendered);
  CHECK(rs.video_packets_received >= 5);
  otc_video_frame_delete(tall);
  otc_video_frame_delete(f);
  cv_video_pub_free(tx);
  cv_video_sub_free(rx);
}

/* The backlog drives the rates: bitrate down first, then the frame rate; back up after 2 s. */
static void test_adaptation(void) {
  cv_video_pub *tx = cv_video_pub_new();
  CHECK_EQ(CV_VIDEO_OK, cv_video_pub_configure(tx, 640, 360, 30));
  otc_video_frame *f = flat(640, 360, 90, 90, 90);
  struct wire w = {0};
  struct cv_video_pub_out out = {.emit = emit, .ctx = &w};
  int64_t t = 0;
  CHECK_EQ(CV_VIDEO_OK, cv_video_pub_put(tx, f, 0));
  cv_video_pub_tick(tx, t, 9, 1, &out);
  wire_clear(&w);
  struct convene_media_stats st;
  cv_video_pub_stats(tx, &st);
  int nominal = st.bitrate_kbps;
  CHECK_EQ(cv_vp8_default_bitrate_kbps(640, 360, 30), nominal);
  CHECK_EQ(30, st.fps);
  /* congested for 5 s: the bitrate goes down to its floor, then the frame rate */
  int saw_fps_drop_at_floor = 0, min_kbps = nominal;
  for (int i = 0; i < 100; i++) {
    t += 50;
    cv_video_pub_report_backlog(tx, 100 * 1024, 0);
    cv_video_pub_tick(tx, t, 9, 1, &out);
    wire_clear(&w);
    cv_video_pub_stats(tx, &st);
    if (st.fps < 30) {
      if (st.bitrate_kbps <= (nominal / 8 < 30 ? 30 : nominal / 8)) saw_fps_drop_at_floor = 1;
      else CHECK_FAIL_("the frame rate went down before the bitrate reached its floor");
    }
    if (st.bitrate_kbps < min_kbps) min_kbps = st.bitrate_kbps;
  }
  CHECK(saw_fps_drop_at_floor);
  CHECK_EQ(5, st.fps);
  CHECK(min_kbps <= nominal / 8 + 1);
  /* drained: after 2 s the frame rate comes back first, then the bitrate, to nominal */
  for (int i = 0; i < 400; i++) {
    t += 50;
    cv_video_pub_report_backlog(tx, 0, 0);
    cv_video_pub_tick(tx, t, 9, 1, &out);
    wire_clear(&w);
    cv_video_pub_stats(tx, &st);
    if (st.bitrate_kbps > min_kbps) CHECK_EQ(30, st.fps);
  }
  CHECK_EQ(30, st.fps);
  CHECK_EQ(nominal, st.bitrate_kbps);
  /* a refused packet counts as congestion, and as a dropped packet */
  cv_video_pub_report_backlog(tx, 0, 3);
  t += 50;
  cv_video_pub_tick(tx, t, 9, 1, &out);
  wire_clear(&w);
  cv_video_pub_stats(tx, &st);
  CHECK(st.bitrate_kbps < nominal);
  CHECK_EQ(3, (int)st.video_packets_dropped);
  otc_video_frame_delete(f);
  cv_video_pub_free(tx);
}

/* Garbage and loss on the receiving side: no frame, keyframe requests at most every 500 ms. */
static void test_receiver_hostile(void) {
  cv_video_sub *rx = cv_video_sub_new();
  struct screen scr = {0};
  struct cv_video_sub_out out = {.on_frame = on_frame, .ctx = &scr};
  CHECK_EQ(CV_VIDEO_OK, cv_video_sub_set_format(rx, OTC_VIDEO_FRAME_FORMAT_ARGB32));
  uint8_t junk[300];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 7 + 3);
  struct cv_media_header h = {.kind = CV_MEDIA_KIND_VIDEO, .track = 9, .sequence = 1, .timestamp = 90,
                              .flags = CV_MEDIA_FLAG_KEYFRAME | CV_MEDIA_FLAG_MARKER};
  CHECK_EQ(1, cv_video_sub_packet(rx, &h, junk, sizeof junk, 0, &out)); /* decoder refuses: ask */
  h.sequence++;
  CHECK_EQ(0, cv_video_sub_packet(rx, &h, junk, sizeof junk, 100, &out)); /* within 500 ms: not again */
  h.sequence++;
  h.flags = CV_MEDIA_FLAG_MARKER; /* a delta frame while waiting for a keyframe: skipped */
  CHECK_EQ(1, cv_video_sub_packet(rx, &h, junk, sizeof junk, 600, &out));
  h.sequence += 10; /* a gap */
  CHECK_EQ(0, cv_video_sub_packet(rx, &h, junk, 0, 700, &out));
  CHECK_EQ(0, scr.frames);
  struct convene_media_stats st = {0};
  cv_video_sub_stats(rx, &st, 800, 0);
  CHECK(st.video_decode_errors >= 2);
  CHECK_EQ(9, (int)st.video_packets_lost);
  CHECK_EQ(2, (int)st.keyframe_requests);
  struct cv_media_header audio = {.kind = CV_MEDIA_KIND_AUDIO, .track = 9};
  CHECK_EQ(0, cv_video_sub_packet(rx, &audio, junk, 10, 900, &out));
  cv_video_sub_free(rx);
  cv_video_sub_free(NULL);
  cv_video_pub_free(NULL);
}

int main(void) {
  test_send_receive();
  test_adaptation();
  test_receiver_hostile();
  printf("test_video_engine: ok\n");
  return 0;
}
