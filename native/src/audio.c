/*
 * Audio (api layer): publishers' per-stream PCM (convene.h), the process-wide audio device
 * (opentok/audio_device.h), and the media engine's callbacks into the public ones. The
 * engine (media/engine.h) does the work on its media thread.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the engine's reports, turned into the public callbacks (media thread) ---- */

static void on_pcm(void *owner, const int16_t *pcm, size_t frames, int rate, int channels) {
  otc_subscriber *sub = owner;
  if (atomic_load(&sub->muted) || atomic_load(&sub->deleted) || !sub->cb.on_audio_data) return;
  struct otc_audio_data d = {.sample_buffer = pcm, .bits_per_sample = 16, .sample_rate = rate,
                             .number_of_channels = (size_t)channels, .number_of_samples = frames};
  sub->cb.on_audio_data(sub, sub->cb.user_data, &d);
}

static void on_sub_stats(void *owner, const struct convene_media_stats *st) {
  otc_subscriber *sub = owner;
  if (atomic_load(&sub->muted) || atomic_load(&sub->deleted) || !sub->cb.on_audio_stats) return;
  struct otc_subscriber_audio_stats a = {.packets_lost = st->frames_lost, .packets_received = st->frames_received,
                                         .bytes_received = st->bytes_received, .audio_level = st->audio_level,
                                         .timestamp = (double)cv_wall_ms()};
  sub->cb.on_audio_stats(sub, sub->cb.user_data, a);
}

static void on_sub_level(void *owner, float level) {
  otc_subscriber *sub = owner;
  if (atomic_load(&sub->muted) || atomic_load(&sub->deleted) || !sub->cb.on_audio_level_updated) return;
  sub->cb.on_audio_level_updated(sub, sub->cb.user_data, level);
}

static void on_space(void *owner, int queued_ms) {
  otc_publisher *p = owner;
  convene_audio_space_cb cb = atomic_load(&p->on_space);
  if (cb && !p->deleted) cb(p, atomic_load(&p->on_space_data), queued_ms);
}

int cv_media_api_start(void) {
  static const struct cv_media_ops ops = {.wake = cv_service_wake, .on_pcm = on_pcm, .on_sub_stats = on_sub_stats,
                                          .on_sub_level = on_sub_level, .on_space = on_space,
                                          .on_video_frame = cv_video_api_on_frame,
                                          .on_video_first = cv_video_api_on_first,
                                          .on_video_stats = cv_video_api_on_stats,
                                          .on_preview = cv_video_api_on_preview,
                                          .on_pub_stats = cv_video_api_on_pub_stats,
                                          .on_pub_level = cv_video_api_on_pub_level,
                                          .on_tick_end = cv_service_pass_done};
  return cv_media_start(&ops);
}

void cv_media_api_stop(void) { cv_media_stop(); }

/* ---- publishers' per-stream PCM ---- */

otc_status convene_publisher_set_audio_source(otc_publisher *p, int capacity_ms) {
  if (!p || capacity_ms < 100 || capacity_ms > 60000) return OTC_INVALID_PARAM;
  pthread_mutex_lock(&p->lock);
  int published = p->stream != NULL;
  pthread_mutex_unlock(&p->lock);
  if (published) return OTC_ILLEGAL_STATE;
  int rc = cv_media_pub_set_source(p->media, capacity_ms);
  return rc == CV_MEDIA_PCM_OK ? OTC_SUCCESS : rc == CV_MEDIA_PCM_ARG ? OTC_INVALID_PARAM : OTC_FATAL;
}

otc_status convene_publisher_write_audio(otc_publisher *p, const int16_t *samples, size_t samples_per_channel,
                                         int sample_rate, int channels) {
  if (!p) return OTC_INVALID_PARAM;
  switch (cv_media_pub_write(p->media, samples, samples_per_channel, sample_rate, channels)) {
    case CV_MEDIA_PCM_OK:
      return OTC_SUCCESS;
    case CV_MEDIA_PCM_FULL:
      return CONVENE_AUDIO_QUEUE_FULL;
    case CV_MEDIA_PCM_NOSOURCE:
      return OTC_ILLEGAL_STATE;
    case CV_MEDIA_PCM_NOMEM:
      return OTC_FATAL;
    default:
      return OTC_INVALID_PARAM;
  }
}

otc_status convene_publisher_clear_audio(otc_publisher *p) {
  if (!p) return OTC_INVALID_PARAM;
  return cv_media_pub_clear(p->media) == CV_MEDIA_PCM_OK ? OTC_SUCCESS : OTC_ILLEGAL_STATE;
}

int convene_publisher_get_queued_audio_ms(const otc_publisher *p) {
  return p ? cv_media_pub_queued_ms(p->media) : -1;
}

otc_status convene_publisher_set_on_audio_space(otc_publisher *p, convene_audio_space_cb cb, void *user_data) {
  if (!p) return OTC_INVALID_PARAM;
  atomic_store(&p->on_space_data, user_data);
  atomic_store(&p->on_space, cb);
  return OTC_SUCCESS;
}

otc_status convene_publisher_get_media_stats(const otc_publisher *p, struct convene_media_stats *out) {
  if (!p || !out) return OTC_INVALID_PARAM;
  cv_media_pub_get_stats(p->media, out);
  return OTC_SUCCESS;
}

/* ---- the audio device ---- */

struct otc_audio_device {
  int unused;
};

static struct {
  pthread_mutex_t lock;
  int set;
  struct otc_audio_device_callbacks cb;
  struct otc_audio_device device;
} dev = {.lock = PTHREAD_MUTEX_INITIALIZER};

#define DEV_CALL(cb, name) ((cb).name ? (cb).name(&dev.device, (cb).user_data) : OTC_TRUE)

static void settings_of(otc_bool (*get)(const otc_audio_device *, void *, struct otc_audio_device_settings *),
                        void *user_data, struct otc_audio_device_settings *out) {
  out->sampling_rate = 48000;
  out->number_of_channels = 1;
  struct otc_audio_device_settings s = {0, 0};
  if (get && get(&dev.device, user_data, &s)) *out = s;
}

/* The device's capture and render stop and it is destroyed (dev.lock held). */
static void retire(void) {
  if (!dev.set) return;
  struct otc_audio_device_callbacks cb = dev.cb;
  DEV_CALL(cb, stop_capturer);
  DEV_CALL(cb, stop_renderer);
  DEV_CALL(cb, destroy_capturer);
  DEV_CALL(cb, destroy_renderer);
  DEV_CALL(cb, destroy);
  dev.set = 0;
}

otc_status otc_set_audio_device(const struct otc_audio_device_callbacks *callbacks) {
  pthread_mutex_lock(&dev.lock);
  if (!callbacks) {
    cv_media_device_configure(0, 0, 0, 0, 0);
    retire();
    pthread_mutex_unlock(&dev.lock);
    return OTC_SUCCESS;
  }
  struct otc_audio_device_settings cap, ren;
  settings_of(callbacks->get_capture_settings, callbacks->user_data, &cap);
  settings_of(callbacks->get_render_settings, callbacks->user_data, &ren);
  if (cv_media_device_configure(1, cap.sampling_rate, cap.number_of_channels, ren.sampling_rate,
                                ren.number_of_channels) != CV_MEDIA_PCM_OK) {
    pthread_mutex_unlock(&dev.lock);
    return OTC_INVALID_PARAM;
  }
  retire();
  dev.cb = *callbacks;
  dev.set = 1;
  DEV_CALL(dev.cb, init);
  DEV_CALL(dev.cb, init_capturer);
  DEV_CALL(dev.cb, init_renderer);
  DEV_CALL(dev.cb, start_capturer);
  DEV_CALL(dev.cb, start_renderer);
  pthread_mutex_unlock(&dev.lock);
  return OTC_SUCCESS;
}

otc_status otc_audio_device_write_capture_data(const int16_t *buffer, size_t number_of_samples) {
  if (!buffer || !number_of_samples) return OTC_INVALID_PARAM;
  switch (cv_media_device_write(buffer, number_of_samples)) {
    case CV_MEDIA_PCM_OK:
      return OTC_SUCCESS;
    case CV_MEDIA_PCM_NOSOURCE:
      return OTC_ILLEGAL_STATE;
    case CV_MEDIA_PCM_NOMEM:
      return OTC_FATAL;
    default:
      return OTC_INVALID_PARAM;
  }
}

size_t otc_audio_device_read_render_data(int16_t *buffer, size_t number_of_samples) {
  return cv_media_device_read(buffer, number_of_samples);
}

/* otc_destroy: the device is retired (its callbacks stop/destroy), its buffers freed. */
void cv_audio_device_release(void) {
  pthread_mutex_lock(&dev.lock);
  cv_media_device_configure(0, 0, 0, 0, 0);
  retire();
  pthread_mutex_unlock(&dev.lock);
}
