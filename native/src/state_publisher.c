/*
 * Session state, publishers: publish, unpublish, updates, a publisher's stream and its end.
 * Service thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* ---- publishers ---- */

otc_publisher *cv_state_publisher_of_stream(otc_session *s, const char *stream_id) {
  for (size_t i = 0; i < s->publishers.len; i++) {
    otc_publisher *p = s->publishers.items[i];
    if (p->stream && strcmp(p->stream->id, stream_id) == 0) return p;
  }
  return NULL;
}

void cv_state_capturer_stop(otc_publisher *p) {
  if (!p->capturer_started) return;
  p->capturer_started = 0;
  atomic_store(&p->capturing, 0);
  if (p->capturer_cb.stop) p->capturer_cb.stop(&p->capturer, p->capturer_cb.user_data);
}

void cv_state_capturer_destroy(otc_publisher *p) {
  if (!p->has_capturer) return;
  cv_state_capturer_stop(p);
  if (p->capturer_cb.destroy) p->capturer_cb.destroy(&p->capturer, p->capturer_cb.user_data);
  p->has_capturer = 0;
}

void cv_state_drop_publisher(otc_session *s, otc_publisher *p) {
  for (size_t i = 0; i < s->publishers.len; i++) {
    if (s->publishers.items[i] == p) {
      memmove(&s->publishers.items[i], &s->publishers.items[i + 1], (s->publishers.len - i - 1) * sizeof(void *));
      s->publishers.len--;
      break;
    }
  }
  cv_media_pub_detach(p->media);
  cv_state_capturer_stop(p);
  p->session = NULL;
}

void cv_state_publisher_stream_gone(otc_session *s, otc_publisher *p, const char *reason) {
  cv_media_pub_detach(p->media);
  pthread_mutex_lock(&p->lock);
  otc_stream *stream = p->stream;
  p->stream = NULL;
  pthread_mutex_unlock(&p->lock);
  cv_state_drop_publisher(s, p);
  if (stream) {
    stream->reason = reason;
    CV_PUB_EMIT(p, on_stream_destroyed, stream);
    otc_stream_delete(stream);
  }
}

void cv_state_publish(otc_session *s, otc_publisher *p) {
  if (p->session) {
    CV_PUB_EMIT(p, on_error, "the publisher is already published", OTC_PUBLISHER_UNABLE_TO_PUBLISH);
    return;
  }
  if (atomic_load(&s->state) != CV_STATE_CONNECTED) {
    CV_PUB_EMIT(p, on_error, "publish: the session is not connected", OTC_PUBLISHER_SESSION_DISCONNECTED);
    return;
  }
  /* the publisher's size, or the default when it said nothing (CV_DEFAULT_VIDEO_*) */
  int width = atomic_load(&p->video_width), height = atomic_load(&p->video_height);
  if (width <= 0 || height <= 0) {
    width = CV_DEFAULT_VIDEO_WIDTH;
    height = CV_DEFAULT_VIDEO_HEIGHT;
  }
  json_t *fields = json_pack("{s:s, s:b, s:b, s:s, s:{s:i, s:i}}", "name", p->name, "hasAudio",
                             atomic_load(&p->publish_audio), "hasVideo", atomic_load(&p->publish_video), "videoType",
                             cv_video_type_to_string((enum otc_stream_video_type)atomic_load(&p->video_type)),
                             "videoDimensions", "width", width, "height", height);
  if (cv_table_add(&s->publishers, p, NULL) != 0) {
    json_decref(fields);
    return;
  }
  p->session = s;
  CV_DEBUG("session %.24s: publishing \"%s\"", s->session_id, p->name);
  cv_state_submit(s, CV_REQ_PUBLISH, fields, p, NULL, NULL);
}

void cv_state_unpublish(otc_session *s, otc_publisher *p) {
  if (p->session != s) {
    cv_state_report_error(s, OTC_SESSION_PUBLISHER_NOT_FOUND, "otc_session_unpublish: the publisher is not published here");
    return;
  }
  if (!p->stream) { /* the publish result has not come back: forget it; the stream is unpublished on arrival */
    cv_state_drop_publisher(s, p);
    return;
  }
  cv_state_submit(s, CV_REQ_UNPUBLISH, json_pack("{s:s}", "streamId", p->stream->id), NULL, NULL, NULL);
  cv_state_publisher_stream_gone(s, p, "clientDisconnected");
}

void cv_state_publisher_update(otc_session *s, otc_publisher *p, json_t *fields) {
  if (p->session != s || !p->stream) {
    json_decref(fields);
    return; /* applied at the next publish */
  }
  /* a video source given after publishing: its track attaches now (idempotent) */
  if (p->video_track && atomic_load(&p->has_video_source)) cv_media_pub_attach_video(p->media, p->video_track);
  if (json_object_size(fields) == 0) { /* nothing the stream announces changed */
    json_decref(fields);
    return;
  }
  json_object_set_new(fields, "streamId", json_string(p->stream->id));
  cv_state_submit(s, CV_REQ_UPDATE_STREAM, fields, p, NULL, NULL);
}

void cv_state_forget_publisher(otc_session *s, otc_publisher *p) {
  for (struct cv_pending *q = s->pending_head; q; q = q->next)
    if (q->publisher == p) q->publisher = NULL;
  if (p->session == s) {
    if (p->stream && atomic_load(&s->state) == CV_STATE_CONNECTED)
      cv_state_submit(s, CV_REQ_UNPUBLISH, json_pack("{s:s}", "streamId", p->stream->id), NULL, NULL, NULL);
    cv_state_drop_publisher(s, p);
  }
}

/* Publishers of this session lose their streams when the session ends. */
void cv_state_end_publishers(otc_session *s) {
  while (s->publishers.len) {
    otc_publisher *p = s->publishers.items[--s->publishers.len];
    cv_media_pub_detach(p->media);
    cv_state_capturer_stop(p);
    pthread_mutex_lock(&p->lock);
    otc_stream *stream = p->stream;
    p->stream = NULL;
    pthread_mutex_unlock(&p->lock);
    p->session = NULL;
    if (stream) {
      stream->reason = s->disconnect_reason ? s->disconnect_reason : "clientDisconnected";
      CV_PUB_EMIT(p, on_stream_destroyed, stream);
      otc_stream_delete(stream);
    }
  }
}
