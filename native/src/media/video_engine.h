/*
 * The video half of the media engine (issue 18): per published stream, the newest-frame slot,
 * the VP8 encoder, the packetizer and the bandwidth adaptation; per subscribed stream, the
 * assembler, the VP8 decoder, the conversion to the subscriber's format and the keyframe
 * requests. Media layer: no session, no socket; engine.c owns the lists, queues and threads
 * and calls these.
 *
 * Threads (as engine.h): the media thread runs cv_video_pub_tick / cv_video_sub_packet and the
 * resets (or the service thread while it holds the engine's tick lock); configure, put,
 * request_keyframe, set_format, report_backlog and the stats are any-thread (own lock).
 */
#ifndef CONVENE_MEDIA_VIDEO_ENGINE_H
#define CONVENE_MEDIA_VIDEO_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "opentok/convene.h"
#include "opentok/video_frame.h"
#include "media/media_frame.h"

#define CV_VIDEO_MAX_FRAME_BYTES (4u << 20) /* the largest encoded frame a subscriber assembles */
#define CV_VIDEO_KEYFRAME_SECONDS 3         /* the longest run without a keyframe, at the nominal rate */
#define CV_VIDEO_KEYREQ_MS 500              /* a subscriber asks for a keyframe at most this often */
/* bandwidth adaptation: the socket's binary backlog (bytes) that means congested / drained */
#define CV_VIDEO_BACKLOG_HIGH (48 * 1024)
#define CV_VIDEO_BACKLOG_LOW (8 * 1024)
#define CV_VIDEO_DOWN_EVERY_MS 500 /* at most one step down per ... */
#define CV_VIDEO_UP_AFTER_MS 2000  /* drained this long before a step up, then one per second */

enum cv_video_status {
  CV_VIDEO_OK = 0,
  CV_VIDEO_EARG = -1,     /* bad input: NULL, size, rate, rotation, format */
  CV_VIDEO_ENOSOURCE = -2, /* no video source configured */
  CV_VIDEO_ENOMEM = -3,
};

/* ---- sending ---- */

typedef struct cv_video_pub cv_video_pub;

cv_video_pub *cv_video_pub_new(void);
void cv_video_pub_free(cv_video_pub *v);
/* The size encoded (2..4096 a side) and the nominal rate (1..60). A change takes effect at the
 * next frame (a new encoder: a keyframe; a waiting frame of the old size is dropped). */
int cv_video_pub_configure(cv_video_pub *v, int width, int height, int fps);
/* 1 and the configuration when configured, else 0. */
int cv_video_pub_config(cv_video_pub *v, int *width, int *height, int *fps);
/* One frame into the newest-frame slot: converted to I420, rotated (0/90/180/270), scaled to
 * the configured size; a frame still waiting there is replaced (counted as dropped). */
int cv_video_pub_put(cv_video_pub *v, const otc_video_frame *frame, int rotation);
/* The next frame encoded is a keyframe (`counted`: a keyframeRequested event, counted). */
void cv_video_pub_request_keyframe(cv_video_pub *v, int counted);
/* Service thread, after sending: the socket's binary backlog and how many packets it refused. */
void cv_video_pub_report_backlog(cv_video_pub *v, size_t backlog_bytes, unsigned refused);

struct cv_video_pub_out {
  /* one media frame (header and payload) of the encoded frame, in order */
  void (*emit)(void *ctx, const uint8_t *bytes, size_t len);
  /* the picture about to be encoded (I420, the configured size), valid during the call; may be NULL */
  void (*preview)(void *ctx, const otc_video_frame *frame);
  void *ctx;
};
/* Media thread, every engine tick: encodes the waiting frame when one is due at now_ms (the
 * current frame rate) and `enabled`; returns how many packets it emitted. While not enabled,
 * the slot keeps its frame and the next frame after enabling is a keyframe. */
int cv_video_pub_tick(cv_video_pub *v, int64_t now_ms, uint16_t track, int enabled, const struct cv_video_pub_out *out);
/* The stream's path ended (detach): the encoder goes; the next path starts with a keyframe. */
void cv_video_pub_reset(cv_video_pub *v);
/* Adds the video counters to *st (the video fields). */
void cv_video_pub_stats(cv_video_pub *v, struct convene_media_stats *st);

/* ---- receiving ---- */

typedef struct cv_video_sub cv_video_sub;

cv_video_sub *cv_video_sub_new(void);
void cv_video_sub_free(cv_video_sub *v);
/* on_frame's format: YUV420P, NV12, ARGB32, BGRA32, ABGR32, RGBA32 or RGB24. */
int cv_video_sub_set_format(cv_video_sub *v, enum otc_video_frame_format format);
/* A new path (attach): waits for a keyframe; counters stay. */
void cv_video_sub_reset(cv_video_sub *v);
/* Counts a received packet (any thread that receives, before the media thread sees it). */
void cv_video_sub_count_received(cv_video_sub *v, size_t len);

struct cv_video_sub_out {
  void (*on_frame)(void *ctx, const otc_video_frame *frame); /* valid during the call */
  void *ctx;
};
/* Media thread: one media frame (header decoded, kind video). Decoded frames go to out->on_frame.
 * Returns 1 when a keyframe should be requested now (the assembler waits for one or the
 * decoder failed; at most once per CV_VIDEO_KEYREQ_MS), else 0. */
int cv_video_sub_packet(cv_video_sub *v, const struct cv_media_header *h, const uint8_t *payload, size_t len,
                        int64_t now_ms, const struct cv_video_sub_out *out);
/* Adds the video counters to *st; bitrate_kbps and fps are measured since the previous call
 * with `sample` (once a second), else left as last measured. */
void cv_video_sub_stats(cv_video_sub *v, struct convene_media_stats *st, int64_t now_ms, int sample);

#endif
