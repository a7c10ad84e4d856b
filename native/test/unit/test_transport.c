/*
 * The transport layer alone (links only convene_transport and the base layer): the write
 * queue of a link without a socket, taken out as the wire would take it, and the owner's
 * slot that the transport clears when the link goes.
 */
#include "check.h"
#include "internal.h"

static int g_events;
static void on_open(void *owner) { g_events++; }
static void on_text(void *owner, const char *text, size_t len) { g_events++; }
static void on_error(void *owner, const char *why) { g_events++; }
static void on_closed(void *owner, int code, const char *reason) { g_events++; }
static const struct cv_transport_events k_ev = {
    .on_open = on_open, .on_text = on_text, .on_error = on_error, .on_closed = on_closed};

static void test_queue(void) {
  struct cv_link *slot = NULL;
  int owner = 0;
  struct cv_link *l = cv_link_new_detached_for_testing(&k_ev, &owner, &slot);
  CHECK_NOT_NULL(l);
  CHECK(slot == l);
  CHECK_NULL(cv_transport_take_sent(l, NULL));
  cv_transport_send(l, "{\"type\":\"a\"}");
  cv_transport_send(l, "second");
  cv_transport_ping(l);
  CHECK_EQ(1, l->ping_due);
  size_t len = 0;
  char *t = cv_transport_take_sent(l, &len);
  CHECK_STREQ("{\"type\":\"a\"}", t);
  CHECK_EQ(12, len);
  free(t);
  t = cv_transport_take_sent(l, NULL);
  CHECK_STREQ("second", t);
  free(t);
  CHECK_NULL(cv_transport_take_sent(l, NULL));
  cv_transport_send(l, "left in the queue"); /* freed with the link */
  cv_transport_close(&slot);
  CHECK_NULL(slot);
  CHECK_EQ(0, g_events); /* closing from the owner's side reports nothing back */
  cv_transport_close(&slot); /* nothing left: a no-op */
  cv_transport_send(NULL, "x");   /* no link: dropped */
  cv_transport_ping(NULL);
}

static void test_no_context(void) {
  CHECK_NULL(cv_transport_context());
  struct cv_link *slot = NULL;
  struct cv_transport_config cfg = {"ws://127.0.0.1:9/", NULL, 1, "t", {0, 0, 0, 0}};
  CHECK_EQ(-1, cv_transport_open(&cfg, &k_ev, NULL, &slot)); /* no context: nothing starts */
  CHECK_NULL(slot);
  struct cv_timer sul = {0};
  memset(&sul, 0, sizeof sul);
  cv_timer_schedule(&sul, NULL, 10); /* without a context, nothing is scheduled */
  CHECK_EQ(0, g_events);
}

int main(void) {
  test_queue();
  test_no_context();
  return 0;
}
