/*
 * Session state, the end: errors reported to the application, and what happens when a
 * session is over (timers, socket, requests, publishers, tables), and freeing it.
 * Service thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

void cv_state_report_error(otc_session *s, int code, const char *message) {
  CV_ERROR("session %.24s: error %d: %s", s->session_id, code, message);
  CV_EMIT(s, on_error, message, (enum otc_session_error_code)code);
}

/* ---- reset between connections ---- */

static void clear_tables(otc_session *s) {
  for (size_t i = 0; i < s->connections.len; i++) otc_connection_delete(s->connections.items[i]);
  cv_table_clear(&s->connections);
  for (size_t i = 0; i < s->streams.len; i++) otc_stream_delete(s->streams.items[i]);
  cv_table_clear(&s->streams);
  for (size_t i = 0; i < s->stale_connections.len; i++) otc_connection_delete(s->stale_connections.items[i]);
  cv_table_clear(&s->stale_connections);
  for (size_t i = 0; i < s->stale_streams.len; i++) otc_stream_delete(s->stale_streams.items[i]);
  cv_table_clear(&s->stale_streams);
}

static void cancel_timers(otc_session *s) {
  cv_timer_cancel(&s->sul_pace);
  cv_timer_cancel(&s->sul_retry);
  cv_timer_cancel(&s->sul_handshake);
  cv_timer_cancel(&s->sul_keepalive);
  cv_timer_cancel(&s->sul_ack);
  s->ack_scheduled = 0;
}

/* The session is over: every state goes, on_disconnected fires once if it had connected. */
void cv_state_finish(otc_session *s) {
  int state = atomic_load(&s->state);
  if (state == CV_STATE_DISCONNECTED || state == CV_STATE_IDLE) return;
  atomic_store(&s->state, CV_STATE_DISCONNECTED);
  if (!s->disconnect_reason) s->disconnect_reason = "networkDisconnected";
  CV_INFO("session %.24s: disconnected (%s)", s->session_id, s->disconnect_reason);
  cancel_timers(s);
  cv_transport_close(&s->link);
  cv_state_end_requests(s);
  cv_state_end_publishers(s);
  clear_tables(s);
  s->fail_queued = 0;
  free(s->token);
  s->token = NULL;
  if ((s->had_connected || s->rejoining) && !s->disconnect_reported) {
    s->disconnect_reported = 1;
    CV_EMIT0(s, on_disconnected);
  }
  s->rejoining = 0;
}

void cv_state_free(otc_session *s) {
  cancel_timers(s);
  cv_transport_close(&s->link);
  cv_state_end_requests(s);
  cv_state_end_publishers(s);
  clear_tables(s);
  cv_table_free(&s->connections);
  cv_table_free(&s->streams);
  cv_table_free(&s->stale_connections);
  cv_table_free(&s->stale_streams);
  cv_table_free(&s->publishers);
  free(s->token);
  free(s->resume_token);
}

void cv_session_free(otc_session *s) {
  otc_connection_delete(s->self);
  for (size_t i = 0; i < s->handed.len; i++) cv_connection_free_owned(s->handed.items[i]);
  cv_table_free(&s->handed);
  free(s->api_key);
  free(s->session_id);
  free(s->server_url);
  free(s->ca_file);
  pthread_mutex_destroy(&s->info_lock);
  free(s);
}

