/* Protocol v1 codec (docs/protocol.md): JSON text <-> frames, with jansson. No I/O, no state. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
  const char *name;
  enum cv_frame_type type;
} k_types[] = {
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
    {"signalUndelivered", CV_FRAME_SIGNAL_UNDELIVERED},
    {"streamInterrupted", CV_FRAME_STREAM_INTERRUPTED},
    {"streamRestored", CV_FRAME_STREAM_RESTORED},
    {"keyframeRequested", CV_FRAME_KEYFRAME_REQUESTED},
};

int cv_frame_decode(const char *text, size_t len, struct cv_frame *out) {
  memset(out, 0, sizeof *out);
  if (!text) return -1;
  json_error_t err;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  if (!root) return -1;
  if (!json_is_object(root)) goto bad;
  json_t *type = json_object_get(root, "type");
  if (!json_is_string(type)) goto bad;
  const char *name = json_string_value(type);
  for (size_t i = 0; i < sizeof k_types / sizeof k_types[0]; i++) {
    if (strcmp(name, k_types[i].name) == 0) {
      out->type = k_types[i].type;
      break;
    }
  }
  json_t *seq = json_object_get(root, "seq");
  if (seq) {
    if (!json_is_integer(seq) || json_integer_value(seq) < 1) goto bad;
    out->seq = (uint64_t)json_integer_value(seq);
  }
  out->root = root;
  return 0;
bad:
  json_decref(root);
  memset(out, 0, sizeof *out);
  return -1;
}

void cv_frame_clear(struct cv_frame *f) {
  if (f->root) json_decref(f->root);
  memset(f, 0, sizeof *f);
}

static char *dump(json_t *obj) {
  if (!obj) return NULL;
  char *text = json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  return text;
}

char *cv_frame_connect(const char *api_key, const char *session_id, const char *token, int suppressed) {
  return dump(json_pack("{s:s, s:i, s:s, s:s, s:s, s:{s:s, s:s}, s:b}", "type", "connect", "v", 1, "apiKey", api_key,
                        "sessionId", session_id, "token", token, "sdk", "name", CV_SDK_NAME, "version",
                        CV_SDK_VERSION, "connectionEventsSuppressed", suppressed));
}

char *cv_frame_resume(const char *api_key, const char *session_id, const char *connection_id,
                      const char *resume_token, uint64_t last_seq) {
  return dump(json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:I}", "type", "resume", "v", 1, "apiKey", api_key,
                        "sessionId", session_id, "connectionId", connection_id, "resumeToken", resume_token,
                        "lastSeq", (json_int_t)last_seq));
}

char *cv_frame_request(const char *type, uint64_t id, json_t *fields) {
  json_t *obj = fields ? fields : json_object();
  if (!obj) return NULL;
  if (json_object_set_new(obj, "type", json_string(type)) != 0 ||
      json_object_set_new(obj, "id", json_integer((json_int_t)id)) != 0) {
    json_decref(obj);
    return NULL;
  }
  return dump(obj);
}

char *cv_frame_ack(uint64_t seq) { return dump(json_pack("{s:s, s:I}", "type", "ack", "seq", (json_int_t)seq)); }

static const char *const k_request_names[CV_REQ_COUNT] = {
    [CV_REQ_SIGNAL] = "signal",
    [CV_REQ_PUBLISH] = "publish",
    [CV_REQ_UNPUBLISH] = "unpublish",
    [CV_REQ_UPDATE_STREAM] = "updateStream",
    [CV_REQ_FORCE_DISCONNECT] = "forceDisconnect",
    [CV_REQ_FORCE_UNPUBLISH] = "forceUnpublish",
    [CV_REQ_FORCE_MUTE_STREAM] = "forceMuteStream",
    [CV_REQ_FORCE_MUTE_ALL] = "forceMuteAll",
    [CV_REQ_DISABLE_FORCE_MUTE] = "disableForceMute",
    [CV_REQ_SUBSCRIBE] = "subscribe",
    [CV_REQ_UNSUBSCRIBE] = "unsubscribe",
    [CV_REQ_REQUEST_KEYFRAME] = "requestKeyframe",
};

const char *cv_request_name(enum cv_request_kind kind) {
  return (int)kind >= 0 && kind < CV_REQ_COUNT ? k_request_names[kind] : NULL;
}

int cv_request_kind_of(const char *name) {
  for (int k = 0; name && k < CV_REQ_COUNT; k++)
    if (strcmp(name, k_request_names[k]) == 0) return k;
  return -1;
}

int cv_signal_check(const char *type, const char *data) {
  if (type) {
    size_t n = strlen(type);
    if (n > CV_MAX_SIGNAL_TYPE) return OTC_SESSION_SIGNAL_TYPE_TOO_LONG;
    for (size_t i = 0; i < n; i++) {
      char c = type[i];
      int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '~';
      if (!ok) return OTC_SESSION_INVALID_SIGNAL_TYPE;
    }
  }
  if (data && strlen(data) > CV_MAX_SIGNAL_DATA) return OTC_SESSION_SIGNAL_DATA_TOO_LONG;
  return 0;
}

const char *cv_json_str(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}

int64_t cv_json_int(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int cv_json_bool(const json_t *obj, const char *key) { return json_is_true(json_object_get(obj, key)) ? 1 : 0; }
