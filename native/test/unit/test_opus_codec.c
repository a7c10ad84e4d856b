/*
 * The Opus wrappers (native/src/media/opus_codec.c) over the real libopus: a 440 Hz tone
 * encoded for 1 s and decoded is found at 440 Hz by a Goertzel filter and not at 1 kHz; DTX;
 * packet loss concealment; corrupt packets are errors, counted, and never crash.
 */
#include "check.h"
#include "media/opus_codec.h"
#include "media_tone.h"

#define SECONDS_FRAMES 50 /* 1 s of 20 ms frames */
#define AMPLITUDE 10000.0

/* Encodes 1 s of 440 Hz with `enc_channels`, decodes with `dec_channels`; checks the tone. */
static void tone_through(int enc_channels, int dec_channels, int bitrate) {
  struct cv_opus_encoder_options o = {enc_channels, bitrate, 0, -1};
  cv_opus_encoder *enc;
  cv_opus_decoder *dec;
  CHECK_EQ(CV_OPUS_OK, cv_opus_encoder_new(&o, &enc));
  CHECK_EQ(CV_OPUS_OK, cv_opus_decoder_new(dec_channels, &dec));
  static int16_t in[CV_OPUS_FRAME_SAMPLES * 2];
  static int16_t out[CV_OPUS_FRAME_SAMPLES * SECONDS_FRAMES * 2];
  uint8_t packet[CV_OPUS_MAX_PACKET_BYTES];
  size_t got = 0, bytes = 0;
  for (int f = 0; f < SECONDS_FRAMES; f++) {
    tone_fill(in, CV_OPUS_FRAME_SAMPLES, enc_channels, 440, CV_OPUS_RATE, AMPLITUDE, (size_t)f * CV_OPUS_FRAME_SAMPLES);
    size_t n;
    int dtx;
    CHECK_EQ(CV_OPUS_OK, cv_opus_encode(enc, in, packet, sizeof packet, &n, &dtx));
    CHECK(n > 2 && !dtx);
    bytes += n;
    int s = cv_opus_decode(dec, packet, n, out + got * (size_t)dec_channels, CV_OPUS_MAX_FRAME_SAMPLES);
    CHECK_EQ(CV_OPUS_FRAME_SAMPLES, s);
    got += (size_t)s;
  }
  CHECK_EQ(CV_OPUS_FRAME_SAMPLES * SECONDS_FRAMES, got);
  /* skip the first 100 ms (codec delay, the encoder's warm-up) */
  size_t skip = CV_OPUS_RATE / 10;
  for (int c = 0; c < dec_channels; c++) {
    double a440 = goertzel(out + skip * (size_t)dec_channels, got - skip, dec_channels, c, 440, CV_OPUS_RATE);
    double a1k = goertzel(out + skip * (size_t)dec_channels, got - skip, dec_channels, c, 1000, CV_OPUS_RATE);
    printf("opus %d->%d ch, %d bit/s (%zu bytes/s): channel %d: 440 Hz %.0f, 1 kHz %.0f\n", enc_channels,
           dec_channels, bitrate, bytes, c, a440, a1k);
    CHECK(a440 > AMPLITUDE * 0.5);
    CHECK(a1k < AMPLITUDE * 0.02);
  }
  if (bitrate) CHECK(bytes * 8 < (size_t)bitrate * 3 / 2); /* the bitrate option took */
  struct cv_opus_decoder_stats st = cv_opus_decoder_get_stats(dec);
  CHECK_EQ(SECONDS_FRAMES, st.packets);
  CHECK_EQ(0, st.errors);
  CHECK_EQ(0, st.concealed);
  cv_opus_encoder_free(enc);
  cv_opus_decoder_free(dec);
}

static void test_dtx(void) {
  struct cv_opus_encoder_options o = {1, 0, 1, -1};
  cv_opus_encoder *enc;
  CHECK_EQ(CV_OPUS_OK, cv_opus_encoder_new(&o, &enc));
  static int16_t silence[CV_OPUS_FRAME_SAMPLES];
  uint8_t packet[CV_OPUS_MAX_PACKET_BYTES];
  int dtx_packets = 0;
  for (int f = 0; f < SECONDS_FRAMES; f++) {
    size_t n;
    int dtx;
    CHECK_EQ(CV_OPUS_OK, cv_opus_encode(enc, silence, packet, sizeof packet, &n, &dtx));
    CHECK(n >= 1);
    CHECK_EQ(n <= 2, dtx);
    dtx_packets += dtx;
  }
  printf("opus DTX: %d of %d silent frames are DTX packets\n", dtx_packets, SECONDS_FRAMES);
  CHECK(dtx_packets > SECONDS_FRAMES / 2);
  cv_opus_encoder_free(enc);
}

static void test_loss_and_corruption(void) {
  cv_opus_decoder *dec;
  CHECK_EQ(CV_OPUS_OK, cv_opus_decoder_new(1, &dec));
  static int16_t pcm[CV_OPUS_MAX_FRAME_SAMPLES * 2];

  /* a lost packet before any: 20 ms of concealment */
  CHECK_EQ(CV_OPUS_FRAME_SAMPLES, cv_opus_decode(dec, NULL, 0, pcm, CV_OPUS_MAX_FRAME_SAMPLES));

  /* corrupt packets: code 3 with no frame count, a zero frame count, zero length */
  const uint8_t code3_short[1] = {0x03}, code3_zero[2] = {0x03, 0x00}, any[1] = {0x78};
  CHECK_EQ(CV_OPUS_ERR_PACKET, cv_opus_decode(dec, code3_short, 1, pcm, CV_OPUS_MAX_FRAME_SAMPLES));
  CHECK_EQ(CV_OPUS_ERR_PACKET, cv_opus_decode(dec, code3_zero, 2, pcm, CV_OPUS_MAX_FRAME_SAMPLES));
  CHECK_EQ(CV_OPUS_ERR_PACKET, cv_opus_decode(dec, any, 0, pcm, CV_OPUS_MAX_FRAME_SAMPLES));
  /* a valid TOC-only packet (SILK WB 20 ms): decodes to 20 ms */
  CHECK_EQ(CV_OPUS_FRAME_SAMPLES, cv_opus_decode(dec, any, 1, pcm, CV_OPUS_MAX_FRAME_SAMPLES));
  /* the caller's room too small for a valid packet: a buffer error, not counted against the packet */
  CHECK_EQ(CV_OPUS_ERR_BUFFER, cv_opus_decode(dec, any, 1, pcm, 480));
  /* bad arguments */
  CHECK_EQ(CV_OPUS_ERR_ARG, cv_opus_decode(NULL, any, 1, pcm, 960));
  CHECK_EQ(CV_OPUS_ERR_ARG, cv_opus_decode(dec, any, 1, NULL, 960));

  struct cv_opus_decoder_stats st = cv_opus_decoder_get_stats(dec);
  CHECK_EQ(1, st.concealed);
  CHECK_EQ(3, st.errors);
  CHECK_EQ(1, st.packets);

  /* random bytes: each either decodes or is an error; every one is counted; nothing crashes */
  unsigned seed = 7;
  uint64_t ok = 0, bad = 0;
  for (int i = 0; i < 3000; i++) {
    uint8_t pkt[64];
    size_t n = 1 + ((seed = seed * 1103515245u + 12345u) >> 16) % sizeof pkt;
    for (size_t j = 0; j < n; j++) pkt[j] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
    int r = cv_opus_decode(dec, pkt, n, pcm, CV_OPUS_MAX_FRAME_SAMPLES);
    if (r > 0) {
      CHECK(r <= CV_OPUS_MAX_FRAME_SAMPLES);
      ok++;
    } else {
      CHECK_EQ(CV_OPUS_ERR_PACKET, r);
      bad++;
    }
  }
  st = cv_opus_decoder_get_stats(dec);
  printf("opus: 3000 random packets: %llu decoded, %llu refused\n", (unsigned long long)ok, (unsigned long long)bad);
  CHECK_EQ(1 + ok, st.packets);
  CHECK_EQ(3 + bad, st.errors);
  CHECK(bad > 0);
  /* and still decodes a lost frame afterwards */
  CHECK(cv_opus_decode(dec, NULL, 0, pcm, CV_OPUS_MAX_FRAME_SAMPLES) > 0);
  cv_opus_decoder_free(dec);
}

static void test_bad_options(void) {
  cv_opus_encoder *enc = (cv_opus_encoder *)&enc;
  cv_opus_decoder *dec = (cv_opus_decoder *)&dec;
  struct cv_opus_encoder_options o = {3, 0, 0, -1};
  CHECK_EQ(CV_OPUS_ERR_ARG, cv_opus_encoder_new(&o, &enc));
  CHECK_NULL(enc);
  o.channels = 1;
  o.bitrate = 100;
  CHECK_EQ(CV_OPUS_ERR_ARG, cv_opus_encoder_new(&o, &enc));
  o.bitrate = 0;
  o.complexity = 11;
  CHECK_EQ(CV_OPUS_ERR_ARG, cv_opus_encoder_new(&o, &enc));
  CHECK_EQ(CV_OPUS_ERR_ARG, cv_opus_encoder_new(NULL, &enc));
  CHECK_EQ(CV_OPUS_ERR_ARG, cv_opus_decoder_new(0, &dec));
  CHECK_NULL(dec);
  o.complexity = 5;
  CHECK_EQ(CV_OPUS_OK, cv_opus_encoder_new(&o, &enc));
  static int16_t pcm[CV_OPUS_FRAME_SAMPLES];
  uint8_t out[4];
  size_t n;
  CHECK_EQ(CV_OPUS_ERR_ARG, cv_opus_encode(enc, NULL, out, sizeof out, &n, NULL));
  CHECK_EQ(CV_OPUS_ERR_BUFFER, cv_opus_encode(enc, pcm, out, 0, &n, NULL));
  cv_opus_encoder_free(enc);
  cv_opus_encoder_free(NULL);
  cv_opus_decoder_free(NULL);
  CHECK(strlen(cv_opus_status_str(CV_OPUS_ERR_PACKET)) > 0);
}

int main(void) {
  tone_through(1, 1, 0);
  tone_through(1, 1, 24000);
  tone_through(2, 2, 64000);
  tone_through(2, 1, 0);
  tone_through(1, 2, 0);
  test_dtx();
  test_loss_and_corruption();
  test_bad_options();
  printf("test_opus_codec: ok\n");
  return 0;
}
