/*
 * libFuzzer target: everything the core parses from the network.
 *
 *   1. the whole input as one text frame, through cv_frame_decode;
 *   2. the session state machine: a session with no socket (native/src/testing.c) fed the
 *      input as frames separated by '\n', through cv_state_on_text, the way transport.c
 *      feeds it reassembled WebSocket text messages.
 *
 * The first byte picks a mode (bits): 1 = start with a canned `connected` frame, so
 * events are reached without the fuzzer having to build one; 2 = publish a publisher from
 * on_connected (a pending request: `result` frames with id 1 hit it); 4 = the socket opens
 * first (cv_state_on_open); 8 = end with a transport close, 16 = with a transport error;
 * 32 = disconnect at the end. Callbacks read every field of what they are handed and copy it.
 *
 * Build: cmake -DCONVENE_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: fuzz_frames native/fuzz/corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static otc_publisher *g_pub;
static int g_mode;

static void touch_connection(const otc_connection *c) {
  if (!c) return;
  size_t n = strlen(otc_connection_get_id(c)) + strlen(otc_connection_get_data(c)) +
             strlen(otc_connection_get_session_id(c));
  (void)n;
  (void)otc_connection_get_creation_time(c);
  otc_connection *copy = otc_connection_copy(c);
  otc_connection_delete(copy);
}

static void touch_stream(const otc_stream *s) {
  if (!s) return;
  size_t n = strlen(otc_stream_get_id(s)) + strlen(otc_stream_get_name(s));
  (void)n;
  (void)(otc_stream_has_audio(s) + otc_stream_has_video(s) + otc_stream_get_video_width(s) +
         otc_stream_get_video_height(s) + (int)otc_stream_get_video_type(s));
  (void)otc_stream_get_creation_time(s);
  touch_connection(otc_stream_get_connection(s));
  otc_stream *copy = otc_stream_copy(s);
  otc_stream_delete(copy);
}

static void on_connected(otc_session *s, void *u) {
  otc_connection *me = otc_session_get_connection(s);
  touch_connection(me);
  (void)otc_session_get_capabilities(s);
  if ((g_mode & 2) && g_pub) cv_state_publish(s, g_pub);
}
static void on_disconnected(otc_session *s, void *u) {}
static void on_conn(otc_session *s, void *u, const otc_connection *c) { touch_connection(c); }
static void on_stream(otc_session *s, void *u, const otc_stream *st) { touch_stream(st); }
static void on_bool(otc_session *s, void *u, const otc_stream *st, otc_bool v) { touch_stream(st); }
static void on_dims(otc_session *s, void *u, const otc_stream *st, int w, int h) { touch_stream(st); }
static void on_type(otc_session *s, void *u, const otc_stream *st, enum otc_stream_video_type t) {
  touch_stream(st);
}
static void on_signal(otc_session *s, void *u, const char *type, const char *data, const otc_connection *c) {
  size_t n = strlen(type) + strlen(data);
  (void)n;
  touch_connection(c);
}
static void on_error(otc_session *s, void *u, const char *msg, enum otc_session_error_code code) {
  size_t n = strlen(msg);
  (void)n;
}
static void on_mute(otc_session *s, void *u, otc_on_mute_forced_info *info) { (void)info->active; }

static void pub_stream(otc_publisher *p, void *u, const otc_stream *st) {
  touch_stream(st);
  const otc_stream *mine = otc_publisher_get_stream(p); /* owned by the publisher */
  if (mine) touch_stream(mine);
}
static void pub_error(otc_publisher *p, void *u, const char *msg, enum otc_publisher_error_code code) {
  size_t n = strlen(msg);
  (void)n;
}

static const struct otc_session_callbacks k_cb = {
    .on_connected = on_connected,
    .on_disconnected = on_disconnected,
    .on_connection_created = on_conn,
    .on_connection_dropped = on_conn,
    .on_stream_received = on_stream,
    .on_stream_dropped = on_stream,
    .on_stream_has_audio_changed = on_bool,
    .on_stream_has_video_changed = on_bool,
    .on_stream_video_dimensions_changed = on_dims,
    .on_stream_video_type_changed = on_type,
    .on_signal_received = on_signal,
    .on_error = on_error,
    .on_mute_forced = on_mute,
};

static const struct otc_publisher_callbacks k_pub_cb = {
    .on_stream_created = pub_stream, .on_stream_destroyed = pub_stream, .on_error = pub_error};

static const char k_connected[] =
    "{\"type\":\"connected\",\"v\":1,\"sessionId\":\"2_fuzz\",\"connection\":{\"id\":\"c-me\",\"creationTime\":1,"
    "\"data\":\"me\"},\"role\":\"moderator\",\"capabilities\":{\"publish\":1,\"subscribe\":1,\"signal\":1,"
    "\"forceDisconnect\":1,\"forceUnpublish\":1,\"forceMute\":1},\"resumeToken\":\"rt\",\"connections\":["
    "{\"id\":\"c-a\",\"creationTime\":0,\"data\":\"a\"}],\"streams\":[{\"id\":\"s-a\",\"connectionId\":\"c-a\","
    "\"creationTime\":0,\"name\":\"A\",\"hasAudio\":true,\"hasVideo\":true,\"videoType\":\"camera\","
    "\"videoDimensions\":{\"width\":640,\"height\":480}}],\"forceMute\":{\"active\":false},\"limits\":{},"
    "\"keepalive\":{\"interval\":10000,\"timeout\":15000},\"graceWindow\":30000,\"lastSeq\":0}";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (cv_testing_begin() != 0) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* 1. the codec alone */
  struct cv_frame f;
  if (cv_frame_decode((const char *)data, size, &f) == 0) {
    (void)cv_json_str(f.root, "type");
    (void)cv_json_int(f.root, "id");
    (void)cv_json_bool(f.root, "ok");
    cv_frame_clear(&f);
  }
  if (size == 0) return 0;

  /* 2. the state machine */
  g_mode = data[0];
  data++;
  size--;
  otc_session *s = cv_testing_session_new("4700123", "2_fuzz", &k_cb);
  if (!s) return 0;
  g_pub = (g_mode & 2) ? otc_publisher_new("fuzz", NULL, &k_pub_cb) : NULL;
  if (g_mode & 4) cv_state_on_open(s);
  if (g_mode & 1) cv_state_on_text(s, k_connected, sizeof k_connected - 1);
  size_t start = 0;
  for (size_t i = 0; i <= size; i++) {
    if (i == size || data[i] == '\n') {
      /* a private copy, exactly the frame's length: out-of-bounds reads show up */
      size_t len = i - start;
      char *frame = malloc(len ? len : 1);
      if (!frame) break;
      memcpy(frame, data + start, len);
      cv_state_on_text(s, frame, len);
      free(frame);
      start = i + 1;
    }
  }
  if (g_mode & 8) cv_state_on_closed(s, 1006, "fuzz");
  if (g_mode & 16) cv_state_on_transport_error(s, "fuzz");
  if (g_mode & 32) cv_state_disconnect(s);
  cv_testing_session_free(s);
  if (g_pub) otc_publisher_delete(g_pub); /* no service thread: freed at once */
  g_pub = NULL;
  return 0;
}
