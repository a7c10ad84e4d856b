/*
 * The process-wide audio device, in the Vonage SDK's shape (audio_device.h).
 *
 * One device serves the whole process: what is written with
 * otc_audio_device_write_capture_data() feeds every publisher that has no per-stream source
 * of its own (convene_publisher_set_audio_source), and otc_audio_device_read_render_data()
 * returns the mix of every subscribed audio stream. Unlike the Vonage SDK, Convene never opens
 * a sound card: with no device set, capture is silence and nothing is rendered, so servers
 * without audio hardware work. Set the device before connecting; it stays for the process's
 * life (until otc_destroy). Convene calls the lifecycle callbacks on the thread that sets the
 * device: init, init_capturer, init_renderer, start_capturer, start_renderer from
 * otc_set_audio_device; stop_capturer, stop_renderer, destroy_capturer, destroy_renderer,
 * destroy when another device (or NULL) replaces it and at otc_destroy. The device's get_capture_settings / get_render_settings give
 * the rate and channel count of the PCM exchanged through the two functions below
 * (8000, 16000, 24000, 32000, 44100 or 48000 Hz; 1 or 2 channels; default 48000 Hz mono
 * when a callback is NULL or fails).
 */
#ifndef CONVENE_OPENTOK_AUDIO_DEVICE_H
#define CONVENE_OPENTOK_AUDIO_DEVICE_H

#include <stdlib.h>

#include "config.h"
#include "base.h"

OTC_BEGIN_DECL

/** The audio device handed to each callback. Opaque. */
typedef struct otc_audio_device otc_audio_device;

/** Sampling settings of the capture or the render side of the device. */
struct otc_audio_device_settings {
  int sampling_rate;      /**< samples per second and channel */
  int number_of_channels; /**< 1 or 2 */
};

/**
 * The device's callbacks, in the Vonage SDK's member order. Any member may be NULL (a NULL
 * callback counts as success; NULL settings callbacks give 48000 Hz mono). The is_* and
 * get_estimated_* members are never called by Convene (it has no device of its own to ask).
 */
struct otc_audio_device_callbacks {
  otc_bool (*init)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*destroy)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*init_capturer)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*destroy_capturer)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*start_capturer)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*stop_capturer)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*is_capturer_initialized)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*is_capturer_started)(const otc_audio_device *audio_device, void *user_data);
  int (*get_estimated_capture_delay)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*get_capture_settings)(const otc_audio_device *audio_device, void *user_data,
                                   struct otc_audio_device_settings *settings);
  otc_bool (*init_renderer)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*destroy_renderer)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*start_renderer)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*stop_renderer)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*is_renderer_initialized)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*is_renderer_started)(const otc_audio_device *audio_device, void *user_data);
  int (*get_estimated_render_delay)(const otc_audio_device *audio_device, void *user_data);
  otc_bool (*get_render_settings)(const otc_audio_device *audio_device, void *user_data,
                                  struct otc_audio_device_settings *settings);
  /** Handed back to every callback. */
  void *user_data;
  /** Unused; set it to NULL. */
  void *reserved;
};

/**
 * Copies up to `number_of_samples` samples per channel (interleaved 16-bit, in the render
 * settings' format) of the mix of every subscribed audio stream into `buffer`; returns how
 * many samples per channel it wrote (fewer, possibly 0, when less is buffered: the rest of
 * `buffer` is left untouched). The mix is a saturating sum. Any thread (usually the device's
 * render thread, every 10 ms). 0 when no device is set or `buffer` is NULL.
 */
OTC_DECL(size_t) otc_audio_device_read_render_data(int16_t *buffer, size_t number_of_samples);

/**
 * Hands `number_of_samples` samples per channel (interleaved 16-bit, in the capture
 * settings' format) to every publisher without a per-stream source. Copies them. Any thread
 * (usually the device's capture thread, every 10 ms). The capture buffer holds one second:
 * past it the oldest samples are dropped (counted in each publisher's queue_dropped).
 * OTC_INVALID_PARAM for NULL or 0 samples, OTC_ILLEGAL_STATE when no device is set.
 */
OTC_DECL(otc_status) otc_audio_device_write_capture_data(const int16_t *buffer, size_t number_of_samples);

/**
 * Sets the process-wide audio device; `callbacks` is copied (NULL removes the device). Call
 * it before connecting (any time works: publishing streams switch within 20 ms). Not from a
 * device callback. OTC_INVALID_PARAM when a settings callback gives an unsupported format.
 */
OTC_DECL(otc_status) otc_set_audio_device(const struct otc_audio_device_callbacks *callbacks);

OTC_END_DECL

#endif
