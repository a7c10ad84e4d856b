/* The sample-shaped programs of sample_programs.h: public headers only (see there). */
#include "sample_programs.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opentok.h>

#define CAP_W 320
#define CAP_H 240
#define CAP_FPS 30
#define TONE_HZ 400.0
#define PI 3.14159265358979323846

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* ---- the session, as every sample has it ---- */
struct program {
  struct sample_result *r;
  otc_publisher *publisher;
  atomic_int publishing;
  int subscribe; /* Basic-Video-Chat: subscribe to every stream received */
  pthread_mutex_t lock;
  otc_subscriber *subs[8];
  char sub_stream[8][64];
};

static void on_sub_connected(otc_subscriber *s, void *u, const otc_stream *st) {
  (void)s, (void)st;
  atomic_fetch_add(&((struct program *)u)->r->subscribers_connected, 1);
}
static void on_sub_render(otc_subscriber *s, void *u, const otc_video_frame *f) {
  (void)s;
  struct sample_result *r = ((struct program *)u)->r;
  atomic_store(&r->frame_width, otc_video_frame_get_width(f));
  atomic_store(&r->frame_height, otc_video_frame_get_height(f));
  atomic_fetch_add(&r->subscriber_frames, 1);
}
static void on_sub_error(otc_subscriber *s, void *u, const char *msg, enum otc_subscriber_error_code code) {
  (void)s;
  fprintf(stderr, "Subscriber error %d: %s\n", (int)code, msg);
  atomic_fetch_add(&((struct program *)u)->r->errors, 1);
}

static void on_connected(otc_session *session, void *u) {
  struct program *p = u;
  atomic_fetch_add(&p->r->connected, 1);
  if (p->publisher && otc_session_publish(session, p->publisher) == OTC_SUCCESS) atomic_store(&p->publishing, 1);
}
static void on_stream_received(otc_session *session, void *u, const otc_stream *stream) {
  struct program *p = u;
  atomic_fetch_add(&p->r->streams_received, 1);
  if (!p->subscribe) return;
  struct otc_subscriber_callbacks cb = {0};
  cb.user_data = p;
  cb.on_connected = on_sub_connected;
  cb.on_render_frame = on_sub_render;
  cb.on_error = on_sub_error;
  otc_subscriber *sub = otc_subscriber_new(stream, &cb);
  if (!sub) return;
  if (otc_session_subscribe(session, sub) != OTC_SUCCESS) {
    otc_subscriber_delete(sub);
    return;
  }
  pthread_mutex_lock(&p->lock);
  for (int i = 0; i < 8; i++)
    if (!p->subs[i]) {
      p->subs[i] = sub;
      snprintf(p->sub_stream[i], sizeof p->sub_stream[i], "%s", otc_stream_get_id(stream));
      sub = NULL;
      break;
    }
  pthread_mutex_unlock(&p->lock);
  if (sub) otc_subscriber_delete(sub); /* more than the program keeps */
}
static void on_stream_dropped(otc_session *session, void *u, const otc_stream *stream) {
  (void)session;
  struct program *p = u;
  otc_subscriber *sub = NULL;
  pthread_mutex_lock(&p->lock);
  for (int i = 0; i < 8; i++)
    if (p->subs[i] && strcmp(p->sub_stream[i], otc_stream_get_id(stream)) == 0) {
      sub = p->subs[i];
      p->subs[i] = NULL;
    }
  pthread_mutex_unlock(&p->lock);
  if (sub) otc_subscriber_delete(sub); /* as Basic-Video-Chat does, inside the callback */
}
static void on_disconnected(otc_session *session, void *u) {
  (void)session;
  atomic_fetch_add(&((struct program *)u)->r->disconnected, 1);
}
static void on_session_error(otc_session *session, void *u, const char *msg, enum otc_session_error_code code) {
  (void)session;
  fprintf(stderr, "Session error %d: %s\n", (int)code, msg);
  atomic_fetch_add(&((struct program *)u)->r->errors, 1);
}

static void on_pub_created(otc_publisher *pub, void *u, const otc_stream *st) {
  (void)pub, (void)st;
  atomic_fetch_add(&((struct program *)u)->r->stream_created, 1);
}
static void on_pub_destroyed(otc_publisher *pub, void *u, const otc_stream *st) {
  (void)pub, (void)st;
  atomic_fetch_add(&((struct program *)u)->r->stream_destroyed, 1);
}
static void on_pub_render(otc_publisher *pub, void *u, const otc_video_frame *f) {
  (void)pub, (void)f;
  atomic_fetch_add(&((struct program *)u)->r->preview_frames, 1);
}
static void on_pub_error(otc_publisher *pub, void *u, const char *msg, enum otc_publisher_error_code code) {
  (void)pub;
  fprintf(stderr, "Publisher error %d: %s\n", (int)code, msg);
  atomic_fetch_add(&((struct program *)u)->r->errors, 1);
}

/* main() of the samples, between otc_init and otc_destroy: a publisher (with the capturer
 * given, or none), connect, the "event loop", then the samples' teardown in their order. */
static int run(const struct sample_creds *c, struct sample_result *r, int subscribe,
               const struct otc_video_capturer_callbacks *capturer) {
  struct program p;
  memset(&p, 0, sizeof p);
  p.r = r;
  p.subscribe = subscribe;
  pthread_mutex_init(&p.lock, NULL);

  struct otc_session_callbacks scb = {0};
  scb.user_data = &p;
  scb.on_connected = on_connected;
  scb.on_stream_received = on_stream_received;
  scb.on_stream_dropped = on_stream_dropped;
  scb.on_disconnected = on_disconnected;
  scb.on_error = on_session_error;
  otc_session *session = otc_session_new(c->api_key, c->session_id, &scb);
  if (!session) return -1;

  struct otc_publisher_callbacks pcb = {0};
  pcb.user_data = &p;
  pcb.on_stream_created = on_pub_created;
  pcb.on_render_frame = on_pub_render;
  pcb.on_stream_destroyed = on_pub_destroyed;
  pcb.on_error = on_pub_error;
  p.publisher = otc_publisher_new("convene-sample", capturer, &pcb);
  if (!p.publisher) {
    otc_session_delete(session);
    return -1;
  }
  otc_session_connect(session, c->token);

  sleep_ms(c->run_ms); /* renderer_manager.runEventLoop() */

  pthread_mutex_lock(&p.lock);
  otc_subscriber *subs[8];
  memcpy(subs, p.subs, sizeof subs);
  memset(p.subs, 0, sizeof p.subs);
  pthread_mutex_unlock(&p.lock);
  for (int i = 0; i < 8; i++)
    if (subs[i]) {
      otc_session_unsubscribe(session, subs[i]);
      otc_subscriber_delete(subs[i]);
    }
  if (atomic_load(&p.publishing)) otc_session_unpublish(session, p.publisher);
  otc_publisher_delete(p.publisher);
  if (atomic_load(&r->connected)) otc_session_disconnect(session);
  otc_session_delete(session);
  pthread_mutex_destroy(&p.lock);
  return 0;
}

int sample_basic_video_chat(const struct sample_creds *c, struct sample_result *r) {
  return run(c, r, 1, NULL); /* NULL: the SDK's capturer (Convene: no camera is opened) */
}

int sample_publisher_only(const struct sample_creds *c, struct sample_result *r) { return run(c, r, 0, NULL); }

/* ---- Custom-Video-Capturer: a thread provides ARGB32 frames while started ---- */
struct capturer {
  const otc_video_capturer *video_capturer;
  struct sample_result *r;
  pthread_t thread;
  atomic_int exit, started;
};

static void *capturer_main(void *arg) {
  struct capturer *cap = arg;
  uint8_t *buffer = malloc((size_t)CAP_W * CAP_H * 4);
  if (!buffer) return NULL;
  for (int n = 0; !atomic_load(&cap->exit); n++) {
    memset(buffer, (n * 7) & 0xff, (size_t)CAP_W * CAP_H * 4);
    otc_video_frame *frame = otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_ARGB32, CAP_W, CAP_H, buffer);
    if (otc_video_capturer_provide_frame(cap->video_capturer, 0, frame) == OTC_SUCCESS)
      atomic_fetch_add(&cap->r->frames_provided, 1);
    if (frame) otc_video_frame_delete(frame);
    sleep_ms(1000 / CAP_FPS);
  }
  free(buffer);
  return NULL;
}
static otc_bool cap_init(const otc_video_capturer *capturer, void *u) {
  ((struct capturer *)u)->video_capturer = capturer;
  return OTC_TRUE;
}
static otc_bool cap_destroy(const otc_video_capturer *capturer, void *u) {
  (void)capturer;
  struct capturer *cap = u;
  atomic_store(&cap->exit, 1);
  if (atomic_exchange(&cap->started, 0)) pthread_join(cap->thread, NULL);
  return OTC_TRUE;
}
static otc_bool cap_start(const otc_video_capturer *capturer, void *u) {
  (void)capturer;
  struct capturer *cap = u;
  atomic_store(&cap->exit, 0);
  if (pthread_create(&cap->thread, NULL, capturer_main, cap) != 0) return OTC_FALSE;
  atomic_store(&cap->started, 1);
  return OTC_TRUE;
}
static otc_bool cap_settings(const otc_video_capturer *capturer, void *u, struct otc_video_capturer_settings *s) {
  (void)capturer, (void)u;
  s->format = OTC_VIDEO_FRAME_FORMAT_ARGB32;
  s->width = CAP_W;
  s->height = CAP_H;
  s->fps = CAP_FPS;
  s->mirror_on_local_render = OTC_FALSE;
  s->expected_delay = 0;
  return OTC_TRUE;
}

int sample_custom_video_capturer(const struct sample_creds *c, struct sample_result *r) {
  struct capturer *cap = calloc(1, sizeof *cap);
  if (!cap) return -1;
  cap->r = r;
  struct otc_video_capturer_callbacks cb = {0};
  cb.user_data = cap;
  cb.init = cap_init;
  cb.destroy = cap_destroy;
  cb.start = cap_start;
  cb.get_capture_settings = cap_settings;
  int rc = run(c, r, 0, &cb);
  free(cap);
  return rc;
}

/* ---- Custom-Audio-Device: a capturer thread writes a tone, a renderer thread reads the mix ---- */
struct device {
  struct otc_audio_device_callbacks callbacks;
  struct sample_result *r;
  pthread_t capturer, renderer;
  atomic_int capturer_exit, renderer_exit, capturing, rendering;
};

static void *device_capture_main(void *arg) {
  struct device *d = arg;
  int16_t samples[480];
  double t = 0;
  while (!atomic_load(&d->capturer_exit)) {
    for (int i = 0; i < 480; i++, t += 1.0 / 48000)
      samples[i] = (int16_t)(0.5 * 32767 * cos(2.0 * PI * TONE_HZ * t));
    if (otc_audio_device_write_capture_data(samples, 480) == OTC_SUCCESS) atomic_fetch_add(&d->r->chunks_captured, 1);
    sleep_ms(10);
  }
  return NULL;
}

/* Goertzel amplitude of hz in x */
static double amplitude(const int16_t *x, size_t n, double rate, double hz) {
  double k = 2.0 * cos(2.0 * PI * hz / rate), s1 = 0, s2 = 0;
  for (size_t i = 0; i < n; i++) {
    double s = x[i] + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  double power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return power > 0 ? 2.0 * sqrt(power) / (double)n : 0;
}

static void *device_render_main(void *arg) {
  struct device *d = arg;
  int16_t x[1600]; /* 100 ms at 16 kHz, read 10 ms at a time as a sound card would */
  while (!atomic_load(&d->renderer_exit)) {
    size_t got = 0;
    for (int i = 0; i < 10; i++, sleep_ms(10)) got += otc_audio_device_read_render_data(x + got, 160);
    atomic_fetch_add(&d->r->render_reads, 1);
    if (got < 1600) continue;
    double a400 = amplitude(x, 1600, 16000, TONE_HZ), a1k = amplitude(x, 1600, 16000, 1000);
    if (a400 > 2000) {
      atomic_fetch_add(&d->r->loud_render_reads, 1);
      if (a400 > 20 * a1k) atomic_fetch_add(&d->r->tone_render_reads, 1);
    }
  }
  return NULL;
}

static otc_bool dev_start_capturer(const otc_audio_device *dev, void *u) {
  (void)dev;
  struct device *d = u;
  atomic_store(&d->capturer_exit, 0);
  if (pthread_create(&d->capturer, NULL, device_capture_main, d) != 0) return OTC_FALSE;
  atomic_store(&d->capturing, 1);
  return OTC_TRUE;
}
static otc_bool dev_destroy_capturer(const otc_audio_device *dev, void *u) {
  (void)dev;
  struct device *d = u;
  atomic_store(&d->capturer_exit, 1);
  if (atomic_exchange(&d->capturing, 0)) pthread_join(d->capturer, NULL);
  return OTC_TRUE;
}
static otc_bool dev_start_renderer(const otc_audio_device *dev, void *u) {
  (void)dev;
  struct device *d = u;
  atomic_store(&d->renderer_exit, 0);
  if (pthread_create(&d->renderer, NULL, device_render_main, d) != 0) return OTC_FALSE;
  atomic_store(&d->rendering, 1);
  return OTC_TRUE;
}
static otc_bool dev_destroy_renderer(const otc_audio_device *dev, void *u) {
  (void)dev;
  struct device *d = u;
  atomic_store(&d->renderer_exit, 1);
  if (atomic_exchange(&d->rendering, 0)) pthread_join(d->renderer, NULL);
  return OTC_TRUE;
}
static otc_bool dev_capture_settings(const otc_audio_device *dev, void *u, struct otc_audio_device_settings *s) {
  (void)dev, (void)u;
  s->number_of_channels = 1;
  s->sampling_rate = 48000;
  return OTC_TRUE;
}
static otc_bool dev_render_settings(const otc_audio_device *dev, void *u, struct otc_audio_device_settings *s) {
  (void)dev, (void)u;
  s->number_of_channels = 1;
  s->sampling_rate = 16000;
  return OTC_TRUE;
}

int sample_custom_audio_device(const struct sample_creds *c, struct sample_result *r) {
  struct device *d = calloc(1, sizeof *d);
  if (!d) return -1;
  d->r = r;
  d->callbacks.user_data = d;
  d->callbacks.destroy_capturer = dev_destroy_capturer;
  d->callbacks.start_capturer = dev_start_capturer;
  d->callbacks.get_capture_settings = dev_capture_settings;
  d->callbacks.destroy_renderer = dev_destroy_renderer;
  d->callbacks.start_renderer = dev_start_renderer;
  d->callbacks.get_render_settings = dev_render_settings;
  if (otc_set_audio_device(&d->callbacks) != OTC_SUCCESS) {
    free(d);
    return -1;
  }
  int rc = run(c, r, 0, NULL); /* NULL capturer: audio only, from the device */
  otc_set_audio_device(NULL);  /* stops and destroys both threads */
  free(d);
  return rc;
}
