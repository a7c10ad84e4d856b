/*
 * Test helpers for the media unit tests: a sine tone in int16 PCM, and a Goertzel filter that
 * measures the amplitude of one frequency in a signal (how the tests find 440 Hz and not 1 kHz).
 */
#ifndef CONVENE_TEST_MEDIA_TONE_H
#define CONVENE_TEST_MEDIA_TONE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Writes frames samples per channel of a sine tone, the same in every channel, starting at
   sample index `start` (so consecutive calls continue the wave). */
static inline void tone_fill(int16_t *pcm, size_t frames, int channels, double hz, int rate, double amplitude,
                             size_t start) {
  for (size_t i = 0; i < frames; i++) {
    double v = amplitude * sin(2.0 * M_PI * hz * (double)(start + i) / rate);
    for (int c = 0; c < channels; c++) pcm[i * (size_t)channels + (size_t)c] = (int16_t)lrint(v);
  }
}

/* Amplitude (in sample units) of `hz` in channel `channel` of interleaved pcm (frames samples
   per channel), by the Goertzel algorithm: a pure tone of amplitude A at hz reads about A. */
static inline double goertzel(const int16_t *pcm, size_t frames, int channels, int channel, double hz, int rate) {
  double coeff = 2.0 * cos(2.0 * M_PI * hz / rate), s1 = 0, s2 = 0;
  for (size_t i = 0; i < frames; i++) {
    double s = pcm[i * (size_t)channels + (size_t)channel] + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return power > 0 ? 2.0 * sqrt(power) / (double)frames : 0;
}

#endif
