/*
 * libFuzzer target: media in the session state (issues 17, 18). A connected session with no
 * socket (native/src/testing.c) and one subscriber of its stream; the input is a list of
 * records [op][len][len bytes] applied in order:
 *   op % 8 == 0  a binary message (cv_state_on_binary: routing by track, then queued)
 *            1   a text frame (cv_state_on_text: results, streamInterrupted/Restored/Destroyed...)
 *            2   unsubscribe            3   subscribe again (a request; its result may come as text)
 *            4   subscribe to audio (first byte even) or video (odd) toggled (the subscribe request again)
 *            5   one media tick (decode what was queued: Opus on arbitrary payloads, PLC on gaps;
 *                video: assembler, VP8 decoder, conversion to RGB24), then the flush (keyframe requests)
 *            6   a subscribe result for the last request, with the record's first byte as audio
 *                track and its second as video track
 *            7   the session ends (dropped)
 * Build: cmake -DCONVENE_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: fuzz_media_state native/fuzz/corpus-media-state
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char k_connected[] =
    "{\"type\":\"connected\",\"v\":1,\"sessionId\":\"2_fuzz\",\"connection\":{\"id\":\"c-me\",\"creationTime\":1,"
    "\"data\":\"me\"},\"role\":\"subscriber\",\"capabilities\":{\"publish\":0,\"subscribe\":1,\"signal\":0,"
    "\"forceDisconnect\":0,\"forceUnpublish\":0,\"forceMute\":0},\"resumeToken\":\"rt\",\"connections\":["
    "{\"id\":\"c-a\",\"creationTime\":0,\"data\":\"a\"}],\"streams\":[{\"id\":\"s-a\",\"connectionId\":\"c-a\","
    "\"creationTime\":0,\"name\":\"A\",\"hasAudio\":true,\"hasVideo\":false,\"videoType\":\"camera\","
    "\"videoDimensions\":{\"width\":640,\"height\":480}}],\"forceMute\":{\"active\":false},\"limits\":{},"
    "\"keepalive\":{\"interval\":10000,\"timeout\":15000},\"graceWindow\":30000,\"lastSeq\":0}";

static void s_any(otc_subscriber *s, void *u) {}
static void s_conn(otc_subscriber *s, void *u, const otc_stream *st) { (void)strlen(otc_stream_get_id(st)); }
static void s_err(otc_subscriber *s, void *u, const char *m, enum otc_subscriber_error_code c) { (void)strlen(m); }
static volatile uint8_t g_sink;
static void s_frame(otc_subscriber *s, void *u, const otc_video_frame *f) {
  /* touch every byte: a frame handed out must be whole */
  const uint8_t *b = otc_video_frame_get_plane_binary_data(f, OTC_VIDEO_FRAME_PLANE_PACKED);
  size_t n = otc_video_frame_get_plane_size(f, OTC_VIDEO_FRAME_PLANE_PACKED);
  for (size_t i = 0; b && i < n; i++) g_sink ^= b[i];
}
static void s_vreason(otc_subscriber *s, void *u, enum otc_video_reason r) {}
static const struct otc_subscriber_callbacks k_scb = {.on_connected = s_conn, .on_disconnected = s_any,
                                                      .on_reconnected = s_any, .on_render_frame = s_frame,
                                                      .on_video_disabled = s_vreason, .on_video_enabled = s_vreason,
                                                      .on_audio_enabled = s_any, .on_audio_disabled = s_any,
                                                      .on_error = s_err};
static const struct otc_session_callbacks k_cb = {0};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (cv_testing_begin() != 0) abort();
  return 0;
}

static void subscribe(otc_session *s, otc_subscriber *sub) {
  if (atomic_load(&sub->claimed)) return;
  atomic_store(&sub->claimed, 1);
  atomic_store(&sub->session, s);
  cv_state_subscribe(s, sub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  otc_session *s = cv_testing_session_new("4700123", "2_fuzz", &k_cb);
  if (!s) return 0;
  cv_state_on_text(s, k_connected, sizeof k_connected - 1);
  otc_stream *st = cv_table_find(&s->streams, "s-a", cv_stream_id_of);
  otc_subscriber *sub = st ? otc_subscriber_new(st, &k_scb) : NULL;
  if (!sub) {
    cv_testing_session_free(s);
    return 0;
  }
  convene_subscriber_set_audio_format(sub, 16000, 1, 20);
  convene_subscriber_set_video_format(sub, OTC_VIDEO_FRAME_FORMAT_RGB24);
  subscribe(s, sub);
  size_t i = 0;
  while (i + 2 <= size) {
    uint8_t op = data[i] % 8;
    size_t len = data[i + 1];
    i += 2;
    if (len > size - i) len = size - i;
    /* a private copy, exactly the record's length: out-of-bounds reads show up */
    uint8_t *rec = malloc(len ? len : 1);
    if (!rec) break;
    memcpy(rec, data + i, len);
    i += len;
    switch (op) {
      case 0:
        cv_state_on_binary(s, rec, len);
        break;
      case 1:
        cv_state_on_text(s, (const char *)rec, len);
        break;
      case 2:
        cv_state_unsubscribe(s, sub);
        break;
      case 3:
        subscribe(s, sub);
        break;
      case 4:
        if (len && (rec[0] & 1)) atomic_store(&sub->want_video, !atomic_load(&sub->want_video));
        else atomic_store(&sub->want_audio, !atomic_load(&sub->want_audio));
        cv_state_subscriber_update(s, sub);
        break;
      case 5:
        cv_media_tick_for_testing(0);
        cv_state_media_flush();
        break;
      case 6: {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"type\":\"result\",\"id\":%llu,\"ok\":true,\"subscription\":{\"streamId\":\"s-a\","
                 "\"audio\":{\"track\":%d},\"video\":{\"track\":%d}}}",
                 (unsigned long long)s->next_id, len ? (int)rec[0] : 0, len > 1 ? (int)rec[1] : 0);
        cv_state_on_text(s, text, strlen(text));
        break;
      }
      default:
        cv_state_end(s, CV_END_DROPPED, 0, NULL);
        break;
    }
    free(rec);
    char *out;
    while (s->link && (out = cv_transport_take_sent(s->link, NULL)) != NULL) free(out);
  }
  cv_media_tick_for_testing(0);
  cv_testing_session_free(s);
  otc_subscriber_delete(sub); /* no service thread: freed at once */
  return 0;
}
