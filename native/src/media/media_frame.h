/*
 * The media frame of protocol v1.1 (docs/protocol.md section 15.1): the 12-byte header every
 * binary WebSocket frame starts with, then the codec packet. Byte for byte the codec of
 * lib/wire/media.ts (decodeMediaFrame / encodeMediaFrame / mediaTrackOf / sequenceDelta).
 *
 *   byte 0      version (high 4 bits, 1) | kind (low 4 bits: 0 audio, 1 video)
 *   byte 1      flags: 0x01 marker, 0x02 keyframe, 0x04 dtx; other bits carried, not refused
 *   bytes 2-3   track      uint16, 1..65535
 *   bytes 4-5   sequence   uint16, wrapping
 *   bytes 6-9   timestamp  uint32, wrapping (48 kHz audio, 90 kHz video)
 *   byte 10     audio level (RFC 6464); 0 for video
 *   byte 11     reserved: sent 0, ignored on receipt
 *   bytes 12-   payload, at most 16 384 bytes
 * All numbers big-endian.
 *
 * Pure: bytes in, struct out, no I/O, no allocation, no global state. Every function may be
 * called from any thread (it touches only what it is given). Part of the convene_media static
 * library (native/src/media/README.md): not yet linked into libconvene.
 */
#ifndef CONVENE_MEDIA_FRAME_H
#define CONVENE_MEDIA_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define CV_MEDIA_VERSION 1
#define CV_MEDIA_HEADER_BYTES 12
#define CV_MEDIA_MAX_PAYLOAD_BYTES 16384
#define CV_MEDIA_MAX_FRAME_BYTES (CV_MEDIA_HEADER_BYTES + CV_MEDIA_MAX_PAYLOAD_BYTES)
#define CV_MEDIA_AUDIO_CLOCK_HZ 48000
#define CV_MEDIA_VIDEO_CLOCK_HZ 90000
#define CV_MEDIA_AUDIO_LEVEL_SILENT 127

enum cv_media_kind { CV_MEDIA_KIND_AUDIO = 0, CV_MEDIA_KIND_VIDEO = 1 };

/* bits of the flags byte */
#define CV_MEDIA_FLAG_MARKER 0x01u   /* audio: first packet of a talk spurt; video: last packet of a frame */
#define CV_MEDIA_FLAG_KEYFRAME 0x02u /* video: a packet of a keyframe */
#define CV_MEDIA_FLAG_DTX 0x04u      /* audio: a DTX / comfort-noise packet */

/* Results: 0, or one of these (negative). The decode errors are the `problem`s of media.ts. */
enum cv_media_status {
  CV_MEDIA_OK = 0,
  CV_MEDIA_ERR_SHORT = -1,    /* decode: fewer than 12 bytes */
  CV_MEDIA_ERR_VERSION = -2,  /* decode: version nibble not 1 */
  CV_MEDIA_ERR_KIND = -3,     /* decode/encode: kind not audio or video */
  CV_MEDIA_ERR_TRACK = -4,    /* decode/encode: track 0 */
  CV_MEDIA_ERR_OVERSIZE = -5, /* decode/encode: payload over CV_MEDIA_MAX_PAYLOAD_BYTES */
  CV_MEDIA_ERR_ARG = -6,      /* a NULL pointer where one is needed */
  CV_MEDIA_ERR_BUFFER = -7,   /* encode: the output buffer is too small */
};

struct cv_media_header {
  enum cv_media_kind kind;
  uint8_t flags;       /* CV_MEDIA_FLAG_* bits; unknown bits carried as they came */
  uint16_t track;      /* 1..65535, assigned by the server per (stream, kind) */
  uint16_t sequence;   /* +1 per frame of the track, wrapping */
  uint32_t timestamp;  /* wrapping; 960 per 20 ms audio frame */
  uint8_t audio_level; /* RFC 6464: bit 7 voice activity, bits 0-6 -dBov; 0 for video */
};

struct cv_media_frame {
  struct cv_media_header header;
  const uint8_t *payload; /* points into the decoded bytes (not a copy); valid while they are */
  size_t payload_len;
};

/*
 * Decodes one media frame from bytes[0..len). Reads nothing past bytes + len. On success
 * returns CV_MEDIA_OK and fills *out, whose payload points into `bytes` (borrowed: the caller
 * keeps `bytes` alive while it uses the payload). On failure returns a CV_MEDIA_ERR_* and
 * leaves *out zeroed. Any thread.
 */
int cv_media_frame_decode(const uint8_t *bytes, size_t len, struct cv_media_frame *out);

/*
 * Writes the 12-byte header of `h` to out[0..12). Returns CV_MEDIA_OK, or CV_MEDIA_ERR_KIND /
 * _TRACK / _ARG for a header that would not decode. Any thread.
 */
int cv_media_header_write(const struct cv_media_header *h, uint8_t out[CV_MEDIA_HEADER_BYTES]);

/*
 * Encodes header + payload into out[0..out_cap) (the caller's buffer; payload may be NULL when
 * payload_len is 0). On success stores the frame's length in *out_len (12 + payload_len).
 * Errors: those of cv_media_header_write, CV_MEDIA_ERR_OVERSIZE, CV_MEDIA_ERR_BUFFER (nothing
 * written past out_cap). Any thread.
 */
int cv_media_frame_encode(const struct cv_media_header *h, const uint8_t *payload, size_t payload_len,
                          uint8_t *out, size_t out_cap, size_t *out_len);

/* The track of an encoded frame without decoding the rest; 0 when shorter than the header. */
uint16_t cv_media_track_of(const uint8_t *bytes, size_t len);

/* a - b for 16-bit wrapping sequence numbers, in -32768..32767 (RFC 1982 style). */
int cv_media_sequence_delta(uint16_t a, uint16_t b);

/* A short static English text for a cv_media_status ("short", "version", ...). Any thread. */
const char *cv_media_status_str(int status);

#endif
