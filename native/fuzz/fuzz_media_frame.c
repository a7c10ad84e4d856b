/*
 * libFuzzer target: the media building blocks (native/src/media) fed arbitrary bytes as one
 * binary WebSocket frame, the way the session will once media is integrated:
 *
 *   1. cv_media_frame_decode: never reads past the input (ASan), and a decoded frame's payload
 *      lies inside it; a decoded header encodes back to the same bytes (reserved byte aside);
 *   2. an audio frame's payload goes to a fresh Opus decoder (mono or stereo by the flags'
 *      low bit): it decodes or is counted as an error, never crashes; a packet loss
 *      concealment follows;
 *   3. the decoded PCM goes through a resampler (48 kHz -> 16 kHz mono, 20 ms frames) and a
 *      drop-oldest PCM queue, as a subscriber's output path will.
 *
 * Build: cmake -DCONVENE_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: fuzz_media_frame native/fuzz/corpus-media
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/media_frame.h"
#include "media/opus_codec.h"
#include "media/pcm_queue.h"
#include "media/resampler.h"

static int16_t g_pcm[CV_OPUS_MAX_FRAME_SAMPLES * 2];
static int16_t g_out[320];
static uint8_t g_again[CV_MEDIA_MAX_FRAME_BYTES];

static void audio_path(const struct cv_media_frame *f) {
  int channels = (f->header.flags & 1) ? 2 : 1;
  cv_opus_decoder *dec;
  if (cv_opus_decoder_new(channels, &dec) != CV_OPUS_OK) abort();
  int n = cv_opus_decode(dec, f->payload, f->payload_len, g_pcm, CV_OPUS_MAX_FRAME_SAMPLES);
  struct cv_opus_decoder_stats st = cv_opus_decoder_get_stats(dec);
  if (n > 0) {
    if (n > CV_OPUS_MAX_FRAME_SAMPLES || st.packets != 1 || st.errors != 0) abort();
  } else if (n == CV_OPUS_ERR_PACKET) {
    if (st.errors != 1 || st.packets != 0) abort();
  } else {
    abort(); /* the buffer always has room for the longest packet */
  }
  if (cv_opus_decode(dec, NULL, 0, g_pcm, CV_OPUS_MAX_FRAME_SAMPLES) <= 0) abort(); /* concealment after it */
  if (n > 0) {
    struct cv_resampler_config c = {48000, channels, 16000, 1, 320, 0, -1};
    cv_resampler *r;
    cv_pcm_queue *q;
    if (cv_resampler_new(&c, &r) != CV_RESAMPLER_OK || cv_pcm_queue_new(16000, 1, 40, &q) != CV_PCM_QUEUE_OK) abort();
    if (cv_resampler_push(r, g_pcm, (size_t)n) != CV_RESAMPLER_OK) abort();
    while (cv_resampler_pop_frame(r, g_out) == 1)
      if (cv_pcm_queue_push_drop_oldest(q, g_out, 320) != CV_PCM_QUEUE_OK) abort();
    if (cv_pcm_queue_frames(q) > cv_pcm_queue_capacity(q)) abort();
    cv_pcm_queue_free(q);
    cv_resampler_free(r);
  }
  cv_opus_decoder_free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct cv_media_frame f;
  int rc = cv_media_frame_decode(data, size, &f);
  (void)cv_media_track_of(data, size);
  if (rc != CV_MEDIA_OK) {
    if (rc > CV_MEDIA_ERR_SHORT || rc < CV_MEDIA_ERR_OVERSIZE || f.payload || f.payload_len) abort();
    return 0;
  }
  if (f.payload != data + CV_MEDIA_HEADER_BYTES || f.payload_len != size - CV_MEDIA_HEADER_BYTES) abort();
  size_t n;
  if (cv_media_frame_encode(&f.header, f.payload, f.payload_len, g_again, sizeof g_again, &n) != CV_MEDIA_OK ||
      n != size || memcmp(g_again, data, 11) != 0 || memcmp(g_again + 12, data + 12, size - 12) != 0)
    abort();
  if (f.header.kind == CV_MEDIA_KIND_AUDIO) audio_path(&f);
  return 0;
}
