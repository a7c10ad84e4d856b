/*
 * Several subscribers of ONE stream in ONE session (one connection). The server keeps one
 * subscription per (connection, stream) and a second subscribe replaces its kinds
 * (docs/protocol.md section 4.1), so the core asks for the union of its subscribers' kinds,
 * unsubscribes only when the last one goes, and gives each received frame to every one of
 * them that wants its kind. A publisher sends a 440 Hz tone and 320x240 video; an audio-only
 * and a video-only subscriber of the same stream both get their media, and deleting either
 * leaves the other working.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define W 320
#define H 240
#define TONE_S 30
#define AMP 8000.0

/* ---- a subscriber that counts what it gets ---- */
struct ksub {
  otc_subscriber *sub;
  atomic_int connected, errors, frames, loud_chunks, chunks, disabled, enabled;
};

static void k_connected(otc_subscriber *s, void *u, const otc_stream *st) {
  (void)s, (void)st;
  atomic_fetch_add(&((struct ksub *)u)->connected, 1);
}
static void k_error(otc_subscriber *s, void *u, const char *msg, enum otc_subscriber_error_code code) {
  (void)s;
  fprintf(stderr, "subscriber error %d: %s\n", (int)code, msg);
  atomic_fetch_add(&((struct ksub *)u)->errors, 1);
}
static void k_frame(otc_subscriber *s, void *u, const otc_video_frame *f) {
  (void)s;
  if (otc_video_frame_get_width(f) == W && otc_video_frame_get_height(f) == H)
    atomic_fetch_add(&((struct ksub *)u)->frames, 1);
}
static void k_audio(otc_subscriber *s, void *u, const struct otc_audio_data *d) {
  (void)s;
  struct ksub *r = u;
  const int16_t *x = d->sample_buffer;
  double sum = 0;
  for (size_t i = 0; i < d->number_of_samples; i++) sum += (double)x[i] * x[i];
  atomic_fetch_add(&r->chunks, 1);
  if (d->number_of_samples && sqrt(sum / (double)d->number_of_samples) > AMP / 8) atomic_fetch_add(&r->loud_chunks, 1);
}
static void k_disabled(otc_subscriber *s, void *u, enum otc_video_reason reason) {
  (void)s, (void)reason;
  atomic_fetch_add(&((struct ksub *)u)->disabled, 1);
}
static void k_enabled(otc_subscriber *s, void *u, enum otc_video_reason reason) {
  (void)s, (void)reason;
  atomic_fetch_add(&((struct ksub *)u)->enabled, 1);
}

/* A subscriber of the stream b received, to the kinds given, subscribed and connected. */
static void ksub_start(struct ksub *k, struct rec *b, int audio, int video) {
  memset(k, 0, sizeof *k);
  struct otc_subscriber_callbacks cb = {.on_connected = k_connected, .on_error = k_error,
                                        .on_render_frame = k_frame, .on_audio_data = k_audio,
                                        .on_video_disabled = k_disabled, .on_video_enabled = k_enabled,
                                        .user_data = k};
  pthread_mutex_lock(&b->lock);
  k->sub = otc_subscriber_new(b->last_stream_received, &cb);
  pthread_mutex_unlock(&b->lock);
  CHECK_NOT_NULL(k->sub);
  CHECK_EQ(OTC_SUCCESS, convene_subscriber_set_audio_format(k->sub, 16000, 1, 10));
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_set_subscribe_to_audio(k->sub, audio ? OTC_TRUE : OTC_FALSE));
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_set_subscribe_to_video(k->sub, video ? OTC_TRUE : OTC_FALSE));
  CHECK_EQ(OTC_SUCCESS, otc_session_subscribe(b->session, k->sub));
  WAIT_UNTIL(atomic_load(&k->connected) == 1, WAIT_MS);
}

static void ksub_delete(struct ksub *k) {
  CHECK_EQ(0, atomic_load(&k->errors));
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_delete(k->sub));
  k->sub = NULL;
}

/* Whether each subscriber's media keeps coming: over a while, at least `min_frames` more
 * frames for those with want_video, `min_loud` more loud 10 ms chunks for those with
 * want_audio, and nothing of a kind it does not want. */
struct expect {
  struct ksub *k;
  int audio, video;
};
static void check_media(const char *what, struct expect *e, size_t n) {
  int f0[4], a0[4], c0[4];
  for (size_t i = 0; i < n; i++) {
    f0[i] = atomic_load(&e[i].k->frames);
    a0[i] = atomic_load(&e[i].k->loud_chunks);
    c0[i] = atomic_load(&e[i].k->chunks);
  }
  /* at least 15 frames (about 1 s of 15 fps) and 80 loud chunks (0.8 s) for each that wants them */
  int64_t deadline = it_now_ms() + 8000 * it_slow();
  for (;;) {
    int done = 1;
    for (size_t i = 0; i < n; i++) {
      if (e[i].video && atomic_load(&e[i].k->frames) - f0[i] < 15) done = 0;
      if (e[i].audio && atomic_load(&e[i].k->loud_chunks) - a0[i] < 80) done = 0;
    }
    if (done) break;
    if (it_now_ms() > deadline) {
      for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s: subscriber %zu (audio %d, video %d): %d frames, %d loud chunks\n", what, i,
                e[i].audio, e[i].video, atomic_load(&e[i].k->frames) - f0[i],
                atomic_load(&e[i].k->loud_chunks) - a0[i]);
      CHECK_FAIL_("%s: a subscriber's media stopped", what);
    }
    it_sleep_ms(20);
  }
  for (size_t i = 0; i < n; i++) {
    fprintf(stderr, "%s: subscriber %zu (audio %d, video %d): %d frames, %d loud chunks\n", what, i, e[i].audio,
            e[i].video, atomic_load(&e[i].k->frames) - f0[i], atomic_load(&e[i].k->loud_chunks) - a0[i]);
    if (!e[i].video) CHECK_EQ(f0[i], atomic_load(&e[i].k->frames));
    if (!e[i].audio) CHECK_EQ(c0[i], atomic_load(&e[i].k->chunks));
  }
}

/* ---- the publisher: a tone in its own queue, 15 fps of I420 from a thread ---- */
struct writer {
  pthread_t thread;
  otc_publisher *publisher;
  atomic_int run;
};
static void *writer_main(void *arg) {
  struct writer *wr = arg;
  uint8_t *buf = malloc(W * H * 3 / 2); /* mid grey */
  memset(buf, 128, W * H * 3 / 2);
  otc_video_frame *f = otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_YUV420P, W, H, buf);
  free(buf);
  CHECK_NOT_NULL(f);
  int64_t next = it_now_ms();
  while (atomic_load(&wr->run)) {
    CHECK_EQ(OTC_SUCCESS, convene_publisher_write_video(wr->publisher, f));
    next += 66;
    int64_t wait = next - it_now_ms();
    if (wait > 0) it_sleep_ms((int)wait);
  }
  otc_video_frame_delete(f);
  return NULL;
}

static void publish_tone_and_video(struct prec *p, struct writer *wr) {
  CHECK_EQ(OTC_SUCCESS, convene_publisher_set_audio_source(p->publisher, (TONE_S + 1) * 1000));
  CHECK_EQ(OTC_SUCCESS, convene_publisher_set_video_source(p->publisher, W, H, 15));
  size_t n = 48000 * TONE_S;
  int16_t *x = malloc(n * sizeof *x);
  for (size_t i = 0; i < n; i++) x[i] = (int16_t)(AMP * sin(2.0 * M_PI * 440.0 * (double)i / 48000.0));
  CHECK_EQ(OTC_SUCCESS, convene_publisher_write_audio(p->publisher, x, n, 48000, 1));
  free(x);
  wr->publisher = p->publisher;
  atomic_store(&wr->run, 1);
  CHECK_EQ(0, pthread_create(&wr->thread, NULL, writer_main, wr));
}

/* An audio-only and a video-only subscriber of one stream in one session: both get their
 * media; then a subscriber of both kinds joins (frames go to every subscriber of a track);
 * each one deleted leaves the others' media flowing. */
static void two_subscribers_one_stream(void) {
  struct rec a, b;
  rec_init(&a);
  rec_init(&b);
  it_session_new(&a, "main", fx_session());
  it_session_new(&b, "main", fx_session());
  it_connect(&a, fx_token("publisher"));
  it_connect(&b, fx_token("subscriber"));
  struct prec p;
  prec_init(&p, "shared");
  struct writer wr;
  memset(&wr, 0, sizeof wr);
  publish_tone_and_video(&p, &wr);
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(a.session, p.publisher));
  WAIT_UNTIL(atomic_load(&p.created) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&b.stream_received) == 1, WAIT_MS);

  struct ksub vid, aud, both;
  ksub_start(&vid, &b, 0, 1);
  check_media("video-only alone", (struct expect[]){{&vid, 0, 1}}, 1);
  ksub_start(&aud, &b, 1, 0); /* alone, this subscribe {audio, video: false} would stop vid's video */
  check_media("video-only and audio-only", (struct expect[]){{&vid, 0, 1}, {&aud, 1, 0}}, 2);

  ksub_start(&both, &b, 1, 1);
  check_media("and one of both kinds", (struct expect[]){{&vid, 0, 1}, {&aud, 1, 0}, {&both, 1, 1}}, 3);

  /* subscribe to video off and on again on one of them: the others do not notice */
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_set_subscribe_to_video(both.sub, OTC_FALSE));
  WAIT_UNTIL(atomic_load(&both.disabled) == 1, WAIT_MS);
  check_media("both's video off", (struct expect[]){{&vid, 0, 1}, {&aud, 1, 0}, {&both, 1, 0}}, 3);
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_set_subscribe_to_video(both.sub, OTC_TRUE));
  WAIT_UNTIL(atomic_load(&both.enabled) == 1, WAIT_MS);
  check_media("both's video on", (struct expect[]){{&vid, 0, 1}, {&aud, 1, 0}, {&both, 1, 1}}, 3);

  ksub_delete(&vid); /* the union stays audio + video (both) */
  check_media("video-only deleted", (struct expect[]){{&aud, 1, 0}, {&both, 1, 1}}, 2);
  ksub_delete(&both); /* the subscription narrows to audio: no unsubscribe */
  check_media("both deleted", (struct expect[]){{&aud, 1, 0}}, 1);

  /* and in the other order: video-only stays when the audio-only one goes */
  ksub_start(&vid, &b, 0, 1);
  check_media("video-only again", (struct expect[]){{&vid, 0, 1}, {&aud, 1, 0}}, 2);
  ksub_delete(&aud);
  check_media("audio-only deleted", (struct expect[]){{&vid, 0, 1}}, 1);
  ksub_delete(&vid);

  atomic_store(&wr.run, 0);
  pthread_join(wr.thread, NULL);
  CHECK_EQ(0, atomic_load(&p.errors));
  prec_free(&p);
  CHECK_EQ(0, atomic_load(&b.errors));
  it_disconnect_and_delete(&a);
  it_disconnect_and_delete(&b);
  rec_free(&a);
  rec_free(&b);
}

static const struct it_case cases[] = {
    CASE(two_subscribers_one_stream, 90),
};
IT_MAIN(cases)
