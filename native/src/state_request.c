/*
 * Session state, requests: ids, the list of requests waiting for their result, results,
 * and the one final callback each request gets (its result, or the session's end).
 * Service thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* ---- requests ---- */

void cv_state_request(otc_session *s, const char *type, json_t *fields, otc_publisher *pub) {
  int kind = cv_request_kind_of(type);
  if (kind < 0) {
    if (fields) json_decref(fields);
    cv_state_report_error(s, OTC_SESSION_NULL_OR_INVALID_PARAMETER, "unknown request type");
    return;
  }
  cv_state_submit(s, (enum cv_request_kind)kind, fields, pub, NULL, NULL);
}

void cv_state_submit(otc_session *s, enum cv_request_kind kind, json_t *fields, otc_publisher *pub,
                     convene_completion_cb done, void *done_data) {
  const char *type = cv_request_name(kind);
  if (!type) {
    if (fields) json_decref(fields);
    const char *msg = "unknown request type";
    if (done)
      CV_COMPLETE(s, done, done_data, OTC_SESSION_NULL_OR_INVALID_PARAMETER, msg);
    else
      cv_state_report_error(s, OTC_SESSION_NULL_OR_INVALID_PARAMETER, msg);
    return;
  }
  int state = atomic_load(&s->state);
  if (state == CV_STATE_RECONNECTING && s->queued_reconnecting >= s->max_queued) {
    if (fields) json_decref(fields);
    char msg[128];
    snprintf(msg, sizeof msg, "%s: %d requests already wait for the reconnection", type, s->max_queued);
    if (done)
      CV_COMPLETE(s, done, done_data, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    else
      cv_state_report_error(s, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    return;
  }
  if (state == CV_STATE_CONNECTED && s->unsent && s->unsent_count >= s->max_backlog) {
    /* the pacer's backlog is bounded: a sender faster than the server allows learns it here */
    if (fields) json_decref(fields);
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %d requests already wait to be sent (max_queued); not sent", type, s->unsent_count);
    if (done) {
      CV_COMPLETE(s, done, done_data, CONVENE_BACKLOG_FULL, msg);
    } else if (pub) {
      if (kind == CV_REQ_PUBLISH) cv_state_drop_publisher(s, pub); /* not published after all */
      CV_PUB_EMIT(pub, on_error, msg, (enum otc_publisher_error_code)CONVENE_BACKLOG_FULL);
    }
    else
      cv_state_report_error(s, CONVENE_BACKLOG_FULL, msg);
    return;
  }
  if (state != CV_STATE_CONNECTED && state != CV_STATE_RECONNECTING) {
    if (fields) json_decref(fields);
    char msg[128];
    snprintf(msg, sizeof msg, "%s: the session is not connected", type);
    if (done)
      CV_COMPLETE(s, done, done_data, OTC_SESSION_NOT_CONNECTED, msg);
    else if (pub)
      CV_PUB_EMIT(pub, on_error, msg, OTC_PUBLISHER_SESSION_DISCONNECTED);
    else
      cv_state_report_error(s, OTC_SESSION_NOT_CONNECTED, msg);
    return;
  }
  struct cv_pending *p = calloc(1, sizeof *p);
  if (!p) {
    if (fields) json_decref(fields);
    CV_COMPLETE(s, done, done_data, OTC_SESSION_INTERNAL_ERROR, "out of memory");
    return;
  }
  p->id = ++s->next_id;
  p->kind = kind;
  p->text = cv_frame_request(type, p->id, fields);
  p->publisher = pub;
  p->done = done;
  p->done_data = done_data;
  if (!p->text) {
    free(p);
    CV_COMPLETE(s, done, done_data, OTC_SESSION_NULL_OR_INVALID_PARAMETER, "the request could not be encoded");
    return;
  }
  if (s->pending_tail)
    s->pending_tail->next = p;
  else
    s->pending_head = p;
  s->pending_tail = p;
  if (state == CV_STATE_RECONNECTING) s->queued_reconnecting++;
  if (!s->unsent) s->unsent = p;
  s->unsent_count++;
  /* while reconnecting it waits: cv_state_resend_after() sends it after the resume */
  cv_state_pump(s);
}

void cv_state_signal(otc_session *s, json_t *fields, int retry_after_reconnect, convene_completion_cb done,
                     void *done_data) {
  if (!retry_after_reconnect && atomic_load(&s->state) == CV_STATE_RECONNECTING) {
    json_decref(fields);
    const char *msg = "signal not sent: the session is reconnecting and retry_after_reconnect is false";
    if (done)
      CV_COMPLETE(s, done, done_data, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    else
      cv_state_report_error(s, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    return;
  }
  cv_state_submit(s, CV_REQ_SIGNAL, fields, NULL, done, done_data);
}

static struct cv_pending *take_pending(otc_session *s, uint64_t id) {
  struct cv_pending **pp = &s->pending_head, *prev = NULL;
  while (*pp) {
    struct cv_pending *p = *pp;
    if (p->id == id) {
      *pp = p->next;
      if (s->pending_tail == p) s->pending_tail = prev;
      if (s->unsent == p) s->unsent = p->next;
      if (p->sent == 1) s->in_flight--;
      if (p->sent == 0) s->unsent_count--;
      return p;
    }
    prev = p;
    pp = &p->next;
  }
  return NULL;
}

void cv_state_on_result(otc_session *s, json_t *f) {
  struct cv_pending *req = take_pending(s, (uint64_t)cv_json_int(f, "id"));
  if (!req) return;
  otc_publisher *pub = req->publisher;
  if (req->kind == CV_REQ_SUBSCRIBE) {
    cv_state_subscribe_result(s, req->subscriber, f);
  } else if (!cv_json_bool(f, "ok")) {
    json_t *err = json_object_get(f, "error");
    int code = (int)cv_json_int(err, "code");
    const char *message = cv_json_str(err, "message");
    if (req->done) {
      CV_COMPLETE(s, req->done, req->done_data, code ? code : OTC_SESSION_INTERNAL_ERROR, message);
    } else if (pub && req->kind == CV_REQ_PUBLISH) {
      cv_state_drop_publisher(s, pub);
      CV_PUB_EMIT(pub, on_error, message, (enum otc_publisher_error_code)(code ? code : OTC_PUBLISHER_UNABLE_TO_PUBLISH));
    } else {
      cv_state_report_error(s, code ? code : OTC_SESSION_INTERNAL_ERROR, message);
    }
  } else if (req->done) {
    CV_COMPLETE(s, req->done, req->done_data, 0, "");
  } else if (req->kind == CV_REQ_PUBLISH) { /* pub is NULL when deleted meanwhile */
    otc_stream *stream = cv_stream_from_json(json_object_get(f, "stream"), s->self, s->session_id);
    if (stream && pub && pub->session == s) {
      pthread_mutex_lock(&pub->lock);
      pub->stream = stream;
      pthread_mutex_unlock(&pub->lock);
      /* the server's track for the stream's audio (protocol 15.2): its frames flow from now on */
      int64_t track = cv_json_int(json_object_get(f, "tracks"), "audio");
      if (track > 0 && track <= 65535) cv_media_pub_attach(pub->media, (uint16_t)track);
      /* and its video's, when it has a source (a capturer starts capturing now) */
      int64_t vtrack = cv_json_int(json_object_get(f, "tracks"), "video");
      pub->video_track = vtrack > 0 && vtrack <= 65535 ? (uint16_t)vtrack : 0;
      if (pub->video_track && atomic_load(&pub->has_video_source)) {
        cv_media_pub_attach_video(pub->media, (uint16_t)vtrack);
        if (pub->has_capturer && !pub->capturer_started && !pub->deleted) {
          pub->capturer_started = 1;
          atomic_store(&pub->capturing, 1);
          if (pub->capturer_cb.start && !pub->capturer_cb.start(&pub->capturer, pub->capturer_cb.user_data))
            CV_WARN("publisher \"%s\": the video capturer's start failed", pub->name);
        }
      }
      CV_DEBUG("session %.24s: stream %s published", s->session_id, stream->id);
      CV_PUB_EMIT(pub, on_stream_created, stream);
    } else if (stream) { /* unpublished or deleted before the result came */
      cv_state_submit(s, CV_REQ_UNPUBLISH, json_pack("{s:s}", "streamId", stream->id), NULL, NULL, NULL);
      otc_stream_delete(stream);
    }
  }
  free(req->text);
  free(req);
  cv_state_pump(s); /* room in the window */
}

void cv_state_end_requests(otc_session *s, int fail_signals) {
  struct cv_pending *p = s->pending_head;
  s->pending_head = s->pending_tail = NULL;
  s->unsent = NULL;
  s->in_flight = 0;
  s->unsent_count = 0;
  while (p) {
    struct cv_pending *next = p->next;
    if (p->done) {
      CV_COMPLETE(s, p->done, p->done_data, OTC_SESSION_NOT_CONNECTED, "the session ended before the request completed");
    } else if (p->kind == CV_REQ_PUBLISH && p->publisher && p->publisher->session == s) {
      /* a publish whose result has not come: the publisher's one final callback (as libuv's
       * UV_ECANCELED), then it is unpublished like the others */
      otc_publisher *pub = p->publisher;
      cv_state_drop_publisher(s, pub);
      CV_PUB_EMIT(pub, on_error, "publish: the session ended before the stream was created",
                  OTC_PUBLISHER_SESSION_DISCONNECTED);
    } else if (fail_signals && p->kind == CV_REQ_SIGNAL) {
      char msg[96];
      snprintf(msg, sizeof msg, "signal #%llu was not sent: the connection could not be resumed", (unsigned long long)p->id);
      cv_state_report_error(s, OTC_SESSION_UNABLE_TO_SEND_SIGNAL, msg);
    }
    free(p->text);
    free(p);
    p = next;
  }
  s->pending_head = s->pending_tail = NULL;
}
