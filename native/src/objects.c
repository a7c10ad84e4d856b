/* Connections and streams: the objects handed to callbacks, and their public getters. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

/* ---- otc_connection ---- */

static otc_connection *connection_new(const char *id, const char *data, const char *session_id, int64_t t) {
  otc_connection *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->id = dup_or_empty(id);
  c->data = dup_or_empty(data);
  c->session_id = dup_or_empty(session_id);
  c->creation_time = t;
  if (!c->id || !c->data || !c->session_id) {
    otc_connection_delete(c);
    return NULL;
  }
  return c;
}

otc_connection *cv_connection_from_json(const json_t *obj, const char *session_id) {
  if (!json_is_object(obj)) return NULL;
  const char *id = cv_json_str(obj, "id");
  if (!*id) return NULL;
  return connection_new(id, cv_json_str(obj, "data"), session_id, cv_json_int(obj, "creationTime"));
}

const char *otc_connection_get_id(const otc_connection *c) { return c ? c->id : NULL; }
int64_t otc_connection_get_creation_time(const otc_connection *c) { return c ? c->creation_time : 0; }
const char *otc_connection_get_data(const otc_connection *c) { return c ? c->data : NULL; }
const char *otc_connection_get_session_id(const otc_connection *c) { return c ? c->session_id : NULL; }

otc_connection *otc_connection_copy(const otc_connection *c) {
  return c ? connection_new(c->id, c->data, c->session_id, c->creation_time) : NULL;
}

otc_status otc_connection_delete(otc_connection *c) {
  if (!c) return OTC_INVALID_PARAM;
  free(c->id);
  free(c->data);
  free(c->session_id);
  free(c);
  return OTC_SUCCESS;
}

/* ---- otc_stream ---- */

enum otc_stream_video_type cv_video_type_from_string(const char *s) {
  if (s && strcmp(s, "screen") == 0) return OTC_STREAM_VIDEO_TYPE_SCREEN;
  if (s && strcmp(s, "custom") == 0) return OTC_STREAM_VIDEO_TYPE_CUSTOM;
  return OTC_STREAM_VIDEO_TYPE_CAMERA;
}

const char *cv_video_type_to_string(enum otc_stream_video_type t) {
  switch (t) {
    case OTC_STREAM_VIDEO_TYPE_SCREEN: return "screen";
    case OTC_STREAM_VIDEO_TYPE_CUSTOM: return "custom";
    default: return "camera";
  }
}

otc_stream *cv_stream_from_json(const json_t *obj, const otc_connection *owner, const char *session_id) {
  if (!json_is_object(obj)) return NULL;
  const char *id = cv_json_str(obj, "id");
  if (!*id) return NULL;
  otc_stream *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->id = strdup(id);
  s->name = strdup(cv_json_str(obj, "name"));
  s->connection = owner ? otc_connection_copy(owner)
                        : connection_new(cv_json_str(obj, "connectionId"), "", session_id, 0);
  s->creation_time = cv_json_int(obj, "creationTime");
  s->has_audio = cv_json_bool(obj, "hasAudio");
  s->has_video = cv_json_bool(obj, "hasVideo");
  s->video_type = cv_video_type_from_string(cv_json_str(obj, "videoType"));
  json_t *dims = json_object_get(obj, "videoDimensions");
  s->width = (int)cv_json_int(dims, "width");
  s->height = (int)cv_json_int(dims, "height");
  if (!s->id || !s->name || !s->connection) {
    otc_stream_delete(s);
    return NULL;
  }
  return s;
}

const char *otc_stream_get_id(const otc_stream *s) { return s ? s->id : NULL; }
const char *otc_stream_get_name(const otc_stream *s) { return s ? s->name : NULL; }
otc_bool otc_stream_has_video(const otc_stream *s) { return s ? s->has_video : OTC_FALSE; }
otc_bool otc_stream_has_video_track(const otc_stream *s) { return s ? s->has_video : OTC_FALSE; }
otc_bool otc_stream_has_audio(const otc_stream *s) { return s ? s->has_audio : OTC_FALSE; }
otc_bool otc_stream_has_audio_track(const otc_stream *s) { return s ? s->has_audio : OTC_FALSE; }
int otc_stream_get_video_width(const otc_stream *s) { return s ? s->width : 0; }
int otc_stream_get_video_height(const otc_stream *s) { return s ? s->height : 0; }
int64_t otc_stream_get_creation_time(const otc_stream *s) { return s ? s->creation_time : 0; }
enum otc_stream_video_type otc_stream_get_video_type(const otc_stream *s) {
  return s ? s->video_type : OTC_STREAM_VIDEO_TYPE_CAMERA;
}
const otc_connection *otc_stream_get_connection(const otc_stream *s) { return s ? s->connection : NULL; }

otc_stream *otc_stream_copy(const otc_stream *s) {
  if (!s) return NULL;
  otc_stream *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  *c = *s;
  c->id = strdup(s->id);
  c->name = strdup(s->name);
  c->connection = otc_connection_copy(s->connection);
  if (!c->id || !c->name || !c->connection) {
    otc_stream_delete(c);
    return NULL;
  }
  return c;
}

otc_status otc_stream_delete(otc_stream *s) {
  if (!s) return OTC_INVALID_PARAM;
  free(s->id);
  free(s->name);
  if (s->connection) otc_connection_delete(s->connection);
  free(s);
  return OTC_SUCCESS;
}

/* ---- tables ---- */

const char *cv_connection_id_of(const void *c) { return ((const otc_connection *)c)->id; }
const char *cv_stream_id_of(const void *s) { return ((const otc_stream *)s)->id; }

int cv_table_add(struct cv_table *t, void *item) {
  if (t->len == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    void **items = realloc(t->items, cap * sizeof *items);
    if (!items) return -1;
    t->items = items;
    t->cap = cap;
  }
  t->items[t->len++] = item;
  return 0;
}

static long table_index(const struct cv_table *t, const char *id, const char *(*get_id)(const void *)) {
  if (!id) return -1;
  for (size_t i = 0; i < t->len; i++)
    if (strcmp(get_id(t->items[i]), id) == 0) return (long)i;
  return -1;
}

void *cv_table_find(const struct cv_table *t, const char *id, const char *(*get_id)(const void *)) {
  long i = table_index(t, id, get_id);
  return i < 0 ? NULL : t->items[i];
}

void *cv_table_remove(struct cv_table *t, const char *id, const char *(*get_id)(const void *)) {
  long i = table_index(t, id, get_id);
  if (i < 0) return NULL;
  void *item = t->items[i];
  memmove(&t->items[i], &t->items[i + 1], (t->len - (size_t)i - 1) * sizeof *t->items);
  t->len--;
  return item;
}
