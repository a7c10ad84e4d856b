/* Opus encoder and decoder wrappers over libopus; see opus_codec.h. */
#include "opus_codec.h"

#include <limits.h>
#include <opus.h>
#include <stdlib.h>

struct cv_opus_encoder {
  OpusEncoder *st;
  int channels;
};

struct cv_opus_decoder {
  OpusDecoder *st;
  int channels;
  int last_samples; /* samples per channel of the last decoded frame: the length of a concealment */
  struct cv_opus_decoder_stats stats;
};

const char *cv_opus_status_str(int status) {
  switch (status) {
    case CV_OPUS_OK: return "ok";
    case CV_OPUS_ERR_ARG: return "bad argument";
    case CV_OPUS_ERR_NOMEM: return "out of memory";
    case CV_OPUS_ERR_BUFFER: return "output buffer too small";
    case CV_OPUS_ERR_PACKET: return "corrupt Opus packet";
    case CV_OPUS_ERR_CODEC: return "Opus codec failure";
    default: return "unknown Opus status";
  }
}

int cv_opus_encoder_new(const struct cv_opus_encoder_options *opts, cv_opus_encoder **out) {
  if (!out) return CV_OPUS_ERR_ARG;
  *out = NULL;
  if (!opts || (opts->channels != 1 && opts->channels != 2)) return CV_OPUS_ERR_ARG;
  if (opts->bitrate != 0 && (opts->bitrate < 6000 || opts->bitrate > 510000)) return CV_OPUS_ERR_ARG;
  if (opts->complexity < -1 || opts->complexity > 10) return CV_OPUS_ERR_ARG;
  cv_opus_encoder *enc = calloc(1, sizeof *enc);
  if (!enc) return CV_OPUS_ERR_NOMEM;
  int err = OPUS_OK;
  enc->st = opus_encoder_create(CV_OPUS_RATE, opts->channels, OPUS_APPLICATION_VOIP, &err);
  if (!enc->st || err != OPUS_OK) {
    free(enc);
    return err == OPUS_ALLOC_FAIL ? CV_OPUS_ERR_NOMEM : CV_OPUS_ERR_CODEC;
  }
  enc->channels = opts->channels;
  if ((opts->bitrate && opus_encoder_ctl(enc->st, OPUS_SET_BITRATE(opts->bitrate)) != OPUS_OK) ||
      opus_encoder_ctl(enc->st, OPUS_SET_DTX(opts->dtx ? 1 : 0)) != OPUS_OK ||
      (opts->complexity >= 0 && opus_encoder_ctl(enc->st, OPUS_SET_COMPLEXITY(opts->complexity)) != OPUS_OK)) {
    cv_opus_encoder_free(enc);
    return CV_OPUS_ERR_CODEC;
  }
  *out = enc;
  return CV_OPUS_OK;
}

void cv_opus_encoder_free(cv_opus_encoder *enc) {
  if (!enc) return;
  opus_encoder_destroy(enc->st);
  free(enc);
}

int cv_opus_encode(cv_opus_encoder *enc, const int16_t *pcm, uint8_t *out, size_t out_cap, size_t *out_len,
                   int *is_dtx) {
  if (out_len) *out_len = 0;
  if (is_dtx) *is_dtx = 0;
  if (!enc || !pcm || !out || !out_len) return CV_OPUS_ERR_ARG;
  if (out_cap == 0) return CV_OPUS_ERR_BUFFER;
  opus_int32 cap = out_cap > INT32_MAX ? INT32_MAX : (opus_int32)out_cap;
  opus_int32 n = opus_encode(enc->st, pcm, CV_OPUS_FRAME_SAMPLES, out, cap);
  if (n == OPUS_BUFFER_TOO_SMALL) return CV_OPUS_ERR_BUFFER;
  if (n < 0) return CV_OPUS_ERR_CODEC;
  *out_len = (size_t)n;
  /* libopus: "if the return value is 2 bytes or less, the packet does not need to be transmitted (DTX)" */
  if (is_dtx) *is_dtx = n <= 2;
  return CV_OPUS_OK;
}

int cv_opus_decoder_new(int channels, cv_opus_decoder **out) {
  if (!out) return CV_OPUS_ERR_ARG;
  *out = NULL;
  if (channels != 1 && channels != 2) return CV_OPUS_ERR_ARG;
  cv_opus_decoder *dec = calloc(1, sizeof *dec);
  if (!dec) return CV_OPUS_ERR_NOMEM;
  int err = OPUS_OK;
  dec->st = opus_decoder_create(CV_OPUS_RATE, channels, &err);
  if (!dec->st || err != OPUS_OK) {
    free(dec);
    return err == OPUS_ALLOC_FAIL ? CV_OPUS_ERR_NOMEM : CV_OPUS_ERR_CODEC;
  }
  dec->channels = channels;
  dec->last_samples = CV_OPUS_FRAME_SAMPLES;
  *out = dec;
  return CV_OPUS_OK;
}

void cv_opus_decoder_free(cv_opus_decoder *dec) {
  if (!dec) return;
  opus_decoder_destroy(dec->st);
  free(dec);
}

int cv_opus_decode(cv_opus_decoder *dec, const uint8_t *packet, size_t len, int16_t *pcm, size_t max_samples) {
  if (!dec || !pcm || max_samples == 0) return CV_OPUS_ERR_ARG;
  int frame = (int)(max_samples > CV_OPUS_MAX_FRAME_SAMPLES ? CV_OPUS_MAX_FRAME_SAMPLES : max_samples);
  if (!packet) {
    if ((size_t)dec->last_samples > max_samples) return CV_OPUS_ERR_BUFFER;
    int n = opus_decode(dec->st, NULL, 0, pcm, dec->last_samples, 0);
    if (n < 0) return CV_OPUS_ERR_CODEC;
    dec->stats.concealed++;
    return n;
  }
  /* a zero-length or oversize buffer is no packet (libopus would take length 0 for a loss) */
  if (len == 0 || len > INT32_MAX) {
    dec->stats.errors++;
    return CV_OPUS_ERR_PACKET;
  }
  int samples = opus_decoder_get_nb_samples(dec->st, packet, (opus_int32)len);
  if (samples < 0) {
    dec->stats.errors++;
    return CV_OPUS_ERR_PACKET;
  }
  if (samples > frame) {
    /* a valid packet longer than the caller's room: the caller's fault, not the packet's,
       unless it claims more than Opus allows */
    if (samples > CV_OPUS_MAX_FRAME_SAMPLES) {
      dec->stats.errors++;
      return CV_OPUS_ERR_PACKET;
    }
    return CV_OPUS_ERR_BUFFER;
  }
  int n = opus_decode(dec->st, packet, (opus_int32)len, pcm, frame, 0);
  if (n < 0) {
    dec->stats.errors++;
    return n == OPUS_BUFFER_TOO_SMALL ? CV_OPUS_ERR_BUFFER : CV_OPUS_ERR_PACKET;
  }
  dec->stats.packets++;
  if (n > 0) dec->last_samples = n;
  return n;
}

struct cv_opus_decoder_stats cv_opus_decoder_get_stats(const cv_opus_decoder *dec) {
  struct cv_opus_decoder_stats zero = {0, 0, 0};
  return dec ? dec->stats : zero;
}
