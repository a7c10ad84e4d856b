/*
 * The media engine (media layer): one media thread per process that runs the codecs, the
 * per-publisher and per-subscriber media state, and the process-wide audio device's
 * buffers. It knows nothing of sessions or sockets: its owner pointers are opaque, frames
 * come in through cv_media_sub_push and go out through cv_media_flush (both on the service
 * thread), and it reports upward only through the table given to cv_media_start.
 *
 * Threads:
 *   - the media thread: every 10 ms decodes what subscribers received and delivers PCM
 *     (ops.on_pcm) and video frames (ops.on_video_frame), encodes each attached publisher's
 *     waiting video frame when one is due (video_engine.h), and every 20 ms encodes 20 ms of
 *     each attached publisher's audio. It holds the tick
 *     lock while it does; attach and detach take that lock, so once cv_media_*_detach
 *     returns, the media thread no longer touches the object (and no on_pcm of it starts).
 *   - the service thread: attach / detach / push / flush.
 *   - any thread: writing PCM to a publisher, clearing it, the device's capture and render,
 *     the counters.
 * Memory is bounded everywhere: publishers' PCM queues (their capacity), at most
 * CV_MEDIA_OUT_FRAMES encoded frames waiting per publisher and CV_MEDIA_IN_FRAMES received
 * frames per subscriber (the oldest dropped and counted), the device's buffers (one second).
 */
#ifndef CONVENE_MEDIA_ENGINE_H
#define CONVENE_MEDIA_ENGINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "opentok/convene.h"
#include "opentok/video_frame.h"

#define CV_MEDIA_TICK_MS 10
#define CV_MEDIA_OUT_FRAMES 8 /* encoded frames waiting for the service thread, per publisher */
#define CV_MEDIA_IN_FRAMES 25 /* received frames waiting for the media thread, per subscriber */
#define CV_MEDIA_MAX_CONCEAL 5 /* frames of concealment at most for one gap (100 ms) */
/* video: encoded packets waiting for the service thread, per publisher (past it the queue is
 * dropped whole and the next frame is a keyframe) */
#define CV_MEDIA_VIDEO_OUT_BYTES (1024 * 1024)
/* video: received packets waiting for the media thread, per subscriber (the same policy) */
#define CV_MEDIA_VIDEO_IN_BYTES (4 * 1024 * 1024)
#define CV_MEDIA_VIDEO_IN_PACKETS 1024

typedef struct cv_media_pub cv_media_pub;
typedef struct cv_media_sub cv_media_sub;

/* What the engine reports, to the layer that started it. */
struct cv_media_ops {
  /* Encoded frames wait: have the service thread call cv_media_flush. Any thread. */
  void (*wake)(void);
  /* Media thread: decoded PCM of a subscriber, in its format (valid during the call). */
  void (*on_pcm)(void *owner, const int16_t *pcm, size_t frames, int rate, int channels);
  /* Media thread: a subscriber's counters, every second while attached. */
  void (*on_sub_stats)(void *owner, const struct convene_media_stats *stats);
  /* Media thread: a subscriber's audio level (0..1), every 100 ms while attached. */
  void (*on_sub_level)(void *owner, float level);
  /* Media thread: a publisher's queue drained to half after a refused write. */
  void (*on_space)(void *owner, int queued_ms);
  /* Media thread: a decoded video frame of a subscriber, in its format (valid during the call). */
  void (*on_video_frame)(void *owner, const otc_video_frame *frame);
  /* Media thread: the first video frame of a subscriber's video path (before its on_video_frame). */
  void (*on_video_first)(void *owner);
  /* Media thread: a subscriber's counters, every second while its video is attached. */
  void (*on_video_stats)(void *owner, const struct convene_media_stats *stats);
  /* Media thread: a publisher's picture about to be encoded (its preview), valid during the call. */
  void (*on_preview)(void *owner, const otc_video_frame *frame);
  /* Media thread: a publisher's counters every second, and its audio level every 100 ms, while attached. */
  void (*on_pub_stats)(void *owner, const struct convene_media_stats *stats, int has_video);
  void (*on_pub_level)(void *owner, float level);
  /* Media thread: the end of a tick, after its callbacks: where a binding hands over what they
   * queued, once per tick rather than once per frame (may be NULL). */
  void (*on_tick_end)(void);
};

/* Starts the media thread (otc_init). 0, or -1. */
int cv_media_start(const struct cv_media_ops *ops);
/* Stops and joins it (otc_destroy); the device's buffers are freed. */
void cv_media_stop(void);
/* 1 on the media thread. */
int cv_media_on_thread(void);

/* Results of the PCM functions. */
enum cv_media_pcm_status {
  CV_MEDIA_PCM_OK = 0,
  CV_MEDIA_PCM_ARG = -1,      /* bad input (NULL, rate, channels, capacity) */
  CV_MEDIA_PCM_FULL = -2,     /* would not fit: nothing queued */
  CV_MEDIA_PCM_NOSOURCE = -3, /* no per-stream source / no device */
  CV_MEDIA_PCM_NOMEM = -4,
};

/* ---- publishers ---- */
/* `enabled` (borrowed, outlives the object): whether audio is published (publish_audio). */
cv_media_pub *cv_media_pub_new(void *owner, const atomic_int *enabled);
/* Detaches it if attached, then frees it. Not on the media thread. */
void cv_media_pub_free(cv_media_pub *p);
/* A per-stream source of capacity_ms (100..60000): the publisher no longer takes the device's capture. */
int cv_media_pub_set_source(cv_media_pub *p, int capacity_ms);
/* All or nothing; rate 8000..48000 (the supported set), channels 1 or 2. Any thread. */
int cv_media_pub_write(cv_media_pub *p, const int16_t *pcm, size_t frames, int rate, int channels);
int cv_media_pub_clear(cv_media_pub *p);
/* ms queued, 0 without a source. */
int cv_media_pub_queued_ms(cv_media_pub *p);
void cv_media_pub_get_stats(cv_media_pub *p, struct convene_media_stats *out);
/* Service thread: the stream is published with this audio track; frames flow (while enabled). */
void cv_media_pub_attach(cv_media_pub *p, uint16_t track);
/* Service thread: no more frames; those waiting are dropped. */
void cv_media_pub_detach(cv_media_pub *p);
/* ---- publishers' video ---- */
/* A video source (any thread): the size and rate encoded (2..4096, 1..60); `enabled` (borrowed,
 * outlives the object): whether video is published (publish_video). Again: a new size / rate. */
int cv_media_pub_set_video(cv_media_pub *p, const atomic_int *enabled, int width, int height, int fps);
/* 1 and the source's configuration when it has one. Any thread. */
int cv_media_pub_video_config(cv_media_pub *p, int *width, int *height, int *fps);
/* One frame into the newest-frame slot (video_engine.h). Any thread. CV_MEDIA_PCM_* codes. */
int cv_media_pub_put_video(cv_media_pub *p, const otc_video_frame *frame, int rotation);
/* The next frame is a keyframe (`counted`: the server's keyframeRequested). Any thread. */
void cv_media_pub_request_keyframe(cv_media_pub *p, int counted);
/* Service thread: the stream's video track; frames flow (while enabled). Detached by cv_media_pub_detach. */
void cv_media_pub_attach_video(cv_media_pub *p, uint16_t track);

/* What the service thread's flush sends through (the state layer's socket). */
struct cv_media_sink {
  /* one media frame of a publisher: 0 sent; > 0 no link now (reconnecting: dropped, not
   * congestion); < 0 refused by the socket's bound (congestion); dropped and counted either way */
  int (*send)(void *owner, const uint8_t *bytes, size_t len, int video);
  /* the publisher's socket: bytes of binary messages waiting to be written */
  size_t (*backlog)(void *owner);
  /* a subscriber asks for a keyframe (the media thread decided; rate-bounded) */
  void (*request_keyframe)(void *sub_owner);
};
/* Service thread: hands every waiting frame to the sink, every publisher's audio first, then
 * their video (oldest first); then the subscribers' keyframe requests. */
void cv_media_flush(const struct cv_media_sink *sink);

/* ---- subscribers ---- */
cv_media_sub *cv_media_sub_new(void *owner);
/* Detaches it if attached, then frees it. Not on the media thread. */
void cv_media_sub_free(cv_media_sub *s);
/* Output format (validated by the caller's rules: rates supported, 1..2 channels, 10..60 ms by 10). Before attach. */
int cv_media_sub_set_format(cv_media_sub *s, int rate, int channels, int frame_ms);
/* Service thread: frames of `track` are decoded and delivered from now on. */
int cv_media_sub_attach(cv_media_sub *s, uint16_t track);
void cv_media_sub_detach(cv_media_sub *s);
/* Service thread: the audio track while attached, else 0. */
uint16_t cv_media_sub_track(const cv_media_sub *s);
/* Service thread: the audio stops (the video, if any, goes on). */
void cv_media_sub_detach_audio(cv_media_sub *s);
/* Service thread: frames of `track` (video) are assembled, decoded and delivered from now on
 * (a new path: it waits for a keyframe). */
int cv_media_sub_attach_video(cv_media_sub *s, uint16_t track);
void cv_media_sub_detach_video(cv_media_sub *s);
/* Service thread: the video track while attached, else 0. */
uint16_t cv_media_sub_video_track(const cv_media_sub *s);
/* on_video_frame's format (video_engine.h). Any thread. */
int cv_media_sub_set_video_format(cv_media_sub *s, enum otc_video_frame_format format);
/* Service thread: one received frame (copied) for the subscriber's audio or video track. */
void cv_media_sub_push(cv_media_sub *s, const uint8_t *bytes, size_t len);
/* Service thread: a frame whose header did not decode was addressed to this subscriber's track. */
void cv_media_sub_count_malformed(cv_media_sub *s);
void cv_media_sub_get_stats(cv_media_sub *s, struct convene_media_stats *out);

/* ---- the process-wide audio device ---- */
/* on: the device's capture and render formats (rates supported, 1..2 channels); off: none. */
int cv_media_device_configure(int on, int capture_rate, int capture_channels, int render_rate, int render_channels);
int cv_media_device_write(const int16_t *pcm, size_t frames);
/* Mix of the attached subscribers into out (frames per channel in the render format); returns frames written. */
size_t cv_media_device_read(int16_t *out, size_t frames);

/* Test-only (unit tests, fuzzing): one tick of the media thread on the caller's thread
 * (decode what subscribers received; encode when `encode`). Not while the thread runs. */
void cv_media_tick_for_testing(int encode);
/* Test-only: how many passes the media thread has made (it makes none while nothing is attached). */
unsigned cv_media_passes_for_testing(void);

/* The RFC 6464 level (0 loudest .. 127 silent, -dBov) of mono PCM. Pure. */
uint8_t cv_media_audio_level(const int16_t *pcm, size_t n);

#endif
