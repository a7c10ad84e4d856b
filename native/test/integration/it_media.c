/*
 * Audio end to end against the real server (issue 17): a C publisher sends a 440 Hz tone
 * (per-stream PCM, or the Vonage audio device's capture), a C subscriber at 16 kHz mono
 * receives it through on_audio_data; mute, unsubscribe, stream destroyed, session end.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TONE_HZ 440.0
#define OTHER_HZ 1000.0
#define AMP 8000.0
#define SUB_RATE 16000
#define KEEP_SAMPLES (SUB_RATE * 4) /* what the subscriber keeps: 4 s */

/* ---- the tone ---- */
static void tone(int16_t *out, size_t n, int rate, double *phase) {
  for (size_t i = 0; i < n; i++) {
    out[i] = (int16_t)(AMP * sin(*phase));
    *phase += 2.0 * M_PI * TONE_HZ / rate;
    if (*phase > 2.0 * M_PI) *phase -= 2.0 * M_PI;
  }
}

/* Goertzel: the power of `hz` in x (relative; compared between frequencies). */
static double goertzel(const int16_t *x, size_t n, int rate, double hz) {
  double w = 2.0 * M_PI * hz / rate, c = 2.0 * cos(w), s1 = 0, s2 = 0;
  for (size_t i = 0; i < n; i++) {
    double s0 = x[i] + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * n);
}

/* ---- a recorded subscriber ---- */
struct srec {
  otc_subscriber *sub;
  atomic_int connected, disconnected, reconnected, errors, audio_disabled, audio_enabled, stats;
  atomic_int chunks, loud_chunks, bad_format;
  atomic_int after_mute; /* on_audio_data after otc_session_unsubscribe returned: must stay 0 */
  atomic_int muted;
  atomic_int last_error;
  pthread_mutex_t lock;
  int16_t *pcm; /* the last KEEP_SAMPLES samples (a ring) */
  size_t n;     /* samples written in total */
};

static void s_connected(otc_subscriber *s, void *u, const otc_stream *st) {
  (void)s;
  (void)st;
  atomic_fetch_add(&((struct srec *)u)->connected, 1);
}
static void s_disconnected(otc_subscriber *s, void *u) {
  (void)s;
  atomic_fetch_add(&((struct srec *)u)->disconnected, 1);
}
static void s_reconnected(otc_subscriber *s, void *u) {
  (void)s;
  atomic_fetch_add(&((struct srec *)u)->reconnected, 1);
}
static void s_error(otc_subscriber *s, void *u, const char *msg, enum otc_subscriber_error_code code) {
  (void)s;
  fprintf(stderr, "subscriber error %d: %s\n", (int)code, msg);
  atomic_store(&((struct srec *)u)->last_error, (int)code);
  atomic_fetch_add(&((struct srec *)u)->errors, 1);
}
static void s_audio_disabled(otc_subscriber *s, void *u) {
  (void)s;
  atomic_fetch_add(&((struct srec *)u)->audio_disabled, 1);
}
static void s_audio_enabled(otc_subscriber *s, void *u) {
  (void)s;
  atomic_fetch_add(&((struct srec *)u)->audio_enabled, 1);
}
static void s_stats(otc_subscriber *s, void *u, struct otc_subscriber_audio_stats st) {
  (void)s;
  (void)st;
  atomic_fetch_add(&((struct srec *)u)->stats, 1);
}
static void s_audio(otc_subscriber *s, void *u, const struct otc_audio_data *d) {
  (void)s;
  struct srec *r = u;
  if (atomic_load(&r->muted)) atomic_fetch_add(&r->after_mute, 1);
  if (d->bits_per_sample != 16 || d->sample_rate != SUB_RATE || d->number_of_channels != 1 ||
      d->number_of_samples != SUB_RATE / 100)
    atomic_fetch_add(&r->bad_format, 1);
  const int16_t *x = d->sample_buffer;
  double sum = 0;
  pthread_mutex_lock(&r->lock);
  for (size_t i = 0; i < d->number_of_samples; i++) {
    sum += (double)x[i] * x[i];
    r->pcm[r->n++ % KEEP_SAMPLES] = x[i];
  }
  pthread_mutex_unlock(&r->lock);
  atomic_fetch_add(&r->chunks, 1);
  if (sqrt(sum / (double)d->number_of_samples) > AMP / 8) atomic_fetch_add(&r->loud_chunks, 1);
}

static void srec_init(struct srec *r, const otc_stream *stream) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->lock, NULL);
  r->pcm = calloc(KEEP_SAMPLES, sizeof(int16_t));
  struct otc_subscriber_callbacks cb = {.on_connected = s_connected, .on_disconnected = s_disconnected,
                                        .on_reconnected = s_reconnected, .on_error = s_error,
                                        .on_audio_disabled = s_audio_disabled, .on_audio_enabled = s_audio_enabled,
                                        .on_audio_stats = s_stats, .on_audio_data = s_audio, .user_data = r};
  r->sub = otc_subscriber_new(stream, &cb);
  CHECK_NOT_NULL(r->sub);
  CHECK_EQ(OTC_SUCCESS, convene_subscriber_set_audio_format(r->sub, SUB_RATE, 1, 10));
}

static void srec_free(struct srec *r) {
  if (r->sub) CHECK_EQ(OTC_SUCCESS, otc_subscriber_delete(r->sub));
  free(r->pcm);
  pthread_mutex_destroy(&r->lock);
}

/* The last `n` samples the subscriber got: 440 Hz is there, 1 kHz is not. */
static void check_tone(struct srec *r, size_t n) {
  int16_t *x = malloc(n * sizeof *x);
  pthread_mutex_lock(&r->lock);
  CHECK(r->n >= n);
  for (size_t i = 0; i < n; i++) x[i] = r->pcm[(r->n - n + i) % KEEP_SAMPLES];
  pthread_mutex_unlock(&r->lock);
  double p440 = goertzel(x, n, SUB_RATE, TONE_HZ), p1k = goertzel(x, n, SUB_RATE, OTHER_HZ);
  fprintf(stderr, "goertzel: 440 Hz %.1f, 1 kHz %.4f\n", p440, p1k);
  CHECK(p440 > 100000.0); /* a tone of amplitude 8000 gives about (8000/2)^2 = 1.6e7 */
  CHECK(p440 > 1000.0 * p1k);
  free(x);
}

/* ---- the scene: a publishes (publisher token), b subscribes (subscriber token) ---- */
struct scene {
  struct rec a, b;
  struct prec p;
  struct srec s;
};

static void scene_publish(struct scene *sc, int per_stream_source) {
  rec_init(&sc->a);
  rec_init(&sc->b);
  it_session_new(&sc->a, "main", fx_session());
  it_session_new(&sc->b, "main", fx_session());
  it_connect(&sc->a, fx_token("publisher"));
  it_connect(&sc->b, fx_token("subscriber"));
  prec_init(&sc->p, "tone");
  if (per_stream_source) CHECK_EQ(OTC_SUCCESS, convene_publisher_set_audio_source(sc->p.publisher, 5000));
  CHECK_EQ(OTC_SUCCESS, otc_session_publish(sc->a.session, sc->p.publisher));
  WAIT_UNTIL(atomic_load(&sc->p.created) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&sc->b.stream_received) == 1, WAIT_MS);
}

static void scene_subscribe(struct scene *sc) {
  pthread_mutex_lock(&sc->b.lock);
  srec_init(&sc->s, sc->b.last_stream_received);
  pthread_mutex_unlock(&sc->b.lock);
  CHECK_EQ(OTC_SUCCESS, otc_session_subscribe(sc->b.session, sc->s.sub));
  CHECK(otc_subscriber_get_session(sc->s.sub) == sc->b.session);
  CHECK_EQ(OTC_SESSION_ILLEGAL_STATE, otc_session_subscribe(sc->b.session, sc->s.sub)); /* once */
  WAIT_UNTIL(atomic_load(&sc->s.connected) == 1, WAIT_MS);
}

static void scene_end(struct scene *sc) {
  srec_free(&sc->s);
  prec_free(&sc->p);
  it_disconnect_and_delete(&sc->a);
  it_disconnect_and_delete(&sc->b);
  CHECK_EQ(0, atomic_load(&sc->s.bad_format));
  rec_free(&sc->a);
  rec_free(&sc->b);
}

/* Writes `ms` of the tone at `rate` to the publisher's own queue, in one call. */
static void write_tone(otc_publisher *p, int ms, int rate) {
  size_t n = (size_t)rate * (size_t)ms / 1000;
  int16_t *x = malloc(n * sizeof *x);
  double phase = 0;
  tone(x, n, rate, &phase);
  CHECK_EQ(OTC_SUCCESS, convene_publisher_write_audio(p, x, n, rate, 1));
  free(x);
}

/* 2 s of 440 Hz written at 24 kHz to the publisher's queue: the subscriber hears 440 Hz at
 * 16 kHz, at least 95 % of the 200 chunks of 10 ms. */
static void tone_per_stream_source(void) {
  struct scene sc;
  scene_publish(&sc, 1);
  scene_subscribe(&sc);
  write_tone(sc.p.publisher, 2000, 24000);
  CHECK(convene_publisher_get_queued_audio_ms(sc.p.publisher) > 1500);
  WAIT_UNTIL(convene_publisher_get_queued_audio_ms(sc.p.publisher) == 0, 6000);
  it_quiet(300); /* the last frames arrive */
  int loud = atomic_load(&sc.s.loud_chunks);
  fprintf(stderr, "loud chunks: %d of 200 expected (%d chunks in all)\n", loud, atomic_load(&sc.s.chunks));
  CHECK(loud >= 190);
  CHECK(loud <= 205);
  check_tone(&sc.s, SUB_RATE); /* the last second heard... */
  struct convene_media_stats ps, ss;
  CHECK_EQ(OTC_SUCCESS, convene_publisher_get_media_stats(sc.p.publisher, &ps));
  CHECK_EQ(OTC_SUCCESS, convene_subscriber_get_media_stats(sc.s.sub, &ss));
  fprintf(stderr, "publisher: sent %llu frames (%llu bytes), dtx %llu; subscriber: received %llu decoded %llu lost %llu\n",
          (unsigned long long)ps.frames_sent, (unsigned long long)ps.bytes_sent, (unsigned long long)ps.frames_dtx,
          (unsigned long long)ss.frames_received, (unsigned long long)ss.frames_decoded,
          (unsigned long long)ss.frames_lost);
  CHECK(ps.frames_sent >= 100);
  CHECK(ss.frames_received >= 95);
  CHECK_EQ(ss.frames_received, ss.frames_decoded);
  CHECK_EQ(0, (int)ss.decode_errors);
  CHECK(atomic_load(&sc.s.stats) >= 1); /* on_audio_stats every second */
  CHECK_EQ(0, atomic_load(&sc.s.errors));
  scene_end(&sc);
}

/* ---- the Vonage way: an audio device whose capture thread writes 10 ms chunks ---- */
struct device {
  pthread_t thread;
  atomic_int stop, started, writes;
};
static struct device g_dev;

static void *capture_main(void *arg) {
  (void)arg;
  int16_t chunk[160]; /* 10 ms at 16 kHz */
  double phase = 0;
  int64_t next = it_now_ms();
  while (!atomic_load(&g_dev.stop)) {
    tone(chunk, 160, 16000, &phase);
    CHECK_EQ(OTC_SUCCESS, otc_audio_device_write_capture_data(chunk, 160));
    atomic_fetch_add(&g_dev.writes, 1);
    next += 10;
    int64_t wait = next - it_now_ms();
    if (wait > 0) it_sleep_ms((int)wait);
  }
  return NULL;
}

static otc_bool dev_start_capturer(const otc_audio_device *d, void *u) {
  (void)d;
  (void)u;
  atomic_store(&g_dev.started, 1);
  return OTC_TRUE;
}
static otc_bool dev_capture_settings(const otc_audio_device *d, void *u, struct otc_audio_device_settings *s) {
  (void)d;
  (void)u;
  s->sampling_rate = 16000;
  s->number_of_channels = 1;
  return OTC_TRUE;
}
static otc_bool dev_render_settings(const otc_audio_device *d, void *u, struct otc_audio_device_settings *s) {
  (void)d;
  (void)u;
  s->sampling_rate = 16000;
  s->number_of_channels = 1;
  return OTC_TRUE;
}

static void tone_audio_device(void) {
  CHECK_EQ(OTC_ILLEGAL_STATE, otc_audio_device_write_capture_data((const int16_t[]){0}, 1)); /* no device yet */
  struct otc_audio_device_callbacks dcb = {.start_capturer = dev_start_capturer,
                                           .get_capture_settings = dev_capture_settings,
                                           .get_render_settings = dev_render_settings};
  CHECK_EQ(OTC_SUCCESS, otc_set_audio_device(&dcb));
  CHECK_EQ(1, atomic_load(&g_dev.started));
  struct scene sc;
  scene_publish(&sc, 0); /* no per-stream source: the device's capture */
  scene_subscribe(&sc);
  CHECK_EQ(0, pthread_create(&g_dev.thread, NULL, capture_main, NULL));
  it_sleep_ms(2000);
  atomic_store(&g_dev.stop, 1);
  pthread_join(g_dev.thread, NULL);
  it_quiet(300);
  int loud = atomic_load(&sc.s.loud_chunks), writes = atomic_load(&g_dev.writes);
  fprintf(stderr, "device: %d chunks written, %d loud chunks heard\n", writes, loud);
  CHECK(loud >= writes * 95 / 100 - 5); /* -5: the first frames of the talk spurt ramp in */
  check_tone(&sc.s, SUB_RATE);
  /* the render side: the mix of what is subscribed, in the render format */
  scene_end(&sc);
  CHECK_EQ(OTC_SUCCESS, otc_set_audio_device(NULL));
}

/* The render side: while a tone plays, read_render_data gives it back (16 kHz mono). */
static void render_mix(void) {
  struct otc_audio_device_callbacks dcb = {.get_capture_settings = dev_capture_settings,
                                           .get_render_settings = dev_render_settings};
  CHECK_EQ(OTC_SUCCESS, otc_set_audio_device(&dcb));
  struct scene sc;
  scene_publish(&sc, 1);
  scene_subscribe(&sc);
  write_tone(sc.p.publisher, 2000, 48000);
  WAIT_UNTIL(atomic_load(&sc.s.loud_chunks) >= 50, 5000);
  /* 500 ms of render data, read as a device would (10 ms at a time) */
  int16_t *x = calloc(8000, sizeof *x);
  for (int i = 0; i < 50; i++) {
    CHECK_EQ(160, (int)otc_audio_device_read_render_data(x + i * 160, 160));
    it_sleep_ms(10);
  }
  double p440 = goertzel(x, 8000, 16000, TONE_HZ), p1k = goertzel(x, 8000, 16000, OTHER_HZ);
  fprintf(stderr, "render: 440 Hz %.1f, 1 kHz %.4f\n", p440, p1k);
  CHECK(p440 > 100000.0);
  CHECK(p440 > 1000.0 * p1k);
  free(x);
  scene_end(&sc);
  CHECK_EQ(OTC_SUCCESS, otc_set_audio_device(NULL));
  CHECK_EQ(0, (int)otc_audio_device_read_render_data((int16_t[4]){0}, 4)); /* no device: nothing */
}

/* publish_audio false: the publisher stops sending; the subscriber hears of it. */
static void mute_stops_frames(void) {
  struct scene sc;
  scene_publish(&sc, 1);
  scene_subscribe(&sc);
  write_tone(sc.p.publisher, 4000, 48000);
  WAIT_UNTIL(atomic_load(&sc.s.loud_chunks) >= 20, 5000);
  CHECK_EQ(OTC_SUCCESS, otc_publisher_set_publish_audio(sc.p.publisher, OTC_FALSE));
  WAIT_UNTIL(atomic_load(&sc.s.audio_disabled) == 1, WAIT_MS);
  it_quiet(200); /* frames in flight */
  struct convene_media_stats a, b;
  convene_subscriber_get_media_stats(sc.s.sub, &a);
  int queued = convene_publisher_get_queued_audio_ms(sc.p.publisher);
  it_quiet(500);
  convene_subscriber_get_media_stats(sc.s.sub, &b);
  CHECK_EQ(a.frames_received, b.frames_received);
  CHECK_EQ(queued, convene_publisher_get_queued_audio_ms(sc.p.publisher)); /* muted: the queue waits */
  CHECK_EQ(OTC_SUCCESS, otc_publisher_set_publish_audio(sc.p.publisher, OTC_TRUE));
  WAIT_UNTIL(atomic_load(&sc.s.audio_enabled) == 1, WAIT_MS);
  int before = atomic_load(&sc.s.loud_chunks);
  WAIT_UNTIL(atomic_load(&sc.s.loud_chunks) >= before + 20, 5000); /* it flows again */
  scene_end(&sc);
}

/* unsubscribe: no on_audio_data after it returns, frames stop; no subscriber callback. */
static void unsubscribe_stops(void) {
  struct scene sc;
  scene_publish(&sc, 1);
  scene_subscribe(&sc);
  write_tone(sc.p.publisher, 4000, 48000);
  WAIT_UNTIL(atomic_load(&sc.s.loud_chunks) >= 20, 5000);
  CHECK_EQ(OTC_SESSION_SUBSCRIBER_NOT_FOUND, otc_session_unsubscribe(sc.a.session, sc.s.sub)); /* not there */
  atomic_store(&sc.s.muted, 1);
  CHECK_EQ(OTC_SUCCESS, otc_session_unsubscribe(sc.b.session, sc.s.sub));
  it_quiet(300);
  struct convene_media_stats a, b;
  convene_subscriber_get_media_stats(sc.s.sub, &a);
  it_quiet(400);
  convene_subscriber_get_media_stats(sc.s.sub, &b);
  CHECK_EQ(a.frames_received, b.frames_received);
  CHECK_EQ(0, atomic_load(&sc.s.after_mute));
  CHECK(otc_subscriber_get_session(sc.s.sub) == NULL);
  CHECK_EQ(0, atomic_load(&sc.s.errors));
  /* it may subscribe again: audio flows again */
  atomic_store(&sc.s.muted, 0);
  int before = atomic_load(&sc.s.loud_chunks);
  CHECK_EQ(OTC_SUCCESS, otc_session_subscribe(sc.b.session, sc.s.sub));
  WAIT_UNTIL(atomic_load(&sc.s.connected) == 2, WAIT_MS);
  WAIT_UNTIL(atomic_load(&sc.s.loud_chunks) >= before + 20, 5000);
  scene_end(&sc);
}

/* The stream is unpublished: the subscription ends (the session's on_stream_dropped), no
 * subscriber error, no more audio; the subscriber is deleted afterwards without trouble. */
static void stream_destroyed_ends_subscriber(void) {
  struct scene sc;
  scene_publish(&sc, 1);
  scene_subscribe(&sc);
  write_tone(sc.p.publisher, 4000, 48000);
  WAIT_UNTIL(atomic_load(&sc.s.loud_chunks) >= 20, 5000);
  CHECK_EQ(OTC_SUCCESS, otc_session_unpublish(sc.a.session, sc.p.publisher));
  WAIT_UNTIL(atomic_load(&sc.b.stream_dropped) == 1, WAIT_MS);
  WAIT_UNTIL(otc_subscriber_get_session(sc.s.sub) == NULL, WAIT_MS);
  it_quiet(200);
  int chunks = atomic_load(&sc.s.chunks);
  it_quiet(300);
  CHECK_EQ(chunks, atomic_load(&sc.s.chunks));
  CHECK_EQ(0, atomic_load(&sc.s.errors));
  CHECK_EQ(OTC_SESSION_SUBSCRIBER_NOT_FOUND, otc_session_unsubscribe(sc.b.session, sc.s.sub));
  scene_end(&sc);
}

/* The subscriber's session ends: on_error OTC_SUBSCRIBER_SESSION_DISCONNECTED, once. */
static void session_end_ends_subscriber(void) {
  struct scene sc;
  scene_publish(&sc, 1);
  scene_subscribe(&sc);
  write_tone(sc.p.publisher, 2000, 48000);
  WAIT_UNTIL(atomic_load(&sc.s.loud_chunks) >= 10, 5000);
  CHECK_EQ(OTC_SUCCESS, otc_session_disconnect(sc.b.session));
  WAIT_UNTIL(atomic_load(&sc.b.disconnected) == 1, WAIT_MS);
  WAIT_UNTIL(atomic_load(&sc.s.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_SUBSCRIBER_SESSION_DISCONNECTED, atomic_load(&sc.s.last_error));
  CHECK(otc_subscriber_get_session(sc.s.sub) == NULL);
  srec_free(&sc.s);
  sc.s.sub = NULL;
  prec_free(&sc.p);
  it_disconnect_and_delete(&sc.a);
  it_delete(&sc.b);
  rec_free(&sc.a);
  rec_free(&sc.b);
}

/* Subscribing to a stream that is gone: on_error 1604, no on_connected. */
static void subscribe_to_gone_stream(void) {
  struct scene sc;
  scene_publish(&sc, 1);
  pthread_mutex_lock(&sc.b.lock);
  srec_init(&sc.s, sc.b.last_stream_received);
  pthread_mutex_unlock(&sc.b.lock);
  CHECK_EQ(OTC_SUCCESS, otc_session_unpublish(sc.a.session, sc.p.publisher));
  WAIT_UNTIL(atomic_load(&sc.b.stream_dropped) == 1, WAIT_MS);
  CHECK_EQ(OTC_SUCCESS, otc_session_subscribe(sc.b.session, sc.s.sub));
  WAIT_UNTIL(atomic_load(&sc.s.errors) == 1, WAIT_MS);
  CHECK_EQ(OTC_SUBSCRIBER_SERVER_CANNOT_FIND_STREAM, atomic_load(&sc.s.last_error));
  CHECK_EQ(0, atomic_load(&sc.s.connected));
  CHECK(otc_subscriber_get_session(sc.s.sub) == NULL);
  scene_end(&sc);
}

static const struct it_case cases[] = {
    CASE(tone_per_stream_source, 60),
    CASE(tone_audio_device, 60),
    CASE(render_mix, 60),
    CASE(mute_stops_frames, 60),
    CASE(unsubscribe_stops, 60),
    CASE(stream_destroyed_ends_subscriber, 60),
    CASE(session_end_ends_subscriber, 60),
    CASE(subscribe_to_gone_stream, 60),
};
IT_MAIN(cases)
