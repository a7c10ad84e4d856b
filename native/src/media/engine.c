/* The media engine: see engine.h. */
#include "media/engine.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "media/media_frame.h"
#include "media/opus_codec.h"
#include "media/pcm_queue.h"
#include "media/resampler.h"
#include "media/video_engine.h"

#define FRAME 960             /* 20 ms at 48 kHz, per channel */
#define RS_OUT_MAX (9600 * 2) /* samples popped from a resampler at once (200 ms at 48 kHz, stereo) */
#define DEVICE_MS 1000        /* the device's capture and each subscriber's render buffer */

struct out_frame {
  size_t len;
  uint8_t b[CV_MEDIA_HEADER_BYTES + CV_OPUS_MAX_PACKET_BYTES];
};

struct cv_media_pub {
  void *owner;
  const atomic_int *enabled;
  pthread_mutex_t lock; /* everything below that is not marked */
  cv_pcm_queue *q;      /* per-stream source at 48 kHz mono, NULL: the device */
  unsigned capacity_ms;
  cv_resampler *in_rs; /* input format -> 48 kHz mono */
  int in_rate, in_channels;
  int space_wanted; /* a write was refused: call on_space at half capacity */
  int offline;      /* service thread: video found no link (reconnecting); a keyframe when it is back */
  struct out_frame out[CV_MEDIA_OUT_FRAMES];
  int out_head, out_n;
  struct convene_media_stats st;
  /* the media thread only (and attach, under the tick lock) */
  cv_opus_encoder *enc;
  uint16_t track, seq;
  uint32_t ts;
  int talk_start; /* the next frame sent starts a talk spurt (marker) */
  /* video: the source (NULL: none), its queue of encoded packets for the service thread (lock) */
  cv_video_pub *video;
  const atomic_int *venabled;
  struct in_frame *vq_head, *vq_tail;
  size_t vq_bytes;
  /* the media thread only (and attach, under the tick lock) */
  uint16_t vtrack;
  int64_t next_stats_ms, next_level_ms;
  /* the lists (engine lock) */
  int attached;
  cv_media_pub *next, *prev;
  cv_media_pub *next_ready;
  int in_ready;
};

struct in_frame {
  size_t len;
  struct in_frame *next; /* video queues */
  uint8_t b[];
};

struct cv_media_sub {
  void *owner;
  pthread_mutex_t lock; /* in, st, format, render */
  int rate, channels, frame_ms;
  struct in_frame *in[CV_MEDIA_IN_FRAMES];
  int in_head, in_n;
  struct convene_media_stats st;
  cv_pcm_queue *ren_q; /* decoded audio in the render format, for the device's mix */
  /* the media thread only (and attach / detach, under the tick lock) */
  uint16_t track;
  cv_opus_decoder *dec;
  cv_resampler *rs, *ren_rs;
  int ren_rate, ren_channels;
  int have_seq;
  uint16_t last_seq;
  int16_t *frame; /* one output frame */
  int64_t next_stats_ms, next_level_ms;
  /* video: received packets (lock), the decoding side (video_engine.h) */
  cv_video_sub *video;
  struct in_frame *vin_head, *vin_tail;
  size_t vin_bytes;
  int vin_n;
  int want_keyframe; /* (lock) the media thread asks the service thread to request one */
  uint16_t vtrack;   /* the media thread only (and attach / detach, under the tick lock) */
  int video_first;   /* the next frame is the first of this path */
  int64_t next_vstats_ms;
  /* the lists (engine lock) */
  int attached;
  cv_media_sub *next, *prev;
};

static struct {
  pthread_mutex_t lock; /* lists, the ready list, the device */
  pthread_mutex_t tick; /* held by the media thread while it works; attach / detach take it */
  pthread_cond_t work;  /* signalled (under lock) when a publisher or subscriber attaches, or on stop */
  pthread_t thread;
  int running;
  atomic_int stop;
  atomic_uint passes; /* loop passes of the media thread (tests: an idle process does not tick) */
  struct cv_media_ops ops;
  cv_media_pub *pubs;
  cv_media_sub *subs;
  cv_media_pub *ready;
  /* the device */
  int dev_on;
  int cap_rate, cap_channels, ren_rate, ren_channels;
  cv_resampler *cap_rs;
  cv_pcm_queue *cap_q; /* 48 kHz mono */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .tick = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};

static _Thread_local int t_media;

int cv_media_on_thread(void) { return t_media; }

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

uint8_t cv_media_audio_level(const int16_t *pcm, size_t n) {
  if (!pcm || !n) return CV_MEDIA_AUDIO_LEVEL_SILENT;
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += (double)pcm[i] * pcm[i];
  double rms = sqrt(sum / (double)n) / 32768.0;
  if (rms <= 0) return CV_MEDIA_AUDIO_LEVEL_SILENT;
  double db = -20.0 * log10(rms);
  if (db < 0) db = 0;
  if (db > CV_MEDIA_AUDIO_LEVEL_SILENT) db = CV_MEDIA_AUDIO_LEVEL_SILENT;
  return (uint8_t)db;
}

static float level_linear(uint8_t level) { return level >= 127 ? 0.0f : (float)pow(10.0, -(double)level / 20.0); }

/* Pushes PCM through a resampler into a queue (dropping the oldest if it must). */
static int resample_into(cv_resampler *rs, int in_rate, int in_channels, const int16_t *pcm, size_t frames,
                         cv_pcm_queue *q) {
  static _Thread_local int16_t tmp[RS_OUT_MAX];
  size_t chunk = (size_t)in_rate / 20; /* 50 ms: within the resampler's FIFO whatever the rates */
  size_t done = 0;
  while (done < frames) {
    size_t n = frames - done < chunk ? frames - done : chunk;
    if (cv_resampler_push(rs, pcm + done * (size_t)in_channels, n) != CV_RESAMPLER_OK) return -1;
    size_t got;
    while ((got = cv_resampler_pop(rs, tmp, RS_OUT_MAX / 2)) > 0) cv_pcm_queue_push_drop_oldest(q, tmp, got);
    done += n;
  }
  return 0;
}

/* ---- publishers ---- */

cv_media_pub *cv_media_pub_new(void *owner, const atomic_int *enabled) {
  cv_media_pub *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->owner = owner;
  p->enabled = enabled;
  p->talk_start = 1;
  p->ts = (uint32_t)rand();
  p->seq = (uint16_t)rand();
  pthread_mutex_init(&p->lock, NULL);
  return p;
}

void cv_media_pub_free(cv_media_pub *p) {
  if (!p) return;
  cv_media_pub_detach(p);
  cv_pcm_queue_free(p->q);
  cv_resampler_free(p->in_rs);
  cv_opus_encoder_free(p->enc);
  cv_video_pub_free(p->video);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

static void free_queue(struct in_frame *f) {
  while (f) {
    struct in_frame *n = f->next;
    free(f);
    f = n;
  }
}

int cv_media_pub_set_source(cv_media_pub *p, int capacity_ms) {
  if (!p || capacity_ms < 100 || capacity_ms > 60000) return CV_MEDIA_PCM_ARG;
  cv_pcm_queue *q = NULL;
  if (cv_pcm_queue_new(CV_OPUS_RATE, 1, (unsigned)capacity_ms, &q) != CV_PCM_QUEUE_OK) return CV_MEDIA_PCM_NOMEM;
  pthread_mutex_lock(&p->lock);
  cv_pcm_queue *old = p->q;
  p->q = q;
  p->capacity_ms = (unsigned)capacity_ms;
  p->space_wanted = 0;
  pthread_mutex_unlock(&p->lock);
  cv_pcm_queue_free(old);
  return CV_MEDIA_PCM_OK;
}

int cv_media_pub_write(cv_media_pub *p, const int16_t *pcm, size_t frames, int rate, int channels) {
  if (!p || !pcm || !frames || !cv_resampler_rate_supported(rate) || (channels != 1 && channels != 2) ||
      frames > (size_t)rate * 60)
    return CV_MEDIA_PCM_ARG;
  int rc = CV_MEDIA_PCM_OK;
  pthread_mutex_lock(&p->lock);
  if (!p->q) {
    rc = CV_MEDIA_PCM_NOSOURCE;
  } else if (rate == CV_OPUS_RATE && channels == 1) {
    if (cv_pcm_queue_push(p->q, pcm, frames) != CV_PCM_QUEUE_OK) rc = CV_MEDIA_PCM_FULL;
  } else {
    /* what the resampler will make of it, with room for its rounding */
    size_t out = (size_t)((uint64_t)frames * CV_OPUS_RATE / (uint64_t)rate) + 64;
    if (cv_pcm_queue_space(p->q) < out) {
      rc = CV_MEDIA_PCM_FULL;
    } else {
      if (!p->in_rs || p->in_rate != rate || p->in_channels != channels) {
        cv_resampler_free(p->in_rs);
        p->in_rs = NULL;
        struct cv_resampler_config cfg = {.in_rate = rate, .in_channels = channels, .out_rate = CV_OPUS_RATE,
                                          .out_channels = 1, .quality = -1};
        if (cv_resampler_new(&cfg, &p->in_rs) != CV_RESAMPLER_OK) rc = CV_MEDIA_PCM_NOMEM;
        p->in_rate = rate;
        p->in_channels = channels;
      }
      if (rc == CV_MEDIA_PCM_OK && resample_into(p->in_rs, rate, channels, pcm, frames, p->q) != 0) rc = CV_MEDIA_PCM_NOMEM;
    }
  }
  if (rc == CV_MEDIA_PCM_FULL) {
    p->st.queue_refused++;
    p->space_wanted = 1;
  }
  pthread_mutex_unlock(&p->lock);
  return rc;
}

int cv_media_pub_clear(cv_media_pub *p) {
  if (!p) return CV_MEDIA_PCM_ARG;
  pthread_mutex_lock(&p->lock);
  int rc = p->q ? CV_MEDIA_PCM_OK : CV_MEDIA_PCM_NOSOURCE;
  if (p->q) cv_pcm_queue_clear(p->q);
  if (p->in_rs) cv_resampler_reset(p->in_rs);
  pthread_mutex_unlock(&p->lock);
  return rc;
}

int cv_media_pub_queued_ms(cv_media_pub *p) {
  if (!p) return -1;
  pthread_mutex_lock(&p->lock);
  int ms = p->q ? (int)cv_pcm_queue_duration_ms(p->q) : 0;
  pthread_mutex_unlock(&p->lock);
  return ms;
}

void cv_media_pub_get_stats(cv_media_pub *p, struct convene_media_stats *out) {
  pthread_mutex_lock(&p->lock);
  *out = p->st;
  out->queued_ms = p->q ? (int)cv_pcm_queue_duration_ms(p->q) : 0;
  cv_video_pub *v = p->video;
  pthread_mutex_unlock(&p->lock);
  cv_video_pub_stats(v, out);
}

/* ---- publishers' video ---- */

int cv_media_pub_set_video(cv_media_pub *p, const atomic_int *enabled, int width, int height, int fps) {
  if (!p || !enabled) return CV_MEDIA_PCM_ARG;
  pthread_mutex_lock(&p->lock);
  if (!p->video) p->video = cv_video_pub_new();
  cv_video_pub *v = p->video;
  if (v) p->venabled = enabled;
  pthread_mutex_unlock(&p->lock);
  if (!v) return CV_MEDIA_PCM_NOMEM;
  return cv_video_pub_configure(v, width, height, fps) == CV_VIDEO_OK ? CV_MEDIA_PCM_OK : CV_MEDIA_PCM_ARG;
}

static cv_video_pub *pub_video(cv_media_pub *p) {
  pthread_mutex_lock(&p->lock);
  cv_video_pub *v = p->video;
  pthread_mutex_unlock(&p->lock);
  return v;
}

int cv_media_pub_video_config(cv_media_pub *p, int *width, int *height, int *fps) {
  return p ? cv_video_pub_config(pub_video(p), width, height, fps) : 0;
}

int cv_media_pub_put_video(cv_media_pub *p, const otc_video_frame *frame, int rotation) {
  if (!p) return CV_MEDIA_PCM_ARG;
  cv_video_pub *v = pub_video(p);
  if (!v) return CV_MEDIA_PCM_NOSOURCE;
  switch (cv_video_pub_put(v, frame, rotation)) {
    case CV_VIDEO_OK:
      return CV_MEDIA_PCM_OK;
    case CV_VIDEO_ENOSOURCE:
      return CV_MEDIA_PCM_NOSOURCE;
    case CV_VIDEO_ENOMEM:
      return CV_MEDIA_PCM_NOMEM;
    default:
      return CV_MEDIA_PCM_ARG;
  }
}

void cv_media_pub_request_keyframe(cv_media_pub *p, int counted) {
  if (p) cv_video_pub_request_keyframe(pub_video(p), counted);
}

static void pub_list_add(cv_media_pub *p) { /* tick and engine locks held */
  if (p->attached) return;
  p->attached = 1;
  p->prev = NULL;
  p->next = g.pubs;
  if (g.pubs) g.pubs->prev = p;
  g.pubs = p;
  pthread_cond_signal(&g.work);
}

void cv_media_pub_attach_video(cv_media_pub *p, uint16_t track) {
  if (!p || !track || !pub_video(p)) return;
  pthread_mutex_lock(&g.tick);
  pthread_mutex_lock(&g.lock);
  p->vtrack = track;
  pub_list_add(p);
  pthread_mutex_unlock(&g.lock);
  pthread_mutex_unlock(&g.tick);
}

void cv_media_pub_attach(cv_media_pub *p, uint16_t track) {
  if (!p || !track) return;
  pthread_mutex_lock(&g.tick);
  pthread_mutex_lock(&g.lock);
  p->track = track;
  p->talk_start = 1;
  pub_list_add(p);
  pthread_mutex_unlock(&g.lock);
  pthread_mutex_unlock(&g.tick);
}

void cv_media_pub_detach(cv_media_pub *p) {
  if (!p) return;
  pthread_mutex_lock(&g.tick);
  pthread_mutex_lock(&g.lock);
  if (p->attached) {
    if (p->prev) p->prev->next = p->next;
    else g.pubs = p->next;
    if (p->next) p->next->prev = p->prev;
    p->next = p->prev = NULL;
    p->attached = 0;
  }
  if (p->in_ready) {
    for (cv_media_pub **pp = &g.ready; *pp; pp = &(*pp)->next_ready)
      if (*pp == p) {
        *pp = p->next_ready;
        break;
      }
    p->in_ready = 0;
    p->next_ready = NULL;
  }
  p->track = 0;
  p->vtrack = 0;
  p->next_stats_ms = p->next_level_ms = 0;
  pthread_mutex_unlock(&g.lock);
  cv_video_pub_reset(p->video); /* the media thread's part: safe under the tick lock */
  pthread_mutex_unlock(&g.tick);
  pthread_mutex_lock(&p->lock);
  p->out_n = p->out_head = 0;
  struct in_frame *vq = p->vq_head;
  p->vq_head = p->vq_tail = NULL;
  p->vq_bytes = 0;
  pthread_mutex_unlock(&p->lock);
  free_queue(vq);
}

/*
 * The ready publishers, taken out of g.ready into an array of the service thread's. Not
 * walked through next_ready after the lock is released: the media thread may mark a taken
 * publisher ready again at any time, which rewrites its next_ready (that walk once lost the
 * rest of the list, and the final unlinking cut publishers out of the new list while their
 * in_ready stayed set: they were never flushed again and went silent for good).
 */
static cv_media_pub **taken;
static size_t taken_cap;

static size_t take_ready(void) { /* g.lock held */
  size_t n = 0;
  cv_media_pub *p = g.ready;
  while (p) {
    if (n == taken_cap) {
      size_t cap = taken_cap ? taken_cap * 2 : 64;
      cv_media_pub **t = realloc(taken, cap * sizeof *t);
      if (!t) break; /* the rest stay ready (linked, in_ready set) for the next flush */
      taken = t;
      taken_cap = cap;
    }
    cv_media_pub *next = p->next_ready;
    p->in_ready = 0;
    p->next_ready = NULL;
    taken[n++] = p;
    p = next;
  }
  g.ready = p;
  return n;
}

void cv_media_flush(const struct cv_media_sink *sink) {
  static struct out_frame frames[CV_MEDIA_OUT_FRAMES]; /* the service thread only */
  /* the ready publishers: taken once (detach, the only other remover, runs on this thread) */
  pthread_mutex_lock(&g.lock);
  size_t nready = take_ready();
  pthread_mutex_unlock(&g.lock);
  /* audio first: it never waits behind video */
  for (size_t k = 0; k < nready; k++) {
    cv_media_pub *p = taken[k];
    pthread_mutex_lock(&p->lock);
    int n = p->out_n;
    for (int i = 0; i < n; i++) frames[i] = p->out[(p->out_head + i) % CV_MEDIA_OUT_FRAMES];
    p->out_n = p->out_head = 0;
    pthread_mutex_unlock(&p->lock);
    uint64_t sent = 0, bytes = 0, dropped = 0;
    for (int i = 0; i < n; i++) {
      if (sink->send(p->owner, frames[i].b, frames[i].len, 0) == 0) {
        sent++;
        bytes += frames[i].len;
      } else {
        dropped++;
      }
    }
    pthread_mutex_lock(&p->lock);
    p->st.frames_sent += sent;
    p->st.bytes_sent += bytes;
    p->st.queue_dropped += dropped;
    pthread_mutex_unlock(&p->lock);
  }
  /* then video: after a refused packet the rest of the queue is useless (its frames would not
   * decode): dropped, and the next frame is a keyframe */
  for (size_t k = 0; k < nready; k++) {
    cv_media_pub *p = taken[k];
    pthread_mutex_lock(&p->lock);
    struct in_frame *q = p->vq_head;
    p->vq_head = p->vq_tail = NULL;
    p->vq_bytes = 0;
    cv_video_pub *v = p->video;
    pthread_mutex_unlock(&p->lock);
    if (!v) continue;
    uint64_t sent = 0, bytes = 0;
    unsigned refused = 0, offline = 0;
    for (struct in_frame *f = q; f; f = f->next) {
      int rc = refused || offline ? -1 : sink->send(p->owner, f->b, f->len, 1);
      if (rc == 0) {
        sent++;
        bytes += f->len;
      } else if (rc > 0 || offline) {
        offline++; /* no link (reconnecting): not congestion */
      } else {
        refused++;
      }
    }
    free_queue(q);
    if (offline) {
      /* while the session reconnects nothing is sent: no keyframe per frame, no lower rate;
       * one keyframe when the link is back (its subscribers' pictures broke meanwhile) */
      p->offline = 1;
    } else {
      if (refused || (sent && p->offline)) cv_video_pub_request_keyframe(v, 0);
      if (sent) p->offline = 0;
      cv_video_pub_report_backlog(v, sink->backlog ? sink->backlog(p->owner) : 0, refused);
    }
    pthread_mutex_lock(&p->lock);
    p->st.video_packets_sent += sent;
    p->st.video_bytes_sent += bytes;
    pthread_mutex_unlock(&p->lock);
  }
  /* subscribers that want a keyframe (their requests go out on this thread) */
  void *want[64];
  int nwant;
  do {
    nwant = 0;
    pthread_mutex_lock(&g.lock);
    for (cv_media_sub *s = g.subs; s && nwant < 64; s = s->next) {
      pthread_mutex_lock(&s->lock);
      if (s->want_keyframe) {
        s->want_keyframe = 0;
        want[nwant++] = s->owner;
      }
      pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&g.lock);
    for (int i = 0; i < nwant; i++)
      if (sink->request_keyframe) sink->request_keyframe(want[i]);
  } while (nwant == 64);
}

static void mark_ready(cv_media_pub *p) {
  pthread_mutex_lock(&g.lock);
  if (!p->in_ready) {
    p->in_ready = 1;
    p->next_ready = g.ready;
    g.ready = p;
  }
  pthread_mutex_unlock(&g.lock);
}

/* A video packet of a publisher for the service thread (media thread). */
static void pub_emit_video(void *ctx, const uint8_t *bytes, size_t len) {
  cv_media_pub *p = ctx;
  struct in_frame *f = malloc(sizeof *f + len);
  if (!f) return;
  f->len = len;
  f->next = NULL;
  memcpy(f->b, bytes, len);
  struct in_frame *drop = NULL;
  int overflow = 0;
  pthread_mutex_lock(&p->lock);
  if (p->vq_bytes + len > CV_MEDIA_VIDEO_OUT_BYTES) { /* the service thread is far behind */
    drop = p->vq_head;
    for (struct in_frame *x = drop; x; x = x->next) p->st.video_packets_dropped++;
    p->vq_head = p->vq_tail = NULL;
    p->vq_bytes = 0;
    overflow = 1;
  }
  if (p->vq_tail) p->vq_tail->next = f;
  else p->vq_head = f;
  p->vq_tail = f;
  p->vq_bytes += len;
  pthread_mutex_unlock(&p->lock);
  free_queue(drop);
  if (overflow) cv_video_pub_request_keyframe(p->video, 0);
}

static void pub_preview(void *ctx, const otc_video_frame *frame) {
  cv_media_pub *p = ctx;
  if (g.ops.on_preview) g.ops.on_preview(p->owner, frame);
}

/* A publisher's video, every tick (media thread, tick lock held). 1 when packets wait. */
static int pub_video_tick(cv_media_pub *p, int64_t now) {
  if (!p->vtrack || !p->video) return 0;
  struct cv_video_pub_out out = {.emit = pub_emit_video, .preview = g.ops.on_preview ? pub_preview : NULL, .ctx = p};
  int n = cv_video_pub_tick(p->video, now, p->vtrack, atomic_load(p->venabled), &out);
  if (n > 0) mark_ready(p);
  return n > 0;
}

/* A publisher's counters every second, its level every 100 ms (media thread). */
static void pub_reports(cv_media_pub *p, int64_t now) {
  if (now >= p->next_level_ms) {
    if (p->next_level_ms && p->track && g.ops.on_pub_level) {
      pthread_mutex_lock(&p->lock);
      float level = p->st.audio_level;
      pthread_mutex_unlock(&p->lock);
      g.ops.on_pub_level(p->owner, level);
    }
    p->next_level_ms = now + 100;
  }
  if (now >= p->next_stats_ms) {
    if (p->next_stats_ms && g.ops.on_pub_stats) {
      struct convene_media_stats st;
      cv_media_pub_get_stats(p, &st);
      g.ops.on_pub_stats(p->owner, &st, p->vtrack != 0);
    }
    p->next_stats_ms = now + 1000;
  }
}

/* One 20 ms frame of a publisher (media thread, tick lock held). Returns 1 when a frame waits to be sent. */
static int pub_tick(cv_media_pub *p, const int16_t *device_pcm) {
  if (!p->track || !atomic_load(p->enabled)) {
    p->talk_start = 1;
    return 0;
  }
  int16_t pcm[FRAME];
  int space = -1;
  pthread_mutex_lock(&p->lock);
  if (p->q) {
    size_t have = cv_pcm_queue_frames(p->q);
    size_t take = have < FRAME ? have : FRAME;
    if (take) cv_pcm_queue_pop(p->q, pcm, take);
    if (take < FRAME) memset(pcm + take, 0, (FRAME - take) * sizeof pcm[0]);
    if (p->space_wanted && cv_pcm_queue_duration_ms(p->q) <= p->capacity_ms / 2) {
      p->space_wanted = 0;
      space = (int)cv_pcm_queue_duration_ms(p->q);
    }
  } else if (device_pcm) {
    memcpy(pcm, device_pcm, sizeof pcm);
  } else {
    memset(pcm, 0, sizeof pcm);
  }
  pthread_mutex_unlock(&p->lock);
  if (space >= 0 && g.ops.on_space) g.ops.on_space(p->owner, space);

  if (!p->enc) {
    struct cv_opus_encoder_options o = {.channels = 1, .bitrate = 0, .dtx = 1, .complexity = -1};
    if (cv_opus_encoder_new(&o, &p->enc) != CV_OPUS_OK) return 0;
  }
  uint8_t level = cv_media_audio_level(pcm, FRAME);
  uint8_t packet[CV_OPUS_MAX_PACKET_BYTES];
  size_t len = 0;
  int dtx = 0;
  uint32_t ts = p->ts;
  p->ts += FRAME;
  if (cv_opus_encode(p->enc, pcm, packet, sizeof packet, &len, &dtx) != CV_OPUS_OK) return 0;
  if (dtx) { /* silence: nothing is sent (the timestamp moves on; the sequence does not) */
    pthread_mutex_lock(&p->lock);
    p->st.frames_dtx++;
    p->st.audio_level = 0;
    pthread_mutex_unlock(&p->lock);
    p->talk_start = 1;
    return 0;
  }
  struct cv_media_header h = {.kind = CV_MEDIA_KIND_AUDIO,
                              .flags = p->talk_start ? CV_MEDIA_FLAG_MARKER : 0,
                              .track = p->track,
                              .sequence = p->seq++,
                              .timestamp = ts,
                              .audio_level = (uint8_t)(level | (level < 60 ? 0x80 : 0))};
  p->talk_start = 0;
  pthread_mutex_lock(&p->lock);
  if (p->out_n == CV_MEDIA_OUT_FRAMES) { /* the service thread is behind: drop the oldest */
    p->out_head = (p->out_head + 1) % CV_MEDIA_OUT_FRAMES;
    p->out_n--;
    p->st.queue_dropped++;
  }
  struct out_frame *f = &p->out[(p->out_head + p->out_n) % CV_MEDIA_OUT_FRAMES];
  if (cv_media_frame_encode(&h, packet, len, f->b, sizeof f->b, &f->len) == CV_MEDIA_OK) p->out_n++;
  p->st.audio_level = level_linear(level);
  pthread_mutex_unlock(&p->lock);
  mark_ready(p);
  return 1;
}

/* ---- subscribers ---- */

cv_media_sub *cv_media_sub_new(void *owner) {
  cv_media_sub *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->owner = owner;
  s->rate = 48000;
  s->channels = 1;
  s->frame_ms = 10;
  s->video = cv_video_sub_new();
  if (!s->video) {
    free(s);
    return NULL;
  }
  pthread_mutex_init(&s->lock, NULL);
  return s;
}

static void sub_drop_video_inbound(cv_media_sub *s) {
  free_queue(s->vin_head);
  s->vin_head = s->vin_tail = NULL;
  s->vin_bytes = 0;
  s->vin_n = 0;
}

static void sub_drop_inbound(cv_media_sub *s) {
  for (int i = 0; i < s->in_n; i++) free(s->in[(s->in_head + i) % CV_MEDIA_IN_FRAMES]);
  s->in_n = s->in_head = 0;
}

static void sub_free_codecs(cv_media_sub *s) {
  cv_opus_decoder_free(s->dec);
  cv_resampler_free(s->rs);
  cv_resampler_free(s->ren_rs);
  free(s->frame);
  s->dec = NULL;
  s->rs = s->ren_rs = NULL;
  s->frame = NULL;
}

void cv_media_sub_free(cv_media_sub *s) {
  if (!s) return;
  cv_media_sub_detach(s);
  sub_drop_inbound(s);
  sub_drop_video_inbound(s);
  sub_free_codecs(s);
  cv_video_sub_free(s->video);
  cv_pcm_queue_free(s->ren_q);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

int cv_media_sub_set_format(cv_media_sub *s, int rate, int channels, int frame_ms) {
  if (!s || !cv_resampler_rate_supported(rate) || (channels != 1 && channels != 2) || frame_ms < 10 ||
      frame_ms > 60 || frame_ms % 10)
    return CV_MEDIA_PCM_ARG;
  pthread_mutex_lock(&s->lock);
  s->rate = rate;
  s->channels = channels;
  s->frame_ms = frame_ms;
  pthread_mutex_unlock(&s->lock);
  return CV_MEDIA_PCM_OK;
}

static void sub_list_add(cv_media_sub *s) { /* tick and engine locks held */
  if (s->attached) return;
  s->attached = 1;
  s->prev = NULL;
  s->next = g.subs;
  if (g.subs) g.subs->prev = s;
  g.subs = s;
  pthread_cond_signal(&g.work);
}

int cv_media_sub_attach(cv_media_sub *s, uint16_t track) {
  if (!s || !track) return -1;
  pthread_mutex_lock(&g.tick);
  int rc = 0;
  if (!s->dec) { /* the codecs, in the format chosen before subscribing */
    size_t frame = (size_t)s->rate * (size_t)s->frame_ms / 1000;
    struct cv_resampler_config cfg = {.in_rate = CV_OPUS_RATE, .in_channels = s->channels, .out_rate = s->rate,
                                      .out_channels = s->channels, .out_frame_samples = frame, .quality = -1,
                                      .max_buffered_ms = 300};
    s->frame = malloc(frame * (size_t)s->channels * sizeof(int16_t));
    if (!s->frame || cv_opus_decoder_new(s->channels, &s->dec) != CV_OPUS_OK ||
        cv_resampler_new(&cfg, &s->rs) != CV_RESAMPLER_OK) {
      sub_free_codecs(s);
      rc = -1;
    }
  }
  if (rc == 0) {
    pthread_mutex_lock(&g.lock);
    s->track = track;
    s->have_seq = 0;
    sub_list_add(s);
    pthread_mutex_unlock(&g.lock);
  }
  pthread_mutex_unlock(&g.tick);
  return rc;
}

/* Leaves the list when neither kind is attached (tick and engine locks held). */
static void sub_list_update(cv_media_sub *s) {
  if (s->attached && !s->track && !s->vtrack) {
    if (s->prev) s->prev->next = s->next;
    else g.subs = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
    s->attached = 0;
  }
}

void cv_media_sub_detach_audio(cv_media_sub *s) {
  if (!s) return;
  pthread_mutex_lock(&g.tick);
  pthread_mutex_lock(&g.lock);
  s->track = 0;
  sub_list_update(s);
  pthread_mutex_unlock(&g.lock);
  pthread_mutex_unlock(&g.tick);
  pthread_mutex_lock(&s->lock);
  sub_drop_inbound(s);
  if (s->ren_q) cv_pcm_queue_clear(s->ren_q);
  pthread_mutex_unlock(&s->lock);
}

int cv_media_sub_attach_video(cv_media_sub *s, uint16_t track) {
  if (!s || !track) return -1;
  pthread_mutex_lock(&g.tick);
  pthread_mutex_lock(&g.lock);
  if (s->vtrack != track) { /* a new path: the assembler and decoder start over */
    cv_video_sub_reset(s->video);
    s->video_first = 1;
  }
  s->vtrack = track;
  sub_list_add(s);
  pthread_mutex_unlock(&g.lock);
  pthread_mutex_unlock(&g.tick);
  return 0;
}

void cv_media_sub_detach_video(cv_media_sub *s) {
  if (!s) return;
  pthread_mutex_lock(&g.tick);
  pthread_mutex_lock(&g.lock);
  s->vtrack = 0;
  s->next_vstats_ms = 0;
  sub_list_update(s);
  pthread_mutex_unlock(&g.lock);
  cv_video_sub_reset(s->video);
  pthread_mutex_unlock(&g.tick);
  pthread_mutex_lock(&s->lock);
  sub_drop_video_inbound(s);
  s->want_keyframe = 0;
  pthread_mutex_unlock(&s->lock);
}

void cv_media_sub_detach(cv_media_sub *s) {
  if (!s) return;
  cv_media_sub_detach_audio(s);
  cv_media_sub_detach_video(s);
}

uint16_t cv_media_sub_track(const cv_media_sub *s) { return s ? s->track : 0; }
uint16_t cv_media_sub_video_track(const cv_media_sub *s) { return s ? s->vtrack : 0; }

int cv_media_sub_set_video_format(cv_media_sub *s, enum otc_video_frame_format format) {
  if (!s) return CV_MEDIA_PCM_ARG;
  return cv_video_sub_set_format(s->video, format) == CV_VIDEO_OK ? CV_MEDIA_PCM_OK : CV_MEDIA_PCM_ARG;
}

void cv_media_sub_push(cv_media_sub *s, const uint8_t *bytes, size_t len) {
  if (!s || !bytes || len > CV_MEDIA_MAX_FRAME_BYTES) return;
  struct in_frame *f = malloc(sizeof *f + len);
  if (!f) return;
  f->len = len;
  f->next = NULL;
  memcpy(f->b, bytes, len);
  uint16_t track = cv_media_track_of(bytes, len);
  if (track && track == s->vtrack) { /* video: its own queue, bounded in bytes and packets */
    cv_video_sub_count_received(s->video, len);
    pthread_mutex_lock(&s->lock);
    struct in_frame *drop = NULL;
    if (s->vin_bytes + len > CV_MEDIA_VIDEO_IN_BYTES || s->vin_n >= CV_MEDIA_VIDEO_IN_PACKETS) {
      /* the media thread is far behind: everything waiting goes (the assembler then waits
       * for a keyframe and asks for one) */
      drop = s->vin_head;
      s->st.queue_dropped += (uint64_t)s->vin_n;
      s->vin_head = s->vin_tail = NULL;
      s->vin_bytes = 0;
      s->vin_n = 0;
    }
    if (s->vin_tail) s->vin_tail->next = f;
    else s->vin_head = f;
    s->vin_tail = f;
    s->vin_bytes += len;
    s->vin_n++;
    pthread_mutex_unlock(&s->lock);
    free_queue(drop);
    return;
  }
  pthread_mutex_lock(&s->lock);
  s->st.frames_received++;
  s->st.bytes_received += len;
  if (s->in_n == CV_MEDIA_IN_FRAMES) { /* the media thread is behind: drop the oldest */
    free(s->in[s->in_head]);
    s->in_head = (s->in_head + 1) % CV_MEDIA_IN_FRAMES;
    s->in_n--;
    s->st.queue_dropped++;
  }
  s->in[(s->in_head + s->in_n) % CV_MEDIA_IN_FRAMES] = f;
  s->in_n++;
  pthread_mutex_unlock(&s->lock);
}

void cv_media_sub_count_malformed(cv_media_sub *s) {
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  s->st.frames_malformed++;
  pthread_mutex_unlock(&s->lock);
}

void cv_media_sub_get_stats(cv_media_sub *s, struct convene_media_stats *out) {
  pthread_mutex_lock(&s->lock);
  *out = s->st;
  pthread_mutex_unlock(&s->lock);
  cv_video_sub_stats(s->video, out, 0, 0);
}

static void sub_on_video_frame(void *ctx, const otc_video_frame *frame) {
  cv_media_sub *s = ctx;
  if (s->video_first) {
    s->video_first = 0;
    if (g.ops.on_video_first) g.ops.on_video_first(s->owner);
  }
  if (g.ops.on_video_frame) g.ops.on_video_frame(s->owner, frame);
}

/* A subscriber's received video (media thread, tick lock held). 1 when it wants a keyframe. */
static int sub_video_tick(cv_media_sub *s, int64_t now) {
  pthread_mutex_lock(&s->lock);
  struct in_frame *q = s->vin_head;
  s->vin_head = s->vin_tail = NULL;
  s->vin_bytes = 0;
  s->vin_n = 0;
  pthread_mutex_unlock(&s->lock);
  int ask = 0;
  uint64_t malformed = 0;
  struct cv_video_sub_out out = {.on_frame = sub_on_video_frame, .ctx = s};
  for (struct in_frame *f = q; f; f = f->next) {
    struct cv_media_frame fr;
    if (cv_media_frame_decode(f->b, f->len, &fr) != CV_MEDIA_OK) {
      malformed++;
      continue;
    }
    if (fr.header.kind != CV_MEDIA_KIND_VIDEO || fr.header.track != s->vtrack) continue;
    ask |= cv_video_sub_packet(s->video, &fr.header, fr.payload, fr.payload_len, now, &out);
  }
  free_queue(q);
  if (malformed || ask) {
    pthread_mutex_lock(&s->lock);
    s->st.frames_malformed += malformed;
    if (ask) s->want_keyframe = 1;
    pthread_mutex_unlock(&s->lock);
  }
  if (now >= s->next_vstats_ms) {
    struct convene_media_stats st;
    pthread_mutex_lock(&s->lock);
    st = s->st;
    pthread_mutex_unlock(&s->lock);
    cv_video_sub_stats(s->video, &st, now, 1);
    if (s->next_vstats_ms && g.ops.on_video_stats) g.ops.on_video_stats(s->owner, &st);
    s->next_vstats_ms = now + 1000;
  }
  return ask;
}

/* Decoded 48 kHz PCM of a subscriber: to its on_pcm in its format, and to the device's mix. */
static void sub_deliver(cv_media_sub *s, const int16_t *pcm, size_t n) {
  if (cv_resampler_push(s->rs, pcm, n) != CV_RESAMPLER_OK) cv_resampler_reset(s->rs); /* should not happen: popped below */
  size_t frame = (size_t)s->rate * (size_t)s->frame_ms / 1000;
  while (cv_resampler_pop_frame(s->rs, s->frame) == 1)
    if (g.ops.on_pcm) g.ops.on_pcm(s->owner, s->frame, frame, s->rate, s->channels);
  /* the device's render side */
  pthread_mutex_lock(&g.lock);
  int on = g.dev_on, rate = g.ren_rate, ch = g.ren_channels;
  pthread_mutex_unlock(&g.lock);
  if (!on) return;
  if (!s->ren_rs || s->ren_rate != rate || s->ren_channels != ch) {
    cv_resampler_free(s->ren_rs);
    s->ren_rs = NULL;
    struct cv_resampler_config cfg = {.in_rate = CV_OPUS_RATE, .in_channels = s->channels, .out_rate = rate,
                                      .out_channels = ch, .quality = -1};
    if (cv_resampler_new(&cfg, &s->ren_rs) != CV_RESAMPLER_OK) return;
    s->ren_rate = rate;
    s->ren_channels = ch;
    pthread_mutex_lock(&s->lock);
    cv_pcm_queue_free(s->ren_q);
    s->ren_q = NULL;
    cv_pcm_queue_new(rate, ch, DEVICE_MS, &s->ren_q);
    pthread_mutex_unlock(&s->lock);
  }
  pthread_mutex_lock(&s->lock);
  if (s->ren_q) resample_into(s->ren_rs, CV_OPUS_RATE, s->channels, pcm, n, s->ren_q);
  pthread_mutex_unlock(&s->lock);
}

static void sub_tick(cv_media_sub *s, int64_t now) {
  struct in_frame *in[CV_MEDIA_IN_FRAMES];
  pthread_mutex_lock(&s->lock);
  int n = s->in_n;
  for (int i = 0; i < n; i++) in[i] = s->in[(s->in_head + i) % CV_MEDIA_IN_FRAMES];
  s->in_n = s->in_head = 0;
  pthread_mutex_unlock(&s->lock);
  static _Thread_local int16_t pcm[CV_OPUS_MAX_FRAME_SAMPLES * 2];
  uint64_t decoded = 0, concealed = 0, errors = 0, lost = 0, malformed = 0;
  int have_level = 0;
  uint8_t level = CV_MEDIA_AUDIO_LEVEL_SILENT;
  for (int i = 0; i < n; i++) {
    struct cv_media_frame fr;
    if (cv_media_frame_decode(in[i]->b, in[i]->len, &fr) != CV_MEDIA_OK) {
      malformed++;
    } else if (fr.header.kind == CV_MEDIA_KIND_AUDIO && fr.header.track == s->track) {
      int gap = s->have_seq ? cv_media_sequence_delta(fr.header.sequence, s->last_seq) : 1;
      if (gap <= 0) { /* late or repeated: too late to play */
        free(in[i]);
        continue;
      }
      if (gap > 1) { /* frames lost (DTX sends nothing and does not move the sequence: no gap) */
        lost += (uint64_t)(gap - 1);
        for (int k = 0; k < gap - 1 && k < CV_MEDIA_MAX_CONCEAL; k++) {
          int got = cv_opus_decode(s->dec, NULL, 0, pcm, CV_OPUS_MAX_FRAME_SAMPLES);
          if (got > 0) {
            concealed++;
            sub_deliver(s, pcm, (size_t)got);
          }
        }
      }
      s->have_seq = 1;
      s->last_seq = fr.header.sequence;
      int got = cv_opus_decode(s->dec, fr.payload, fr.payload_len, pcm, CV_OPUS_MAX_FRAME_SAMPLES);
      if (got > 0) {
        decoded++;
        level = fr.header.audio_level & 0x7f;
        have_level = 1;
        sub_deliver(s, pcm, (size_t)got);
      } else {
        errors++;
      }
    }
    free(in[i]);
  }
  pthread_mutex_lock(&s->lock);
  s->st.frames_decoded += decoded;
  s->st.frames_concealed += concealed;
  s->st.decode_errors += errors;
  s->st.frames_lost += lost;
  s->st.frames_malformed += malformed;
  if (have_level) s->st.audio_level = level_linear(level);
  struct convene_media_stats st = s->st;
  pthread_mutex_unlock(&s->lock);
  if (now >= s->next_level_ms) {
    if (s->next_level_ms && g.ops.on_sub_level) g.ops.on_sub_level(s->owner, st.audio_level);
    s->next_level_ms = now + 100;
  }
  if (now >= s->next_stats_ms) {
    if (s->next_stats_ms && g.ops.on_sub_stats) g.ops.on_sub_stats(s->owner, &st);
    s->next_stats_ms = now + 1000;
  }
}

/* ---- the device ---- */

int cv_media_device_configure(int on, int capture_rate, int capture_channels, int render_rate, int render_channels) {
  if (on && (!cv_resampler_rate_supported(capture_rate) || !cv_resampler_rate_supported(render_rate) ||
             capture_channels < 1 || capture_channels > 2 || render_channels < 1 || render_channels > 2))
    return CV_MEDIA_PCM_ARG;
  cv_resampler *rs = NULL;
  cv_pcm_queue *q = NULL;
  if (on) {
    struct cv_resampler_config cfg = {.in_rate = capture_rate, .in_channels = capture_channels,
                                      .out_rate = CV_OPUS_RATE, .out_channels = 1, .quality = -1};
    if (cv_resampler_new(&cfg, &rs) != CV_RESAMPLER_OK || cv_pcm_queue_new(CV_OPUS_RATE, 1, DEVICE_MS, &q) != CV_PCM_QUEUE_OK) {
      cv_resampler_free(rs);
      cv_pcm_queue_free(q);
      return CV_MEDIA_PCM_NOMEM;
    }
  }
  pthread_mutex_lock(&g.lock);
  cv_resampler *old_rs = g.cap_rs;
  cv_pcm_queue *old_q = g.cap_q;
  g.cap_rs = rs;
  g.cap_q = q;
  g.dev_on = on;
  g.cap_rate = capture_rate;
  g.cap_channels = capture_channels;
  g.ren_rate = render_rate;
  g.ren_channels = render_channels;
  pthread_mutex_unlock(&g.lock);
  cv_resampler_free(old_rs);
  cv_pcm_queue_free(old_q);
  return CV_MEDIA_PCM_OK;
}

int cv_media_device_write(const int16_t *pcm, size_t frames) {
  if (!pcm || !frames) return CV_MEDIA_PCM_ARG;
  pthread_mutex_lock(&g.lock);
  int rc = CV_MEDIA_PCM_NOSOURCE;
  if (g.dev_on && frames <= (size_t)g.cap_rate * 10)
    rc = resample_into(g.cap_rs, g.cap_rate, g.cap_channels, pcm, frames, g.cap_q) == 0 ? CV_MEDIA_PCM_OK : CV_MEDIA_PCM_NOMEM;
  else if (g.dev_on)
    rc = CV_MEDIA_PCM_ARG;
  pthread_mutex_unlock(&g.lock);
  return rc;
}

size_t cv_media_device_read(int16_t *out, size_t frames) {
  if (!out || !frames) return 0;
  pthread_mutex_lock(&g.lock);
  if (!g.dev_on) {
    pthread_mutex_unlock(&g.lock);
    return 0;
  }
  size_t n = frames * (size_t)g.ren_channels;
  memset(out, 0, n * sizeof out[0]);
  int16_t tmp[960 * 2];
  for (cv_media_sub *s = g.subs; s; s = s->next) {
    pthread_mutex_lock(&s->lock);
    size_t done = 0;
    while (s->ren_q && done < frames) {
      size_t have = cv_pcm_queue_frames(s->ren_q);
      size_t want = frames - done;
      if (want > 960) want = 960;
      if (want > have) want = have;
      if (!want || cv_pcm_queue_pop(s->ren_q, tmp, want) != CV_PCM_QUEUE_OK) break;
      for (size_t i = 0; i < want * (size_t)g.ren_channels; i++) { /* saturating sum */
        int v = out[done * (size_t)g.ren_channels + i] + tmp[i];
        out[done * (size_t)g.ren_channels + i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
      }
      done += want;
    }
    pthread_mutex_unlock(&s->lock);
  }
  pthread_mutex_unlock(&g.lock);
  return frames;
}

/* ---- the media thread ---- */

static void tick(int encode) {
  int64_t now = now_ms();
  pthread_mutex_lock(&g.tick);
  /* lists change only under the tick lock (attach / detach), which this thread holds */
  int pending = 0;
  for (cv_media_sub *s = g.subs; s; s = s->next) {
    if (s->track) sub_tick(s, now);
    if (s->vtrack) pending |= sub_video_tick(s, now);
  }
  for (cv_media_pub *p = g.pubs; p; p = p->next) {
    pending |= pub_video_tick(p, now);
    pub_reports(p, now);
  }
  if (encode) {
    int16_t dev[FRAME];
    const int16_t *device_pcm = NULL;
    int need_device = 0;
    for (cv_media_pub *p = g.pubs; p; p = p->next)
      if (!p->q && p->track && atomic_load(p->enabled)) need_device = 1;
    if (need_device) {
      pthread_mutex_lock(&g.lock);
      if (g.dev_on && g.cap_q) {
        size_t have = cv_pcm_queue_frames(g.cap_q), take = have < FRAME ? have : FRAME;
        if (take) cv_pcm_queue_pop(g.cap_q, dev, take);
        if (take < FRAME) memset(dev + take, 0, (FRAME - take) * sizeof dev[0]);
        device_pcm = dev;
      }
      pthread_mutex_unlock(&g.lock);
    }
    for (cv_media_pub *p = g.pubs; p; p = p->next) pending |= pub_tick(p, device_pcm);
  }
  pthread_mutex_unlock(&g.tick);
  if (pending && g.ops.wake) g.ops.wake();
  if (g.ops.on_tick_end) g.ops.on_tick_end();
}

unsigned cv_media_passes_for_testing(void) {
  return atomic_load(&g.passes);
}

void cv_media_tick_for_testing(int encode) {
  if (!g.running) tick(encode);
}

static void *media_main(void *arg) {
  (void)arg;
  t_media = 1;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  unsigned n = 0;
  while (!atomic_load(&g.stop)) {
    /* nothing attached: sleep until something is (an idle process pays no 10 ms tick) */
    pthread_mutex_lock(&g.lock);
    int waited = 0;
    while (!g.pubs && !g.subs && !atomic_load(&g.stop)) {
      pthread_cond_wait(&g.work, &g.lock);
      waited = 1;
    }
    pthread_mutex_unlock(&g.lock);
    if (atomic_load(&g.stop)) break;
    if (waited) clock_gettime(CLOCK_MONOTONIC, &next);
    atomic_fetch_add(&g.passes, 1);
    tick(n++ % 2 == 0);
    next.tv_nsec += CV_MEDIA_TICK_MS * 1000000L;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec++;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t behind = ((int64_t)now.tv_sec - next.tv_sec) * 1000 + (now.tv_nsec - next.tv_nsec) / 1000000;
    if (behind > 100) next = now; /* stalled (a slow callback, a suspended process): start again from now */
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
  }
  return NULL;
}

int cv_media_start(const struct cv_media_ops *ops) {
  if (g.running || !ops) return -1;
  g.ops = *ops;
  atomic_store(&g.stop, 0);
  if (pthread_create(&g.thread, NULL, media_main, NULL) != 0) return -1;
  g.running = 1;
  return 0;
}

void cv_media_stop(void) {
  if (!g.running) return;
  pthread_mutex_lock(&g.lock);
  atomic_store(&g.stop, 1);
  pthread_cond_signal(&g.work);
  pthread_mutex_unlock(&g.lock);
  pthread_join(g.thread, NULL);
  g.running = 0;
  memset(&g.ops, 0, sizeof g.ops);
}
