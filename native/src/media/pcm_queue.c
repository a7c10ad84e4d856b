/* A bounded ring of int16 PCM; see pcm_queue.h. */
#include "pcm_queue.h"

#include <stdlib.h>
#include <string.h>

struct cv_pcm_queue {
  int rate, channels;
  int16_t *ring;           /* cap * channels */
  size_t cap, head, count; /* samples per channel */
  struct cv_pcm_queue_stats stats;
};

int cv_pcm_queue_new(int rate, int channels, unsigned capacity_ms, cv_pcm_queue **out) {
  if (!out) return CV_PCM_QUEUE_ERR_ARG;
  *out = NULL;
  if (rate < 1 || rate > 192000 || channels < 1 || channels > 2 || capacity_ms == 0 ||
      capacity_ms > CV_PCM_QUEUE_MAX_MS)
    return CV_PCM_QUEUE_ERR_ARG;
  size_t cap = (size_t)rate * capacity_ms / 1000;
  if (cap == 0) return CV_PCM_QUEUE_ERR_ARG;
  cv_pcm_queue *q = calloc(1, sizeof *q);
  if (!q) return CV_PCM_QUEUE_ERR_NOMEM;
  q->ring = malloc(cap * (size_t)channels * sizeof(int16_t));
  if (!q->ring) {
    free(q);
    return CV_PCM_QUEUE_ERR_NOMEM;
  }
  q->rate = rate;
  q->channels = channels;
  q->cap = cap;
  *out = q;
  return CV_PCM_QUEUE_OK;
}

void cv_pcm_queue_free(cv_pcm_queue *q) {
  if (!q) return;
  free(q->ring);
  free(q);
}

/* copies n frames in at the tail; the caller made room */
static void ring_write(cv_pcm_queue *q, const int16_t *pcm, size_t n) {
  size_t ch = (size_t)q->channels, tail = (q->head + q->count) % q->cap;
  size_t first = q->cap - tail < n ? q->cap - tail : n;
  memcpy(q->ring + tail * ch, pcm, first * ch * sizeof(int16_t));
  if (n > first) memcpy(q->ring, pcm + first * ch, (n - first) * ch * sizeof(int16_t));
  q->count += n;
  q->stats.pushed += n;
}

/* discards n frames at the head */
static void ring_skip(cv_pcm_queue *q, size_t n) {
  q->head = (q->head + n) % q->cap;
  q->count -= n;
  if (q->count == 0) q->head = 0;
}

int cv_pcm_queue_push(cv_pcm_queue *q, const int16_t *pcm, size_t frames) {
  if (!q || (!pcm && frames)) return CV_PCM_QUEUE_ERR_ARG;
  if (frames > q->cap - q->count) {
    q->stats.refused += frames;
    q->stats.full_events++;
    return CV_PCM_QUEUE_ERR_FULL;
  }
  if (frames) ring_write(q, pcm, frames);
  return CV_PCM_QUEUE_OK;
}

int cv_pcm_queue_push_drop_oldest(cv_pcm_queue *q, const int16_t *pcm, size_t frames) {
  if (!q || (!pcm && frames)) return CV_PCM_QUEUE_ERR_ARG;
  if (frames > q->cap) { /* keep the newest cap samples */
    size_t skip = frames - q->cap;
    q->stats.dropped += skip + q->count;
    q->head = q->count = 0;
    pcm += skip * (size_t)q->channels;
    frames = q->cap;
  }
  if (frames > q->cap - q->count) {
    size_t drop = frames - (q->cap - q->count);
    ring_skip(q, drop);
    q->stats.dropped += drop;
  }
  if (frames) ring_write(q, pcm, frames);
  return CV_PCM_QUEUE_OK;
}

int cv_pcm_queue_pop(cv_pcm_queue *q, int16_t *out, size_t frames) {
  if (!q || (!out && frames)) return CV_PCM_QUEUE_ERR_ARG;
  if (frames > q->count) return CV_PCM_QUEUE_ERR_EMPTY;
  size_t ch = (size_t)q->channels;
  size_t first = q->cap - q->head < frames ? q->cap - q->head : frames;
  if (frames) {
    memcpy(out, q->ring + q->head * ch, first * ch * sizeof(int16_t));
    if (frames > first) memcpy(out + first * ch, q->ring, (frames - first) * ch * sizeof(int16_t));
    ring_skip(q, frames);
  }
  q->stats.popped += frames;
  return CV_PCM_QUEUE_OK;
}

void cv_pcm_queue_clear(cv_pcm_queue *q) {
  if (!q) return;
  q->stats.cleared += q->count;
  q->head = q->count = 0;
}

size_t cv_pcm_queue_frames(const cv_pcm_queue *q) { return q ? q->count : 0; }
size_t cv_pcm_queue_capacity(const cv_pcm_queue *q) { return q ? q->cap : 0; }
size_t cv_pcm_queue_space(const cv_pcm_queue *q) { return q ? q->cap - q->count : 0; }

unsigned cv_pcm_queue_duration_ms(const cv_pcm_queue *q) {
  return q ? (unsigned)(q->count * 1000 / (size_t)q->rate) : 0;
}

struct cv_pcm_queue_stats cv_pcm_queue_get_stats(const cv_pcm_queue *q) {
  struct cv_pcm_queue_stats zero;
  memset(&zero, 0, sizeof zero);
  return q ? q->stats : zero;
}
