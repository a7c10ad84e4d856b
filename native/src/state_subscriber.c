/*
 * Session state, subscribers: subscribe / unsubscribe requests, the tracks of their results,
 * routing received media frames by track, the interrupted / restored / destroyed stream
 * events, the subscribers' end with the session; and sending the frames publishers encoded.
 * Service thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "media/media_frame.h"

static void drop_subscriber(otc_session *s, otc_subscriber *sub) {
  for (size_t i = 0; i < s->subscribers.len; i++) {
    if (s->subscribers.items[i] == sub) {
      memmove(&s->subscribers.items[i], &s->subscribers.items[i + 1],
              (s->subscribers.len - i - 1) * sizeof(void *));
      s->subscribers.len--;
      break;
    }
  }
  for (struct cv_pending *q = s->pending_head; q; q = q->next)
    if (q->subscriber == sub) q->subscriber = NULL;
  cv_media_sub_detach(sub->media);
  sub->state = CV_SUB_IDLE;
  sub->interrupted = 0;
  atomic_store(&sub->session, NULL);
  atomic_store(&sub->claimed, 0);
}

#define SUB_EMIT(sub, name, ...)                                                               \
  do {                                                                                         \
    if (!atomic_load(&(sub)->deleted) && (sub)->cb.name) (sub)->cb.name((sub), (sub)->cb.user_data, ##__VA_ARGS__); \
  } while (0)
#define SUB_EMIT0(sub, name)                                                                   \
  do {                                                                                         \
    if (!atomic_load(&(sub)->deleted) && (sub)->cb.name) (sub)->cb.name((sub), (sub)->cb.user_data); \
  } while (0)

static void fail(otc_subscriber *sub, int code, const char *message) {
  SUB_EMIT(sub, on_error, message, (enum otc_subscriber_error_code)code);
}

/*
 * The server keeps ONE subscription per (connection, stream), and a second subscribe replaces
 * its kinds (docs/protocol.md section 4.1). Several otc_subscribers of one stream in one
 * session therefore share it: what is asked for is the union of their kinds, an unsubscribe
 * goes out only when the last of them goes, and each received frame goes to every one of them
 * that wants its kind (each attaches only the tracks of the kinds it wants).
 */

/* The union of the kinds this session's subscribers of stream_id want; returns how many there are. */
static int stream_kinds(otc_session *s, const char *stream_id, int *audio, int *video) {
  int n = 0;
  *audio = *video = 0;
  for (size_t i = 0; i < s->subscribers.len; i++) {
    otc_subscriber *sub = s->subscribers.items[i];
    if (strcmp(sub->stream->id, stream_id) != 0) continue;
    n++;
    *audio |= atomic_load(&sub->want_audio) != 0;
    *video |= atomic_load(&sub->want_video) != 0;
  }
  return n;
}

static otc_subscriber *first_of_stream(otc_session *s, const char *stream_id) {
  for (size_t i = 0; i < s->subscribers.len; i++) {
    otc_subscriber *sub = s->subscribers.items[i];
    if (strcmp(sub->stream->id, stream_id) == 0) return sub;
  }
  return NULL;
}

static json_t *subscribe_fields(otc_session *s, otc_subscriber *sub) {
  int audio, video;
  stream_kinds(s, sub->stream->id, &audio, &video);
  return json_pack("{s:s, s:b, s:b}", "streamId", sub->stream->id, "audio", audio, "video", video);
}

void cv_state_ignore_completion(otc_session *s, void *user_data, void *request_data, int error_code,
                                const char *message) {
  (void)user_data;
  (void)request_data;
  if (error_code) CV_DEBUG("session %.24s: unsubscribe: %d %s", s->session_id, error_code, message);
}

static void send_subscribe(otc_session *s, otc_subscriber *sub) {
  uint64_t id = s->next_id + 1;
  cv_state_submit(s, CV_REQ_SUBSCRIBE, subscribe_fields(s, sub), NULL, NULL, NULL);
  if (s->pending_tail && s->pending_tail->id == id) s->pending_tail->subscriber = sub;
}

void cv_state_subscribe(otc_session *s, otc_subscriber *sub) {
  if (atomic_load(&s->state) != CV_STATE_CONNECTED) {
    drop_subscriber(s, sub);
    fail(sub, OTC_SUBSCRIBER_SESSION_DISCONNECTED, "subscribe: the session is not connected");
    return;
  }
  if (s->unsent && s->unsent_count >= s->max_backlog) {
    drop_subscriber(s, sub);
    fail(sub, CONVENE_BACKLOG_FULL, "subscribe: too many requests already wait to be sent (max_queued)");
    return;
  }
  if (cv_table_add(&s->subscribers, sub, NULL) != 0) {
    drop_subscriber(s, sub);
    fail(sub, OTC_SUBSCRIBER_INTERNAL_ERROR, "subscribe: out of memory");
    return;
  }
  sub->state = CV_SUB_REQUESTED;
  CV_DEBUG("session %.24s: subscribing to %s", s->session_id, sub->stream->id);
  send_subscribe(s, sub);
}

/* The subscribe request's result (state_request.c). */
void cv_state_subscribe_result(otc_session *s, otc_subscriber *sub, json_t *f) {
  if (!sub || atomic_load(&sub->session) != s) return;
  if (!cv_json_bool(f, "ok")) {
    json_t *err = json_object_get(f, "error");
    int code = (int)cv_json_int(err, "code");
    /* the server's "no such stream" is the Vonage subscriber's 1604 */
    if (code == OTC_SESSION_FORCE_UNPUBLISH_OR_INVALID_STREAM || code == 0) code = OTC_SUBSCRIBER_SERVER_CANNOT_FIND_STREAM;
    int was = sub->state;
    drop_subscriber(s, sub);
    if (was == CV_SUB_REQUESTED) fail(sub, code, cv_json_str(err, "message"));
    else fail(sub, code, cv_json_str(err, "message")); /* a re-subscribe (audio on/off) refused: it ends too */
    return;
  }
  json_t *subn = json_object_get(f, "subscription");
  /* the result names the tracks of every kind the session's subscribers of the stream asked
   * for together: this one takes those it wants */
  int64_t track = atomic_load(&sub->want_audio) ? cv_json_int(json_object_get(subn, "audio"), "track") : 0;
  if (track > 0 && track <= 65535) {
    if (cv_media_sub_track(sub->media) == track) {
      /* already attached (a re-subscribe of the stream): the decoder goes on */
    } else if (cv_media_sub_attach(sub->media, (uint16_t)track) != 0) {
      drop_subscriber(s, sub);
      fail(sub, OTC_SUBSCRIBER_INTERNAL_ERROR, "subscribe: no memory for the audio decoder");
      return;
    }
  } else {
    cv_media_sub_detach_audio(sub->media); /* not subscribed to audio (any more) */
  }
  int had_video = cv_media_sub_video_track(sub->media) != 0;
  int64_t vtrack = atomic_load(&sub->want_video) ? cv_json_int(json_object_get(subn, "video"), "track") : 0;
  if (vtrack > 0 && vtrack <= 65535) cv_media_sub_attach_video(sub->media, (uint16_t)vtrack);
  else cv_media_sub_detach_video(sub->media);
  int has_video = cv_media_sub_video_track(sub->media) != 0;
  if (sub->state == CV_SUB_REQUESTED) {
    sub->state = CV_SUB_CONNECTED;
    SUB_EMIT(sub, on_connected, sub->stream);
  } else if (had_video != has_video) { /* otc_subscriber_set_subscribe_to_video took effect */
    if (has_video) SUB_EMIT(sub, on_video_enabled, OTC_VIDEO_REASON_SUBSCRIBE_TO_VIDEO);
    else SUB_EMIT(sub, on_video_disabled, OTC_VIDEO_REASON_SUBSCRIBE_TO_VIDEO);
  }
}

void cv_state_unsubscribe(otc_session *s, otc_subscriber *sub) {
  if (atomic_load(&sub->session) != s) return;
  int connected = atomic_load(&s->state) == CV_STATE_CONNECTED || atomic_load(&s->state) == CV_STATE_RECONNECTING;
  int audio0, video0, audio1, video1;
  stream_kinds(s, sub->stream->id, &audio0, &video0);
  drop_subscriber(s, sub);
  if (!connected) return;
  if (stream_kinds(s, sub->stream->id, &audio1, &video1) == 0) {
    cv_state_submit(s, CV_REQ_UNSUBSCRIBE, json_pack("{s:s}", "streamId", sub->stream->id), NULL,
                    cv_state_ignore_completion, NULL);
  } else if (audio1 != audio0 || video1 != video0) {
    /* others of this session still subscribe to the stream: the subscription narrows to their
     * kinds (its result goes to one of them, whose tracks it leaves as they are) */
    send_subscribe(s, first_of_stream(s, sub->stream->id));
  }
}

void cv_state_subscriber_update(otc_session *s, otc_subscriber *sub) {
  if (atomic_load(&sub->session) != s || sub->state != CV_SUB_CONNECTED) return; /* applied by the pending subscribe */
  if (!atomic_load(&sub->want_audio)) cv_media_sub_detach_audio(sub->media);
  if (!atomic_load(&sub->want_video) && cv_media_sub_video_track(sub->media)) {
    cv_media_sub_detach_video(sub->media); /* frames in flight are discarded from now on */
    SUB_EMIT(sub, on_video_disabled, OTC_VIDEO_REASON_SUBSCRIBE_TO_VIDEO);
  }
  send_subscribe(s, sub);
}

void cv_state_forget_subscriber(otc_session *s, otc_subscriber *sub) {
  if (atomic_load(&sub->session) != s) {
    for (struct cv_pending *q = s->pending_head; q; q = q->next)
      if (q->subscriber == sub) q->subscriber = NULL;
    return;
  }
  cv_state_unsubscribe(s, sub);
}

/* streamInterrupted / streamRestored / streamDestroyed for the subscribers of a stream. */
void cv_state_subscribers_stream_event(otc_session *s, const char *stream_id, enum cv_frame_type type) {
  for (size_t i = 0; i < s->subscribers.len;) {
    otc_subscriber *sub = s->subscribers.items[i];
    if (strcmp(sub->stream->id, stream_id) != 0) {
      i++;
      continue;
    }
    if (type == CV_FRAME_STREAM_INTERRUPTED) {
      if (!sub->interrupted) {
        sub->interrupted = 1;
        SUB_EMIT0(sub, on_disconnected);
      }
    } else if (type == CV_FRAME_STREAM_RESTORED) {
      if (sub->interrupted) {
        sub->interrupted = 0;
        SUB_EMIT0(sub, on_reconnected);
      }
    } else { /* destroyed: the subscription is gone (the session's on_stream_dropped says why) */
      drop_subscriber(s, sub);
      continue;
    }
    i++;
  }
}

/* The stream's hasAudio changed: on_audio_enabled / on_audio_disabled of its subscribers. */
void cv_state_subscribers_audio_changed(otc_session *s, const char *stream_id, int has_audio) {
  for (size_t i = 0; i < s->subscribers.len; i++) {
    otc_subscriber *sub = s->subscribers.items[i];
    if (strcmp(sub->stream->id, stream_id) != 0) continue;
    if (has_audio) SUB_EMIT0(sub, on_audio_enabled);
    else SUB_EMIT0(sub, on_audio_disabled);
  }
}

/* The stream's hasVideo changed: on_video_enabled / on_video_disabled (PUBLISH_VIDEO) of its subscribers. */
void cv_state_subscribers_video_changed(otc_session *s, const char *stream_id, int has_video) {
  for (size_t i = 0; i < s->subscribers.len; i++) {
    otc_subscriber *sub = s->subscribers.items[i];
    if (strcmp(sub->stream->id, stream_id) != 0 || !atomic_load(&sub->want_video)) continue;
    if (has_video) SUB_EMIT(sub, on_video_enabled, OTC_VIDEO_REASON_PUBLISH_VIDEO);
    else SUB_EMIT(sub, on_video_disabled, OTC_VIDEO_REASON_PUBLISH_VIDEO);
  }
}

/* The session ended: every subscription with it (on_error 1010, unless the session was deleted). */
void cv_state_end_subscribers(otc_session *s) {
  while (s->subscribers.len) {
    otc_subscriber *sub = s->subscribers.items[s->subscribers.len - 1];
    drop_subscriber(s, sub);
    if (!s->end.deleted) fail(sub, OTC_SUBSCRIBER_SESSION_DISCONNECTED, "the session ended");
  }
}

void cv_state_on_binary(otc_session *s, const unsigned char *bytes, size_t len) {
  s->last_rx_ms = cv_now_ms();
  uint16_t track = cv_media_track_of(bytes, len);
  struct cv_media_frame fr;
  int ok = cv_media_frame_decode(bytes, len, &fr) == CV_MEDIA_OK;
  int delivered = 0;
  /* every subscriber of this session that has the track (several may share a stream) */
  for (size_t i = 0; track && i < s->subscribers.len; i++) {
    otc_subscriber *sub = s->subscribers.items[i];
    int video = cv_media_sub_video_track(sub->media) == track;
    if (!video && cv_media_sub_track(sub->media) != track) continue;
    if (!ok) {
      cv_media_sub_count_malformed(sub->media);
      continue;
    }
    if (fr.header.kind != (video ? CV_MEDIA_KIND_VIDEO : CV_MEDIA_KIND_AUDIO)) continue;
    cv_media_sub_push(sub->media, bytes, len);
    delivered++;
  }
  if (!ok) s->media_malformed++;
  else if (!delivered) s->media_unknown_track++;
}

/* ---- sending what publishers encoded ---- */

static int send_frame(void *owner, const uint8_t *bytes, size_t len, int video) {
  otc_publisher *p = owner;
  otc_session *s = p->session;
  if (!s || !p->stream || atomic_load(&s->state) != CV_STATE_CONNECTED || !s->link) return 1; /* no link */
  int rc = video ? cv_transport_send_video(s->link, bytes, len) : cv_transport_send_binary(s->link, bytes, len);
  return rc == 0 ? 0 : -1;
}

static size_t backlog(void *owner) {
  otc_publisher *p = owner;
  return p->session ? cv_transport_binary_backlog(p->session->link) : 0;
}

/* The media thread wants a keyframe for this subscriber (rate-bounded there): requestKeyframe. */
static void request_keyframe(void *owner) {
  otc_subscriber *sub = owner;
  otc_session *s = atomic_load(&sub->session);
  if (!s || sub->state != CV_SUB_CONNECTED || atomic_load(&s->state) != CV_STATE_CONNECTED) return;
  if (s->unsent && s->unsent_count >= s->max_backlog) return; /* the pacer is full: the next one will do */
  cv_state_submit(s, CV_REQ_REQUEST_KEYFRAME, json_pack("{s:s}", "streamId", sub->stream->id), NULL,
                  cv_state_ignore_completion, NULL);
}

void cv_state_media_flush(void) {
  static const struct cv_media_sink sink = {.send = send_frame, .backlog = backlog, .request_keyframe = request_keyframe};
  cv_media_flush(&sink);
}
