/*
 * A bounded queue of int16 interleaved PCM at one rate and channel count: what a publisher's
 * writer fills (convene's per-stream PCM: back-pressure, clear for barge-in, queued duration)
 * and what the encoder drains in exact 20 ms frames; also usable on the subscriber side with
 * cv_pcm_queue_push_drop_oldest (a slow reader loses the oldest audio, counted).
 *
 * A ring allocated once at creation (capacity in ms); no allocation afterwards.
 * Opaque handle, not thread-safe: one thread at a time (the integration puts a lock around it
 * or keeps it on one thread). Buffers passed in are borrowed for the call. Part of the
 * convene_media static library (native/src/media/README.md): not yet linked into libconvene.
 */
#ifndef CONVENE_MEDIA_PCM_QUEUE_H
#define CONVENE_MEDIA_PCM_QUEUE_H

#include <stddef.h>
#include <stdint.h>

enum cv_pcm_queue_status {
  CV_PCM_QUEUE_OK = 0,
  CV_PCM_QUEUE_ERR_ARG = -1,   /* NULL, rate or channels out of range, capacity 0 or too large */
  CV_PCM_QUEUE_ERR_NOMEM = -2, /* allocation failed */
  CV_PCM_QUEUE_ERR_FULL = -3,  /* push: not enough room; nothing queued (back-pressure) */
  CV_PCM_QUEUE_ERR_EMPTY = -4, /* pop: fewer samples queued than asked; nothing taken */
};

#define CV_PCM_QUEUE_MAX_MS 60000u

struct cv_pcm_queue_stats {
  uint64_t pushed;  /* samples per channel accepted */
  uint64_t popped;  /* samples per channel taken */
  uint64_t refused; /* samples per channel refused by cv_pcm_queue_push (queue full) */
  uint64_t dropped; /* samples per channel discarded by cv_pcm_queue_push_drop_oldest */
  uint64_t cleared; /* samples per channel discarded by cv_pcm_queue_clear */
  uint64_t full_events; /* pushes refused */
};

typedef struct cv_pcm_queue cv_pcm_queue;

/*
 * Creates a queue for `rate` Hz (1..192000), `channels` (1 or 2), holding capacity_ms of audio
 * (1..CV_PCM_QUEUE_MAX_MS). On success stores it in *out (the caller owns it:
 * cv_pcm_queue_free) and returns CV_PCM_QUEUE_OK; otherwise *out is NULL. Any thread.
 */
int cv_pcm_queue_new(int rate, int channels, unsigned capacity_ms, cv_pcm_queue **out);

/* Frees it; NULL is harmless. The thread that uses it. */
void cv_pcm_queue_free(cv_pcm_queue *q);

/*
 * Appends `frames` samples per channel (channels interleaved). All or nothing: when they do
 * not fit, returns CV_PCM_QUEUE_ERR_FULL, queues nothing and counts them in `refused`.
 */
int cv_pcm_queue_push(cv_pcm_queue *q, const int16_t *pcm, size_t frames);

/*
 * Appends `frames`, discarding the oldest queued audio to make room (counted in `dropped`).
 * More than the capacity: only the newest `capacity` samples are kept, the rest dropped.
 */
int cv_pcm_queue_push_drop_oldest(cv_pcm_queue *q, const int16_t *pcm, size_t frames);

/* Takes exactly `frames` samples per channel into out, or returns CV_PCM_QUEUE_ERR_EMPTY
   (nothing taken) when fewer are queued. */
int cv_pcm_queue_pop(cv_pcm_queue *q, int16_t *out, size_t frames);

/* Discards everything queued (barge-in), counted in `cleared`. */
void cv_pcm_queue_clear(cv_pcm_queue *q);

size_t cv_pcm_queue_frames(const cv_pcm_queue *q);   /* samples per channel queued */
size_t cv_pcm_queue_capacity(const cv_pcm_queue *q); /* samples per channel it holds at most */
size_t cv_pcm_queue_space(const cv_pcm_queue *q);    /* capacity - frames */
/* Queued duration in ms, rounded down. */
unsigned cv_pcm_queue_duration_ms(const cv_pcm_queue *q);
/* The counters (a copy). */
struct cv_pcm_queue_stats cv_pcm_queue_get_stats(const cv_pcm_queue *q);

#endif
