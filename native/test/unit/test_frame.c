/* The protocol codec (frame.c): decoding server frames and encoding client frames. */
#include "check.h"
#include "internal.h"

static int decode(const char *text, struct cv_frame *f) { return cv_frame_decode(text, strlen(text), f); }

static void check_rejected(const char *text) {
  struct cv_frame f;
  memset(&f, 0xAB, sizeof f);
  if (decode(text, &f) != -1) CHECK_FAIL_("accepted: %s", text);
  CHECK_EQ(CV_FRAME_UNKNOWN, f.type);
  CHECK_EQ(0, f.seq);
  CHECK_NULL(f.root);
}

static void test_valid(void) {
  struct cv_frame f;
  CHECK_EQ(0, decode("{\"type\":\"connected\",\"v\":1}", &f));
  CHECK_EQ(CV_FRAME_CONNECTED, f.type);
  CHECK_EQ(0, f.seq);
  CHECK_NOT_NULL(f.root);
  cv_frame_clear(&f);
  CHECK_NULL(f.root);
  cv_frame_clear(&f); /* twice is harmless */

  CHECK_EQ(0, decode("{\"type\":\"signal\",\"seq\":7,\"signalType\":\"chat\",\"data\":\"hi\",\"from\":null}", &f));
  CHECK_EQ(CV_FRAME_SIGNAL, f.type);
  CHECK_EQ(7, f.seq);
  CHECK_STREQ("chat", cv_json_str(f.root, "signalType"));
  CHECK_STREQ("", cv_json_str(f.root, "from")); /* null reads as "" */
  cv_frame_clear(&f);

  static const struct {
    const char *name;
    enum cv_frame_type type;
  } all[] = {
      {"connected", CV_FRAME_CONNECTED},
      {"resumed", CV_FRAME_RESUMED},
      {"error", CV_FRAME_ERROR},
      {"pong", CV_FRAME_PONG},
      {"result", CV_FRAME_RESULT},
      {"connectionCreated", CV_FRAME_CONNECTION_CREATED},
      {"connectionDestroyed", CV_FRAME_CONNECTION_DESTROYED},
      {"streamCreated", CV_FRAME_STREAM_CREATED},
      {"streamDestroyed", CV_FRAME_STREAM_DESTROYED},
      {"streamPropertyChanged", CV_FRAME_STREAM_PROPERTY_CHANGED},
      {"signal", CV_FRAME_SIGNAL},
      {"muteForced", CV_FRAME_MUTE_FORCED},
      {"sessionDisconnected", CV_FRAME_SESSION_DISCONNECTED},
      {"somethingNew", CV_FRAME_UNKNOWN}, /* unknown types decode: a later minor revision may add them */
      {"", CV_FRAME_UNKNOWN},
      {"Signal", CV_FRAME_UNKNOWN},
  };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    char text[128];
    snprintf(text, sizeof text, "{\"seq\":3,\"type\":\"%s\",\"extra\":[1,{}]}", all[i].name);
    CHECK_EQ(0, decode(text, &f));
    if (f.type != all[i].type) CHECK_FAIL_("type of %s: %d", all[i].name, (int)f.type);
    CHECK_EQ(3, f.seq);
    cv_frame_clear(&f);
  }

  /* the length is honoured: trailing bytes outside it are not read */
  const char *buf = "{\"type\":\"pong\"}GARBAGE";
  CHECK_EQ(0, cv_frame_decode(buf, strlen("{\"type\":\"pong\"}"), &f));
  CHECK_EQ(CV_FRAME_PONG, f.type);
  cv_frame_clear(&f);

  /* largest seq that fits */
  CHECK_EQ(0, decode("{\"type\":\"signal\",\"seq\":9007199254740991}", &f));
  CHECK(f.seq == 9007199254740991ULL);
  cv_frame_clear(&f);
}

static void test_invalid(void) {
  check_rejected("");
  check_rejected("not json");
  check_rejected("{\"type\":\"signal\"");  /* truncated */
  check_rejected("[]");
  check_rejected("[{\"type\":\"signal\"}]");
  check_rejected("\"signal\"");
  check_rejected("42");
  check_rejected("null");
  check_rejected("{}");
  check_rejected("{\"seq\":1}");
  check_rejected("{\"type\":null}");
  check_rejected("{\"type\":1}");
  check_rejected("{\"type\":[\"signal\"]}");
  check_rejected("{\"type\":\"signal\",\"seq\":0}");
  check_rejected("{\"type\":\"signal\",\"seq\":-1}");
  check_rejected("{\"type\":\"signal\",\"seq\":\"1\"}");
  check_rejected("{\"type\":\"signal\",\"seq\":1.5}");
  check_rejected("{\"type\":\"signal\",\"seq\":null}");
  check_rejected("{\"type\":\"signal\",\"seq\":true}");
  check_rejected("{\"type\":\"signal\",\"seq\":99999999999999999999999}");
  check_rejected("{\"type\":\"signal\",\"type\":\"error\"}"); /* duplicate keys */
  check_rejected("{\"type\":\"signal\",\"seq\":1,\"seq\":2}");
  check_rejected("{\"type\":\"signal\"} {\"type\":\"signal\"}"); /* two values */
  check_rejected("{\"type\":\"sig\\u0000nal\"}");                  /* NUL inside a string */
  check_rejected("{\"type\":\"\xff\xfe\"}");                        /* not UTF-8 */

  struct cv_frame f;
  CHECK_EQ(-1, cv_frame_decode(NULL, 0, &f));
  CHECK_NULL(f.root);
  /* embedded NUL byte in the text */
  const char nul[] = "{\"type\":\"pong\"}\0{}";
  CHECK_EQ(-1, cv_frame_decode(nul, sizeof nul - 1, &f));
}

static json_t *parse(const char *text) {
  CHECK_NOT_NULL(text);
  json_error_t err;
  json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, &err);
  if (!obj) CHECK_FAIL_("encoder output is not JSON (%s): %s", err.text, text);
  CHECK(json_is_object(obj));
  return obj;
}

static void test_encoders(void) {
  char *text = cv_frame_connect("4700123", "2_sess", "T1==tok\"quoted\"", 1);
  json_t *o = parse(text);
  CHECK_STREQ("connect", cv_json_str(o, "type"));
  CHECK_EQ(1, cv_json_int(o, "v"));
  CHECK_STREQ("4700123", cv_json_str(o, "apiKey"));
  CHECK_STREQ("2_sess", cv_json_str(o, "sessionId"));
  CHECK_STREQ("T1==tok\"quoted\"", cv_json_str(o, "token"));
  CHECK_STREQ(CV_SDK_NAME, cv_json_str(json_object_get(o, "sdk"), "name"));
  CHECK_STREQ(CV_SDK_VERSION, cv_json_str(json_object_get(o, "sdk"), "version"));
  CHECK(json_is_true(json_object_get(o, "connectionEventsSuppressed")));
  json_decref(o);
  free(text);

  text = cv_frame_connect("k", "s", "t", 0);
  o = parse(text);
  CHECK(json_is_false(json_object_get(o, "connectionEventsSuppressed")));
  json_decref(o);
  free(text);

  text = cv_frame_resume("k", "2_s", "c-1", "rt", 41);
  o = parse(text);
  CHECK_STREQ("resume", cv_json_str(o, "type"));
  CHECK_EQ(1, cv_json_int(o, "v"));
  CHECK_STREQ("c-1", cv_json_str(o, "connectionId"));
  CHECK_STREQ("rt", cv_json_str(o, "resumeToken"));
  CHECK_EQ(41, cv_json_int(o, "lastSeq"));
  json_decref(o);
  free(text);

  text = cv_frame_request("disconnect", 1, NULL);
  o = parse(text);
  CHECK_STREQ("disconnect", cv_json_str(o, "type"));
  CHECK_EQ(1, cv_json_int(o, "id"));
  CHECK_EQ(2, json_object_size(o));
  json_decref(o);
  free(text);

  /* fields are consumed; type and id overwrite whatever they held */
  json_t *fields = json_pack("{s:s, s:s, s:s, s:i}", "signalType", "chat", "data", "h\xc3\xa9llo", "type", "bogus", "id", 99);
  text = cv_frame_request("signal", 12, fields);
  o = parse(text);
  CHECK_STREQ("signal", cv_json_str(o, "type"));
  CHECK_EQ(12, cv_json_int(o, "id"));
  CHECK_STREQ("chat", cv_json_str(o, "signalType"));
  CHECK_STREQ("h\xc3\xa9llo", cv_json_str(o, "data"));
  json_decref(o);
  free(text);

  text = cv_frame_ack(65);
  o = parse(text);
  CHECK_STREQ("ack", cv_json_str(o, "type"));
  CHECK_EQ(65, cv_json_int(o, "seq"));
  json_decref(o);
  free(text);

  /* what the encoders produce decodes (frames are symmetric in shape) */
  struct cv_frame f;
  text = cv_frame_ack(3);
  CHECK_EQ(0, cv_frame_decode(text, strlen(text), &f));
  CHECK_EQ(CV_FRAME_UNKNOWN, f.type); /* "ack" is client-to-server */
  CHECK_EQ(3, f.seq);
  cv_frame_clear(&f);
  free(text);
}

static void test_json_helpers(void) {
  json_t *o = json_pack("{s:s, s:i, s:b, s:b, s:f, s:n}", "s", "x", "i", 5, "t", 1, "f", 0, "r", 1.5, "n");
  CHECK_STREQ("x", cv_json_str(o, "s"));
  CHECK_STREQ("", cv_json_str(o, "i"));
  CHECK_STREQ("", cv_json_str(o, "missing"));
  CHECK_STREQ("", cv_json_str(NULL, "s"));
  CHECK_EQ(5, cv_json_int(o, "i"));
  CHECK_EQ(0, cv_json_int(o, "s"));
  CHECK_EQ(0, cv_json_int(o, "r"));
  CHECK_EQ(0, cv_json_int(NULL, "i"));
  CHECK_EQ(1, cv_json_bool(o, "t"));
  CHECK_EQ(0, cv_json_bool(o, "f"));
  CHECK_EQ(0, cv_json_bool(o, "i"));
  CHECK_EQ(0, cv_json_bool(o, "n"));
  CHECK_EQ(0, cv_json_bool(NULL, "t"));
  json_decref(o);
}

/* One error namespace: every code has one name (convene_error_name). */
static void test_error_names(void) {
  CHECK_STREQ("OTC_INVALID_PARAM", convene_error_name(OTC_INVALID_PARAM));
  CHECK_STREQ("OTC_SESSION_NULL_OR_INVALID_PARAMETER", convene_error_name(1011));
  CHECK_STREQ("OTC_SESSION_CONNECTION_DROPPED", convene_error_name(OTC_SESSION_CONNECTION_DROPPED));
  CHECK_STREQ("CONVENE_SIGNAL_UNDELIVERED", convene_error_name(CONVENE_SIGNAL_UNDELIVERED));
  CHECK_STREQ("CONVENE_UNKNOWN_FRAME_TYPE", convene_error_name(4405));
  CHECK_STREQ("CONVENE_FLOOD", convene_error_name(4429));
  CHECK_STREQ("UNKNOWN", convene_error_name(123456));
  CHECK_STREQ("signal", cv_request_name(CV_REQ_SIGNAL));
  CHECK_EQ(CV_REQ_FORCE_MUTE_ALL, cv_request_kind_of("forceMuteAll"));
  CHECK_EQ(-1, cv_request_kind_of("nope"));
}

int main(void) {
  test_valid();
  test_invalid();
  test_encoders();
  test_json_helpers();
  test_error_names();
  return 0;
}
