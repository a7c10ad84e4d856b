/* Video frames <-> media packets; see video_packets.h. */
#include "video_packets.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FRAME_LIMIT ((size_t)64 * 1024 * 1024)

size_t cv_video_packet_count(size_t len, size_t max_payload) {
  if (max_payload == 0 || max_payload > CV_MEDIA_MAX_PAYLOAD_BYTES) return 0;
  if (len == 0) return 1;
  return (len + max_payload - 1) / max_payload;
}

int cv_video_packet_at(const uint8_t *frame, size_t len, size_t max_payload, int keyframe, size_t i,
                       const uint8_t **payload, size_t *payload_len, uint8_t *flags) {
  size_t n = cv_video_packet_count(len, max_payload);
  if ((!frame && len > 0) || !payload || !payload_len || !flags || n == 0 || i >= n) return -1;
  /* balanced: the first len % n packets carry one byte more */
  size_t base = len / n, extra = len % n;
  size_t off = i * base + (i < extra ? i : extra);
  *payload = frame ? frame + off : frame;
  *payload_len = base + (i < extra ? 1 : 0);
  *flags = (uint8_t)((keyframe ? CV_MEDIA_FLAG_KEYFRAME : 0) | (i + 1 == n ? CV_MEDIA_FLAG_MARKER : 0));
  return 0;
}

struct cv_video_assembler {
  size_t max;
  uint8_t *buf;
  size_t cap, len;
  int in_frame, cur_key, waiting_key;
  uint32_t cur_ts;
  int have_last, prev_marker;
  uint16_t last_seq;
  uint32_t last_ts;
  struct cv_video_assembler_stats stats;
};

int cv_video_assembler_new(size_t max_frame_bytes, cv_video_assembler **out) {
  if (!out) return CV_VIDEO_ERR_ARG;
  *out = NULL;
  if (max_frame_bytes == 0 || max_frame_bytes > MAX_FRAME_LIMIT) return CV_VIDEO_ERR_ARG;
  cv_video_assembler *a = calloc(1, sizeof *a);
  if (!a) return CV_VIDEO_ERR_NOMEM;
  a->max = max_frame_bytes;
  a->waiting_key = 1;
  *out = a;
  return 0;
}

void cv_video_assembler_free(cv_video_assembler *a) {
  if (!a) return;
  free(a->buf);
  free(a);
}

/* The frame being assembled is lost: drop it and wait for a keyframe. */
static void lose(cv_video_assembler *a, uint64_t *counter) {
  if (counter) (*counter)++;
  a->in_frame = 0;
  a->len = 0;
  a->waiting_key = 1;
}

static int append(cv_video_assembler *a, const uint8_t *p, size_t n) {
  if (n > a->max - a->len) return -1;
  if (a->len + n > a->cap) {
    size_t cap = a->cap ? a->cap : 4096;
    while (cap < a->len + n) cap *= 2;
    if (cap > a->max) cap = a->max;
    uint8_t *b = realloc(a->buf, cap);
    if (!b) return CV_VIDEO_ERR_NOMEM;
    a->buf = b;
    a->cap = cap;
  }
  if (n > 0) memcpy(a->buf + a->len, p, n);
  a->len += n;
  return 0;
}

int cv_video_assembler_push(cv_video_assembler *a, const struct cv_media_header *h, const uint8_t *payload,
                            size_t payload_len, const uint8_t **frame, size_t *frame_len, uint32_t *timestamp,
                            int *keyframe) {
  if (!a || !h || (!payload && payload_len > 0) || !frame || !frame_len || h->kind != CV_MEDIA_KIND_VIDEO)
    return CV_VIDEO_ERR_ARG;
  *frame = NULL;
  *frame_len = 0;
  if (a->have_last) {
    int delta = cv_media_sequence_delta(h->sequence, a->last_seq);
    if (delta <= 0 && delta > -CV_VIDEO_RESYNC_PACKETS) { /* a duplicate, or reordered late */
      a->stats.stale++;
      return CV_VIDEO_MORE;
    }
    /* far behind: not a late packet but a sequence that jumped (a rogue packet was taken
     * before): resynchronise on it, as after a gap */
    if (delta <= 0) delta = 2;
    if (delta > 1 && a->in_frame) lose(a, &a->stats.lost);
    else if (delta > 1) a->waiting_key = 1;
  }
  int marker = (h->flags & CV_MEDIA_FLAG_MARKER) != 0;
  int key = (h->flags & CV_MEDIA_FLAG_KEYFRAME) != 0;
  /* a packet starts a frame after a frame's last packet, or when its timestamp is new */
  int starts = !a->have_last || a->prev_marker || h->timestamp != a->last_ts;
  a->have_last = 1;
  a->last_seq = h->sequence;
  a->last_ts = h->timestamp;
  a->prev_marker = marker;
  if (a->in_frame && starts) lose(a, &a->stats.lost); /* the previous frame never got its last packet */
  if (!a->in_frame) {
    if (!starts || (a->waiting_key && !key)) {
      a->stats.skipped++;
      return CV_VIDEO_MORE;
    }
    a->in_frame = 1;
    a->len = 0;
    a->cur_ts = h->timestamp;
    a->cur_key = key;
    if (key) a->waiting_key = 0;
  }
  int rc = append(a, payload, payload_len);
  if (rc == CV_VIDEO_ERR_NOMEM) {
    lose(a, NULL);
    return rc;
  }
  if (rc != 0) {
    lose(a, &a->stats.oversize);
    return CV_VIDEO_MORE;
  }
  a->stats.packets++;
  if (!marker) return CV_VIDEO_MORE;
  a->in_frame = 0;
  a->stats.frames++;
  if (a->cur_key) a->stats.keyframes++;
  *frame = a->buf;
  *frame_len = a->len;
  if (timestamp) *timestamp = a->cur_ts;
  if (keyframe) *keyframe = a->cur_key;
  return CV_VIDEO_FRAME;
}

int cv_video_assembler_waiting_keyframe(const cv_video_assembler *a) {
  return a ? a->waiting_key : 0;
}

void cv_video_assembler_stats(const cv_video_assembler *a, struct cv_video_assembler_stats *out) {
  if (!out) return;
  if (!a) {
    memset(out, 0, sizeof *out);
    return;
  }
  *out = a->stats;
}
