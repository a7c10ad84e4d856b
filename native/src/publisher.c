/* Publishers: the public API (their media: audio.c, video.c; the media engine does the work). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

otc_publisher *otc_publisher_new(const char *name, const struct otc_video_capturer_callbacks *video_capturer,
                                 const struct otc_publisher_callbacks *callbacks) {
  if (!callbacks || (video_capturer && !video_capturer->get_capture_settings)) return NULL;
  otc_publisher *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->name = strdup(name ? name : "");
  if (!p->name) {
    free(p);
    return NULL;
  }
  /* a capturer: init, then its settings (the size and rate to encode, the dimensions announced) */
  struct otc_video_capturer_settings set = {0};
  p->capturer.publisher = p;
  if (video_capturer) {
    p->capturer_cb = *video_capturer;
    if ((p->capturer_cb.init && !p->capturer_cb.init(&p->capturer, p->capturer_cb.user_data)) ||
        !p->capturer_cb.get_capture_settings(&p->capturer, p->capturer_cb.user_data, &set) || set.width < 2 ||
        set.height < 2 || set.width > 4096 || set.height > 4096 || set.fps < 1 || set.fps > 60) {
      if (p->capturer_cb.destroy) p->capturer_cb.destroy(&p->capturer, p->capturer_cb.user_data);
      free(p->name);
      free(p);
      return NULL;
    }
    p->has_capturer = 1;
  }
  p->cb = *callbacks;
  p->created_wall_ms = cv_wall_ms();
  p->media = cv_media_pub_new(p, &p->publish_audio);
  if (!p->media || (p->has_capturer && cv_media_pub_set_video(p->media, &p->publish_video, set.width, set.height,
                                                               set.fps) != CV_MEDIA_PCM_OK)) {
    cv_media_pub_free(p->media);
    if (p->has_capturer && p->capturer_cb.destroy) p->capturer_cb.destroy(&p->capturer, p->capturer_cb.user_data);
    free(p->name);
    free(p);
    return NULL;
  }
  if (p->has_capturer) {
    atomic_store(&p->has_video_source, 1);
    atomic_store(&p->video_width, set.width);
    atomic_store(&p->video_height, set.height);
  }
  atomic_store(&p->video_type, OTC_STREAM_VIDEO_TYPE_CAMERA);
  atomic_store(&p->publish_audio, 1);
  atomic_store(&p->publish_video, 1);
  pthread_mutex_init(&p->lock, NULL);
  return p;
}

void cv_publisher_free(otc_publisher *p) {
  cv_state_capturer_destroy(p); /* stop (if capturing), then destroy: no frame is taken after this */
  cv_media_pub_free(p->media);
  if (p->stream) otc_stream_delete(p->stream);
  for (size_t i = 0; i < p->handed.len; i++) cv_stream_free_owned(p->handed.items[i]);
  cv_table_free(&p->handed);
  pthread_mutex_destroy(&p->lock);
  free(p->name);
  free(p);
}

otc_status otc_publisher_delete(otc_publisher *p) {
  if (!p) return OTC_INVALID_PARAM;
  if (!cv_service_running()) {
    cv_publisher_free(p);
    return OTC_SUCCESS;
  }
  struct cv_cmd *c = cv_cmd_new(CV_CMD_PUBLISHER_DELETE, NULL);
  if (!c) return OTC_FATAL;
  c->publisher = p;
  return cv_service_submit(c, 1);
}

static otc_status update(otc_publisher *p, const char *key, otc_bool on) {
  struct cv_cmd *c = cv_cmd_new(CV_CMD_PUBLISHER_UPDATE, NULL);
  if (!c) return OTC_FATAL;
  c->publisher = p;
  c->fields = json_pack("{s:b}", key, on ? 1 : 0);
  return cv_service_submit(c, 0);
}

otc_status otc_publisher_set_publish_audio(otc_publisher *p, otc_bool on) {
  if (!p) return OTC_INVALID_PARAM;
  atomic_store(&p->publish_audio, on ? 1 : 0);
  return update(p, "hasAudio", on);
}

otc_status otc_publisher_set_publish_video(otc_publisher *p, otc_bool on) {
  if (!p) return OTC_INVALID_PARAM;
  atomic_store(&p->publish_video, on ? 1 : 0);
  return update(p, "hasVideo", on);
}

otc_bool otc_publisher_get_publish_audio(const otc_publisher *p) {
  return p ? (atomic_load(&((otc_publisher *)p)->publish_audio) ? OTC_TRUE : OTC_FALSE) : OTC_FALSE;
}

otc_bool otc_publisher_get_publish_video(const otc_publisher *p) {
  return p ? (atomic_load(&((otc_publisher *)p)->publish_video) ? OTC_TRUE : OTC_FALSE) : OTC_FALSE;
}

const char *otc_publisher_get_name(const otc_publisher *p) { return p ? p->name : NULL; }

/* p->stream is freed on the service thread when the stream goes; what the app got stays
 * valid: each stream is copied once into `handed`, freed with the publisher. */
otc_stream *otc_publisher_get_stream(otc_publisher *p) {
  if (!p) return NULL;
  pthread_mutex_lock(&p->lock);
  otc_stream *st = NULL;
  if (p->stream) {
    st = p->handed.len ? p->handed.items[p->handed.len - 1] : NULL;
    if (!st || strcmp(st->id, p->stream->id) != 0) {
      st = cv_stream_owned_copy(p->stream);
      if (st && cv_table_add(&p->handed, st, NULL) != 0) {
        cv_stream_free_owned(st);
        st = NULL;
      }
    }
  }
  pthread_mutex_unlock(&p->lock);
  return st;
}

void *otc_publisher_get_user_data(const otc_publisher *p) { return p ? p->cb.user_data : NULL; }

otc_status convene_publisher_set_video_type(otc_publisher *p, enum otc_stream_video_type type) {
  if (!p || type < OTC_STREAM_VIDEO_TYPE_CAMERA || type > OTC_STREAM_VIDEO_TYPE_CUSTOM) return OTC_INVALID_PARAM;
  atomic_store(&p->video_type, (int)type);
  return OTC_SUCCESS;
}

otc_status convene_publisher_set_video_dimensions(otc_publisher *p, int width, int height) {
  if (!p || width < 1 || height < 1 || width > 65535 || height > 65535) return OTC_INVALID_PARAM;
  atomic_store(&p->video_width, width);
  atomic_store(&p->video_height, height);
  return OTC_SUCCESS;
}
