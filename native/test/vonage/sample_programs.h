/*
 * Programs in the shape of the Vonage Linux SDK samples Basic-Video-Chat,
 * Custom-Video-Capturer, Publisher-Only and Custom-Audio-Device, written for Convene (not
 * copied): the same otc_* calls in the same places, a counter where the samples draw or play.
 * Built against the public headers only (sample_programs.c); run by integration/it_samples.c,
 * which starts several in threads of one process (otc_init / otc_destroy are its own).
 */
#ifndef CONVENE_TEST_SAMPLE_PROGRAMS_H
#define CONVENE_TEST_SAMPLE_PROGRAMS_H

#include <stdatomic.h>

struct sample_creds {
  const char *api_key, *session_id, *token;
  int run_ms; /* how long the "event loop" runs */
};

/* What a program saw; every field counted from its callbacks. */
struct sample_result {
  atomic_int connected, disconnected, errors, stream_created, stream_destroyed;
  atomic_int streams_received, subscribers_connected;
  atomic_int preview_frames;    /* publisher on_render_frame */
  atomic_int subscriber_frames; /* subscriber on_render_frame */
  atomic_int frame_width, frame_height; /* of the last subscriber frame */
  atomic_int frames_provided;   /* by the custom capturer */
  atomic_int chunks_captured;   /* written by the custom audio device's capturer */
  atomic_int render_reads, loud_render_reads; /* the custom audio device's renderer */
  atomic_int tone_render_reads; /* of the loud ones: 400 Hz dominates */
};

/* Each returns 0 when it ran to its end (teardown included), -1 when a call failed. */
int sample_basic_video_chat(const struct sample_creds *c, struct sample_result *r);
int sample_custom_video_capturer(const struct sample_creds *c, struct sample_result *r);
int sample_publisher_only(const struct sample_creds *c, struct sample_result *r);
/* Installs the device (capturer: a 400 Hz tone; renderer: reads the mix, counts 400 Hz),
 * publishes from it, runs, and uninstalls it. */
int sample_custom_audio_device(const struct sample_creds *c, struct sample_result *r);

#endif
