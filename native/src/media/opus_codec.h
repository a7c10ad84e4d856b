/*
 * Opus (RFC 6716) over Debian's libopus: the audio codec of protocol v1.1 (docs/protocol.md
 * section 15.1: 48 kHz clock, 20 ms frames, mono or stereo, DTX allowed).
 *
 * Opaque handles. A handle is not thread-safe: one thread at a time uses it (the media or the
 * service thread, style.md "Media"; never a caller's thread once integrated). Different
 * handles are independent and may be used on different threads at once. Every buffer is the
 * caller's; nothing is kept after a call returns. Part of the convene_media static library
 * (native/src/media/README.md): not yet linked into libconvene.
 */
#ifndef CONVENE_MEDIA_OPUS_CODEC_H
#define CONVENE_MEDIA_OPUS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CV_OPUS_RATE 48000
#define CV_OPUS_FRAME_SAMPLES 960      /* samples per channel in a 20 ms frame at 48 kHz */
#define CV_OPUS_MAX_FRAME_SAMPLES 5760 /* per channel: 120 ms, the longest Opus packet */
#define CV_OPUS_MAX_PACKET_BYTES 1275  /* the largest packet one 20 ms frame encodes to */

enum cv_opus_status {
  CV_OPUS_OK = 0,
  CV_OPUS_ERR_ARG = -1,    /* bad argument: NULL, channels not 1 or 2, bitrate out of range */
  CV_OPUS_ERR_NOMEM = -2,  /* allocation failed */
  CV_OPUS_ERR_BUFFER = -3, /* the caller's output buffer is too small */
  CV_OPUS_ERR_PACKET = -4, /* decode: a corrupt / undecodable packet (counted in the stats) */
  CV_OPUS_ERR_CODEC = -5,  /* libopus failed otherwise */
};

/* A short static English text for a cv_opus_status. Any thread. */
const char *cv_opus_status_str(int status);

/* ---- encoder ---- */

typedef struct cv_opus_encoder cv_opus_encoder;

struct cv_opus_encoder_options {
  int channels;   /* 1 or 2 */
  int bitrate;    /* bits per second, 6000..510000; 0 = libopus's default for the channels */
  int dtx;        /* non-zero: discontinuous transmission (silence encodes to 1-2 byte packets) */
  int complexity; /* 0..10; -1 = libopus's default */
};

/*
 * Creates an encoder (OPUS_APPLICATION_VOIP, 48 kHz, 20 ms frames). On success stores it in
 * *out (the caller owns it: cv_opus_encoder_free) and returns CV_OPUS_OK; otherwise *out is
 * NULL and a CV_OPUS_ERR_* is returned. Any thread.
 */
int cv_opus_encoder_new(const struct cv_opus_encoder_options *opts, cv_opus_encoder **out);

/* Frees the encoder; NULL is harmless. The thread that uses it. */
void cv_opus_encoder_free(cv_opus_encoder *enc);

/*
 * Encodes one 20 ms frame: pcm holds CV_OPUS_FRAME_SAMPLES * channels int16 samples,
 * interleaved (borrowed for the call). Writes the packet to out[0..out_cap) and its length to
 * *out_len; out_cap of CV_OPUS_MAX_PACKET_BYTES always suffices. *is_dtx (may be NULL) is set
 * to 1 when the packet is a DTX packet (1-2 bytes, the sender is silent: protocol flags.dtx).
 * Returns CV_OPUS_OK or a CV_OPUS_ERR_*.
 */
int cv_opus_encode(cv_opus_encoder *enc, const int16_t *pcm, uint8_t *out, size_t out_cap, size_t *out_len,
                   int *is_dtx);

/* ---- decoder ---- */

typedef struct cv_opus_decoder cv_opus_decoder;

struct cv_opus_decoder_stats {
  uint64_t packets;   /* packets decoded */
  uint64_t concealed; /* frames made up by packet loss concealment (NULL packets) */
  uint64_t errors;    /* packets refused as corrupt (CV_OPUS_ERR_PACKET) */
};

/*
 * Creates a decoder producing int16 PCM at 48 kHz with `channels` (1 or 2) channels,
 * interleaved, whatever the packets carry (libopus up/down-mixes). Ownership as the encoder.
 */
int cv_opus_decoder_new(int channels, cv_opus_decoder **out);

/* Frees the decoder; NULL is harmless. The thread that uses it. */
void cv_opus_decoder_free(cv_opus_decoder *dec);

/*
 * Decodes one packet (borrowed for the call) into pcm (the caller's, room for max_samples
 * samples per channel; CV_OPUS_MAX_FRAME_SAMPLES always suffices). Returns the samples per
 * channel written (> 0), or a CV_OPUS_ERR_*.
 * packet NULL: packet loss concealment of one lost frame, as long as the last decoded one
 * (20 ms before any), counted in `concealed`. A corrupt packet (length 0 included) returns
 * CV_OPUS_ERR_PACKET, is counted in `errors`, and leaves the decoder usable.
 */
int cv_opus_decode(cv_opus_decoder *dec, const uint8_t *packet, size_t len, int16_t *pcm, size_t max_samples);

/* The decoder's counters (a copy). The thread that uses it. */
struct cv_opus_decoder_stats cv_opus_decoder_get_stats(const cv_opus_decoder *dec);

#endif
