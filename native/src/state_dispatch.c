/*
 * Session state, events in: a text frame decoded, its sequence number checked, the event
 * dispatched (connections, streams, signals, moderation, results, the handshake's answer)
 * and the callbacks fired. Service thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

const char *cv_static_reason(const char *reason) {
  static const char *const known[] = {"clientDisconnected", "forceDisconnected", "networkDisconnected",
                                      "forceUnpublished",   "mediaStopped",      "serverRotation"};
  for (size_t i = 0; reason && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(reason, known[i]) == 0) return known[i];
  return "clientDisconnected";
}

static const char *static_role(const char *role) {
  static const char *const known[] = {"subscriber", "publisher", "publisheronly", "moderator"};
  for (size_t i = 0; role && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(role, known[i]) == 0) return known[i];
  return "publisher";
}

/* ---- events ---- */

static int listed(const json_t *arr, const char *id) {
  size_t i;
  json_t *item;
  json_array_foreach(arr, i, item) if (strcmp(cv_json_str(item, "id"), id) == 0) return 1;
  return 0;
}

/* Whether `arr` (a JSON array of strings, or NULL) holds `id`. */
static int stream_listed(const json_t *arr, const char *id) {
  size_t i;
  json_t *item;
  json_array_foreach(arr, i, item) if (json_is_string(item) && strcmp(json_string_value(item), id) == 0) return 1;
  return 0;
}

/* Rejoined after the lost connection: what it knew and is gone now is dropped (streams, then
 * connections, reason networkDisconnected); what is still there stays in the stale tables for
 * on_connected to take over without events. */
static void reconcile_stale(otc_session *s, json_t *f) {
  const json_t *streams = json_object_get(f, "streams"), *conns = json_object_get(f, "connections");
  for (size_t i = s->stale_streams.len; i-- > 0;) {
    otc_stream *st = s->stale_streams.items[i];
    if (listed(streams, st->id)) continue;
    cv_table_remove(&s->stale_streams, st->id, cv_stream_id_of);
    st->reason = "networkDisconnected";
    CV_EMIT(s, on_stream_dropped, st);
    otc_stream_delete(st);
  }
  for (size_t i = s->stale_connections.len; i-- > 0;) {
    otc_connection *c = s->stale_connections.items[i];
    if (listed(conns, c->id)) continue;
    cv_table_remove(&s->stale_connections, c->id, cv_connection_id_of);
    c->reason = "networkDisconnected";
    CV_EMIT(s, on_connection_dropped, c);
    otc_connection_delete(c);
  }
}

static void on_connected(otc_session *s, json_t *f) {
  cv_timer_cancel(&s->sul_handshake);
  otc_connection *self = cv_connection_from_json(json_object_get(f, "connection"), s->session_id);
  if (!self) {
    cv_state_end(s, CV_END_CONNECT_FAILED, OTC_SESSION_UNEXPECTED_GET_SESSION_INFO_REPONSE,
                 "server sent a connected frame without a connection");
    return;
  }
  json_t *caps = json_object_get(f, "capabilities");
  pthread_mutex_lock(&s->info_lock);
  if (s->self) otc_connection_delete(s->self);
  s->self = self;
  s->caps.publish = (int)cv_json_int(caps, "publish") ? OTC_TRUE : OTC_FALSE;
  s->caps.force_mute = (int)cv_json_int(caps, "forceMute") ? OTC_TRUE : OTC_FALSE;
  s->caps.force_disconnect = (int)cv_json_int(caps, "forceDisconnect") ? OTC_TRUE : OTC_FALSE;
  pthread_mutex_unlock(&s->info_lock);
  free(s->resume_token);
  s->resume_token = strdup(cv_json_str(f, "resumeToken"));
  s->role = static_role(cv_json_str(f, "role"));
  CV_INFO("session %.24s: connected as %s (role %s)", s->session_id, self->id, s->role);
  s->keepalive_interval_ms = 10000;
  s->keepalive_timeout_ms = 15000;
  cv_state_set_keepalive(s, json_object_get(f, "keepalive"));
  s->last_seq = s->acked_seq = (uint64_t)cv_json_int(f, "lastSeq");
  int grace = (int)cv_json_int(f, "graceWindow");
  s->grace_window_ms = grace > 0 ? grace : 30000;
  s->pace_rate = cv_pace_rate_for(json_object_get(f, "limits"));
  s->pace_burst = cv_pace_burst_for(json_object_get(f, "limits"));
  s->pace_tokens = s->pace_burst;
  s->pace_at_ms = cv_now_ms();
  cv_state_life_connected(s);
  atomic_store(&s->state, CV_STATE_CONNECTED);
  cv_state_start_keepalive(s);
  CV_EMIT0(s, on_connected);
  size_t i;
  json_t *item;
  if (s->stale_connections.len || s->stale_streams.len) reconcile_stale(s, f);
  json_array_foreach(json_object_get(f, "connections"), i, item) {
    /* rejoined: a connection the lost one knew already is kept, without a second event */
    otc_connection *known = cv_table_remove(&s->stale_connections, cv_json_str(item, "id"), cv_connection_id_of);
    if (known) {
      if (cv_table_add(&s->connections, known, cv_connection_id_of) != 0) otc_connection_delete(known);
      continue;
    }
    otc_connection *c = cv_connection_from_json_in(item, s->session_id);
    if (!c || cv_table_add(&s->connections, c, cv_connection_id_of) != 0) {
      otc_connection_delete(c);
      continue;
    }
    CV_EMIT(s, on_connection_created, c);
  }
  json_array_foreach(json_object_get(f, "streams"), i, item) {
    otc_stream *known = cv_table_remove(&s->stale_streams, cv_json_str(item, "id"), cv_stream_id_of);
    if (known) {
      if (cv_table_add(&s->streams, known, cv_stream_id_of) != 0) otc_stream_delete(known);
      continue;
    }
    const otc_connection *owner = cv_table_find(&s->connections, cv_json_str(item, "connectionId"), cv_connection_id_of);
    otc_stream *st = cv_stream_from_json(item, owner, s->session_id);
    if (!st || cv_table_add(&s->streams, st, cv_stream_id_of) != 0) {
      otc_stream_delete(st);
      continue;
    }
    CV_EMIT(s, on_stream_received, st);
  }
}

static void on_property_changed(otc_session *s, json_t *f) {
  otc_stream *st = cv_table_find(&s->streams, cv_json_str(f, "streamId"), cv_stream_id_of);
  if (!st) return;
  const char *prop = cv_json_str(f, "changedProperty");
  json_t *nv = json_object_get(f, "newValue");
  if (strcmp(prop, "hasAudio") == 0) {
    st->has_audio = json_is_true(nv);
    CV_EMIT(s, on_stream_has_audio_changed, st, st->has_audio);
    cv_state_subscribers_audio_changed(s, st->id, st->has_audio);
  } else if (strcmp(prop, "hasVideo") == 0) {
    st->has_video = json_is_true(nv);
    CV_EMIT(s, on_stream_has_video_changed, st, st->has_video);
    cv_state_subscribers_video_changed(s, st->id, st->has_video);
  } else if (strcmp(prop, "videoDimensions") == 0) {
    st->width = (int)cv_json_int(nv, "width");
    st->height = (int)cv_json_int(nv, "height");
    CV_EMIT(s, on_stream_video_dimensions_changed, st, st->width, st->height);
  } else if (strcmp(prop, "videoType") == 0) {
    st->video_type = cv_video_type_from_string(json_string_value(nv));
    CV_EMIT(s, on_stream_video_type_changed, st, st->video_type);
  } else if (strcmp(prop, "name") == 0 && json_is_string(nv)) {
    char *name = strdup(json_string_value(nv));
    if (name) {
      free(st->name);
      st->name = name;
    }
  }
}

static void dispatch(otc_session *s, struct cv_frame *fr) {
  json_t *f = fr->root;
  switch (fr->type) {
    case CV_FRAME_CONNECTED:
      if (atomic_load(&s->state) == CV_STATE_CONNECTING) on_connected(s, f);
      break;
    case CV_FRAME_ERROR: {
      int code = (int)cv_json_int(f, "code");
      if (code == CV_FLOOD_CODE && cv_json_bool(f, "fatal") && atomic_load(&s->state) == CV_STATE_CONNECTED &&
          cv_state_can_resume(s)) {
        /* the flood guard closes the socket (1008) but keeps the connection for its grace
         * window: resume, more slowly, rather than end (and lose what waits for a result) */
        s->flooded = 1;
        s->pace_rate = s->pace_rate > 0 ? s->pace_rate / 2 : CV_PACE_DEFAULT_RATE / 2;
        if (s->pace_rate < CV_PACE_MIN_RATE) s->pace_rate = CV_PACE_MIN_RATE;
        CV_WARN("session %.24s: the server's flood guard closed the socket (%s); resuming at %.0f requests/s",
                s->session_id, cv_json_str(f, "message"), s->pace_rate);
        break;
      }
      cv_state_server_error(s, code, cv_json_str(f, "message"), cv_json_bool(f, "fatal"));
      break;
    }
    case CV_FRAME_RESULT:
      cv_state_on_result(s, f);
      break;
    case CV_FRAME_CONNECTION_CREATED: {
      otc_connection *c = cv_connection_from_json_in(json_object_get(f, "connection"), s->session_id);
      if (!c || cv_table_add(&s->connections, c, cv_connection_id_of) != 0) {
        otc_connection_delete(c);
        break;
      }
      CV_EMIT(s, on_connection_created, c);
      break;
    }
    case CV_FRAME_CONNECTION_DESTROYED: {
      otc_connection *c = cv_table_remove(&s->connections, cv_json_str(json_object_get(f, "connection"), "id"),
                                          cv_connection_id_of);
      if (!c) break;
      c->reason = cv_static_reason(cv_json_str(f, "reason"));
      CV_EMIT(s, on_connection_dropped, c);
      otc_connection_delete(c);
      break;
    }
    case CV_FRAME_STREAM_CREATED: {
      json_t *js = json_object_get(f, "stream");
      const otc_connection *owner = cv_table_find(&s->connections, cv_json_str(js, "connectionId"), cv_connection_id_of);
      otc_stream *st = cv_stream_from_json(js, owner, s->session_id);
      if (!st || cv_table_add(&s->streams, st, cv_stream_id_of) != 0) {
        otc_stream_delete(st);
        break;
      }
      CV_EMIT(s, on_stream_received, st);
      break;
    }
    case CV_FRAME_STREAM_DESTROYED: {
      const char *id = cv_json_str(json_object_get(f, "stream"), "id");
      const char *reason = cv_static_reason(cv_json_str(f, "reason"));
      cv_state_subscribers_stream_event(s, id, CV_FRAME_STREAM_DESTROYED);
      otc_publisher *mine = cv_state_publisher_of_stream(s, id);
      if (mine) {
        cv_state_publisher_stream_gone(s, mine, reason);
        break;
      }
      otc_stream *st = cv_table_remove(&s->streams, id, cv_stream_id_of);
      if (!st) break;
      st->reason = reason;
      CV_EMIT(s, on_stream_dropped, st);
      otc_stream_delete(st);
      break;
    }
    case CV_FRAME_STREAM_INTERRUPTED:
    case CV_FRAME_STREAM_RESTORED:
      cv_state_subscribers_stream_event(s, cv_json_str(f, "streamId"), fr->type);
      break;
    case CV_FRAME_STREAM_PROPERTY_CHANGED:
      on_property_changed(s, f);
      break;
    case CV_FRAME_SIGNAL: {
      const char *from = json_string_value(json_object_get(f, "from"));
      const otc_connection *c = NULL;
      otc_connection *unknown = NULL;
      if (from) {
        c = (s->self && strcmp(s->self->id, from) == 0) ? s->self
                                                         : cv_table_find(&s->connections, from, cv_connection_id_of);
        if (!c) { /* a sender we were not told of (connection events suppressed): its id only */
          json_t *o = json_pack("{s:s}", "id", from);
          c = unknown = cv_connection_from_json(o, s->session_id);
          json_decref(o);
        }
      }
      CV_EMIT(s, on_signal_received, cv_json_str(f, "signalType"), cv_json_str(f, "data"), c);
      if (unknown) otc_connection_delete(unknown);
      break;
    }
    case CV_FRAME_MUTE_FORCED: {
      int active = cv_json_bool(f, "active");
      if (active) {
        const char *sid = cv_json_str(f, "streamId");
        /* a session-wide mute spares the streams it lists (excludedStreamIds) */
        json_t *spared = json_object_get(f, "excludedStreamIds");
        for (size_t i = 0; i < s->publishers.len; i++) {
          otc_publisher *p = s->publishers.items[i];
          if (*sid) {
            if (p->stream && strcmp(p->stream->id, sid) == 0) atomic_store(&p->publish_audio, 0);
          } else if (!(p->stream && stream_listed(spared, p->stream->id))) {
            atomic_store(&p->publish_audio, 0);
          }
        }
      }
      otc_on_mute_forced_info info = {.active = active ? OTC_TRUE : OTC_FALSE};
      CV_EMIT(s, on_mute_forced, &info);
      break;
    }
    case CV_FRAME_SESSION_DISCONNECTED:
      cv_state_server_ending(s, cv_json_str(f, "reason"));
      break;
    case CV_FRAME_RESUMED:
      if (atomic_load(&s->state) == CV_STATE_RECONNECTING) cv_reconnect_resumed(s, f);
      break;
    case CV_FRAME_SIGNAL_UNDELIVERED: {
      /* a signal the server had acknowledged could not reach one addressee (protocol 11) */
      json_t *err = json_object_get(f, "error");
      int code = (int)cv_json_int(err, "code");
      const char *type = cv_json_str(f, "signalType"), *to = cv_json_str(f, "to");
      CV_INFO("session %.24s: signal '%s' (request %lld) not delivered to %s", s->session_id, type,
              (long long)cv_json_int(f, "requestId"), to);
      if (!s->end.deleted && s->on_signal_undelivered) {
        s->in_callback++;
        s->on_signal_undelivered(s, s->cb.user_data, type, to, code ? code : CONVENE_SIGNAL_UNDELIVERED,
                                 cv_json_str(err, "message"));
        s->in_callback--;
      }
      break;
    }
    case CV_FRAME_KEYFRAME_REQUESTED: {
      /* a new subscriber, or one that lost packets, needs a keyframe of my stream */
      otc_publisher *mine = cv_state_publisher_of_stream(s, cv_json_str(f, "streamId"));
      if (mine) cv_media_pub_request_keyframe(mine->media, 1);
      break;
    }
    case CV_FRAME_PONG:
    case CV_FRAME_UNKNOWN:
      break;
  }
}

void cv_state_on_text(otc_session *s, const char *text, size_t len) {
  s->last_rx_ms = cv_now_ms();
  struct cv_frame fr;
  if (cv_frame_decode(text, len, &fr) != 0) {
    CV_WARN("session %.24s: ignoring a frame that is not protocol v1 JSON", s->session_id);
    return;
  }
  if (fr.seq) {
    if (fr.seq <= s->last_seq) { /* replayed after a resume: processed already */
      cv_frame_clear(&fr);
      return;
    }
    if (fr.seq != s->last_seq + 1) {
      char msg[128];
      snprintf(msg, sizeof msg, "protocol error: event %llu after %llu", (unsigned long long)fr.seq,
               (unsigned long long)s->last_seq);
      cv_frame_clear(&fr);
      cv_state_end(s, CV_END_DROPPED, OTC_SESSION_CONNECTION_DROPPED, msg);
      return;
    }
    s->last_seq = fr.seq;
  }
  dispatch(s, &fr);
  cv_frame_clear(&fr);
  cv_state_ack_events(s);
}
