/*
 * Video end to end against the real server (issue 18): a C publisher sends a known pattern
 * (four colour quadrants) at 320x240 / 15 fps from a Vonage-shaped capturer or from
 * convene_publisher_write_video; a C subscriber's on_render_frame sees frames of that size
 * and the quadrants' colours. Keyframe requests (a late subscriber), publish_video false,
 * subscribe_to_video false, a size change mid-stream, malformed video on the wire.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h" /* malformed_video: the publisher's link and video track (service thread) */

#define W 320
#define H 240
#define FPS 15
#define TOL 48 /* per channel, after VP8 and two colour conversions */

/* The quadrants, as R, G, B: top left red, top right green, bottom left blue, bottom right white. */
static const uint8_t QUAD[4][3] = {{220, 30, 30}, {30, 200, 40}, {30, 40, 210}, {235, 235, 235}};

/* An ARGB32 frame (bytes B G R A) of the pattern at w x h. */
static otc_video_frame *pattern(int w, int h, enum otc_video_frame_format format) {
  uint8_t *px = malloc((size_t)w * (size_t)h * 4);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *c = QUAD[(y >= h / 2) * 2 + (x >= w / 2)];
      uint8_t *p = px + ((size_t)y * (size_t)w + (size_t)x) * 4;
      p[0] = c[2], p[1] = c[1], p[2] = c[0], p[3] = 255;
    }
  otc_video_frame *f = otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_ARGB32, w, h, px);
  free(px);
  CHECK_NOT_NULL(f);
  if (format != OTC_VIDEO_FRAME_FORMAT_ARGB32) {
    otc_video_frame *c = otc_video_frame_convert(format, f);
    CHECK_NOT_NULL(c);
    otc_video_frame_delete(f);
    f = c;
  }
  return f;
}

/* Whether a frame shows the pattern: the centre of each quadrant within TOL. */
static int shows_pattern(const otc_video_frame *frame) {
  otc_video_frame *argb = NULL;
  if (otc_video_frame_get_format(frame) != OTC_VIDEO_FRAME_FORMAT_ARGB32) {
    argb = otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_ARGB32, frame);
    if (!argb) return 0;
    frame = argb;
  }
  int w = otc_video_frame_get_width(frame), h = otc_video_frame_get_height(frame);
  const uint8_t *px = otc_video_frame_get_plane_binary_data(frame, OTC_VIDEO_FRAME_PLANE_PACKED);
  int stride = otc_video_frame_get_plane_stride(frame, OTC_VIDEO_FRAME_PLANE_PACKED);
  int ok = px != NULL;
  for (int q = 0; ok && q < 4; q++) {
    int x = (q % 2) * w / 2 + w / 4, y = (q / 2) * h / 2 + h / 4;
    const uint8_t *p = px + (size_t)y * (size_t)stride + (size_t)x * 4;
    int rgb[3] = {p[2], p[1], p[0]};
    for (int c = 0; c < 3; c++)
      if (abs(rgb[c] - QUAD[q][c]) > TOL) ok = 0;
  }
  if (argb) otc_video_frame_delete(argb);
  return ok;
}

/* ---- a recorded video subscriber ---- */
struct vsub {
  otc_subscriber *sub;
  atomic_int connected, errors, frames, good, wrong_size, data_received, stats;
  atomic_int disabled_pub, enabled_pub, disabled_sub, enabled_sub;
  atomic_int muted, after_mute;
  atomic_int width, height, want_w, want_h;
};

static void vs_connected(otc_subscriber *s, void *u, const otc_stream *st) {
  (void)s, (void)st;
  atomic_fetch_add(&((struct vsub *)u)->connected, 1);
}
static void vs_error(otc_subscriber *s, void *u, const char *msg, enum otc_subscriber_error_code code) {
  (void)s;
  fprintf(stderr, "subscriber error %d: %s\n", (int)code, msg);
  atomic_fetch_add(&((struct vsub *)u)->errors, 1);
}
static void vs_frame(otc_subscriber *s, void *u, const otc_video_frame *f) {
  (void)s;
  struct vsub *r = u;
  if (atomic_load(&r->muted)) atomic_fetch_add(&r->after_mute, 1);
  int w = otc_video_frame_get_width(f), h = otc_video_frame_get_height(f);
  atomic_store(&r->width, w);
  atomic_store(&r->height, h);
  if (w != atomic_load(&r->want_w) || h != atomic_load(&r->want_h)) atomic_fetch_add(&r->wrong_size, 1);
  else if (shows_pattern(f)) atomic_fetch_add(&r->good, 1);
  atomic_fetch_add(&r->frames, 1);
}
static void vs_disabled(otc_subscriber *s, void *u, enum otc_video_reason reason) {
  (void)s;
  struct vsub *r = u;
  atomic_fetch_add(reason == OTC_VIDEO_REASON_PUBLISH_VIDEO ? &r->disabled_pub : &r->disabled_sub, 1);
}
static void vs_enabled(otc_subscriber *s, void *u, enum otc_video_reason reason) {
  (void)s;
  struct vsub *r = u;
  atomic_fetch_add(reason == OTC_VIDEO_REASON_PUBLISH_VIDEO ? &r->enabled_pub : &r->enabled_sub, 1);
}
static void vs_data(otc_subscriber *s, void *u) {
  (void)s;
  atomic_fetch_add(&((struct vsub *)u)->data_received, 1);
}
/* Counts the reports that show packets received: a report may come before the first packet
 * (under valgrind the first second can pass without one), which is no error. */
static void vs_stats(otc_subscriber *s, void *u, struct otc_subscriber_video_stats st) {
  (void)s;
  if (st.packets_received > 0) atomic_fetch_add(&((struct vsub *)u)->stats, 1);
}

static void vsub_init(struct vsub *r, const otc_stream *stream, enum otc_video_frame_format format) {
  memset(r, 0, sizeof *r);
  atomic_store(&r->want_w, W);
  atomic_store(&r->want_h, H);
  struct otc_subscriber_callbacks cb = {.on_connected = vs_connected, .on_error = vs_error,
                                        .on_render_frame = vs_frame, .on_video_disabled = vs_disabled,
                                        .on_video_enabled = vs_enabled, .on_video_data_received = vs_data,
                                        .on_video_stats = vs_stats, .user_data = r};
  r->sub = otc_subscriber_new(stream, &cb);
  CHECK_NOT_NULL(r->sub);
  CHECK_EQ(OTC_INVALID_PARAM, convene_subscriber_set_video_format(r->sub, OTC_VIDEO_FRAME_FORMAT_MJPEG));
  CHECK_EQ(OTC_SUCCESS, convene_subscriber_set_video_format(r->sub, format));
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_set_subscribe_to_audio(r->sub, OTC_FALSE));
}

/* ---- a capturer in the Vonage shape: a thread of its own provides frames while started ---- */
struct cap {
  pthread_t thread;
  atomic_int inits, starts, stops, destroys, provided, refused, run;
  const otc_video_capturer *capturer;
};
static struct cap g_cap;

static void *vc_main(void *arg) {
  (void)arg;
  otc_video_frame *f = pattern(W, H, OTC_VIDEO_FRAME_FORMAT_ARGB32);
  int64_t next = it_now_ms();
  while (atomic_load(&g_cap.run)) {
    otc_video_frame_set_timestamp(f, it_now_ms() * 1000);
    if (otc_video_capturer_provide_frame(g_cap.capturer, 0, f) == OTC_SUCCESS) atomic_fetch_add(&g_cap.provided, 1);
    else atomic_fetch_add(&g_cap.refused, 1);
    next += 1000 / FPS;
    int64_t wait = next - it_now_ms();
    if (wait > 0) it_sleep_ms((int)wait);
  }
  otc_video_frame_delete(f);
  return NULL;
}
static otc_bool vc_init(const otc_video_capturer *c, void *u) {
  (void)u;
  g_cap.capturer = c;
  atomic_fetch_add(&g_cap.inits, 1);
  return OTC_TRUE;
}
static otc_bool vc_start(const otc_video_capturer *c, void *u) {
  (void)c, (void)u;
  atomic_fetch_add(&g_cap.starts, 1);
  atomic_store(&g_cap.run, 1);
  CHECK_EQ(0, pthread_create(&g_cap.thread, NULL, vc_main, NULL));
  return OTC_TRUE;
}
static otc_bool vc_stop(const otc_video_capturer *c, void *u) {
  (void)c, (void)u;
  atomic_fetch_add(&g_cap.stops, 1);
  atomic_store(&g_cap.run, 0);
  pthread_join(g_cap.thread, NULL);
  return OTC_TRUE;
}
static otc_bool vc_destroy(const otc_video_capturer *c, void *u) {
  (void)c, (void)u;
  atomic_fetch_add(&g_cap.destroys, 1);
  return OTC_TRUE;
}
static otc_bool vc_settings(const otc_video_capturer *c, void *u, struct otc_video_capturer_settings *s) {
  (void)c, (void)u;
  s->format = OTC_VIDEO_FRAME_FORMAT_ARGB32;
  s->width = W;
  s->height = H;
  s->fps = FPS;
  return OTC_TRUE;
}

/* ---- a recorded video publisher ---- */
struct vpub {
  otc_publisher *publisher;
  atomic_int created, destroyed, errors, previews, good_previews, stats;
};
static void vp_created(otc_publisher *p, void *u, const otc_stream *st) {
  (void)p, (void)st;
  atomic_fetch_add(&((struct vpub *)u)->created, 1);
}
static void vp_destroyed(otc_publisher *p, void *u, const otc_stream *st) {
  (void)p, (void)st;
  atomic_fetch_add(&((struct vpub *)u)->destroyed, 1);
}
static void vp_error(otc_publisher *p, void *u, const char *msg, enum otc_publisher_error_code code) {
  (void)p;
  fprintf(stderr, "publisher error %d: %s\n", (int)code, msg);
  atomic_fetch_add(&((struct vpub *)u)->errors, 1);
}
static void vp_render(otc_publisher *p, void *u, const otc_video_frame *f) {
  (void)p;
  struct vpub *r = u;
  atomic_fetch_add(&r->previews, 1);
  if (otc_video_frame_get_format(f) == OTC_VIDEO_FRAME_FORMAT_YUV420P && shows_pattern(f))
    atomic_fetch_add(&r->good_previews, 1);
}
static void vp_video_stats(otc_publisher *p, void *u, struct otc_publisher_video_stats st[], size_t n) {
  (void)p;
  CHECK_EQ(1, (int)n);
  CHECK(st[0].packets_sent >= 0);
  atomic_fetch_add(&((struct vpub *)u)->stats, 1);
}

static void vpub_init(struct vpub *r, int with_capturer) {
  memset(r, 0, sizeof *r);
  struct otc_publisher_callbacks cb = {.on_stream_created = vp_created, .on_stream_destroyed = vp_destroyed,
                                       .on_render_frame = vp_render, .on_video_stats = vp_video_stats,
                                       .on_error = vp_error, .user_data = r};
  struct otc_video_capturer_callbacks cap = {.init = vc_init, .destroy = vc_destroy, .start = vc_start,
                                             .stop = vc_stop, .get_capture_settings = vc_settings};
  r->publisher = otc_publisher_new("video", with_capturer ? &cap : NULL, &cb);
  CHECK_NOT_NULL(r->publisher);
  otc_publisher_set_publish_audio(r->publisher, OTC_FALSE);
  if (!with_capturer) {
    CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_set_video_source(r->publisher, 1, H, FPS));
    CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_set_video_source(r->publisher, W, H, 61));
    otc_video_frame *f = pattern(W, H, OTC_VIDEO_FRAME_FORMAT_YUV420P);
    CHECK_EQ(OTC_ILLEGAL_STATE, convene_publisher_write_video(r->publisher, f)); /* no source yet */
    otc_video_frame_delete(f);
    CHECK_EQ(OTC_SUCCESS, convene_publisher_set_video_source(r->publisher, W, H, FPS));
  } else {
    CHECK_EQ(1, atomic_load(&g_cap.inits));
    CHECK_EQ(OTC_ILLEGAL_STATE, convene_publisher_set_video_source(r->publisher, W, H, FPS));
  }
}

/* ---- a writer thread for convene_publisher_write_video: 30 fps of a 640x480 I420 pattern ---- */
struct writer {
  pthread_t thread;
  otc_publisher *publisher;
  atomic_int run, written;
  int w, h;
};
static void *writer_main(void *arg) {
  struct writer *wr = arg;
  otc_video_frame *f = pattern(wr->w, wr->h, OTC_VIDEO_FRAME_FORMAT_YUV420P);
  int64_t next = it_now_ms();
  while (atomic_load(&wr->run)) {
    CHECK_EQ(OTC_SUCCESS, convene_publisher_write_video(wr->publisher, f));
    atomic_fetch_add(&wr->written, 1);
    next += 33;
    int64_t wait = next - it_now_ms();
    if (wait > 0) it_sleep_ms((int)wait);
  }
  otc_video_frame_delete(f);
  return NULL;
}
static void writer_start(struct writer *wr, otc_publisher *p, int w, int h) {
  wr->publisher = p;
  wr->w = w;
  wr->h = h;
  atomic_store(&wr->written, 0);
  atomic_store(&wr->run, 1);
  CHECK_EQ(0, pthread_create(&wr->thread, NULL, writer_main, wr));
}
static void writer_stop(struct writer *wr) {
  atomic_store(&wr->run, 0);
  pthread_join(wr->thread, NULL);
}

/* ---- the scene: a publishes, b subscribes ---- */
struct scene {
  struct rec a, b;
  struct vpub p;
  struct vsub s;
  struct writer wr;
  int with_capturer;
};

static void scene_publish(struct scene *sc, int with_capturer) {
  memset(&g_cap, 0, sizeof g_cap);
  sc->with_capturer = with_capturer;
  rec_init(&sc->a);
  rec_init(&sc->b);
  it_session_new(&sc->a, "main", fx_session());
  it_session_new(&sc->b, "main", fx_session());
  it_connect(&sc->a, fx_token("publisher"));
  it_connect(&sc->b, fx_token("subscriber"));
  vpub_init(&sc->p, with_capturer);
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(sc->a.session, sc->p.publisher));
  WAIT_UNTIL(atomic_load(&sc->p.created) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&sc->b.stream_received) == 1, WAIT_MS);
  pthread_mutex_lock(&sc->b.lock);
  CHECK_EQ(W, otc_stream_get_video_width(sc->b.last_stream_received));
  CHECK_EQ(H, otc_stream_get_video_height(sc->b.last_stream_received));
  pthread_mutex_unlock(&sc->b.lock);
  if (with_capturer) WAIT_UNTIL(atomic_load(&g_cap.starts) == 1, WAIT_MS);
  else writer_start(&sc->wr, sc->p.publisher, 2 * W, 2 * H); /* scaled down to the source's size */
}

static void scene_subscribe(struct scene *sc, enum otc_video_frame_format format) {
  pthread_mutex_lock(&sc->b.lock);
  vsub_init(&sc->s, sc->b.last_stream_received, format);
  pthread_mutex_unlock(&sc->b.lock);
  CHECK_EQ(OTC_SUCCESS, otc_session_subscribe(sc->b.session, sc->s.sub));
  WAIT_UNTIL(atomic_load(&sc->s.connected) == 1, WAIT_MS);
}

static void scene_end(struct scene *sc) {
  if (!sc->with_capturer) writer_stop(&sc->wr);
  if (sc->s.sub) CHECK_EQ(OTC_SUCCESS, otc_subscriber_delete(sc->s.sub));
  CHECK_EQ(OTC_SUCCESS, otc_publisher_delete(sc->p.publisher));
  if (sc->with_capturer) {
    CHECK_EQ(1, atomic_load(&g_cap.destroys));
    CHECK_EQ(atomic_load(&g_cap.starts), atomic_load(&g_cap.stops));
  }
  it_disconnect_and_delete(&sc->a);
  it_disconnect_and_delete(&sc->b);
  CHECK_EQ(0, atomic_load(&sc->s.wrong_size));
  CHECK_EQ(0, atomic_load(&sc->s.errors));
  CHECK_EQ(0, atomic_load(&sc->p.errors));
  rec_free(&sc->a);
  rec_free(&sc->b);
}

/* Over `ms`: frames the publisher encoded vs frames the subscriber rendered showing the pattern. */
static void check_flow(struct scene *sc, int ms) {
  struct convene_media_stats p0, p1;
  CHECK_EQ(OTC_SUCCESS, convene_publisher_get_media_stats(sc->p.publisher, &p0));
  int f0 = atomic_load(&sc->s.frames), g0 = atomic_load(&sc->s.good);
  it_sleep_ms(ms);
  CHECK_EQ(OTC_SUCCESS, convene_publisher_get_media_stats(sc->p.publisher, &p1));
  it_quiet(200); /* the frames in flight arrive */
  int frames = atomic_load(&sc->s.frames) - f0, good = atomic_load(&sc->s.good) - g0;
  int encoded = (int)(p1.frames_encoded - p0.frames_encoded);
  fprintf(stderr, "encoded %d (keyframes %llu, %d kbit/s, %d fps, dropped %llu), rendered %d, with the pattern %d\n",
          encoded, (unsigned long long)p1.keyframes_sent, p1.bitrate_kbps, p1.fps,
          (unsigned long long)p1.frames_dropped, frames, good);
  /* about 15 fps; under valgrind (it_slow() > 1) the encoder runs many times slower and the
   * machine's load decides the rate: half of it is enough there (the run is for memory errors) */
  CHECK(encoded >= ms * FPS / 1000 * 8 / 10 / (it_slow() > 1 ? 2 : 1));
  CHECK(encoded <= ms * FPS / 1000 + 3);
  CHECK(good >= encoded * 9 / 10);
  CHECK(good >= frames * 9 / 10);
  CHECK_EQ(W, p1.width);
  CHECK_EQ(H, p1.height);
}

/* A Vonage-shaped capturer (ARGB32 frames, its own thread) to a subscriber in ARGB32. */
static void capturer_to_subscriber(void) {
  struct scene sc;
  scene_publish(&sc, 1);
  scene_subscribe(&sc, OTC_VIDEO_FRAME_FORMAT_ARGB32);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= 1, 5000);
  CHECK_EQ(1, atomic_load(&sc.s.data_received));
  check_flow(&sc, 3000);
  CHECK(atomic_load(&sc.s.stats) >= 1);     /* on_video_stats, every second, with the packets received */
  CHECK(atomic_load(&sc.p.stats) >= 1);     /* the publisher's too */
  CHECK(atomic_load(&sc.p.previews) >= 20); /* the local preview */
  CHECK(atomic_load(&sc.p.good_previews) >= atomic_load(&sc.p.previews) - 1);
  CHECK(atomic_load(&g_cap.provided) >= 40);
  struct convene_media_stats ss;
  CHECK_EQ(OTC_SUCCESS, convene_subscriber_get_media_stats(sc.s.sub, &ss));
  CHECK(ss.video_packets_received > 0);
  CHECK_EQ(0, (int)ss.video_decode_errors);
  CHECK_EQ(W, ss.width);
  CHECK_EQ(H, ss.height);
  /* unpublish: the capturer stops (and is not started again) */
  CHECK_EQ(OTC_SUCCESS, otc_session_unpublish(sc.a.session, sc.p.publisher));
  WAIT_UNTIL(atomic_load(&g_cap.stops) == 1, WAIT_MS);
  otc_video_frame *f = pattern(W, H, OTC_VIDEO_FRAME_FORMAT_ARGB32);
  CHECK_EQ(OTC_ILLEGAL_STATE, otc_video_capturer_provide_frame(g_cap.capturer, 0, f)); /* not capturing */
  CHECK_EQ(OTC_INVALID_PARAM, otc_video_capturer_provide_frame(g_cap.capturer, 45, f));
  otc_video_frame_delete(f);
  scene_end(&sc);
}

/* convene_publisher_write_video (640x480 I420 at 30 fps, scaled to 320x240, encoded at 15):
 * to a subscriber in I420. The frames written faster than the rate are dropped, counted. */
static void write_video_to_subscriber(void) {
  struct scene sc;
  scene_publish(&sc, 0);
  scene_subscribe(&sc, OTC_VIDEO_FRAME_FORMAT_YUV420P);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= 1, 5000);
  check_flow(&sc, 3000);
  struct convene_media_stats ps;
  CHECK_EQ(OTC_SUCCESS, convene_publisher_get_media_stats(sc.p.publisher, &ps));
  CHECK(ps.frames_dropped > 0); /* 30 written a second for 15 encoded */
  CHECK(ps.frames_dropped + ps.frames_encoded <= (uint64_t)atomic_load(&sc.wr.written) + 1);
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_write_video(sc.p.publisher, NULL));
  otc_video_frame *c = otc_video_frame_new_compressed(W, H, (const uint8_t *)"abc", 3);
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_write_video(sc.p.publisher, c));
  otc_video_frame_delete(c);
  scene_end(&sc);
}

/* A subscriber that comes 1.5 s into the stream gets a picture from a requested keyframe
 * (the server asks the publisher: keyframeRequested), not only from the periodic one. */
static void late_subscriber_gets_keyframe(void) {
  struct scene sc;
  scene_publish(&sc, 0);
  struct convene_media_stats p0, p1;
  /* a second or so of frames before the subscriber comes (longer under valgrind) */
  WAIT_UNTIL(convene_publisher_get_media_stats(sc.p.publisher, &p0) == OTC_SUCCESS && p0.frames_encoded >= 10, 10000);
  scene_subscribe(&sc, OTC_VIDEO_FRAME_FORMAT_RGB24);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= 1, 5000);
  CHECK_EQ(OTC_SUCCESS, convene_publisher_get_media_stats(sc.p.publisher, &p1));
  fprintf(stderr, "keyframe requests %llu -> %llu, keyframes %llu -> %llu\n",
          (unsigned long long)p0.keyframe_requests, (unsigned long long)p1.keyframe_requests,
          (unsigned long long)p0.keyframes_sent, (unsigned long long)p1.keyframes_sent);
  CHECK(p1.keyframe_requests > p0.keyframe_requests);
  CHECK(p1.keyframes_sent > p0.keyframes_sent);
  check_flow(&sc, 2000);
  scene_end(&sc);
}

/* publish_video false: frames stop (on_video_disabled PUBLISH_VIDEO); true: they resume. */
static void publish_video_false_stops_frames(void) {
  struct scene sc;
  scene_publish(&sc, 0);
  scene_subscribe(&sc, OTC_VIDEO_FRAME_FORMAT_YUV420P);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= 5, 5000);
  CHECK_EQ(OTC_SUCCESS, otc_publisher_set_publish_video(sc.p.publisher, OTC_FALSE));
  WAIT_UNTIL(atomic_load(&sc.s.disabled_pub) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&sc.b.video_changed) == 1, WAIT_MS);
  it_quiet(300);
  struct convene_media_stats a, b;
  CHECK_EQ(OTC_SUCCESS, convene_publisher_get_media_stats(sc.p.publisher, &a));
  int frames = atomic_load(&sc.s.frames);
  it_quiet(500);
  CHECK_EQ(OTC_SUCCESS, convene_publisher_get_media_stats(sc.p.publisher, &b));
  CHECK_EQ(frames, atomic_load(&sc.s.frames));
  CHECK_EQ(a.frames_encoded, b.frames_encoded);
  CHECK_EQ(OTC_SUCCESS, otc_publisher_set_publish_video(sc.p.publisher, OTC_TRUE));
  WAIT_UNTIL(atomic_load(&sc.s.enabled_pub) == 1, WAIT_MS);
  int good = atomic_load(&sc.s.good);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= good + 10, 5000); /* it flows again, from a keyframe */
  CHECK_EQ(OTC_SUCCESS, convene_publisher_get_media_stats(sc.p.publisher, &b));
  CHECK(b.keyframes_sent > a.keyframes_sent);
  scene_end(&sc);
}

/* subscribe_to_video false: on_video_disabled (SUBSCRIBE_TO_VIDEO), no frame after the
 * update; true: on_video_enabled, frames again. */
static void subscribe_to_video_toggles(void) {
  struct scene sc;
  scene_publish(&sc, 0);
  scene_subscribe(&sc, OTC_VIDEO_FRAME_FORMAT_NV12);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= 5, 5000);
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_set_subscribe_to_video(sc.s.sub, OTC_FALSE));
  WAIT_UNTIL(atomic_load(&sc.s.disabled_sub) == 1, WAIT_MS);
  it_quiet(300);
  int frames = atomic_load(&sc.s.frames);
  it_quiet(500);
  CHECK_EQ(frames, atomic_load(&sc.s.frames));
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_set_subscribe_to_video(sc.s.sub, OTC_TRUE));
  WAIT_UNTIL(atomic_load(&sc.s.enabled_sub) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= frames + 10, 5000);
  CHECK_EQ(2, atomic_load(&sc.s.data_received)); /* once per video path */
  CHECK_EQ(1, atomic_load(&sc.s.disabled_sub));
  scene_end(&sc);
}

/* convene_publisher_set_video_source again while published: the peers see the new
 * dimensions; the subscriber's frames change size (from a keyframe). */
static void size_change_mid_stream(void) {
  struct scene sc;
  scene_publish(&sc, 0);
  scene_subscribe(&sc, OTC_VIDEO_FRAME_FORMAT_YUV420P);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= 5, 5000);
  atomic_store(&sc.s.want_w, W / 2);
  atomic_store(&sc.s.want_h, H / 2);
  int wrong = atomic_load(&sc.s.wrong_size);
  CHECK_EQ(OTC_SUCCESS, convene_publisher_set_video_source(sc.p.publisher, W / 2, H / 2, FPS));
  WAIT_UNTIL(atomic_load(&sc.b.dims_changed) == 1, WAIT_MS);
  int good = atomic_load(&sc.s.good);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= good + 10, 5000);
  CHECK_EQ(W / 2, atomic_load(&sc.s.width));
  /* frames of the old size still in flight when the size changed are not errors */
  atomic_store(&sc.s.wrong_size, wrong);
  scene_end(&sc);
}

/* ---- malformed video on the wire: a packet of garbage on the publisher's video track ---- */
static struct {
  otc_session *session;
  otc_publisher *publisher;
  atomic_int todo, done;
  uint16_t seq;
} g_bad;

static void inject_garbage(void *u) { /* the pass hook: the service thread */
  (void)u;
  if (!atomic_load(&g_bad.todo) || !g_bad.session->link || !g_bad.publisher->video_track) return;
  atomic_store(&g_bad.todo, 0);
  uint8_t b[12 + 600];
  /* a VP8 "keyframe" of noise: a valid media header (kind video, keyframe and marker) */
  b[0] = 0x11, b[1] = 0x03;
  b[2] = (uint8_t)(g_bad.publisher->video_track >> 8), b[3] = (uint8_t)g_bad.publisher->video_track;
  b[4] = (uint8_t)(g_bad.seq >> 8), b[5] = (uint8_t)g_bad.seq++;
  memset(b + 6, 0, 6);
  for (size_t i = 12; i < sizeof b; i++) b[i] = (uint8_t)(i * 37 + 11);
  b[12] = 0x10; /* VP8's frame tag says keyframe; its start code is missing: corrupt */
  CHECK_EQ(0, cv_transport_send_video(g_bad.session->link, b, sizeof b));
  atomic_fetch_add(&g_bad.done, 1);
}

static void malformed_video(void) {
  struct scene sc;
  scene_publish(&sc, 0);
  scene_subscribe(&sc, OTC_VIDEO_FRAME_FORMAT_YUV420P);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= 5, 5000);
  g_bad.session = sc.a.session;
  g_bad.publisher = sc.p.publisher;
  convene_set_pass_hook(inject_garbage, NULL);
  for (int i = 0; i < 5; i++) {
    atomic_store(&g_bad.todo, 1);
    WAIT_UNTIL(atomic_load(&g_bad.done) == i + 1, WAIT_MS);
    it_sleep_ms(150);
  }
  convene_set_pass_hook(NULL, NULL);
  /* the subscriber survived it, and its picture comes back (keyframe requests) */
  int good = atomic_load(&sc.s.good);
  WAIT_UNTIL(atomic_load(&sc.s.good) >= good + 10, 5000);
  struct convene_media_stats ss;
  CHECK_EQ(OTC_SUCCESS, convene_subscriber_get_media_stats(sc.s.sub, &ss));
  fprintf(stderr, "subscriber: decode errors %llu, dropped %llu, keyframe requests %llu\n",
          (unsigned long long)ss.video_decode_errors, (unsigned long long)ss.frames_dropped,
          (unsigned long long)ss.keyframe_requests);
  CHECK(ss.frames_dropped >= 1);
  scene_end(&sc);
}

static const struct it_case cases[] = {
    CASE(capturer_to_subscriber, 60),
    CASE(write_video_to_subscriber, 60),
    CASE(late_subscriber_gets_keyframe, 60),
    CASE(publish_video_false_stops_frames, 60),
    CASE(subscribe_to_video_toggles, 60),
    CASE(size_change_mid_stream, 60),
    CASE(malformed_video, 60),
};
IT_MAIN(cases)
