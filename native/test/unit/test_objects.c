/* Connections and streams (objects.c): from JSON, copy, delete, getters with NULL. */
#include "check.h"
#include "internal.h"

static json_t *parse(const char *text) {
  json_error_t err;
  json_t *o = json_loads(text, 0, &err);
  if (!o) CHECK_FAIL_("bad test JSON: %s", err.text);
  return o;
}

static void test_connection(void) {
  json_t *o = parse("{\"id\":\"c-1\",\"creationTime\":1764000000000,\"data\":\"name=Ana\"}");
  otc_connection *c = cv_connection_from_json(o, "2_sess");
  json_decref(o);
  CHECK_NOT_NULL(c);
  CHECK_STREQ("c-1", otc_connection_get_id(c));
  CHECK_STREQ("name=Ana", otc_connection_get_data(c));
  CHECK_STREQ("2_sess", otc_connection_get_session_id(c));
  CHECK(otc_connection_get_creation_time(c) == 1764000000000LL);

  otc_connection *copy = otc_connection_copy(c);
  CHECK_NOT_NULL(copy);
  CHECK(copy != c);
  CHECK(otc_connection_get_id(copy) != otc_connection_get_id(c)); /* deep copy */
  CHECK_STREQ("c-1", otc_connection_get_id(copy));
  CHECK_STREQ("name=Ana", otc_connection_get_data(copy));
  CHECK_STREQ("2_sess", otc_connection_get_session_id(copy));
  CHECK(otc_connection_get_creation_time(copy) == 1764000000000LL);
  CHECK_EQ(OTC_SUCCESS, otc_connection_delete(c));
  CHECK_STREQ("c-1", otc_connection_get_id(copy)); /* the copy outlives the original */
  CHECK_EQ(OTC_SUCCESS, otc_connection_delete(copy));

  /* missing optional fields; wrong types read as absent */
  o = parse("{\"id\":\"c-2\",\"data\":5,\"creationTime\":\"x\"}");
  c = cv_connection_from_json(o, NULL);
  json_decref(o);
  CHECK_NOT_NULL(c);
  CHECK_STREQ("", otc_connection_get_data(c));
  CHECK_STREQ("", otc_connection_get_session_id(c));
  CHECK_EQ(0, otc_connection_get_creation_time(c));
  otc_connection_delete(c);

  /* no id, empty id, not an object: refused */
  const char *bad[] = {"{}", "{\"id\":\"\"}", "{\"id\":7}", "[]", "\"c-1\"", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    o = json_loads(bad[i], JSON_DECODE_ANY, NULL);
    CHECK_NOT_NULL(o);
    CHECK_NULL(cv_connection_from_json(o, "2_s"));
    json_decref(o);
  }
  CHECK_NULL(cv_connection_from_json(NULL, "2_s"));

  /* getters and copy/delete with NULL */
  CHECK_NULL(otc_connection_get_id(NULL));
  CHECK_NULL(otc_connection_get_data(NULL));
  CHECK_NULL(otc_connection_get_session_id(NULL));
  CHECK_EQ(0, otc_connection_get_creation_time(NULL));
  CHECK_NULL(otc_connection_copy(NULL));
  CHECK_EQ(OTC_INVALID_PARAM, otc_connection_delete(NULL));
}

static void test_stream(void) {
  json_t *owner_json = parse("{\"id\":\"c-9\",\"creationTime\":5,\"data\":\"bot=1\"}");
  otc_connection *owner = cv_connection_from_json(owner_json, "2_sess");
  json_decref(owner_json);

  json_t *o = parse(
      "{\"id\":\"s-1\",\"connectionId\":\"c-9\",\"creationTime\":1764000000001,\"name\":\"cam\",\"hasAudio\":true,"
      "\"hasVideo\":false,\"videoType\":\"screen\",\"videoDimensions\":{\"width\":1280,\"height\":720}}");
  otc_stream *s = cv_stream_from_json(o, owner, "2_sess");
  CHECK_NOT_NULL(s);
  CHECK_STREQ("s-1", otc_stream_get_id(s));
  CHECK_STREQ("cam", otc_stream_get_name(s));
  CHECK_EQ(OTC_TRUE, otc_stream_has_audio(s));
  CHECK_EQ(OTC_TRUE, otc_stream_has_audio_track(s));
  CHECK_EQ(OTC_FALSE, otc_stream_has_video(s));
  CHECK_EQ(OTC_FALSE, otc_stream_has_video_track(s));
  CHECK_EQ(OTC_STREAM_VIDEO_TYPE_SCREEN, otc_stream_get_video_type(s));
  CHECK_EQ(1280, otc_stream_get_video_width(s));
  CHECK_EQ(720, otc_stream_get_video_height(s));
  CHECK(otc_stream_get_creation_time(s) == 1764000000001LL);
  const otc_connection *sc = otc_stream_get_connection(s);
  CHECK(sc != owner); /* the stream owns a copy */
  CHECK_STREQ("c-9", otc_connection_get_id(sc));
  CHECK_STREQ("bot=1", otc_connection_get_data(sc));
  otc_connection_delete(owner);
  CHECK_STREQ("bot=1", otc_connection_get_data(otc_stream_get_connection(s)));

  otc_stream *copy = otc_stream_copy(s);
  CHECK_NOT_NULL(copy);
  CHECK(otc_stream_get_id(copy) != otc_stream_get_id(s));
  CHECK(otc_stream_get_connection(copy) != otc_stream_get_connection(s));
  CHECK_EQ(OTC_SUCCESS, otc_stream_delete(s));
  CHECK_STREQ("s-1", otc_stream_get_id(copy));
  CHECK_STREQ("cam", otc_stream_get_name(copy));
  CHECK_EQ(1280, otc_stream_get_video_width(copy));
  CHECK_EQ(OTC_STREAM_VIDEO_TYPE_SCREEN, otc_stream_get_video_type(copy));
  CHECK_STREQ("c-9", otc_connection_get_id(otc_stream_get_connection(copy)));
  CHECK_EQ(OTC_SUCCESS, otc_stream_delete(copy));

  /* without a known owner: a connection with the id only */
  s = cv_stream_from_json(o, NULL, "2_sess");
  json_decref(o);
  CHECK_STREQ("c-9", otc_connection_get_id(otc_stream_get_connection(s)));
  CHECK_STREQ("", otc_connection_get_data(otc_stream_get_connection(s)));
  CHECK_STREQ("2_sess", otc_connection_get_session_id(otc_stream_get_connection(s)));
  otc_stream_delete(s);

  /* minimal stream: defaults */
  o = parse("{\"id\":\"s-2\",\"videoType\":\"hologram\",\"videoDimensions\":[1,2]}");
  s = cv_stream_from_json(o, NULL, NULL);
  json_decref(o);
  CHECK_NOT_NULL(s);
  CHECK_STREQ("", otc_stream_get_name(s));
  CHECK_EQ(OTC_STREAM_VIDEO_TYPE_CAMERA, otc_stream_get_video_type(s));
  CHECK_EQ(0, otc_stream_get_video_width(s));
  CHECK_EQ(OTC_FALSE, otc_stream_has_audio(s));
  otc_stream_delete(s);

  o = parse("{\"name\":\"no id\"}");
  CHECK_NULL(cv_stream_from_json(o, NULL, "2_s"));
  json_decref(o);
  CHECK_NULL(cv_stream_from_json(NULL, NULL, "2_s"));

  CHECK_NULL(otc_stream_get_id(NULL));
  CHECK_NULL(otc_stream_get_name(NULL));
  CHECK_NULL(otc_stream_get_connection(NULL));
  CHECK_EQ(OTC_FALSE, otc_stream_has_audio(NULL));
  CHECK_EQ(OTC_FALSE, otc_stream_has_video(NULL));
  CHECK_EQ(OTC_FALSE, otc_stream_has_audio_track(NULL));
  CHECK_EQ(OTC_FALSE, otc_stream_has_video_track(NULL));
  CHECK_EQ(0, otc_stream_get_video_width(NULL));
  CHECK_EQ(0, otc_stream_get_video_height(NULL));
  CHECK_EQ(0, otc_stream_get_creation_time(NULL));
  CHECK_EQ(OTC_STREAM_VIDEO_TYPE_CAMERA, otc_stream_get_video_type(NULL));
  CHECK_NULL(otc_stream_copy(NULL));
  CHECK_EQ(OTC_INVALID_PARAM, otc_stream_delete(NULL));

  CHECK_EQ(OTC_STREAM_VIDEO_TYPE_CUSTOM, cv_video_type_from_string("custom"));
  CHECK_EQ(OTC_STREAM_VIDEO_TYPE_CAMERA, cv_video_type_from_string(NULL));
  CHECK_STREQ("screen", cv_video_type_to_string(OTC_STREAM_VIDEO_TYPE_SCREEN));
  CHECK_STREQ("custom", cv_video_type_to_string(OTC_STREAM_VIDEO_TYPE_CUSTOM));
  CHECK_STREQ("camera", cv_video_type_to_string(OTC_STREAM_VIDEO_TYPE_CAMERA));
  CHECK_STREQ("camera", cv_video_type_to_string((enum otc_stream_video_type)42));
}

/* Public calls that must fail cleanly without otc_init() or with bad arguments. */
static void test_api_without_init(void) {
  struct otc_session_callbacks cb = {0};
  CHECK_NULL(otc_session_new("k", "2_s", &cb)); /* before otc_init */
  CHECK_NULL(otc_session_new(NULL, "2_s", &cb));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_delete(NULL));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_connect(NULL, "t"));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_disconnect(NULL));
  CHECK_NULL(otc_session_get_id(NULL));
  CHECK_NULL(otc_session_get_connection(NULL));
  CHECK_NULL(otc_session_get_user_data(NULL));
  struct otc_session_capabilities caps = otc_session_get_capabilities(NULL);
  CHECK_EQ(0, caps.publish);
  CHECK_EQ(OTC_ILLEGAL_STATE, otc_destroy());

  struct otc_publisher_callbacks pcb = {0};
  pcb.user_data = &pcb;
  CHECK_NULL(otc_publisher_new("x", NULL, NULL));
  otc_publisher *p = otc_publisher_new(NULL, NULL, &pcb);
  CHECK_NOT_NULL(p);
  CHECK_STREQ("", otc_publisher_get_name(p));
  CHECK(otc_publisher_get_user_data(p) == &pcb);
  CHECK_EQ(OTC_TRUE, otc_publisher_get_publish_audio(p));
  CHECK_EQ(OTC_TRUE, otc_publisher_get_publish_video(p));
  CHECK_NULL(otc_publisher_get_stream(p));
  CHECK_EQ(OTC_SUCCESS, otc_publisher_delete(p)); /* freed at once without a service thread */
  CHECK_EQ(OTC_INVALID_PARAM, otc_publisher_delete(NULL));
  CHECK_NULL(otc_publisher_get_name(NULL));
  CHECK_NULL(otc_publisher_get_stream(NULL));
  CHECK_EQ(OTC_FALSE, otc_publisher_get_publish_audio(NULL));

  struct otc_session_settings *st = otc_session_settings_new();
  CHECK_NOT_NULL(st);
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_settings_set_server_url(st, "http://x"));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_settings_set_server_url(st, NULL));
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_server_url(st, "ws://127.0.0.1:1"));
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_server_url(st, "wss://example.com/v1"));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_settings_set_connect_timeout(st, 0));
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_connect_timeout(st, 300));
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_proxy_url(st, "http://proxy"));
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_set_ca_file(st, "/tmp/ca.pem"));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_settings_set_ca_file(st, NULL));
  CHECK_EQ(OTC_SUCCESS, otc_session_settings_delete(st));
  CHECK_EQ(OTC_INVALID_PARAM, otc_session_settings_delete(NULL));
}

int main(void) {
  test_connection();
  test_stream();
  test_api_without_init();
  return 0;
}
