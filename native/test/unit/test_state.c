/*
 * The session state machine (state.c), driven without a socket: frames go in through
 * cv_state_on_text, callbacks are counted exactly, frames the session sends are taken out
 * of its (fake) link with cv_transport_take_sent. See native/src/testing.c.
 */
#include <stdarg.h>

#include "check.h"
#include "internal.h"

struct rec {
  int connected, disconnected, conn_created, conn_dropped, stream_received, stream_dropped;
  int audio_changed, video_changed, dims_changed, type_changed, signals, errors, mute_forced;
  int last_error;
  int last_bool;
  int last_w, last_h;
  char last_id[64];
  char last_data[64];
  char last_signal[128];
  char last_from[64];
  int pub_created, pub_destroyed, pub_errors, pub_last_error;
  int reconnecting, reconnected;
  char log[1024]; /* the callbacks in order, for the end table's tests */
  int silence_on_signal; /* on_signal_received calls otc_session_delete's service-thread part */
};

static struct rec R;

static void copy(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src ? src : "(null)"); }

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
  size_t used = strlen(R.log);
  if (used) snprintf(R.log + used, sizeof R.log - used, " ");
  used = strlen(R.log);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(R.log + used, sizeof R.log - used, fmt, ap);
  va_end(ap);
}

static void on_connected(otc_session *s, void *u) {
  R.connected++;
  logf_("connected");
}
static void on_reconnecting(otc_session *s, void *u) {
  R.reconnecting++;
  logf_("reconnecting");
}
static void on_reconnected(otc_session *s, void *u) {
  R.reconnected++;
  logf_("reconnected");
}
static void on_disconnected(otc_session *s, void *u) {
  R.disconnected++;
  logf_("disconnected:%s", convene_session_get_disconnect_reason(s));
}
static void on_connection_created(otc_session *s, void *u, const otc_connection *c) {
  R.conn_created++;
  copy(R.last_id, sizeof R.last_id, otc_connection_get_id(c));
  copy(R.last_data, sizeof R.last_data, otc_connection_get_data(c));
}
static void on_connection_dropped(otc_session *s, void *u, const otc_connection *c) {
  R.conn_dropped++;
  copy(R.last_id, sizeof R.last_id, otc_connection_get_id(c));
}
static void on_stream_received(otc_session *s, void *u, const otc_stream *st) {
  R.stream_received++;
  copy(R.last_id, sizeof R.last_id, otc_stream_get_id(st));
  copy(R.last_data, sizeof R.last_data, otc_connection_get_data(otc_stream_get_connection(st)));
}
static void on_stream_dropped(otc_session *s, void *u, const otc_stream *st) {
  R.stream_dropped++;
  copy(R.last_id, sizeof R.last_id, otc_stream_get_id(st));
}
static void on_audio(otc_session *s, void *u, const otc_stream *st, otc_bool v) {
  R.audio_changed++;
  R.last_bool = v;
  CHECK_EQ(v, otc_stream_has_audio(st));
}
static void on_video(otc_session *s, void *u, const otc_stream *st, otc_bool v) {
  R.video_changed++;
  R.last_bool = v;
}
static void on_dims(otc_session *s, void *u, const otc_stream *st, int w, int h) {
  R.dims_changed++;
  R.last_w = w;
  R.last_h = h;
}
static void on_type(otc_session *s, void *u, const otc_stream *st, enum otc_stream_video_type t) {
  R.type_changed++;
  R.last_w = (int)t;
}
static void on_signal(otc_session *s, void *u, const char *type, const char *data, const otc_connection *from) {
  R.signals++;
  logf_("signal");
  if (R.silence_on_signal) cv_state_silence(s);
  snprintf(R.last_signal, sizeof R.last_signal, "%s:%s", type, data);
  copy(R.last_from, sizeof R.last_from, from ? otc_connection_get_id(from) : NULL);
}
static void on_error(otc_session *s, void *u, const char *msg, enum otc_session_error_code code) {
  R.errors++;
  R.last_error = (int)code;
  logf_("error:%d", (int)code);
  CHECK_NOT_NULL(msg);
}
static void on_mute_forced(otc_session *s, void *u, otc_on_mute_forced_info *info) {
  R.mute_forced++;
  R.last_bool = info->active;
}

static void pub_created(otc_publisher *p, void *u, const otc_stream *st) {
  R.pub_created++;
  copy(R.last_id, sizeof R.last_id, otc_stream_get_id(st));
}
static void pub_destroyed(otc_publisher *p, void *u, const otc_stream *st) {
  R.pub_destroyed++;
  logf_("pub_destroyed:%s", convene_stream_get_reason(st));
}
static void pub_error(otc_publisher *p, void *u, const char *m, enum otc_publisher_error_code c) {
  R.pub_errors++;
  logf_("pub_error:%d", (int)c);
  R.pub_last_error = (int)c;
}

static const struct otc_session_callbacks k_cb = {
    .on_connected = on_connected,
    .on_disconnected = on_disconnected,
    .on_reconnection_started = on_reconnecting,
    .on_reconnected = on_reconnected,
    .on_connection_created = on_connection_created,
    .on_connection_dropped = on_connection_dropped,
    .on_stream_received = on_stream_received,
    .on_stream_dropped = on_stream_dropped,
    .on_stream_has_audio_changed = on_audio,
    .on_stream_has_video_changed = on_video,
    .on_stream_video_dimensions_changed = on_dims,
    .on_stream_video_type_changed = on_type,
    .on_signal_received = on_signal,
    .on_error = on_error,
    .on_mute_forced = on_mute_forced,
};

static void feed(otc_session *s, const char *text) { cv_state_on_text(s, text, strlen(text)); }

/* Takes the frames the session sent since the last take, oldest first, as one JSON array
 * (caller decrefs): through cv_transport_take_sent, as the wire would take them. */
static json_t *sent(otc_session *s) {
  json_t *all = json_array();
  char *text;
  size_t len;
  while (s->link && (text = cv_transport_take_sent(s->link, &len)) != NULL) {
    json_t *f = json_loadb(text, len, 0, NULL);
    CHECK_NOT_NULL(f);
    json_array_append_new(all, f);
    free(text);
  }
  return all;
}

/* The last frame sent of the given type (borrowed from `all`), or NULL. */
static json_t *last_sent(json_t *all, const char *type) {
  json_t *found = NULL, *f;
  size_t i;
  json_array_foreach(all, i, f) if (strcmp(cv_json_str(f, "type"), type) == 0) found = f;
  return found;
}

#define CONNECTED_FRAME                                                                                        \
  "{\"type\":\"connected\",\"v\":1,\"sessionId\":\"2_s\",\"connection\":{\"id\":\"c-me\",\"creationTime\":1,"     \
  "\"data\":\"me=1\"},\"role\":\"moderator\",\"capabilities\":{\"publish\":1,\"subscribe\":1,\"signal\":1,"      \
  "\"forceDisconnect\":1,\"forceUnpublish\":1,\"forceMute\":0},\"resumeToken\":\"rt\",\"connections\":["          \
  "{\"id\":\"c-a\",\"creationTime\":0,\"data\":\"a=1\"},{\"id\":\"c-b\",\"creationTime\":0,\"data\":\"b=1\"}],"  \
  "\"streams\":[{\"id\":\"s-a\",\"connectionId\":\"c-a\",\"creationTime\":0,\"name\":\"A\",\"hasAudio\":true,"   \
  "\"hasVideo\":true,\"videoType\":\"camera\",\"videoDimensions\":{\"width\":640,\"height\":480}}],"             \
  "\"forceMute\":{\"active\":false},\"limits\":{},\"keepalive\":{\"interval\":10000,\"timeout\":15000},"         \
  "\"graceWindow\":30000,\"lastSeq\":0}"

static otc_session *connected_session(void) {
  memset(&R, 0, sizeof R);
  otc_session *s = cv_testing_session_new("4700123", "2_s", &k_cb);
  CHECK_NOT_NULL(s);
  CHECK_NULL(otc_session_get_connection(s));
  CHECK_EQ(0, otc_session_get_capabilities(s).publish);
  feed(s, CONNECTED_FRAME);
  CHECK_EQ(1, R.connected);
  CHECK_EQ(CV_STATE_CONNECTED, atomic_load(&s->state));
  return s;
}

static void test_connected(void) {
  otc_session *s = connected_session();
  CHECK_EQ(2, R.conn_created);
  CHECK_EQ(1, R.stream_received);
  CHECK_STREQ("s-a", R.last_id);
  CHECK_STREQ("a=1", R.last_data); /* the stream's connection is the known one */
  CHECK_EQ(0, R.errors);
  otc_connection *me = otc_session_get_connection(s);
  CHECK_STREQ("c-me", otc_connection_get_id(me));
  CHECK_STREQ("me=1", otc_connection_get_data(me));
  CHECK_STREQ("2_s", otc_connection_get_session_id(me));
  struct otc_session_capabilities caps = otc_session_get_capabilities(s);
  CHECK_EQ(1, caps.publish);
  CHECK_EQ(1, caps.force_disconnect);
  CHECK_EQ(0, caps.force_mute);
  /* a second connected frame is ignored */
  feed(s, CONNECTED_FRAME);
  CHECK_EQ(1, R.connected);
  CHECK_EQ(2, R.conn_created);
  cv_testing_session_free(s);
  CHECK_EQ(0, R.disconnected); /* freed as deleted: no callback */
}

static void test_events(void) {
  otc_session *s = connected_session();
  feed(s, "{\"type\":\"signal\",\"seq\":1,\"signalType\":\"chat\",\"data\":\"hi\",\"from\":\"c-a\"}");
  CHECK_EQ(1, R.signals);
  CHECK_STREQ("chat:hi", R.last_signal);
  CHECK_STREQ("c-a", R.last_from);
  feed(s, "{\"type\":\"signal\",\"seq\":2,\"signalType\":\"\",\"data\":\"\",\"from\":\"c-me\"}");
  CHECK_STREQ("c-me", R.last_from);
  feed(s, "{\"type\":\"signal\",\"seq\":3,\"signalType\":\"rest\",\"data\":\"x\",\"from\":null}");
  CHECK_STREQ("(null)", R.last_from);
  /* a sender never announced (connection events suppressed): a connection with its id */
  feed(s, "{\"type\":\"signal\",\"seq\":4,\"signalType\":\"t\",\"data\":\"x\",\"from\":\"c-unknown\"}");
  CHECK_STREQ("c-unknown", R.last_from);
  CHECK_EQ(4, R.signals);
  /* replayed events are processed once */
  feed(s, "{\"type\":\"signal\",\"seq\":3,\"signalType\":\"rest\",\"data\":\"x\",\"from\":null}");
  feed(s, "{\"type\":\"signal\",\"seq\":1,\"signalType\":\"rest\",\"data\":\"x\",\"from\":null}");
  CHECK_EQ(4, R.signals);
  /* frames that are not protocol JSON are ignored */
  feed(s, "garbage");
  feed(s, "[1,2]");
  feed(s, "{\"type\":\"signal\",\"seq\":0}");
  feed(s, "{\"type\":\"brandNew\",\"seq\":5}"); /* unknown type: consumes its seq */
  feed(s, "{\"type\":\"pong\"}");
  CHECK_EQ(4, R.signals);
  CHECK_EQ(0, R.errors);
  CHECK_EQ(5, s->last_seq);

  feed(s, "{\"type\":\"connectionCreated\",\"seq\":6,\"connection\":{\"id\":\"c-c\",\"data\":\"c=1\"}}");
  CHECK_EQ(3, R.conn_created);
  CHECK_STREQ("c=1", R.last_data);
  feed(s, "{\"type\":\"connectionCreated\",\"seq\":7,\"connection\":{\"data\":\"no id\"}}");
  CHECK_EQ(3, R.conn_created);
  feed(s, "{\"type\":\"streamCreated\",\"seq\":8,\"stream\":{\"id\":\"s-c\",\"connectionId\":\"c-c\",\"hasAudio\":true}}");
  CHECK_EQ(2, R.stream_received);
  CHECK_STREQ("c=1", R.last_data);

  feed(s, "{\"type\":\"streamPropertyChanged\",\"seq\":9,\"streamId\":\"s-c\",\"changedProperty\":\"hasAudio\","
          "\"oldValue\":true,\"newValue\":false}");
  CHECK_EQ(1, R.audio_changed);
  CHECK_EQ(0, R.last_bool);
  feed(s, "{\"type\":\"streamPropertyChanged\",\"seq\":10,\"streamId\":\"s-c\",\"changedProperty\":\"hasVideo\","
          "\"newValue\":true}");
  CHECK_EQ(1, R.video_changed);
  CHECK_EQ(1, R.last_bool);
  feed(s, "{\"type\":\"streamPropertyChanged\",\"seq\":11,\"streamId\":\"s-c\",\"changedProperty\":"
          "\"videoDimensions\",\"newValue\":{\"width\":320,\"height\":240}}");
  CHECK_EQ(1, R.dims_changed);
  CHECK_EQ(320, R.last_w);
  CHECK_EQ(240, R.last_h);
  feed(s, "{\"type\":\"streamPropertyChanged\",\"seq\":12,\"streamId\":\"s-c\",\"changedProperty\":\"videoType\","
          "\"newValue\":\"screen\"}");
  CHECK_EQ(1, R.type_changed);
  CHECK_EQ(OTC_STREAM_VIDEO_TYPE_SCREEN, R.last_w);
  feed(s, "{\"type\":\"streamPropertyChanged\",\"seq\":13,\"streamId\":\"s-c\",\"changedProperty\":\"name\","
          "\"newValue\":\"renamed\"}");
  otc_stream *st = cv_table_find(&s->streams, "s-c", cv_stream_id_of);
  CHECK_STREQ("renamed", otc_stream_get_name(st));
  feed(s, "{\"type\":\"streamPropertyChanged\",\"seq\":14,\"streamId\":\"s-nope\",\"changedProperty\":\"hasAudio\","
          "\"newValue\":true}");
  CHECK_EQ(1, R.audio_changed);

  feed(s, "{\"type\":\"streamDestroyed\",\"seq\":15,\"stream\":{\"id\":\"s-c\"},\"reason\":\"clientDisconnected\"}");
  CHECK_EQ(1, R.stream_dropped);
  CHECK_STREQ("s-c", R.last_id);
  feed(s, "{\"type\":\"streamDestroyed\",\"seq\":16,\"stream\":{\"id\":\"s-c\"}}");
  CHECK_EQ(1, R.stream_dropped);
  feed(s, "{\"type\":\"connectionDestroyed\",\"seq\":17,\"connection\":{\"id\":\"c-c\"}}");
  CHECK_EQ(1, R.conn_dropped);
  CHECK_STREQ("c-c", R.last_id);
  feed(s, "{\"type\":\"connectionDestroyed\",\"seq\":18,\"connection\":{\"id\":\"c-c\"}}");
  CHECK_EQ(1, R.conn_dropped);
  CHECK_EQ(0, R.errors);

  /* a failed request result is reported with its code */
  cv_state_request(s, "signal", json_pack("{s:s}", "signalType", "x"), NULL);
  json_t *out = sent(s);
  json_t *req = last_sent(out, "signal");
  CHECK_NOT_NULL(req);
  char text[256];
  snprintf(text, sizeof text,
           "{\"type\":\"result\",\"seq\":19,\"id\":%lld,\"ok\":false,\"error\":{\"code\":1550,\"name\":\"x\","
           "\"message\":\"denied\"}}",
           (long long)cv_json_int(req, "id"));
  json_decref(out);
  feed(s, text);
  CHECK_EQ(1, R.errors);
  CHECK_EQ(1550, R.last_error);
  feed(s, text); /* replay: ignored */
  CHECK_EQ(1, R.errors);

  /* a non-fatal error frame is reported and the session stays */
  feed(s, "{\"type\":\"error\",\"code\":4405,\"name\":\"CONVENE_UNKNOWN_FRAME_TYPE\",\"message\":\"?\",\"fatal\":false}");
  CHECK_EQ(2, R.errors);
  CHECK_EQ(4405, R.last_error);
  CHECK_EQ(CV_STATE_CONNECTED, atomic_load(&s->state));

  /* a gap in seq ends the session: one error, one on_disconnected */
  feed(s, "{\"type\":\"signal\",\"seq\":30,\"signalType\":\"x\",\"data\":\"\",\"from\":null}");
  CHECK_EQ(3, R.errors);
  CHECK_EQ(OTC_SESSION_CONNECTION_DROPPED, R.last_error);
  CHECK_EQ(1, R.disconnected);
  CHECK_EQ(CV_STATE_DISCONNECTED, atomic_load(&s->state));
  CHECK_EQ(4, R.signals);
  cv_state_disconnect(s); /* disconnect after the end: nothing more */
  CHECK_EQ(1, R.disconnected);
  cv_testing_session_free(s);
}

static void test_acks(void) {
  otc_session *s = connected_session();
  for (int i = 1; i <= 40; i++) {
    char text[128];
    snprintf(text, sizeof text, "{\"type\":\"signal\",\"seq\":%d,\"signalType\":\"n\",\"data\":\"%d\",\"from\":null}", i, i);
    feed(s, text);
  }
  CHECK_EQ(40, R.signals);
  json_t *out = sent(s);
  json_t *ack = last_sent(out, "ack");
  CHECK_NOT_NULL(ack); /* acked at least every 32 events */
  CHECK_EQ(32, cv_json_int(ack, "seq"));
  json_decref(out);
  CHECK(s->ack_scheduled); /* the rest is acked by the timer */
  struct cv_link *link = s->link;
  cv_state_disconnect(s);
  CHECK_EQ(1, R.disconnected);
  CHECK_EQ(0, R.errors);
  CHECK_NULL(s->link);
  (void)link; /* freed: it had no socket, so nothing is left waiting for the server */
  CHECK_EQ(0, cv_transport_awaiting_close());
  cv_testing_session_free(s);
}

static void test_fatal_error_while_connecting(void) {
  memset(&R, 0, sizeof R);
  otc_session *s = cv_testing_session_new("4700123", "2_s", &k_cb);
  cv_state_on_open(s);
  json_t *out = sent(s);
  json_t *connect = last_sent(out, "connect");
  CHECK_NOT_NULL(connect);
  CHECK_STREQ("testing-token", cv_json_str(connect, "token"));
  CHECK_STREQ("2_s", cv_json_str(connect, "sessionId"));
  json_decref(out);
  feed(s, "{\"type\":\"error\",\"code\":1004,\"name\":\"OT_AUTHENTICATION_ERROR\",\"message\":\"token is malformed\","
          "\"fatal\":true}");
  CHECK_EQ(1, R.errors);
  CHECK_EQ(1004, R.last_error);
  CHECK_EQ(CV_STATE_DISCONNECTED, atomic_load(&s->state));
  cv_state_on_closed(s, 4004, "");
  CHECK_EQ(1, R.errors);
  CHECK_EQ(0, R.connected);
  CHECK_EQ(0, R.disconnected);
  feed(s, CONNECTED_FRAME); /* too late: ignored */
  CHECK_EQ(0, R.connected);
  cv_testing_session_free(s);
}

static void test_close_during_handshake(void) {
  memset(&R, 0, sizeof R);
  otc_session *s = cv_testing_session_new("4700123", "2_s", &k_cb);
  cv_state_on_closed(s, 1006, "gone");
  CHECK_EQ(1, R.errors);
  CHECK_EQ(OTC_SESSION_CONNECTION_FAILED, R.last_error);
  CHECK_EQ(0, R.disconnected);
  cv_testing_session_free(s);

  /* a drop while connected starts a reconnection: no error yet; giving up reports 1022 */
  memset(&R, 0, sizeof R);
  s = connected_session();
  cv_state_on_closed(s, 1006, "gone");
  CHECK_EQ(0, R.errors);
  CHECK_EQ(0, R.disconnected);
  CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
  cv_reconnect_give_up(s, "test: grace window over");
  CHECK_EQ(1, R.errors);
  CHECK_EQ(OTC_SESSION_CONNECTION_DROPPED, R.last_error);
  CHECK_EQ(1, R.disconnected);
  cv_state_on_transport_error(s, "late");
  CHECK_EQ(1, R.errors);
  CHECK_EQ(1, R.disconnected);
  cv_testing_session_free(s);

  /* sessionDisconnected then close: on_disconnected, no error (unless serverRotation) */
  s = connected_session();
  feed(s, "{\"type\":\"sessionDisconnected\",\"seq\":1,\"reason\":\"forceDisconnected\"}");
  cv_state_on_closed(s, 1000, "");
  CHECK_EQ(0, R.errors);
  CHECK_EQ(1, R.disconnected);
  cv_testing_session_free(s);

  s = connected_session();
  feed(s, "{\"type\":\"sessionDisconnected\",\"seq\":1,\"reason\":\"serverRotation\"}");
  cv_state_on_closed(s, 1001, "");
  CHECK_EQ(0, R.errors); /* serverRotation: reconnect without an error */
  CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
  cv_reconnect_give_up(s, "test: nothing came back");
  CHECK_EQ(1, R.errors);
  CHECK_EQ(OTC_SESSION_CONNECTION_DROPPED, R.last_error);
  CHECK_EQ(1, R.disconnected);
  cv_testing_session_free(s);
}

static void test_publisher(void) {
  otc_session *s = connected_session();
  struct otc_publisher_callbacks pcb = {
      .on_stream_created = pub_created, .on_stream_destroyed = pub_destroyed, .on_error = pub_error};
  otc_publisher *p = otc_publisher_new("cam", NULL, &pcb);
  cv_state_publish(s, p);
  json_t *out = sent(s);
  json_t *req = last_sent(out, "publish");
  CHECK_NOT_NULL(req);
  CHECK_STREQ("cam", cv_json_str(req, "name"));
  CHECK_EQ(1, cv_json_bool(req, "hasAudio"));
  long long id = cv_json_int(req, "id");
  json_decref(out);
  cv_state_publish(s, p); /* twice: refused */
  CHECK_EQ(1, R.pub_errors);
  CHECK_EQ(OTC_PUBLISHER_UNABLE_TO_PUBLISH, R.pub_last_error);

  char text[512];
  snprintf(text, sizeof text,
           "{\"type\":\"result\",\"seq\":1,\"id\":%lld,\"ok\":true,\"stream\":{\"id\":\"s-me\",\"connectionId\":\"c-me\","
           "\"name\":\"cam\",\"hasAudio\":true,\"hasVideo\":true}}",
           id);
  feed(s, text);
  CHECK_EQ(1, R.pub_created);
  CHECK_STREQ("s-me", R.last_id);
  otc_stream *mine = otc_publisher_get_stream(p);
  CHECK_NOT_NULL(mine);
  CHECK_STREQ("me=1", otc_connection_get_data(otc_stream_get_connection(mine)));

  /* muteForced for my stream turns publish_audio off */
  feed(s, "{\"type\":\"muteForced\",\"seq\":2,\"active\":true,\"streamId\":\"s-me\"}");
  CHECK_EQ(1, R.mute_forced);
  CHECK_EQ(1, R.last_bool);
  CHECK_EQ(OTC_FALSE, otc_publisher_get_publish_audio(p));
  feed(s, "{\"type\":\"muteForced\",\"seq\":3,\"active\":false}");
  CHECK_EQ(2, R.mute_forced);
  CHECK_EQ(0, R.last_bool);

  /* force-unpublished: the publisher hears it, not on_stream_dropped */
  feed(s, "{\"type\":\"streamDestroyed\",\"seq\":4,\"stream\":{\"id\":\"s-me\"},\"reason\":\"forceUnpublished\"}");
  CHECK_EQ(1, R.pub_destroyed);
  CHECK_EQ(0, R.stream_dropped);
  CHECK_NULL(otc_publisher_get_stream(p));
  CHECK_NULL(p->session);

  /* publish again, then the session ends: on_stream_destroyed once */
  cv_state_publish(s, p);
  out = sent(s);
  id = cv_json_int(last_sent(out, "publish"), "id");
  json_decref(out);
  snprintf(text, sizeof text,
           "{\"type\":\"result\",\"seq\":5,\"id\":%lld,\"ok\":true,\"stream\":{\"id\":\"s-me2\",\"connectionId\":\"c-me\"}}",
           id);
  feed(s, text);
  CHECK_EQ(2, R.pub_created);
  cv_state_disconnect(s);
  CHECK_EQ(2, R.pub_destroyed);
  CHECK_EQ(1, R.disconnected);
  cv_testing_session_free(s);
  CHECK_EQ(OTC_SUCCESS, otc_publisher_delete(p));
}

static void test_publish_refused(void) {
  otc_session *s = connected_session();
  struct otc_publisher_callbacks pcb = {.on_error = pub_error, .on_stream_created = pub_created};
  otc_publisher *p = otc_publisher_new("cam", NULL, &pcb);
  cv_state_publish(s, p);
  json_t *out = sent(s);
  long long id = cv_json_int(last_sent(out, "publish"), "id");
  json_decref(out);
  char text[256];
  snprintf(text, sizeof text,
           "{\"type\":\"result\",\"seq\":1,\"id\":%lld,\"ok\":false,\"error\":{\"code\":1500,\"message\":\"no\"}}", id);
  feed(s, text);
  CHECK_EQ(1, R.pub_errors);
  CHECK_EQ(1500, R.pub_last_error);
  CHECK_EQ(0, R.pub_created);
  CHECK_EQ(0, R.errors);
  CHECK_NULL(p->session);
  cv_testing_session_free(s);
  otc_publisher_delete(p);
}

/* Resume: a request sent before the drop and one queued during it; the server processed
 * the first, so only the second is sent again, after `resumed`. */
static void test_resume(void) {
  otc_session *s = connected_session();
  s->max_queued = 10; /* the testing session skips the settings defaults */
  cv_state_request(s, "signal", json_pack("{s:s}", "data", "before"), NULL); /* id 1, on the wire */
  cv_state_on_closed(s, 1006, "gone");
  CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
  CHECK_EQ(1, R.reconnecting);
  CHECK_EQ(0, R.errors);
  CHECK_NULL(s->link);
  cv_state_request(s, "signal", json_pack("{s:s}", "data", "queued"), NULL); /* id 2, waits */
  CHECK_EQ(0, R.errors);
  s->max_queued = 1; /* id 2 was queued while reconnecting: the bound is reached, a third send fails with a clear error */
  cv_state_request(s, "signal", json_pack("{s:s}", "data", "over"), NULL);
  CHECK_EQ(1, R.errors);
  CHECK_EQ(OTC_SESSION_UNABLE_TO_SEND_SIGNAL, R.last_error);
  R.errors = 0;
  /* a new socket (fake link) answered `resumed`: the server had processed id 1 */
  cv_testing_attach_link(s);
  CHECK_NOT_NULL(s->link);
  json_t *f = json_pack("{s:s, s:I, s:I}", "type", "resumed", "lastRequestId", (json_int_t)1, "lastSeq",
                        (json_int_t)s->last_seq);
  cv_reconnect_resumed(s, f);
  json_decref(f);
  CHECK_EQ(CV_STATE_CONNECTED, atomic_load(&s->state));
  CHECK_EQ(1, R.reconnected);
  int frames = 0;
  char *text;
  while ((text = cv_transport_take_sent(s->link, NULL)) != NULL) {
    frames++;
    CHECK(strstr(text, "\"id\":2") != NULL);
    CHECK(strstr(text, "queued") != NULL);
    free(text);
  }
  CHECK_EQ(1, frames);
  cv_testing_session_free(s);
}

/* The bound on requests queued while reconnecting counts only those: requests that were in
 * flight when the connection dropped (they wait for the resume too) do not use it up. */
static void test_queue_bound_counts_only_queued(void) {
  otc_session *s = connected_session();
  s->max_queued = 3;
  for (int i = 0; i < 5; i++) cv_state_request(s, "signal", json_pack("{s:s}", "data", "in flight"), NULL);
  cv_state_on_closed(s, 1006, "gone");
  CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
  for (int i = 0; i < 3; i++) cv_state_request(s, "signal", json_pack("{s:s}", "data", "queued"), NULL);
  CHECK_EQ(0, R.errors); /* 3 queued: within the bound, whatever was in flight */
  cv_state_request(s, "signal", json_pack("{s:s}", "data", "over"), NULL);
  CHECK_EQ(1, R.errors);
  CHECK_EQ(OTC_SESSION_UNABLE_TO_SEND_SIGNAL, R.last_error);
  /* after the resume, a later reconnection starts with an empty count */
  cv_testing_attach_link(s);
  json_t *f = json_pack("{s:s, s:I, s:I}", "type", "resumed", "lastRequestId", (json_int_t)0, "lastSeq",
                        (json_int_t)s->last_seq);
  cv_reconnect_resumed(s, f);
  json_decref(f);
  cv_state_on_closed(s, 1006, "gone again");
  CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
  for (int i = 0; i < 3; i++) cv_state_request(s, "signal", json_pack("{s:s}", "data", "queued 2"), NULL);
  CHECK_EQ(1, R.errors);
  cv_testing_session_free(s);
}

/* Keepalive: a dead path is noticed timeout ms after the last receive, not at the next ping
 * (with the server's 10 s / 15 s, checking only at pings noticed it after 15 to 25 s). */
static void test_keepalive_schedule(void) {
  /* last receive at 0, last ping at 10000: next check at 15000 (the deadline), not 20000 */
  CHECK_EQ(5000, cv_keepalive_next_check(10000, 0, 10000, 10000, 15000));
  CHECK(!cv_keepalive_dead(14999, 0, 15000));
  CHECK(cv_keepalive_dead(15000, 0, 15000));
  /* traffic keeps coming: the next ping comes first */
  CHECK_EQ(10000, cv_keepalive_next_check(0, 0, 0, 10000, 15000));
  CHECK_EQ(1000, cv_keepalive_next_check(9000, 8500, 0, 10000, 15000));
  /* a late timer: never in the past */
  CHECK_EQ(1, cv_keepalive_next_check(20000, 0, 0, 10000, 15000));
  /* short settings for bots; the interval never longer than the server's */
  struct otc_session_settings *st = otc_session_settings_new();
  CHECK_EQ(OTC_INVALID_PARAM, convene_session_settings_set_keepalive(st, 50, 1000));
  CHECK_EQ(OTC_INVALID_PARAM, convene_session_settings_set_keepalive(st, 1000, 1000));
  CHECK_EQ(OTC_INVALID_PARAM, convene_session_settings_set_keepalive(NULL, 1000, 3000));
  CHECK_EQ(OTC_SUCCESS, convene_session_settings_set_keepalive(st, 1000, 3000));
  otc_session_settings_delete(st);
  otc_session *s = connected_session(); /* the server said 10000 / 15000 */
  CHECK_EQ(10000, s->keepalive_interval_ms);
  CHECK_EQ(15000, s->keepalive_timeout_ms);
  s->ka_interval_setting = 1000;
  s->ka_timeout_setting = 3000;
  json_t *ka = json_pack("{s:i, s:i}", "interval", 10000, "timeout", 15000);
  cv_state_set_keepalive(s, ka);
  CHECK_EQ(1000, s->keepalive_interval_ms);
  CHECK_EQ(3000, s->keepalive_timeout_ms);
  s->ka_interval_setting = 20000;
  cv_state_set_keepalive(s, ka);
  CHECK_EQ(10000, s->keepalive_interval_ms);
  json_decref(ka);
  cv_testing_session_free(s);
}

/* Takes the frames sent since the last take; the request ids of those of this type, in
 * order (count returned). */
static int sent_ids(otc_session *s, const char *type, long long *ids, int max) {
  int n = 0;
  json_t *all = sent(s), *f;
  size_t i;
  json_array_foreach(all, i, f) if (strcmp(cv_json_str(f, "type"), type) == 0 && n < max) ids[n++] = cv_json_int(f, "id");
  json_decref(all);
  return n;
}

static void drop_sent(otc_session *s) { json_decref(sent(s)); }

static void feed_result(otc_session *s, uint64_t seq, long long id) {
  char text[128];
  snprintf(text, sizeof text, "{\"type\":\"result\",\"seq\":%llu,\"id\":%lld,\"ok\":true}", (unsigned long long)seq, id);
  feed(s, text);
}

/* After a long stall the backlog is resent paced (a burst, then the server's rate, at most a
 * window waiting for results), in id order: all at once tripped the server's flood guard. */
static void test_resend_paced(void) {
  enum { N = 1500 };
  static long long ids[N + 10];
  otc_session *s = connected_session();
  s->max_queued = 10;
  CHECK(s->pace_rate > 0 && s->pace_rate <= 1000); /* no limits announced: the default pace */
  /* the pace: 80 % of the server's signal rate, never below 50/s; 4000/s for an unlimited server */
  json_t *lim = json_pack("{s:i}", "signalsPerSecond", 1000);
  CHECK(cv_pace_rate_for(lim) == 900.0);
  CHECK(cv_pace_burst_for(lim) == 200.0); /* no signalBurst announced */
  json_object_set_new(lim, "signalBurst", json_integer(2000));
  CHECK(cv_pace_burst_for(lim) == 1000.0);
  json_object_set_new(lim, "signalsPerSecond", json_integer(10));
  CHECK(cv_pace_rate_for(lim) == 50.0);
  json_object_set_new(lim, "signalsPerSecond", json_integer(0));
  CHECK(cv_pace_rate_for(lim) == 0.0); /* no signal limit: not paced */
  json_decref(lim);
  /* the clock is frozen for the test: tokens come only when pace_at_ms is moved back (a day a token) */
  s->pace_rate = 1.0 / 86400.0;
#define PASS_TIME(s) ((s)->pace_at_ms -= 1000LL * 86400 * 1000)
  for (int i = 0; i < N; i++) cv_state_request(s, "signal", json_pack("{s:s}", "data", "stalled"), NULL);
  int n = sent_ids(s, "signal", ids, N);
  CHECK_EQ(200, n); /* a burst; the rest waits for the pace */
  for (int i = 0; i < n; i++) CHECK_EQ(i + 1, ids[i]);
  /* the stall is noticed: reconnecting, then resumed; the server had processed ids 1..100 */
  cv_state_on_closed(s, 1006, "stalled");
  CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
  PASS_TIME(s); /* the outage lasted: the bucket is full again (a burst, no more) */
  cv_testing_attach_link(s);
  json_t *f = json_pack("{s:s, s:I, s:I, s:{s:i}}", "type", "resumed", "lastRequestId", (json_int_t)100, "lastSeq",
                        (json_int_t)s->last_seq, "limits", "signalsPerSecond", 1000);
  cv_reconnect_resumed(s, f);
  json_decref(f);
  CHECK(s->pace_rate <= 900.0); /* never faster than the server's limits allow */
  n = sent_ids(s, "signal", ids, N);
  CHECK_EQ(200, n); /* not 1400 at once */
  for (int i = 0; i < n; i++) CHECK_EQ(101 + i, ids[i]);
  long long next = 101 + n;
  int total = n;
  /* results free the window but the pace holds */
  uint64_t seq = s->last_seq;
  for (int i = 0; i < 100; i++) feed_result(s, ++seq, 1 + i);   /* replayed results of 1..100 */
  for (int i = 0; i < 10; i++) feed_result(s, ++seq, 101 + i);  /* results of the resent ones */
  drop_sent(s);
  CHECK_EQ(0, sent_ids(s, "signal", ids, N));
  drop_sent(s);
  /* time passes (the pace timer): more go out, in order, until the window is full */
  for (int round = 0; round < 20; round++) {
    PASS_TIME(s);
    cv_state_pump(s);
    n = sent_ids(s, "signal", ids, N);
    for (int i = 0; i < n; i++) CHECK_EQ(next + i, ids[i]);
    next += n;
    total += n;
    drop_sent(s);
  }
  /* the window: at most 1024 wait for their result */
  CHECK_EQ(1024, s->in_flight);
  CHECK_EQ(101 + 10 + 1024, next);
  /* as results come, the rest goes */
  for (long long id = 111; id < next; id++) feed_result(s, ++seq, id);
  for (int round = 0; round < 20; round++) {
    PASS_TIME(s);
    cv_state_pump(s);
    n = sent_ids(s, "signal", ids, N);
    for (int i = 0; i < n; i++) CHECK_EQ(next + i, ids[i]);
    next += n;
    total += n;
    drop_sent(s);
  }
  CHECK_EQ(N + 1, next); /* all of them were resent, once, in order */
  CHECK_EQ(N - 100, total);
  cv_testing_session_free(s);
}

/* A server without a signal limit (its flood guard is 1e6 frames/s): no pace, only the window. */
static void test_unlimited_not_paced(void) {
  static long long ids[2000];
  otc_session *s = connected_session();
  s->pace_rate = 0;
  for (int i = 0; i < 1500; i++) cv_state_request(s, "signal", json_pack("{s:s}", "data", "x"), NULL);
  CHECK_EQ(1024, sent_ids(s, "signal", ids, 2000));
  drop_sent(s);
  uint64_t seq = s->last_seq;
  for (int i = 1; i <= 10; i++) feed_result(s, ++seq, i);
  CHECK_EQ(10, sent_ids(s, "signal", ids, 2000));
  CHECK_EQ(1025, ids[0]);
  cv_testing_session_free(s);
}

/* The flood guard's close (error 4429, close 1008) is not the end: the session resumes,
 * after a second, more slowly. */
static void test_flood_close_resumes(void) {
  otc_session *s = connected_session();
  s->max_queued = 10;
  double rate = s->pace_rate;
  cv_state_request(s, "signal", json_pack("{s:s}", "data", "x"), NULL);
  feed(s, "{\"type\":\"error\",\"code\":4429,\"name\":\"CONVENE_FLOOD\",\"message\":\"more than 5100 frames in one "
          "second\",\"fatal\":true}");
  cv_state_on_closed(s, 1008, "flood");
  CHECK_EQ(0, R.errors);
  CHECK_EQ(0, R.disconnected);
  CHECK_EQ(1, R.reconnecting);
  CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
  CHECK_EQ(1000, s->rec.floor_ms); /* the recovery floor (was s->retry_floor_ms) */
  CHECK(s->pace_rate < rate);
  cv_testing_session_free(s);

  /* other fatal errors still end the session, and signals waiting for a result fail one by one */
  s = connected_session();
  cv_state_request(s, "signal", json_pack("{s:s}", "data", "x"), NULL);
  cv_state_request(s, "signal", json_pack("{s:s}", "data", "y"), NULL);
  feed(s, "{\"type\":\"error\",\"code\":4400,\"name\":\"x\",\"message\":\"bad\",\"fatal\":true}");
  cv_state_on_closed(s, 4400, "bad");
  CHECK_EQ(3, R.errors); /* the fatal error, then one per signal */
  CHECK_EQ(OTC_SESSION_UNABLE_TO_SEND_SIGNAL, R.last_error);
  CHECK_EQ(1, R.disconnected);
  cv_testing_session_free(s);
}

static int g_undelivered;
static char g_undelivered_what[256];
static void on_undelivered(otc_session *s, void *u, const char *type, const char *to, int code, const char *msg) {
  g_undelivered++;
  snprintf(g_undelivered_what, sizeof g_undelivered_what, "%s>%s:%d:%s", type, to, code, msg);
}

/* signalUndelivered (docs/protocol.md): an ordinary event, surfaced once through the Convene
 * callback with the signal's type, the addressee and the error. */
static void test_signal_undelivered(void) {
  otc_session *s = connected_session();
  g_undelivered = 0;
  /* without the callback: consumed quietly */
  feed(s, "{\"type\":\"signalUndelivered\",\"seq\":1,\"requestId\":3,\"to\":\"c-a\",\"signalType\":\"chat\","
          "\"error\":{\"code\":1560,\"name\":\"CONVENE_SIGNAL_UNDELIVERED\",\"message\":\"gone\"}}");
  CHECK_EQ(0, g_undelivered);
  CHECK_EQ(0, R.errors);
  s->on_signal_undelivered = on_undelivered;
  feed(s, "{\"type\":\"signalUndelivered\",\"seq\":2,\"requestId\":4,\"to\":\"c-b\",\"signalType\":\"chat\","
          "\"error\":{\"code\":1560,\"name\":\"CONVENE_SIGNAL_UNDELIVERED\",\"message\":\"c-b left\"}}");
  CHECK_EQ(1, g_undelivered);
  CHECK_STREQ("chat>c-b:1560:c-b left", g_undelivered_what);
  /* replayed after a resume: once */
  feed(s, "{\"type\":\"signalUndelivered\",\"seq\":2,\"requestId\":4,\"to\":\"c-b\",\"signalType\":\"chat\","
          "\"error\":{\"code\":1560,\"name\":\"CONVENE_SIGNAL_UNDELIVERED\",\"message\":\"c-b left\"}}");
  CHECK_EQ(1, g_undelivered);
  CHECK_EQ(2, s->last_seq);
  CHECK_EQ(0, R.errors);
  CHECK_EQ(CV_STATE_CONNECTED, atomic_load(&s->state));
  cv_testing_session_free(s);
  struct otc_session_settings *st = otc_session_settings_new();
  CHECK_EQ(OTC_SUCCESS, convene_session_settings_set_on_signal_undelivered(st, on_undelivered));
  CHECK_EQ(OTC_INVALID_PARAM, convene_session_settings_set_on_signal_undelivered(NULL, on_undelivered));
  otc_session_settings_delete(st);
}

/* Rejoin after the lost connection could not be resumed: peers and streams are reconciled with
 * the new connection's lists (before: no connection_dropped for those gone, ghosts kept), and
 * a connect that fails is retried instead of ending the session. */
static void test_rejoin_reconciles(void) {
  otc_session *s = connected_session(); /* knows c-a, c-b and s-a (of c-a) */
  s->rejoin = 1;
  s->rejoin_timeout_ms = 60000;
  free(s->server_url);
  s->server_url = strdup("ftp://unreachable"); /* every connect attempt fails at once */
  cv_state_on_closed(s, 1006, "server gone");
  CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
  cv_reconnect_give_up(s, "test: the server forgot the connection");
  CHECK_EQ(1, R.errors);
  CHECK_EQ(OTC_SESSION_CONNECTION_DROPPED, R.last_error);
  /* the rejoin connect failed: retried later, the session goes on */
  CHECK_EQ(CV_STATE_CONNECTING, atomic_load(&s->state));
  CHECK_EQ(1, s->end.life == CV_LIFE_REJOINING);
  CHECK_EQ(0, R.disconnected);
  CHECK_EQ(1, R.errors);
  cv_state_on_transport_error(s, "connection refused"); /* a later attempt fails too */
  CHECK_EQ(CV_STATE_CONNECTING, atomic_load(&s->state));
  CHECK_EQ(0, R.disconnected);
  /* the server is back: c-a left meanwhile (with its stream), c-b is still there, c-c came */
  cv_testing_attach_link(s);
  R.conn_created = R.conn_dropped = R.stream_received = R.stream_dropped = 0;
  feed(s, "{\"type\":\"connected\",\"v\":1,\"sessionId\":\"2_s\",\"connection\":{\"id\":\"c-me2\",\"creationTime\":2},"
          "\"role\":\"publisher\",\"capabilities\":{},\"resumeToken\":\"rt2\",\"connections\":["
          "{\"id\":\"c-b\",\"creationTime\":0,\"data\":\"b=1\"},{\"id\":\"c-c\",\"creationTime\":3,\"data\":\"c=1\"}],"
          "\"streams\":[{\"id\":\"s-c\",\"connectionId\":\"c-c\",\"name\":\"C\"}],\"lastSeq\":0}");
  CHECK_EQ(CV_STATE_CONNECTED, atomic_load(&s->state));
  CHECK_EQ(2, R.connected);
  CHECK_EQ(1, R.conn_dropped);   /* c-a */
  CHECK_EQ(1, R.stream_dropped); /* s-a */
  CHECK_EQ(1, R.conn_created);   /* c-c; nothing for c-b */
  CHECK_EQ(1, R.stream_received);
  CHECK_EQ(2, s->connections.len);
  CHECK_NOT_NULL(cv_table_find(&s->connections, "c-b", cv_connection_id_of));
  CHECK_NULL(cv_table_find(&s->connections, "c-a", cv_connection_id_of));
  CHECK_EQ(0, s->stale_connections.len);
  CHECK_EQ(0, s->stale_streams.len);
  CHECK_EQ(0, R.disconnected);
  cv_testing_session_free(s);

  /* the rejoin timeout passes: the error, then on_disconnected */
  s = connected_session();
  s->rejoin = 1;
  s->rejoin_timeout_ms = 0;
  free(s->server_url);
  s->server_url = strdup("ftp://unreachable");
  cv_state_on_closed(s, 1006, "server gone");
  cv_reconnect_give_up(s, "test: the server forgot the connection");
  CHECK_EQ(CV_STATE_DISCONNECTED, atomic_load(&s->state));
  CHECK_EQ(2, R.errors);
  CHECK_EQ(OTC_SESSION_CONNECTION_FAILED, R.last_error);
  CHECK_EQ(1, R.disconnected);
  CHECK_EQ(0, s->stale_connections.len);
  cv_testing_session_free(s);
}

/* A publish whose result has not come when the session ends gets exactly one final
 * callback: the publisher's on_error (1010, session disconnected), no stream callbacks. The
 * same when resuming fails for good (reconnection given up). */
static void test_publish_pending_at_end(void) {
  for (int how = 0; how < 2; how++) {
    otc_session *s = connected_session();
    struct otc_publisher_callbacks pcb = {
        .on_stream_created = pub_created, .on_stream_destroyed = pub_destroyed, .on_error = pub_error};
    otc_publisher *p = otc_publisher_new("cam", NULL, &pcb);
    cv_state_publish(s, p);
    CHECK_EQ(0, R.pub_errors);
    if (how == 0) {
      cv_state_disconnect(s);
    } else {
      cv_state_on_closed(s, 1006, "gone");
      CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
      CHECK_EQ(0, R.pub_errors); /* still waiting: the publish may be resent after a resume */
      cv_reconnect_give_up(s, "test: the server forgot the connection");
    }
    CHECK_EQ(CV_STATE_DISCONNECTED, atomic_load(&s->state));
    CHECK_EQ(1, R.pub_errors);
    CHECK_EQ(OTC_PUBLISHER_SESSION_DISCONNECTED, R.pub_last_error);
    CHECK_EQ(0, R.pub_created);
    CHECK_EQ(0, R.pub_destroyed);
    CHECK_NULL(p->session);
    CHECK_EQ(1, R.disconnected);
    cv_testing_session_free(s);
    CHECK_EQ(1, R.pub_errors); /* nothing more when the session is freed */
    CHECK_EQ(OTC_SUCCESS, otc_publisher_delete(p));
  }
}

/* The reconnection backoff schedule: base * factor^n, capped, with a 50-100 % jitter. */
static void test_backoff(void) {
  CHECK_EQ(50, cv_backoff_ms(0, 100, 2.0, 1000, 0.0));
  CHECK_EQ(99, cv_backoff_ms(0, 100, 2.0, 1000, 0.999));
  CHECK_EQ(100, cv_backoff_ms(1, 100, 2.0, 1000, 0.0));
  CHECK_EQ(400, cv_backoff_ms(3, 100, 2.0, 1000, 0.0));
  CHECK_EQ(500, cv_backoff_ms(4, 100, 2.0, 1000, 0.0)); /* 1600 capped at 1000, times 0.5 */
  CHECK_EQ(500, cv_backoff_ms(60, 100, 2.0, 1000, 0.0));
  CHECK_EQ(500, cv_backoff_ms(1000, 100, 2.0, 1000, 0.0)); /* no overflow */
  CHECK_EQ(50, cv_backoff_ms(5, 100, 1.0, 1000, 0.0));      /* factor 1: constant */
  for (int a = 0; a < 20; a++) {
    int64_t lo = cv_backoff_ms(a, 250, 2.0, 5000, 0.0), hi = cv_backoff_ms(a, 250, 2.0, 5000, 0.9999);
    CHECK(lo >= 125 && hi <= 5000 && lo <= hi);
  }
}

static void on_done(otc_session *s, void *u, void *data, int code, const char *msg) { logf_("done:%d", code); }

/* While connected, the requests waiting for the pacer are bounded by max_queued (they were
 * not: a sender faster than the server allows grew the backlog without end). Past it a
 * request fails at once with CONVENE_BACKLOG_FULL (1570), through its completion or on_error. */
static void test_backlog_bounded(void) {
  otc_session *s = connected_session();
  s->max_backlog = 5;
  s->pace_rate = 1.0 / 86400.0; /* a token a day, none left: everything waits for the pacer */
  s->pace_tokens = 0;
  R.log[0] = 0;
  for (int i = 0; i < 5; i++) cv_state_signal(s, json_pack("{s:s}", "data", "waits"), 1, on_done, NULL);
  CHECK_EQ(5, s->unsent_count);
  CHECK_STREQ("", R.log);
  cv_state_signal(s, json_pack("{s:s}", "data", "over"), 1, on_done, NULL);
  CHECK_STREQ("done:1570", R.log);
  cv_state_request(s, "signal", json_pack("{s:s}", "data", "over, no completion"), NULL);
  CHECK_STREQ("done:1570 error:1570", R.log);
  struct otc_publisher_callbacks pcb = {.on_error = pub_error, .on_stream_created = pub_created};
  otc_publisher *p = otc_publisher_new("cam", NULL, &pcb);
  cv_state_publish(s, p);
  CHECK_STREQ("done:1570 error:1570 pub_error:1570", R.log);
  CHECK_NULL(p->session); /* not published: it may be published again */
  CHECK_EQ(5, s->unsent_count);
  CHECK_STREQ("CONVENE_BACKLOG_FULL", convene_error_name(CONVENE_BACKLOG_FULL));
  /* the pacer catches up: the backlog goes out, new requests are taken again */
  PASS_TIME(s);
  cv_state_pump(s);
  CHECK_EQ(0, s->unsent_count);
  CHECK_EQ(5, s->in_flight);
  cv_state_signal(s, json_pack("{s:s}", "data", "room again"), 1, on_done, NULL);
  CHECK_STREQ("done:1570 error:1570 pub_error:1570", R.log);
  CHECK_EQ(0, s->unsent_count);
  cv_testing_session_free(s);
  otc_publisher_delete(p);
}

/* The publish request announces the publisher's video dimensions (it always said 640x480);
 * 640x480 when the publisher says nothing. */
static void test_publish_dimensions(void) {
  otc_session *s = connected_session();
  struct otc_publisher_callbacks pcb = {.on_error = pub_error, .on_stream_created = pub_created};
  otc_publisher *dflt = otc_publisher_new("default", NULL, &pcb), *hd = otc_publisher_new("hd", NULL, &pcb);
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_set_video_dimensions(NULL, 1280, 720));
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_set_video_dimensions(hd, 0, 720));
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_set_video_dimensions(hd, 1280, 65536));
  CHECK_EQ(OTC_SUCCESS, convene_publisher_set_video_dimensions(hd, 1280, 720));
  cv_state_publish(s, dflt);
  cv_state_publish(s, hd);
  json_t *out = sent(s), *f;
  size_t i;
  int n = 0;
  json_array_foreach(out, i, f) {
    if (strcmp(cv_json_str(f, "type"), "publish") != 0) continue;
    json_t *vd = json_object_get(f, "videoDimensions");
    int hd_one = strcmp(cv_json_str(f, "name"), "hd") == 0;
    CHECK_EQ(hd_one ? 1280 : 640, cv_json_int(vd, "width"));
    CHECK_EQ(hd_one ? 720 : 480, cv_json_int(vd, "height"));
    n++;
  }
  CHECK_EQ(2, n);
  json_decref(out);
  CHECK_EQ(0, R.pub_errors);
  cv_testing_session_free(s);
  otc_publisher_delete(dflt);
  otc_publisher_delete(hd);
}

/* ---- the end table (opentok/session.h): one test per row, callbacks in order ---- */


static int64_t g_now;
static int64_t test_clock(void) { return g_now; }

/* A connected session (resume token `rt`, or none) with a published stream, a signal with a
 * completion and one without waiting for their result; the log starts empty. */
static otc_session *end_setup(otc_publisher **pub, int resumable) {
  otc_session *s = connected_session();
  s->max_queued = 10;
  if (!resumable) { /* the server gave no resume token */
    free(s->resume_token);
    s->resume_token = strdup("");
  }
  static const struct otc_publisher_callbacks pcb = {
      .on_stream_created = pub_created, .on_stream_destroyed = pub_destroyed, .on_error = pub_error};
  *pub = otc_publisher_new("cam", NULL, &pcb);
  cv_state_publish(s, *pub);
  json_t *out = sent(s);
  char text[256];
  snprintf(text, sizeof text,
           "{\"type\":\"result\",\"seq\":1,\"id\":%lld,\"ok\":true,\"stream\":{\"id\":\"s-me\",\"connectionId\":\"c-me\"}}",
           (long long)cv_json_int(last_sent(out, "publish"), "id"));
  json_decref(out);
  feed(s, text);
  CHECK_EQ(1, R.pub_created);
  cv_state_signal(s, json_pack("{s:s}", "data", "with completion"), 1, on_done, NULL);
  cv_state_request(s, "signal", json_pack("{s:s}", "data", "without"), NULL);
  R.log[0] = 0;
  return s;
}

static void end_teardown(otc_session *s, otc_publisher *p) {
  /* ended once: later losses, closes and disconnects add nothing */
  size_t len = strlen(R.log);
  cv_state_on_closed(s, 1006, "late");
  cv_state_on_transport_error(s, "late");
  cv_state_disconnect(s);
  CHECK_EQ(len, strlen(R.log));
  cv_testing_session_free(s);
  CHECK_EQ(len, strlen(R.log));
  CHECK_NULL(p->session);
  CHECK_EQ(OTC_SUCCESS, otc_publisher_delete(p));
}

static void test_end_client_disconnect(void) {
  otc_publisher *p;
  otc_session *s = end_setup(&p, 1);
  cv_state_disconnect(s);
  CHECK_STREQ("done:1010 pub_destroyed:clientDisconnected disconnected:clientDisconnected", R.log);
  CHECK_EQ(CV_END_CLIENT, s->end.cause);
  end_teardown(s, p);
}

/* serverRotation: reconnect without an error; the rotation's reason does not stick to the
 * next end (it did: a later client disconnect said serverRotation). */
static void test_end_server_rotation(void) {
  otc_publisher *p;
  otc_session *s = end_setup(&p, 1);
  feed(s, "{\"type\":\"sessionDisconnected\",\"seq\":2,\"reason\":\"serverRotation\"}");
  cv_state_on_closed(s, 1001, "");
  CHECK_STREQ("reconnecting", R.log);
  cv_testing_attach_link(s);
  json_t *f = json_pack("{s:s, s:I, s:I}", "type", "resumed", "lastRequestId", (json_int_t)0, "lastSeq",
                        (json_int_t)s->last_seq);
  cv_reconnect_resumed(s, f);
  json_decref(f);
  CHECK_STREQ("reconnecting reconnected", R.log);
  CHECK_EQ(CV_STATE_CONNECTED, atomic_load(&s->state));
  R.log[0] = 0;
  cv_state_disconnect(s);
  CHECK_STREQ("done:1010 pub_destroyed:clientDisconnected disconnected:clientDisconnected", R.log);
  end_teardown(s, p);
}

/* Force disconnect: the server's reason, no error; the same when the socket errors instead
 * of closing cleanly (it gave on_error(1022) before). */
static void test_end_force_disconnect(void) {
  for (int errored = 0; errored < 2; errored++) {
    otc_publisher *p;
    otc_session *s = end_setup(&p, 1);
    feed(s, "{\"type\":\"sessionDisconnected\",\"seq\":2,\"reason\":\"forceDisconnected\"}");
    CHECK_STREQ("", R.log);
    if (errored)
      cv_state_on_transport_error(s, "reset by peer");
    else
      cv_state_on_closed(s, 1000, "");
    CHECK_STREQ("done:1010 pub_destroyed:forceDisconnected disconnected:forceDisconnected", R.log);
    CHECK_EQ(CV_END_SERVER, s->end.cause);
    end_teardown(s, p);
  }
}

/* Drop past grace: the policy gives up once the grace window is over (time injected). */
static void test_end_drop_past_grace(void) {
  g_now = 1000000;
  cv_clock_set_for_testing(test_clock);
  otc_publisher *p;
  otc_session *s = end_setup(&p, 1);
  cv_state_on_closed(s, 1006, "gone");
  CHECK_STREQ("reconnecting", R.log);
  g_now += 10000;
  cv_reconnect_attempt_failed(s, "refused"); /* within the window: tried again later */
  CHECK_STREQ("reconnecting", R.log);
  CHECK_EQ(CV_STATE_RECONNECTING, atomic_load(&s->state));
  g_now += 30000; /* the server's 30 s grace window is over */
  cv_reconnect_attempt_failed(s, "refused");
  CHECK_STREQ("reconnecting error:1022 done:1010 error:1550 pub_destroyed:networkDisconnected "
              "disconnected:networkDisconnected",
              R.log);
  CHECK_EQ(CV_END_GAVE_UP, s->end.cause);
  end_teardown(s, p);
  cv_clock_set_for_testing(NULL);
}

/* Resume refused: a fatal error answers the resume. */
static void test_end_resume_refused(void) {
  otc_publisher *p;
  otc_session *s = end_setup(&p, 1);
  cv_state_on_closed(s, 1006, "gone");
  cv_testing_attach_link(s);
  cv_state_on_open(s);
  feed(s, "{\"type\":\"error\",\"code\":4404,\"name\":\"x\",\"message\":\"unknown connection\",\"fatal\":true}");
  CHECK_STREQ("reconnecting error:1022 done:1010 error:1550 pub_destroyed:networkDisconnected "
              "disconnected:networkDisconnected",
              R.log);
  end_teardown(s, p);
}

/* Rejoin: the error, requests, publishers, then on_connected again, no on_disconnected; if
 * rejoining fails for good, its error then on_disconnected. */
static void test_end_rejoin(void) {
  for (int fails = 0; fails < 2; fails++) {
    otc_publisher *p;
    otc_session *s = end_setup(&p, 1);
    s->rejoin = 1;
    s->rejoin_timeout_ms = fails ? 0 : 60000;
    free(s->server_url);
    s->server_url = strdup("ftp://unreachable"); /* every connect attempt fails at once */
    cv_state_on_closed(s, 1006, "gone");
    cv_reconnect_give_up(s, "test: the server forgot the connection");
    if (fails) {
      CHECK_STREQ("reconnecting error:1022 done:1010 error:1550 pub_destroyed:networkDisconnected error:1006 "
                  "disconnected:networkDisconnected",
                  R.log);
      CHECK_EQ(CV_END_CONNECT_FAILED, s->end.cause);
    } else {
      CHECK_STREQ("reconnecting error:1022 done:1010 error:1550 pub_destroyed:networkDisconnected", R.log);
      CHECK_EQ(1, s->end.life == CV_LIFE_REJOINING);
      cv_testing_attach_link(s);
      feed(s, CONNECTED_FRAME);
      CHECK_STREQ("reconnecting error:1022 done:1010 error:1550 pub_destroyed:networkDisconnected connected", R.log);
      CHECK_EQ(CV_LIFE_CONNECTED, s->end.life);
      R.log[0] = 0;
      cv_state_disconnect(s);
      CHECK_STREQ("disconnected:clientDisconnected", R.log);
    }
    end_teardown(s, p);
  }
}

/* Delete outside callbacks: as a client disconnect, then nothing more. */
static void test_end_delete(void) {
  otc_publisher *p;
  otc_session *s = end_setup(&p, 1);
  cv_state_delete(s);
  CHECK_STREQ("done:1010 pub_destroyed:clientDisconnected disconnected:clientDisconnected", R.log);
  CHECK_EQ(CV_END_DELETE, s->end.cause);
  feed(s, "{\"type\":\"signal\",\"seq\":2,\"signalType\":\"x\",\"data\":\"\",\"from\":null}");
  end_teardown(s, p);
}

/* Delete inside a callback: no session callback any more (completions neither); the
 * publisher still gets its own. */
static void test_end_delete_in_callback(void) {
  otc_publisher *p;
  otc_session *s = end_setup(&p, 1);
  R.silence_on_signal = 1; /* otc_session_delete called inside on_signal_received */
  feed(s, "{\"type\":\"signal\",\"seq\":2,\"signalType\":\"x\",\"data\":\"\",\"from\":null}");
  cv_state_delete(s); /* the DELETE command runs after the callback returned */
  CHECK_STREQ("signal pub_destroyed:clientDisconnected", R.log);
  end_teardown(s, p);
}

/* A drop that cannot be resumed (no resume token). */
static void test_end_drop_not_resumable(void) {
  otc_publisher *p;
  otc_session *s = end_setup(&p, 0);
  cv_state_on_closed(s, 1006, "gone");
  CHECK_STREQ("error:1022 done:1010 error:1550 pub_destroyed:networkDisconnected disconnected:networkDisconnected",
              R.log);
  CHECK_EQ(CV_END_DROPPED, s->end.cause);
  end_teardown(s, p);
}

/* The server's fatal error while connected: reported when it comes; the close ends the
 * session without a second error, and never resumes (even when the socket errors instead
 * of closing: that resumed before). */
static void test_end_fatal(void) {
  for (int errored = 0; errored < 2; errored++) {
    otc_publisher *p;
    otc_session *s = end_setup(&p, 1);
    feed(s, "{\"type\":\"error\",\"code\":4400,\"name\":\"x\",\"message\":\"bad\",\"fatal\":true}");
    CHECK_STREQ("error:4400", R.log);
    if (errored)
      cv_state_on_transport_error(s, "reset by peer");
    else
      cv_state_on_closed(s, 4400, "bad");
    CHECK_STREQ("error:4400 done:1010 error:1550 pub_destroyed:networkDisconnected disconnected:networkDisconnected",
                R.log);
    CHECK_EQ(CV_END_FATAL, s->end.cause);
    end_teardown(s, p);
  }
}

/* Never connected: on_error only (closed, socket error, no answer, the server's error). */
static void test_end_never_connected(void) {
  static const char *const want[] = {"error:1006", "error:1006", "error:1021", "error:1004"};
  for (int how = 0; how < 4; how++) {
    memset(&R, 0, sizeof R);
    otc_session *s = cv_testing_session_new("4700123", "2_s", &k_cb);
    cv_state_on_open(s);
    if (how == 0) cv_state_on_closed(s, 1006, "gone");
    if (how == 1) cv_state_on_transport_error(s, "refused");
    if (how == 2) cv_state_lost(s, CV_LOST_SILENT, 0, "no answer");
    if (how == 3) feed(s, "{\"type\":\"error\",\"code\":1004,\"name\":\"x\",\"message\":\"token\",\"fatal\":true}");
    CHECK_STREQ(want[how], R.log);
    CHECK_EQ(CV_STATE_DISCONNECTED, atomic_load(&s->state));
    cv_state_on_closed(s, 1006, "late");
    cv_state_disconnect(s);
    CHECK_STREQ(want[how], R.log);
    cv_testing_session_free(s);
  }
}

int main(void) {
  test_backoff();
  test_publish_pending_at_end();
  CHECK_EQ(0, cv_testing_begin());
  test_connected();
  test_events();
  test_acks();
  test_fatal_error_while_connecting();
  test_close_during_handshake();
  test_resume();
  test_queue_bound_counts_only_queued();
  test_keepalive_schedule();
  test_resend_paced();
  test_unlimited_not_paced();
  test_flood_close_resumes();
  test_signal_undelivered();
  test_rejoin_reconciles();
  test_publisher();
  test_publish_refused();
  test_backlog_bounded();
  test_publish_dimensions();
  test_end_client_disconnect();
  test_end_server_rotation();
  test_end_force_disconnect();
  test_end_drop_past_grace();
  test_end_resume_refused();
  test_end_rejoin();
  test_end_delete();
  test_end_delete_in_callback();
  test_end_drop_not_resumable();
  test_end_fatal();
  test_end_never_connected();
  CHECK_EQ(0, cv_transport_awaiting_close());
  cv_testing_end();
  return 0;
}
