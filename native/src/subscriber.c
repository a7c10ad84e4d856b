/*
 * Subscribers (opentok/subscriber.h) and their convene.h additions: the public API (api
 * layer). Functions check their arguments and enqueue a command for the service thread
 * (state_subscriber.c does the work); getters read immutable or atomic fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static atomic_uint g_next_id;

otc_subscriber *otc_subscriber_new(const otc_stream *stream, const struct otc_subscriber_callbacks *callbacks) {
  if (!stream || !callbacks) return NULL;
  otc_subscriber *sub = calloc(1, sizeof *sub);
  if (!sub) return NULL;
  sub->stream = otc_stream_copy(stream);
  sub->media = cv_media_sub_new(sub);
  if (!sub->stream || !sub->media) {
    otc_stream_delete(sub->stream);
    cv_media_sub_free(sub->media);
    free(sub);
    return NULL;
  }
  sub->cb = *callbacks;
  atomic_store(&sub->want_audio, 1);
  atomic_store(&sub->want_video, 1);
  snprintf(sub->id, sizeof sub->id, "subscriber-%u-%s", atomic_fetch_add(&g_next_id, 1) + 1, "");
  /* the stream id makes it readable in logs; the counter makes it unique */
  size_t used = strlen(sub->id);
  snprintf(sub->id + used, sizeof sub->id - used, "%.16s", stream->id);
  return sub;
}

void cv_subscriber_free(otc_subscriber *sub) {
  cv_media_sub_free(sub->media);
  otc_stream_delete(sub->stream);
  free(sub);
}

otc_status otc_subscriber_delete(otc_subscriber *sub) {
  if (!sub) return OTC_INVALID_PARAM;
  atomic_store(&sub->muted, 1);
  atomic_store(&sub->deleted, 1);
  if (!cv_service_running()) {
    cv_subscriber_free(sub);
    return OTC_SUCCESS;
  }
  struct cv_cmd *c = cv_cmd_new(CV_CMD_SUBSCRIBER_DELETE, NULL);
  if (!c) return OTC_FATAL;
  c->subscriber = sub;
  /* waits for the service thread, which detaches its media first: no callback after this
   * (from a callback of its own on the media thread, it does not wait: the flags above
   * keep every later callback away) */
  return cv_service_submit(c, 1);
}

otc_stream *otc_subscriber_get_stream(const otc_subscriber *sub) { return sub ? sub->stream : NULL; }

static otc_status update(otc_subscriber *sub) {
  if (!atomic_load(&sub->session)) return OTC_SUCCESS; /* applied when it subscribes */
  struct cv_cmd *c = cv_cmd_new(CV_CMD_SUBSCRIBER_UPDATE, NULL);
  if (!c) return OTC_FATAL;
  c->subscriber = sub;
  return cv_service_submit(c, 0);
}

otc_status otc_subscriber_set_subscribe_to_video(otc_subscriber *sub, otc_bool on) {
  if (!sub) return OTC_INVALID_PARAM;
  if (atomic_exchange(&sub->want_video, on ? 1 : 0) == (on ? 1 : 0)) return OTC_SUCCESS;
  return update(sub);
}

otc_status otc_subscriber_set_subscribe_to_audio(otc_subscriber *sub, otc_bool on) {
  if (!sub) return OTC_INVALID_PARAM;
  if (atomic_exchange(&sub->want_audio, on ? 1 : 0) == (on ? 1 : 0)) return OTC_SUCCESS;
  return update(sub);
}

otc_bool otc_subscriber_get_subscribe_to_video(const otc_subscriber *sub) {
  return sub && atomic_load(&((otc_subscriber *)sub)->want_video) ? OTC_TRUE : OTC_FALSE;
}

otc_bool otc_subscriber_get_subscribe_to_audio(const otc_subscriber *sub) {
  return sub && atomic_load(&((otc_subscriber *)sub)->want_audio) ? OTC_TRUE : OTC_FALSE;
}

otc_session *otc_subscriber_get_session(const otc_subscriber *sub) {
  return sub ? atomic_load(&((otc_subscriber *)sub)->session) : NULL;
}

const char *otc_subscriber_get_subscriber_id(const otc_subscriber *sub) { return sub ? sub->id : NULL; }

void *otc_subscriber_get_user_data(const otc_subscriber *sub) { return sub ? sub->cb.user_data : NULL; }

otc_status otc_session_subscribe(otc_session *s, otc_subscriber *sub) {
  if (!s || !sub || atomic_load(&sub->deleted)) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&sub->claimed, &expected, 1)) return OTC_SESSION_ILLEGAL_STATE;
  atomic_store(&sub->muted, 0);
  atomic_store(&sub->session, s);
  struct cv_cmd *c = cv_cmd_new(CV_CMD_SUBSCRIBE, s);
  if (!c) {
    atomic_store(&sub->session, NULL);
    atomic_store(&sub->claimed, 0);
    return OTC_FATAL;
  }
  c->subscriber = sub;
  otc_status rc = cv_service_submit(c, 0);
  if (rc != OTC_SUCCESS) {
    atomic_store(&sub->session, NULL);
    atomic_store(&sub->claimed, 0);
  }
  return rc;
}

otc_status otc_session_unsubscribe(otc_session *s, otc_subscriber *sub) {
  if (!s || !sub) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  if (atomic_load(&sub->session) != s) return OTC_SESSION_SUBSCRIBER_NOT_FOUND;
  atomic_store(&sub->muted, 1); /* no on_audio_data starts after this returns */
  struct cv_cmd *c = cv_cmd_new(CV_CMD_UNSUBSCRIBE, s);
  if (!c) return OTC_FATAL;
  c->subscriber = sub;
  return cv_service_submit(c, 0);
}

otc_status convene_subscriber_set_audio_format(otc_subscriber *sub, int sample_rate, int channels, int frame_ms) {
  if (!sub) return OTC_INVALID_PARAM;
  if (atomic_load(&sub->claimed)) return OTC_ILLEGAL_STATE;
  return cv_media_sub_set_format(sub->media, sample_rate, channels, frame_ms) == CV_MEDIA_PCM_OK ? OTC_SUCCESS
                                                                                                : OTC_INVALID_PARAM;
}

otc_status convene_subscriber_get_media_stats(const otc_subscriber *sub, struct convene_media_stats *out) {
  if (!sub || !out) return OTC_INVALID_PARAM;
  cv_media_sub_get_stats(sub->media, out);
  return OTC_SUCCESS;
}
