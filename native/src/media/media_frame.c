/* The media frame header codec (docs/protocol.md section 15.1); see media_frame.h. */
#include "media_frame.h"

#include <string.h>

static uint16_t get16(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

int cv_media_frame_decode(const uint8_t *bytes, size_t len, struct cv_media_frame *out) {
  if (!out) return CV_MEDIA_ERR_ARG;
  memset(out, 0, sizeof *out);
  if (len < CV_MEDIA_HEADER_BYTES) return CV_MEDIA_ERR_SHORT;
  if (!bytes) return CV_MEDIA_ERR_ARG;
  if ((bytes[0] >> 4) != CV_MEDIA_VERSION) return CV_MEDIA_ERR_VERSION;
  unsigned kind = bytes[0] & 0x0fu;
  if (kind != CV_MEDIA_KIND_AUDIO && kind != CV_MEDIA_KIND_VIDEO) return CV_MEDIA_ERR_KIND;
  uint16_t track = get16(bytes + 2);
  if (track == 0) return CV_MEDIA_ERR_TRACK;
  size_t payload_len = len - CV_MEDIA_HEADER_BYTES;
  if (payload_len > CV_MEDIA_MAX_PAYLOAD_BYTES) return CV_MEDIA_ERR_OVERSIZE;
  out->header.kind = (enum cv_media_kind)kind;
  out->header.flags = bytes[1];
  out->header.track = track;
  out->header.sequence = get16(bytes + 4);
  out->header.timestamp = get32(bytes + 6);
  out->header.audio_level = bytes[10];
  out->payload = bytes + CV_MEDIA_HEADER_BYTES;
  out->payload_len = payload_len;
  return CV_MEDIA_OK;
}

int cv_media_header_write(const struct cv_media_header *h, uint8_t out[CV_MEDIA_HEADER_BYTES]) {
  if (!h || !out) return CV_MEDIA_ERR_ARG;
  if (h->kind != CV_MEDIA_KIND_AUDIO && h->kind != CV_MEDIA_KIND_VIDEO) return CV_MEDIA_ERR_KIND;
  if (h->track == 0) return CV_MEDIA_ERR_TRACK;
  out[0] = (uint8_t)(CV_MEDIA_VERSION << 4 | (unsigned)h->kind);
  out[1] = h->flags;
  put16(out + 2, h->track);
  put16(out + 4, h->sequence);
  put32(out + 6, h->timestamp);
  out[10] = h->audio_level;
  out[11] = 0;
  return CV_MEDIA_OK;
}

int cv_media_frame_encode(const struct cv_media_header *h, const uint8_t *payload, size_t payload_len,
                          uint8_t *out, size_t out_cap, size_t *out_len) {
  if (out_len) *out_len = 0;
  if (!h || !out || !out_len || (payload_len > 0 && !payload)) return CV_MEDIA_ERR_ARG;
  if (payload_len > CV_MEDIA_MAX_PAYLOAD_BYTES) return CV_MEDIA_ERR_OVERSIZE;
  if (out_cap < CV_MEDIA_HEADER_BYTES + payload_len) return CV_MEDIA_ERR_BUFFER;
  int rc = cv_media_header_write(h, out);
  if (rc != CV_MEDIA_OK) return rc;
  if (payload_len > 0) memmove(out + CV_MEDIA_HEADER_BYTES, payload, payload_len);
  *out_len = CV_MEDIA_HEADER_BYTES + payload_len;
  return CV_MEDIA_OK;
}

uint16_t cv_media_track_of(const uint8_t *bytes, size_t len) {
  return (!bytes || len < CV_MEDIA_HEADER_BYTES) ? 0 : get16(bytes + 2);
}

int cv_media_sequence_delta(uint16_t a, uint16_t b) {
  unsigned d = ((unsigned)a - (unsigned)b) & 0xffffu;
  return d >= 0x8000u ? (int)d - 0x10000 : (int)d;
}

const char *cv_media_status_str(int status) {
  switch (status) {
    case CV_MEDIA_OK: return "ok";
    case CV_MEDIA_ERR_SHORT: return "short: fewer bytes than the 12-byte media header";
    case CV_MEDIA_ERR_VERSION: return "version: media frame version is not 1";
    case CV_MEDIA_ERR_KIND: return "kind: media kind is neither audio (0) nor video (1)";
    case CV_MEDIA_ERR_TRACK: return "track: track 0 is not a track";
    case CV_MEDIA_ERR_OVERSIZE: return "oversize: payload over 16384 bytes";
    case CV_MEDIA_ERR_ARG: return "argument: a required pointer is NULL";
    case CV_MEDIA_ERR_BUFFER: return "buffer: output buffer too small";
    default: return "unknown media status";
  }
}
