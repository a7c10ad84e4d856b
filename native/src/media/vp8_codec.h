/*
 * VP8 (RFC 6386) over Debian's libvpx: the video codec of protocol v1.1 (docs/protocol.md
 * section 15.1, 90 kHz clock). Real-time settings: one encoder per published video track, one
 * decoder per subscribed one.
 *
 * Opaque handles. A handle is not thread-safe: one thread at a time uses it (the media thread).
 * Different handles are independent. Every buffer passed in is the caller's and is not kept;
 * a decoded picture points into the decoder and is valid until its next call.
 */
#ifndef CONVENE_MEDIA_VP8_CODEC_H
#define CONVENE_MEDIA_VP8_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CV_VP8_MAX_SIDE 4096 /* widest / tallest picture either side accepts */

enum cv_vp8_status {
  CV_VP8_OK = 0,
  CV_VP8_ERR_ARG = -1,    /* bad argument: NULL, size or rate out of range */
  CV_VP8_ERR_NOMEM = -2,  /* allocation failed */
  CV_VP8_ERR_BUFFER = -3, /* the caller's output buffer is too small for the encoded frame */
  CV_VP8_ERR_CORRUPT = -4,/* decode: not a VP8 frame, or one that does not decode (counted) */
  CV_VP8_ERR_NO_KEY = -5, /* decode: a delta frame before any keyframe (counted; ask for a keyframe) */
  CV_VP8_ERR_CODEC = -6,  /* libvpx failed otherwise */
};

/* A short static English text for a cv_vp8_status. Any thread. */
const char *cv_vp8_status_str(int status);

/*
 * The bitrate (kbit/s) Convene starts a track at for a picture size and frame rate: about
 * 0.08 bits per pixel per frame, within 60..4000 (360p at 30 fps: 553). Any thread.
 */
int cv_vp8_default_bitrate_kbps(int width, int height, int fps);

/* ---- encoder ---- */

typedef struct cv_vp8_encoder cv_vp8_encoder;

struct cv_vp8_encoder_options {
  int width, height;     /* 2..CV_VP8_MAX_SIDE */
  int fps;               /* 1..60: the expected frame rate (rate control) */
  int bitrate_kbps;      /* 30..20000; 0 = cv_vp8_default_bitrate_kbps */
  int keyframe_interval; /* the longest run of frames without a keyframe (>= 1); 0 = 3 s of frames */
  int threads;           /* 1..4; 0 = 1 */
};

/* Creates an encoder; on success *out is the caller's (cv_vp8_encoder_free). Any thread. */
int cv_vp8_encoder_new(const struct cv_vp8_encoder_options *opts, cv_vp8_encoder **out);
void cv_vp8_encoder_free(cv_vp8_encoder *enc);

/* Changes the target bitrate and frame rate from the next frame on (bandwidth adaptation). */
int cv_vp8_encoder_set_rates(cv_vp8_encoder *enc, int bitrate_kbps, int fps);
int cv_vp8_encoder_bitrate_kbps(const cv_vp8_encoder *enc);

/* The next encoded frame is a keyframe (a subscriber's or the server's request). */
void cv_vp8_encoder_request_keyframe(cv_vp8_encoder *enc);

/*
 * Encodes one I420 picture of the encoder's size (planes borrowed for the call) with
 * presentation time `pts` in 90 kHz ticks. Writes the encoded frame to out[0..cap) and its
 * length to *out_len (0 when rate control dropped the frame: send nothing), and *keyframe
 * (may be NULL). cap of width * height * 3 / 2 + 4096 always suffices in practice;
 * CV_VP8_ERR_BUFFER otherwise (the frame is lost, the next one is a keyframe).
 */
int cv_vp8_encoder_encode(cv_vp8_encoder *enc, const uint8_t *y, int y_stride, const uint8_t *u, int u_stride,
                          const uint8_t *v, int v_stride, int64_t pts, uint8_t *out, size_t cap, size_t *out_len,
                          int *keyframe);

/* ---- decoder ---- */

typedef struct cv_vp8_decoder cv_vp8_decoder;

/* A decoded I420 picture: points into the decoder, valid until its next call. */
struct cv_vp8_picture {
  int width, height;
  const uint8_t *plane[3]; /* Y, U, V */
  int stride[3];
};

struct cv_vp8_decoder_stats {
  uint64_t frames;    /* decoded */
  uint64_t corrupt;   /* CV_VP8_ERR_CORRUPT */
  uint64_t no_key;    /* CV_VP8_ERR_NO_KEY */
};

int cv_vp8_decoder_new(int threads, cv_vp8_decoder **out);
void cv_vp8_decoder_free(cv_vp8_decoder *dec);

/*
 * Decodes one whole encoded frame. CV_VP8_OK and *pic filled, or an error (the decoder then
 * waits for the next keyframe: delta frames until then give CV_VP8_ERR_NO_KEY). A frame whose
 * header announces a picture over CV_VP8_MAX_SIDE is refused before decoding.
 */
int cv_vp8_decoder_decode(cv_vp8_decoder *dec, const uint8_t *data, size_t len, struct cv_vp8_picture *pic);
void cv_vp8_decoder_stats(const cv_vp8_decoder *dec, struct cv_vp8_decoder_stats *out);

/*
 * Whether `data` starts a VP8 keyframe, and its size (libvpx's stream-info parser). 1 keyframe,
 * 0 delta frame, CV_VP8_ERR_CORRUPT when it is neither. Any thread.
 */
int cv_vp8_peek(const uint8_t *data, size_t len, int *width, int *height);

#endif
