/*
 * Video (api layer): capturers (video_capturer.h), per-stream video sources and subscribers'
 * video format (convene.h), and the media engine's video reports turned into the public
 * callbacks (media thread). The engine (media/engine.h, media/video_engine.h) encodes and
 * decodes on its media thread.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static otc_status status_of(int rc) {
  switch (rc) {
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

otc_status otc_video_capturer_provide_frame(const otc_video_capturer *capturer, int rotation,
                                            const otc_video_frame *frame) {
  if (!capturer || !frame || !capturer->publisher ||
      (rotation != 0 && rotation != 90 && rotation != 180 && rotation != 270))
    return OTC_INVALID_PARAM;
  otc_publisher *p = capturer->publisher;
  if (!atomic_load(&p->capturing)) return OTC_ILLEGAL_STATE;
  return status_of(cv_media_pub_put_video(p->media, frame, rotation));
}

otc_status convene_publisher_set_video_source(otc_publisher *p, int width, int height, int fps) {
  if (!p || width < 2 || height < 2 || width > 4096 || height > 4096 || fps < 1 || fps > 60) return OTC_INVALID_PARAM;
  if (p->has_capturer) return OTC_ILLEGAL_STATE;
  int rc = cv_media_pub_set_video(p->media, &p->publish_video, width, height, fps);
  if (rc != CV_MEDIA_PCM_OK) return status_of(rc);
  atomic_store(&p->has_video_source, 1);
  int old_w = atomic_exchange(&p->video_width, width), old_h = atomic_exchange(&p->video_height, height);
  pthread_mutex_lock(&p->lock);
  int published = p->stream != NULL;
  pthread_mutex_unlock(&p->lock);
  if (!published) return OTC_SUCCESS;
  /* published: the video track attaches (if it had no source yet) and, for a new size, the
   * stream's videoDimensions change (state_publisher.c) */
  struct cv_cmd *c = cv_cmd_new(CV_CMD_PUBLISHER_UPDATE, NULL);
  if (!c) return OTC_FATAL;
  c->publisher = p;
  c->fields = (old_w != width || old_h != height)
                  ? json_pack("{s:{s:i, s:i}}", "videoDimensions", "width", width, "height", height)
                  : json_object();
  return cv_service_submit(c, 0);
}

otc_status convene_publisher_write_video(otc_publisher *p, const otc_video_frame *frame) {
  if (!p || !frame) return OTC_INVALID_PARAM;
  if (p->has_capturer || !atomic_load(&p->has_video_source)) return OTC_ILLEGAL_STATE;
  return status_of(cv_media_pub_put_video(p->media, frame, 0));
}

otc_status convene_subscriber_set_video_format(otc_subscriber *sub, enum otc_video_frame_format format) {
  if (!sub) return OTC_INVALID_PARAM;
  return cv_media_sub_set_video_format(sub->media, format) == CV_MEDIA_PCM_OK ? OTC_SUCCESS : OTC_INVALID_PARAM;
}

/* ---- the engine's video reports, turned into the public callbacks (media thread) ---- */

static int sub_quiet(otc_subscriber *sub) { return atomic_load(&sub->muted) || atomic_load(&sub->deleted); }

void cv_video_api_on_frame(void *owner, const otc_video_frame *frame) {
  otc_subscriber *sub = owner;
  if (!sub_quiet(sub) && sub->cb.on_render_frame) sub->cb.on_render_frame(sub, sub->cb.user_data, frame);
}

void cv_video_api_on_first(void *owner) {
  otc_subscriber *sub = owner;
  if (!sub_quiet(sub) && sub->cb.on_video_data_received) sub->cb.on_video_data_received(sub, sub->cb.user_data);
}

void cv_video_api_on_stats(void *owner, const struct convene_media_stats *st) {
  otc_subscriber *sub = owner;
  if (sub_quiet(sub) || !sub->cb.on_video_stats) return;
  struct otc_subscriber_video_stats v = {.packets_lost = st->video_packets_lost,
                                         .packets_received = st->video_packets_received,
                                         .bytes_received = st->video_bytes_received,
                                         .timestamp = (double)cv_wall_ms()};
  sub->cb.on_video_stats(sub, sub->cb.user_data, v);
}

void cv_video_api_on_preview(void *owner, const otc_video_frame *frame) {
  otc_publisher *p = owner;
  if (!p->deleted && p->cb.on_render_frame) p->cb.on_render_frame(p, p->cb.user_data, frame);
}

void cv_video_api_on_pub_stats(void *owner, const struct convene_media_stats *st, int has_video) {
  otc_publisher *p = owner;
  if (p->deleted) return;
  double now = (double)cv_wall_ms();
  if (p->cb.on_audio_stats) {
    struct otc_publisher_audio_stats a = {.connection_id = "", .subscriber_id = "",
                                          .packets_lost = (int64_t)st->queue_dropped,
                                          .packets_sent = (int64_t)st->frames_sent,
                                          .bytes_sent = (int64_t)st->bytes_sent, .audio_level = st->audio_level,
                                          .timestamp = now, .start_time = (double)p->created_wall_ms};
    p->cb.on_audio_stats(p, p->cb.user_data, &a, 1);
  }
  if (has_video && p->cb.on_video_stats) {
    struct otc_publisher_video_stats v = {.connection_id = "", .subscriber_id = "",
                                          .packets_lost = (int64_t)st->video_packets_dropped,
                                          .packets_sent = (int64_t)st->video_packets_sent,
                                          .bytes_sent = (int64_t)st->video_bytes_sent, .timestamp = now,
                                          .start_time = (double)p->created_wall_ms};
    p->cb.on_video_stats(p, p->cb.user_data, &v, 1);
  }
}

void cv_video_api_on_pub_level(void *owner, float level) {
  otc_publisher *p = owner;
  if (!p->deleted && p->cb.on_audio_level_updated) p->cb.on_audio_level_updated(p, p->cb.user_data, level);
}
