/* cv_table (objects.c): add, find, remove, growth, order, the hash index from 16 items on. */
#include "check.h"
#include "internal.h"

static otc_connection *conn(const char *id) {
  json_t *o = json_pack("{s:s}", "id", id);
  otc_connection *c = cv_connection_from_json(o, "2_s");
  json_decref(o);
  CHECK_NOT_NULL(c);
  return c;
}

int main(void) {
  struct cv_table t = {0};
  CHECK_NULL(cv_table_find(&t, "a", cv_connection_id_of));
  CHECK_NULL(cv_table_remove(&t, "a", cv_connection_id_of));
  CHECK_NULL(cv_table_find(&t, NULL, cv_connection_id_of));

  enum { N = 100 };
  for (int i = 0; i < N; i++) {
    char id[16];
    snprintf(id, sizeof id, "c-%d", i);
    CHECK_EQ(0, cv_table_add(&t, conn(id), cv_connection_id_of));
  }
  CHECK_EQ(N, t.len);
  CHECK(t.cap >= N);
  CHECK_NOT_NULL(t.idx); /* indexed past 16 items */
  CHECK(t.idx_cap >= 2 * N);
  for (int i = 0; i < N; i++) {
    char id[16];
    snprintf(id, sizeof id, "c-%d", i);
    otc_connection *c = cv_table_find(&t, id, cv_connection_id_of);
    CHECK_NOT_NULL(c);
    CHECK_STREQ(id, otc_connection_get_id(c));
    CHECK(t.items[i] == c); /* insertion order */
  }
  CHECK_NULL(cv_table_find(&t, "c-100", cv_connection_id_of));
  CHECK_NULL(cv_table_find(&t, "c-", cv_connection_id_of));
  CHECK_NULL(cv_table_find(&t, NULL, cv_connection_id_of));

  /* remove first, last, middle: the others keep their order */
  const char *gone[] = {"c-0", "c-99", "c-50"};
  for (int k = 0; k < 3; k++) {
    otc_connection *c = cv_table_remove(&t, gone[k], cv_connection_id_of);
    CHECK_NOT_NULL(c);
    CHECK_STREQ(gone[k], otc_connection_get_id(c));
    otc_connection_delete(c);
    CHECK_NULL(cv_table_find(&t, gone[k], cv_connection_id_of));
    CHECK_NULL(cv_table_remove(&t, gone[k], cv_connection_id_of));
  }
  CHECK_EQ(N - 3, t.len);
  int prev = 0;
  for (size_t i = 0; i < t.len; i++) {
    int n = atoi(otc_connection_get_id(t.items[i]) + 2);
    CHECK(n > prev);
    prev = n;
  }
  /* the same id twice: find returns the first, remove takes them one at a time */
  CHECK_EQ(0, cv_table_add(&t, conn("dup"), cv_connection_id_of));
  CHECK_EQ(0, cv_table_add(&t, conn("dup"), cv_connection_id_of));
  otc_connection *first = cv_table_find(&t, "dup", cv_connection_id_of);
  otc_connection *d1 = cv_table_remove(&t, "dup", cv_connection_id_of);
  CHECK(d1 == first);
  otc_connection *d2 = cv_table_remove(&t, "dup", cv_connection_id_of);
  CHECK_NOT_NULL(d2);
  CHECK(d1 != d2);
  CHECK_NULL(cv_table_remove(&t, "dup", cv_connection_id_of));
  otc_connection_delete(d1);
  otc_connection_delete(d2);

  /* remove everything */
  while (t.len) {
    otc_connection *c = cv_table_remove(&t, otc_connection_get_id(t.items[t.len - 1]), cv_connection_id_of);
    CHECK_NOT_NULL(c);
    otc_connection_delete(c);
  }
  CHECK_EQ(0, t.len);
  CHECK_NULL(t.idx); /* small again: linear */
  CHECK_EQ(0, cv_table_add(&t, conn("again"), cv_connection_id_of));
  otc_connection_delete(cv_table_remove(&t, "again", cv_connection_id_of));
  cv_table_free(&t);

  /* streams are looked up by stream id */
  struct cv_table st = {0};
  json_t *js = json_pack("{s:s, s:s}", "id", "s-1", "connectionId", "c-1");
  otc_stream *s = cv_stream_from_json(js, NULL, "2_s");
  json_decref(js);
  CHECK_EQ(0, cv_table_add(&st, s, cv_stream_id_of));
  CHECK(cv_table_find(&st, "s-1", cv_stream_id_of) == s);
  CHECK_NULL(cv_table_find(&st, "c-1", cv_stream_id_of));
  CHECK(cv_table_remove(&st, "s-1", cv_stream_id_of) == s);
  otc_stream_delete(s);
  cv_table_free(&st);
  return 0;
}
