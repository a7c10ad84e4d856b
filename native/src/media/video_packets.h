/*
 * Video frames <-> media packets (docs/protocol.md section 15.1): an encoded video frame larger
 * than one media frame's payload travels as several packets of one track with the same
 * timestamp and consecutive sequence numbers, flags.keyframe on every packet of a keyframe,
 * flags.marker on the last. Pure, no I/O.
 *
 * The assembler (receiving side) is a parser of network input: it never reads past what it is
 * given, bounds what it holds (a frame over max_frame_bytes is dropped, counted), and after any
 * loss (a sequence gap, a frame cut short) waits for the next keyframe, so a decoder is never
 * fed a frame whose references are missing. One thread at a time per handle.
 */
#ifndef CONVENE_MEDIA_VIDEO_PACKETS_H
#define CONVENE_MEDIA_VIDEO_PACKETS_H

#include <stddef.h>
#include <stdint.h>

#include "media_frame.h"

/* ---- packetizer (sending side) ---- */

/*
 * How many packets a frame of `len` bytes takes with payloads of at most `max_payload`
 * (1..CV_MEDIA_MAX_PAYLOAD_BYTES): ceil(len / max_payload), at least 1. 0 on bad input.
 */
size_t cv_video_packet_count(size_t len, size_t max_payload);

/*
 * The i-th packet (0-based) of a frame: its payload (a pointer into `frame`) and length, and
 * its flags (CV_MEDIA_FLAG_KEYFRAME when `keyframe`, CV_MEDIA_FLAG_MARKER on the last).
 * Sizes are balanced (they differ by at most one byte). 0, or -1 on bad input.
 */
int cv_video_packet_at(const uint8_t *frame, size_t len, size_t max_payload, int keyframe, size_t i,
                       const uint8_t **payload, size_t *payload_len, uint8_t *flags);

/* ---- assembler (receiving side) ---- */

/* A packet this many sequence numbers (or more) behind the last one is not late: the sequence
 * jumped (a rogue packet was taken before); the assembler resynchronises on it (as after a
 * gap: it waits for a keyframe). The stream is TCP-ordered, so real reordering is tiny. */
#define CV_VIDEO_RESYNC_PACKETS 1000

typedef struct cv_video_assembler cv_video_assembler;

struct cv_video_assembler_stats {
  uint64_t packets;        /* accepted into a frame */
  uint64_t frames;         /* complete frames given out */
  uint64_t keyframes;      /* of which keyframes */
  uint64_t lost;           /* frames dropped incomplete: a sequence gap or a new timestamp mid-frame */
  uint64_t skipped;        /* packets dropped while waiting for a keyframe */
  uint64_t oversize;       /* frames dropped for passing max_frame_bytes */
  uint64_t stale;          /* packets from the past (duplicate or reordered late) ignored */
};

enum cv_video_assembler_result {
  CV_VIDEO_MORE = 0,      /* the packet was taken (or skipped); no frame complete yet */
  CV_VIDEO_FRAME = 1,     /* a frame is complete: see the out parameters */
  CV_VIDEO_ERR_ARG = -1,  /* NULL or a non-video header */
  CV_VIDEO_ERR_NOMEM = -2
};

/* max_frame_bytes: 1..64 MiB; the largest frame it assembles. *out is the caller's. */
int cv_video_assembler_new(size_t max_frame_bytes, cv_video_assembler **out);
void cv_video_assembler_free(cv_video_assembler *a);

/*
 * One received packet (its decoded header and payload). CV_VIDEO_FRAME when it completed a
 * frame: *frame (valid until the next call) and *frame_len, *timestamp, *keyframe are set.
 * Whether the caller should ask for a keyframe: cv_video_assembler_waiting_keyframe.
 */
int cv_video_assembler_push(cv_video_assembler *a, const struct cv_media_header *h, const uint8_t *payload,
                            size_t payload_len, const uint8_t **frame, size_t *frame_len, uint32_t *timestamp,
                            int *keyframe);

/* 1 while it drops packets waiting for the first packet of a keyframe (the start, or after a loss). */
int cv_video_assembler_waiting_keyframe(const cv_video_assembler *a);

void cv_video_assembler_stats(const cv_video_assembler *a, struct cv_video_assembler_stats *out);

#endif
