/*
 * Media in the session state, without a socket or the media thread (native/src/testing.c):
 * subscribe / unsubscribe requests and their results, routing of binary frames by track
 * (malformed, unknown track, video, the subscriber's), streamInterrupted / streamRestored /
 * streamDestroyed / hasAudio for subscribers, the end of the session; and the per-stream PCM
 * queue of a publisher (back-pressure, clear) through the public API.
 */
#include <time.h>

#include "check.h"
#include "internal.h"
#include "media/media_frame.h"

struct srec {
  int connected, disconnected, reconnected, errors, last_error, audio_disabled, audio_enabled;
};
static struct srec S;
static int session_errors;

static void s_connected(otc_subscriber *s, void *u, const otc_stream *st) { S.connected++; }
static void s_disconnected(otc_subscriber *s, void *u) { S.disconnected++; }
static void s_reconnected(otc_subscriber *s, void *u) { S.reconnected++; }
static void s_error(otc_subscriber *s, void *u, const char *m, enum otc_subscriber_error_code c) {
  S.errors++;
  S.last_error = (int)c;
}
static void s_audio_disabled(otc_subscriber *s, void *u) { S.audio_disabled++; }
static void s_audio_enabled(otc_subscriber *s, void *u) { S.audio_enabled++; }
static void on_error(otc_session *s, void *u, const char *msg, enum otc_session_error_code code) { session_errors++; }

static const struct otc_session_callbacks k_cb = {.on_error = on_error};
static const struct otc_subscriber_callbacks k_scb = {
    .on_connected = s_connected, .on_disconnected = s_disconnected, .on_reconnected = s_reconnected,
    .on_error = s_error, .on_audio_disabled = s_audio_disabled, .on_audio_enabled = s_audio_enabled};

static void feed(otc_session *s, const char *text) { cv_state_on_text(s, text, strlen(text)); }

#define CONNECTED_FRAME                                                                                        \
  "{\"type\":\"connected\",\"v\":1,\"sessionId\":\"2_s\",\"connection\":{\"id\":\"c-me\",\"creationTime\":1,"     \
  "\"data\":\"\"},\"role\":\"subscriber\",\"capabilities\":{\"publish\":0,\"subscribe\":1,\"signal\":0,"         \
  "\"forceDisconnect\":0,\"forceUnpublish\":0,\"forceMute\":0},\"resumeToken\":\"rt\",\"connections\":["          \
  "{\"id\":\"c-a\",\"creationTime\":0,\"data\":\"a=1\"}],"                                                        \
  "\"streams\":[{\"id\":\"s-a\",\"connectionId\":\"c-a\",\"creationTime\":0,\"name\":\"A\",\"hasAudio\":true,"   \
  "\"hasVideo\":false,\"videoType\":\"camera\",\"videoDimensions\":{\"width\":640,\"height\":480}}],"            \
  "\"forceMute\":{\"active\":false},\"limits\":{},\"keepalive\":{\"interval\":10000,\"timeout\":15000},"         \
  "\"graceWindow\":30000,\"lastSeq\":0}"

/* The last request of `type` the session sent (its id), 0 when none. */
static long long last_request(otc_session *s, const char *type, json_t **fields) {
  long long id = 0;
  char *text;
  size_t len;
  while (s->link && (text = cv_transport_take_sent(s->link, &len)) != NULL) {
    json_t *f = json_loadb(text, len, 0, NULL);
    free(text);
    if (f && strcmp(cv_json_str(f, "type"), type) == 0) {
      id = cv_json_int(f, "id");
      if (fields) {
        if (*fields) json_decref(*fields);
        *fields = json_incref(f);
      }
    }
    json_decref(f);
  }
  return id;
}

static otc_session *connected_session(void) {
  otc_session *s = cv_testing_session_new("4700123", "2_s", &k_cb);
  CHECK_NOT_NULL(s);
  feed(s, CONNECTED_FRAME);
  CHECK_EQ(CV_STATE_CONNECTED, atomic_load(&s->state));
  return s;
}

/* What otc_session_subscribe does on the app's thread, then on the service thread. */
static void subscribe(otc_session *s, otc_subscriber *sub) {
  atomic_store(&sub->claimed, 1);
  atomic_store(&sub->session, s);
  cv_state_subscribe(s, sub);
}

static size_t media_frame(uint8_t *out, int kind, uint16_t track, uint16_t seq) {
  struct cv_media_header h = {.kind = (enum cv_media_kind)kind, .track = track, .sequence = seq, .timestamp = 960u * seq};
  static const uint8_t payload[] = {0xf8, 0xff, 0xfe}; /* an Opus TOC and two bytes */
  size_t len = 0;
  CHECK_EQ(CV_MEDIA_OK, cv_media_frame_encode(&h, payload, sizeof payload, out, 64, &len));
  return len;
}

static void test_subscribe_and_route(void) {
  memset(&S, 0, sizeof S);
  otc_session *s = connected_session();
  otc_stream *st = cv_table_find(&s->streams, "s-a", cv_stream_id_of);
  CHECK_NOT_NULL(st);
  otc_subscriber *sub = otc_subscriber_new(st, &k_scb);
  CHECK_NOT_NULL(sub);
  CHECK_EQ(OTC_INVALID_PARAM, convene_subscriber_set_audio_format(sub, 16000, 1, 15));
  CHECK_EQ(OTC_INVALID_PARAM, convene_subscriber_set_audio_format(sub, 11025, 1, 10));
  CHECK_EQ(OTC_INVALID_PARAM, convene_subscriber_set_audio_format(sub, 16000, 3, 10));
  CHECK_EQ(OTC_SUCCESS, convene_subscriber_set_audio_format(sub, 16000, 1, 20));
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_set_subscribe_to_video(sub, OTC_FALSE));
  subscribe(s, sub);
  json_t *req = NULL;
  long long id = last_request(s, "subscribe", &req);
  CHECK(id > 0);
  CHECK_STREQ("s-a", cv_json_str(req, "streamId"));
  CHECK_EQ(1, cv_json_bool(req, "audio"));
  CHECK_EQ(0, cv_json_bool(req, "video"));
  json_decref(req);
  CHECK_EQ(OTC_ILLEGAL_STATE, convene_subscriber_set_audio_format(sub, 48000, 1, 10)); /* too late */
  uint8_t buf[64];
  size_t n = media_frame(buf, CV_MEDIA_KIND_AUDIO, 7, 1);
  cv_state_on_binary(s, buf, n); /* before the result: no track known yet */
  CHECK_EQ(1, (int)s->media_unknown_track);

  char text[512];
  snprintf(text, sizeof text,
           "{\"type\":\"result\",\"seq\":1,\"id\":%lld,\"ok\":true,\"subscription\":{\"streamId\":\"s-a\","
           "\"audio\":{\"track\":7}}}",
           id);
  feed(s, text);
  CHECK_EQ(1, S.connected);
  CHECK_EQ(7, cv_media_sub_track(sub->media));

  /* routing: malformed, unknown track, video, then the subscriber's */
  cv_state_on_binary(s, (const unsigned char *)"abc", 3);
  CHECK_EQ(1, (int)s->media_malformed);
  n = media_frame(buf, CV_MEDIA_KIND_AUDIO, 9, 1);
  cv_state_on_binary(s, buf, n);
  CHECK_EQ(2, (int)s->media_unknown_track);
  n = media_frame(buf, CV_MEDIA_KIND_VIDEO, 7, 1);
  cv_state_on_binary(s, buf, n);
  CHECK_EQ(3, (int)s->media_unknown_track);
  n = media_frame(buf, CV_MEDIA_KIND_AUDIO, 7, 2);
  buf[0] = 0x20; /* version 2: the header does not decode, the track is the subscriber's */
  cv_state_on_binary(s, buf, n);
  CHECK_EQ(2, (int)s->media_malformed);
  struct convene_media_stats ms;
  CHECK_EQ(OTC_SUCCESS, convene_subscriber_get_media_stats(sub, &ms));
  CHECK_EQ(1, (int)ms.frames_malformed);
  CHECK_EQ(0, (int)ms.frames_received);
  n = media_frame(buf, CV_MEDIA_KIND_AUDIO, 7, 3);
  cv_state_on_binary(s, buf, n);
  cv_state_on_binary(s, buf, CV_MEDIA_HEADER_BYTES); /* an empty payload is a frame too (the decoder refuses it) */
  convene_subscriber_get_media_stats(sub, &ms);
  CHECK_EQ(2, (int)ms.frames_received);
  CHECK_EQ((int)(n + CV_MEDIA_HEADER_BYTES), (int)ms.bytes_received);

  /* the publisher's connection drops and comes back */
  feed(s, "{\"type\":\"streamInterrupted\",\"seq\":2,\"streamId\":\"s-a\"}");
  CHECK_EQ(1, S.disconnected);
  feed(s, "{\"type\":\"streamInterrupted\",\"seq\":3,\"streamId\":\"s-a\"}"); /* once */
  CHECK_EQ(1, S.disconnected);
  feed(s, "{\"type\":\"streamRestored\",\"seq\":4,\"streamId\":\"s-a\"}");
  CHECK_EQ(1, S.reconnected);
  feed(s, "{\"type\":\"streamRestored\",\"seq\":5,\"streamId\":\"s-other\"}"); /* another stream: nothing */
  CHECK_EQ(1, S.reconnected);
  /* hasAudio */
  feed(s, "{\"type\":\"streamPropertyChanged\",\"seq\":6,\"streamId\":\"s-a\",\"changedProperty\":\"hasAudio\","
          "\"oldValue\":true,\"newValue\":false}");
  CHECK_EQ(1, S.audio_disabled);
  feed(s, "{\"type\":\"streamPropertyChanged\",\"seq\":7,\"streamId\":\"s-a\",\"changedProperty\":\"hasAudio\","
          "\"oldValue\":false,\"newValue\":true}");
  CHECK_EQ(1, S.audio_enabled);

  /* subscribe to audio off: the request again, frames no longer routed */
  atomic_store(&sub->want_audio, 0);
  cv_state_subscriber_update(s, sub);
  CHECK(last_request(s, "subscribe", NULL) > 0);
  CHECK_EQ(0, cv_media_sub_track(sub->media));

  /* the stream goes: the subscription with it, no subscriber callback */
  feed(s, "{\"type\":\"streamDestroyed\",\"seq\":8,\"stream\":{\"id\":\"s-a\"},\"reason\":\"clientDisconnected\"}");
  CHECK_NULL(otc_subscriber_get_session(sub));
  CHECK_EQ(0, S.errors);
  CHECK_EQ(0, s->subscribers.len);
  CHECK_EQ(0, session_errors);
  cv_testing_session_free(s);
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_delete(sub));
}

static void test_subscribe_refused_and_session_end(void) {
  memset(&S, 0, sizeof S);
  otc_session *s = connected_session();
  otc_stream *st = cv_table_find(&s->streams, "s-a", cv_stream_id_of);
  otc_subscriber *sub = otc_subscriber_new(st, &k_scb);
  subscribe(s, sub);
  long long id = last_request(s, "subscribe", NULL);
  char text[512];
  snprintf(text, sizeof text,
           "{\"type\":\"result\",\"seq\":1,\"id\":%lld,\"ok\":false,\"error\":{\"code\":1535,\"message\":\"gone\"}}", id);
  feed(s, text);
  CHECK_EQ(1, S.errors);
  CHECK_EQ(OTC_SUBSCRIBER_SERVER_CANNOT_FIND_STREAM, S.last_error);
  CHECK_EQ(0, S.connected);
  CHECK_NULL(otc_subscriber_get_session(sub));
  CHECK_EQ(0, atomic_load(&sub->claimed)); /* it may subscribe again */

  /* subscribed, then unsubscribed: an unsubscribe request, no callback */
  subscribe(s, sub);
  id = last_request(s, "subscribe", NULL);
  snprintf(text, sizeof text,
           "{\"type\":\"result\",\"seq\":2,\"id\":%lld,\"ok\":true,\"subscription\":{\"streamId\":\"s-a\","
           "\"audio\":{\"track\":3}}}", id);
  feed(s, text);
  CHECK_EQ(1, S.connected);
  cv_state_unsubscribe(s, sub);
  json_t *req = NULL;
  CHECK(last_request(s, "unsubscribe", &req) > 0);
  CHECK_STREQ("s-a", cv_json_str(req, "streamId"));
  json_decref(req);
  CHECK_EQ(0, cv_media_sub_track(sub->media));
  CHECK_EQ(1, S.errors);

  /* a subscribe whose result has not come when the session ends: on_error 1010, once */
  subscribe(s, sub);
  cv_state_end(s, CV_END_DROPPED, 0, NULL);
  CHECK_EQ(2, S.errors);
  CHECK_EQ(OTC_SUBSCRIBER_SESSION_DISCONNECTED, S.last_error);
  CHECK_NULL(otc_subscriber_get_session(sub));
  CHECK_EQ(0, S.connected - 1);
  /* the session is not connected: a new subscribe fails at once */
  subscribe(s, sub);
  CHECK_EQ(3, S.errors);
  cv_testing_session_free(s);
  CHECK_EQ(OTC_SUCCESS, otc_subscriber_delete(sub));
}

/* The publisher's own queue through the public API (no otc_init: nothing is sent). */
static void test_publisher_queue(void) {
  struct otc_publisher_callbacks pcb = {0};
  otc_publisher *p = otc_publisher_new("q", NULL, &pcb);
  int16_t pcm[48000 * 2] = {0};
  CHECK_EQ(OTC_ILLEGAL_STATE, convene_publisher_write_audio(p, pcm, 480, 48000, 1)); /* no source */
  CHECK_EQ(OTC_ILLEGAL_STATE, convene_publisher_clear_audio(p));
  CHECK_EQ(0, convene_publisher_get_queued_audio_ms(p));
  CHECK_EQ(-1, convene_publisher_get_queued_audio_ms(NULL));
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_set_audio_source(p, 50));
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_set_audio_source(p, 60001));
  CHECK_EQ(OTC_SUCCESS, convene_publisher_set_audio_source(p, 200));
  CHECK_EQ(OTC_SUCCESS, convene_publisher_write_audio(p, pcm, 4800, 48000, 1));
  CHECK_EQ(100, convene_publisher_get_queued_audio_ms(p));
  CHECK_EQ(CONVENE_AUDIO_QUEUE_FULL, convene_publisher_write_audio(p, pcm, 7200, 48000, 1)); /* all or nothing */
  CHECK_EQ(100, convene_publisher_get_queued_audio_ms(p));
  CHECK_EQ(CONVENE_AUDIO_QUEUE_FULL, convene_publisher_write_audio(p, pcm, 2400, 16000, 2)); /* 150 ms resampled */
  CHECK_EQ(100, convene_publisher_get_queued_audio_ms(p));
  CHECK_STREQ("CONVENE_AUDIO_QUEUE_FULL", convene_error_name(CONVENE_AUDIO_QUEUE_FULL));
  struct convene_media_stats st;
  CHECK_EQ(OTC_SUCCESS, convene_publisher_get_media_stats(p, &st));
  CHECK_EQ(2, (int)st.queue_refused);
  CHECK_EQ(100, st.queued_ms);
  CHECK_EQ(OTC_SUCCESS, convene_publisher_clear_audio(p)); /* barge-in */
  CHECK_EQ(0, convene_publisher_get_queued_audio_ms(p));
  CHECK_EQ(OTC_SUCCESS, convene_publisher_write_audio(p, pcm, 2400, 16000, 2)); /* 150 ms, 16 kHz stereo */
  int q = convene_publisher_get_queued_audio_ms(p);
  CHECK(q >= 140 && q <= 150);
  CHECK_EQ(OTC_SUCCESS, convene_publisher_write_audio(p, pcm, 441, 44100, 1)); /* 10 ms */
  /* bad input */
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_write_audio(p, NULL, 480, 48000, 1));
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_write_audio(p, pcm, 0, 48000, 1));
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_write_audio(p, pcm, 480, 11025, 1));
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_write_audio(p, pcm, 480, 48000, 3));
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_write_audio(NULL, pcm, 480, 48000, 1));
  CHECK_EQ(OTC_INVALID_PARAM, convene_publisher_get_media_stats(p, NULL));
  CHECK_EQ(OTC_SUCCESS, otc_publisher_delete(p));
}

/* The audio device without otc_init: the PCM functions check their input. */
static void test_audio_device_args(void) {
  int16_t x[160] = {0};
  CHECK_EQ(OTC_ILLEGAL_STATE, otc_audio_device_write_capture_data(x, 160)); /* no device */
  CHECK_EQ(0, (int)otc_audio_device_read_render_data(x, 160));
  CHECK_EQ(OTC_INVALID_PARAM, otc_audio_device_write_capture_data(NULL, 160));
  struct otc_audio_device_callbacks cb = {0};
  CHECK_EQ(OTC_SUCCESS, otc_set_audio_device(&cb)); /* 48 kHz mono */
  CHECK_EQ(OTC_SUCCESS, otc_audio_device_write_capture_data(x, 160));
  CHECK_EQ(160, (int)otc_audio_device_read_render_data(x, 160)); /* silence: nothing subscribed */
  CHECK_EQ(0, x[0]);
  CHECK_EQ(OTC_SUCCESS, otc_set_audio_device(NULL));
  CHECK_EQ(OTC_ILLEGAL_STATE, otc_audio_device_write_capture_data(x, 160));
}

/* The media thread sleeps while no publisher or subscriber is attached: an idle process of many
 * sessions pays no 10 ms tick (issue 16). */
static void test_idle_thread_sleeps(void) {
  CHECK_EQ(OTC_SUCCESS, otc_init(NULL));
  unsigned before = cv_media_passes_for_testing();
  struct timespec t = {0, 300 * 1000000L};
  nanosleep(&t, NULL);
  CHECK_EQ(before, cv_media_passes_for_testing()); /* a 10 ms tick would have made ~30 passes */
  CHECK_EQ(OTC_SUCCESS, otc_destroy());
}

int main(void) {
  test_idle_thread_sleeps();
  test_publisher_queue();
  test_audio_device_args();
  CHECK_EQ(0, cv_testing_begin());
  test_subscribe_and_route();
  test_subscribe_refused_and_session_end();
  cv_testing_end();
  return 0;
}
