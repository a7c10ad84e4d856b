/*
 * Sample-rate and channel conversion of int16 interleaved PCM, over Debian's speexdsp
 * (speex_resampler_*), with an output FIFO so a consumer can take frames of a fixed length
 * (a speech recogniser asking for 20 ms at 16 kHz mono gets exactly 320 samples a frame).
 *
 * Rates: 8000, 16000, 24000, 32000, 44100, 48000 Hz, in and out in any pair. Channels: 1 or 2.
 * Channel conversion, done simply: stereo -> mono is the average (L + R) / 2 (truncated toward
 * zero; it cannot clip), done before resampling; mono -> stereo copies the sample into both
 * channels, after resampling. So speexdsp resamples min(in, out) channels. Equal rates are
 * not resampled: the samples pass through unchanged (no filter, no delay), channels converted.
 *
 * The FIFO is bounded (max_buffered_ms of output): a push that would overflow it is refused
 * whole (CV_RESAMPLER_ERR_FULL, nothing taken) so the caller applies back-pressure or drops.
 * Memory is allocated at creation only.
 *
 * Opaque handle, not thread-safe: one thread at a time uses it (the media or the service
 * thread once integrated). Buffers passed in are borrowed for the call. Part of the
 * convene_media static library (native/src/media/README.md): not yet linked into libconvene.
 */
#ifndef CONVENE_MEDIA_RESAMPLER_H
#define CONVENE_MEDIA_RESAMPLER_H

#include <stddef.h>
#include <stdint.h>

enum cv_resampler_status {
  CV_RESAMPLER_OK = 0,
  CV_RESAMPLER_ERR_ARG = -1,   /* NULL, a rate or channel count not supported, a push larger than the FIFO */
  CV_RESAMPLER_ERR_NOMEM = -2, /* allocation failed */
  CV_RESAMPLER_ERR_FULL = -3,  /* push: the output FIFO has no room for the result; nothing taken */
  CV_RESAMPLER_ERR_CODEC = -4, /* speexdsp failed */
};

#define CV_RESAMPLER_DEFAULT_BUFFER_MS 200

struct cv_resampler_config {
  int in_rate, in_channels;
  int out_rate, out_channels;
  /* samples per channel of a frame for cv_resampler_pop_frame; 0: no fixed frame length */
  size_t out_frame_samples;
  /* bound of the output FIFO in ms of output; 0: CV_RESAMPLER_DEFAULT_BUFFER_MS. Raised to
     two frames when out_frame_samples needs more. */
  unsigned max_buffered_ms;
  /* speexdsp quality 0..10; -1: SPEEX_RESAMPLER_QUALITY_VOIP (3) */
  int quality;
};

typedef struct cv_resampler cv_resampler;

/* 1 when rate is one of the supported rates. Any thread. */
int cv_resampler_rate_supported(int rate);

/*
 * Creates a resampler. On success stores it in *out (the caller owns it: cv_resampler_free) and
 * returns CV_RESAMPLER_OK; otherwise *out is NULL and a CV_RESAMPLER_ERR_* is returned. Any thread.
 */
int cv_resampler_new(const struct cv_resampler_config *cfg, cv_resampler **out);

/* Frees it; NULL is harmless. The thread that uses it. */
void cv_resampler_free(cv_resampler *r);

/*
 * Converts `frames` samples per channel of in (in_channels interleaved, in_rate) and appends
 * the result to the FIFO. All or nothing: CV_RESAMPLER_ERR_FULL when the result might not fit
 * (nothing is taken, the state is unchanged). frames 0 is a no-op.
 */
int cv_resampler_push(cv_resampler *r, const int16_t *in, size_t frames);

/* Samples per channel waiting in the FIFO. */
size_t cv_resampler_available(const cv_resampler *r);

/* Capacity of the FIFO in samples per channel. */
size_t cv_resampler_capacity(const cv_resampler *r);

/*
 * Takes up to max_frames samples per channel from the FIFO into out (out_channels
 * interleaved, the caller's buffer). Returns how many were taken (0 when empty).
 */
size_t cv_resampler_pop(cv_resampler *r, int16_t *out, size_t max_frames);

/*
 * Takes exactly out_frame_samples samples per channel into out when that many wait; returns 1
 * then, 0 when fewer wait (nothing taken), CV_RESAMPLER_ERR_ARG without a fixed frame length.
 */
int cv_resampler_pop_frame(cv_resampler *r, int16_t *out);

/* Empties the FIFO and the filter's memory (barge-in, a new talk spurt after a gap). */
void cv_resampler_reset(cv_resampler *r);

#endif
