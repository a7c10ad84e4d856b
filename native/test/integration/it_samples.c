/*
 * Issue 18's acceptance, in ctest: programs in the shape of the Vonage samples
 * (native/test/vonage/sample_programs.c: Basic-Video-Chat, Custom-Video-Capturer,
 * Publisher-Only, Custom-Audio-Device, public headers only) run two at a time in one process
 * against the real server, and what their callbacks counted shows the media arrived. The
 * samples themselves are checked by native/test/vonage/check_samples.sh (samples.vonage).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sample_programs.h"

struct job {
  pthread_t thread;
  int (*program)(const struct sample_creds *, struct sample_result *);
  struct sample_creds creds;
  struct sample_result result;
  int rc;
};

static void *job_main(void *arg) {
  struct job *j = arg;
  j->rc = j->program(&j->creds, &j->result);
  return NULL;
}

static void job_start(struct job *j, int (*program)(const struct sample_creds *, struct sample_result *),
                      const char *token, int run_ms) {
  CHECK_EQ(0, setenv("CONVENE_SERVER_URL", fx_url("main"), 1)); /* the programs know only the SDK */
  memset(j, 0, sizeof *j);
  j->program = program;
  j->creds = (struct sample_creds){fx_api_key(), fx_session(), fx_token(token), run_ms * it_slow()};
  CHECK_EQ(0, pthread_create(&j->thread, NULL, job_main, j));
}

static void job_end(struct job *j, const char *name) {
  pthread_join(j->thread, NULL);
  struct sample_result *r = &j->result;
  fprintf(stderr,
          "%s: rc %d, connected %d, errors %d, stream created %d destroyed %d, streams received %d, "
          "subscribers connected %d, preview frames %d, subscriber frames %d (%dx%d), frames provided %d, "
          "audio chunks captured %d, render reads %d (loud %d, 400 Hz %d)\n",
          name, j->rc, atomic_load(&r->connected), atomic_load(&r->errors), atomic_load(&r->stream_created),
          atomic_load(&r->stream_destroyed), atomic_load(&r->streams_received), atomic_load(&r->subscribers_connected),
          atomic_load(&r->preview_frames), atomic_load(&r->subscriber_frames), atomic_load(&r->frame_width),
          atomic_load(&r->frame_height), atomic_load(&r->frames_provided), atomic_load(&r->chunks_captured),
          atomic_load(&r->render_reads), atomic_load(&r->loud_render_reads), atomic_load(&r->tone_render_reads));
  CHECK_EQ(0, j->rc);
  CHECK_EQ(1, atomic_load(&r->connected));
  CHECK_EQ(1, atomic_load(&r->disconnected));
  CHECK_EQ(0, atomic_load(&r->errors));
  CHECK_EQ(1, atomic_load(&r->stream_created)); /* every sample publishes */
  CHECK_EQ(1, atomic_load(&r->stream_destroyed));
}

/* Custom-Video-Capturer's frames: its preview, and Basic-Video-Chat's subscriber. */
static void custom_capturer_to_basic_video_chat(void) {
  struct job bvc, cvc;
  job_start(&bvc, sample_basic_video_chat, "publisher", 6000);
  it_sleep_ms(1000);
  job_start(&cvc, sample_custom_video_capturer, "publisher2", 3500);
  job_end(&cvc, "Custom-Video-Capturer");
  job_end(&bvc, "Basic-Video-Chat");
  int provided = atomic_load(&cvc.result.frames_provided);
  CHECK(provided >= 3500 * 30 / 1000 / 2);
  CHECK(atomic_load(&cvc.result.preview_frames) >= provided / 2);
  CHECK(atomic_load(&bvc.result.streams_received) >= 1);
  CHECK(atomic_load(&bvc.result.subscribers_connected) >= 1);
  CHECK(atomic_load(&bvc.result.subscriber_frames) >= provided / 2);
  CHECK_EQ(320, atomic_load(&bvc.result.frame_width));
  CHECK_EQ(240, atomic_load(&bvc.result.frame_height));
  CHECK_EQ(1, atomic_load(&cvc.result.streams_received)); /* Basic-Video-Chat's, not subscribed */
  CHECK_EQ(0, atomic_load(&cvc.result.subscriber_frames));
}

/* Custom-Audio-Device's capture (a 400 Hz tone) reaches Basic-Video-Chat's subscriber, whose
 * audio the same process's device renders: its renderer reads the tone back. */
static void custom_audio_device_round_trip(void) {
  struct job bvc, cad;
  job_start(&bvc, sample_basic_video_chat, "publisher", 6000);
  it_sleep_ms(1000);
  job_start(&cad, sample_custom_audio_device, "publisher2", 3500);
  job_end(&cad, "Custom-Audio-Device");
  job_end(&bvc, "Basic-Video-Chat");
  CHECK(atomic_load(&cad.result.chunks_captured) >= 3500 / 10 / 2);
  CHECK(atomic_load(&bvc.result.subscribers_connected) >= 1);
  CHECK_EQ(0, atomic_load(&bvc.result.subscriber_frames)); /* no capturer: no video */
  CHECK(atomic_load(&cad.result.render_reads) >= 10);
  CHECK(atomic_load(&cad.result.tone_render_reads) >= 10); /* 1 s of the tone, in 100 ms reads */
}

/* Publisher-Only publishes (no capturer: no camera, no frames); a subscriber connects to it. */
static void publisher_only(void) {
  struct job bvc, po;
  job_start(&bvc, sample_basic_video_chat, "publisher", 4500);
  it_sleep_ms(1000);
  job_start(&po, sample_publisher_only, "publisher2", 2500);
  job_end(&po, "Publisher-Only");
  job_end(&bvc, "Basic-Video-Chat");
  CHECK_EQ(0, atomic_load(&po.result.preview_frames));
  CHECK(atomic_load(&bvc.result.subscribers_connected) >= 1);
}

static const struct it_case cases[] = {
    CASE(custom_capturer_to_basic_video_chat, 60),
    CASE(custom_audio_device_round_trip, 60),
    CASE(publisher_only, 60),
};
IT_MAIN(cases)
