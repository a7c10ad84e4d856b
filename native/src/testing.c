/*
 * Test-only support, compiled into the unit tests and the fuzzer (native/test, native/fuzz),
 * never into libconvene: a session object with no socket and no service thread, on which the
 * session state machine (cv_state_on_text and friends) can be driven directly, as nghttp2 is
 * fed bytes; what it sends is read back with cv_transport_take_sent. Timers that state.c schedules go on a private libwebsockets context that nobody
 * services, so they never fire; freeing the session cancels them.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct lws_context *g_test_ctx;

int cv_testing_begin(void) {
  if (cv_transport_context() || g_test_ctx) return -1;
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = cv_protocols;
  info.gid = (gid_t)-1;
  info.uid = (uid_t)-1;
  lws_set_log_level(LLL_ERR, NULL);
  g_test_ctx = lws_create_context(&info);
  if (!g_test_ctx) return -1;
  cv_transport_set_context(g_test_ctx, NULL);
  return 0;
}

void cv_testing_end(void) {
  if (!g_test_ctx) return;
  cv_transport_set_context(NULL, NULL);
  lws_context_destroy(g_test_ctx);
  g_test_ctx = NULL;
}

otc_session *cv_testing_session_new(const char *api_key, const char *session_id,
                                    const struct otc_session_callbacks *callbacks) {
  otc_session *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  pthread_mutex_init(&s->info_lock, NULL);
  s->cb = *callbacks;
  s->api_key = strdup(api_key);
  s->session_id = strdup(session_id);
  s->server_url = strdup("ws://127.0.0.1:9/testing");
  s->tls_verify = 1;
  s->connect_timeout_ms = 10000;
  s->max_backlog = INT_MAX; /* no settings: unbounded unless a test sets it */
  s->token = strdup("testing-token");
  cv_testing_attach_link(s);
  if (!s->api_key || !s->session_id || !s->server_url || !s->token || !s->link) {
    cv_transport_close(&s->link);
    cv_state_free(s);
    cv_session_free(s);
    return NULL;
  }
  atomic_store(&s->state, CV_STATE_CONNECTING);
  return s;
}

void cv_testing_attach_link(otc_session *s) {
  cv_transport_close(&s->link);
  cv_link_new_detached_for_testing(&cv_state_transport_events, s, &s->link);
}

void cv_testing_session_free(otc_session *s) {
  if (!s) return;
  cv_state_silence(s);
  cv_state_free(s);
  cv_session_free(s);
}
