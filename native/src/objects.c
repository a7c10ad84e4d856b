/* Connections and streams: the objects handed to callbacks, and their public getters. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"


/* ---- otc_connection ---- */

static otc_connection *connection_new(const char *id, const char *data, const char *session_id, int64_t t, int borrow) {
  if (!id) id = "";
  if (!data) data = "";
  if (!session_id) session_id = "";
  size_t li = strlen(id) + 1, ld = strlen(data) + 1, ls = borrow ? 0 : strlen(session_id) + 1;
  otc_connection *c = calloc(1, sizeof *c + li + ld + ls);
  if (!c) return NULL;
  char *p = (char *)(c + 1);
  c->id = memcpy(p, id, li);
  c->data = memcpy(p + li, data, ld);
  c->session_id = borrow ? session_id : memcpy(p + li + ld, session_id, ls);
  c->creation_time = t;
  return c;
}

otc_connection *cv_connection_from_json(const json_t *obj, const char *session_id) {
  if (!json_is_object(obj)) return NULL;
  const char *id = cv_json_str(obj, "id");
  if (!*id) return NULL;
  return connection_new(id, cv_json_str(obj, "data"), session_id, cv_json_int(obj, "creationTime"), 0);
}

otc_connection *cv_connection_from_json_in(const json_t *obj, const char *session_id) {
  if (!json_is_object(obj)) return NULL;
  const char *id = cv_json_str(obj, "id");
  if (!*id) return NULL;
  return connection_new(id, cv_json_str(obj, "data"), session_id, cv_json_int(obj, "creationTime"), 1);
}

const char *otc_connection_get_id(const otc_connection *c) { return c ? c->id : NULL; }
int64_t otc_connection_get_creation_time(const otc_connection *c) { return c ? c->creation_time : 0; }
const char *otc_connection_get_data(const otc_connection *c) { return c ? c->data : NULL; }
const char *otc_connection_get_session_id(const otc_connection *c) { return c ? c->session_id : NULL; }

otc_connection *otc_connection_copy(const otc_connection *c) {
  return c ? connection_new(c->id, c->data, c->session_id, c->creation_time, 0) : NULL;
}

otc_status otc_connection_delete(otc_connection *c) {
  if (!c) return OTC_INVALID_PARAM;
  if (c->lib_owned) {
    CV_WARN("otc_connection_delete: connection %s is owned by the library (otc_session_get_connection, "
            "otc_stream_get_connection): not freed", c->id);
    return OTC_INVALID_PARAM;
  }
  free(c);
  return OTC_SUCCESS;
}

otc_connection *cv_connection_owned_copy(const otc_connection *c) {
  otc_connection *copy = otc_connection_copy(c);
  if (copy) copy->lib_owned = 1;
  return copy;
}

void cv_connection_free_owned(otc_connection *c) {
  if (!c) return;
  c->lib_owned = 0;
  otc_connection_delete(c);
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
                        : connection_new(cv_json_str(obj, "connectionId"), "", session_id, 0, 0);
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
  c->lib_owned = 0;
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
  if (s->lib_owned) {
    CV_WARN("otc_stream_delete: stream %s is owned by the library (otc_publisher_get_stream): not freed", s->id);
    return OTC_INVALID_PARAM;
  }
  if (s->connection) s->connection->lib_owned = 0;
  free(s->id);
  free(s->name);
  if (s->connection) otc_connection_delete(s->connection);
  free(s);
  return OTC_SUCCESS;
}

otc_stream *cv_stream_owned_copy(const otc_stream *s) {
  otc_stream *copy = otc_stream_copy(s);
  if (copy) {
    copy->reason = NULL;
    copy->lib_owned = 1;
    copy->connection->lib_owned = 1;
  }
  return copy;
}

void cv_stream_free_owned(otc_stream *s) {
  if (!s) return;
  s->lib_owned = 0;
  otc_stream_delete(s);
}

/* ---- tables ---- */

const char *cv_connection_id_of(const void *c) { return ((const otc_connection *)c)->id; }
const char *cv_stream_id_of(const void *s) { return ((const otc_stream *)s)->id; }

#define CV_INDEX_FROM 16

static uint32_t hash_id(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

static void index_put(struct cv_table *t, size_t i, const char *(*get_id)(const void *)) {
  size_t mask = t->idx_cap - 1;
  size_t h = hash_id(get_id(t->items[i])) & mask;
  while (t->idx[h]) h = (h + 1) & mask;
  t->idx[h] = (uint32_t)(i + 1);
}

/* Rebuilds the index for the current items (or drops it when the table is small). */
static void index_rebuild(struct cv_table *t, const char *(*get_id)(const void *)) {
  free(t->idx);
  t->idx = NULL;
  t->idx_cap = 0;
  if (!get_id || t->len < CV_INDEX_FROM) return;
  size_t cap = 32;
  while (cap < t->len * 2) cap <<= 1;
  t->idx = calloc(cap, sizeof *t->idx);
  if (!t->idx) return; /* out of memory: lookups stay linear */
  t->idx_cap = cap;
  for (size_t i = 0; i < t->len; i++) index_put(t, i, get_id);
}

int cv_table_add(struct cv_table *t, void *item, const char *(*get_id)(const void *)) {
  if (t->len == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    void **items = realloc(t->items, cap * sizeof *items);
    if (!items) return -1;
    t->items = items;
    t->cap = cap;
  }
  t->items[t->len++] = item;
  if (!get_id) return 0;
  if (t->idx && t->len * 2 <= t->idx_cap)
    index_put(t, t->len - 1, get_id);
  else if (t->len >= CV_INDEX_FROM)
    index_rebuild(t, get_id);
  return 0;
}

static long table_index(const struct cv_table *t, const char *id, const char *(*get_id)(const void *)) {
  if (!id) return -1;
  if (t->idx) {
    size_t mask = t->idx_cap - 1;
    for (size_t h = hash_id(id) & mask; t->idx[h]; h = (h + 1) & mask) {
      size_t i = t->idx[h] - 1;
      if (strcmp(get_id(t->items[i]), id) == 0) return (long)i;
    }
    return -1;
  }
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
  if (t->idx) index_rebuild(t, get_id); /* indices moved: O(n), as the memmove */
  return item;
}

void cv_table_clear(struct cv_table *t) {
  t->len = 0;
  free(t->idx);
  t->idx = NULL;
  t->idx_cap = 0;
}

void cv_table_free(struct cv_table *t) {
  cv_table_clear(t);
  free(t->items);
  t->items = NULL;
  t->cap = 0;
}
