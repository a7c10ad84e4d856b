/* Convene additions to the otc_* API (opentok/convene.h): reasons, role, requests with completion. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *convene_connection_get_reason(const otc_connection *c) { return c ? c->reason : NULL; }

const char *convene_stream_get_reason(const otc_stream *s) { return s ? s->reason : NULL; }

const char *convene_session_get_disconnect_reason(const otc_session *s) { return s ? s->disconnect_reason : NULL; }

const char *convene_session_get_role(const otc_session *s) { return s && s->role ? s->role : ""; }

static otc_status submit(otc_session *s, enum cv_request_kind kind, json_t *fields, int retry, convene_completion_cb done,
                         void *data) {
  if (!fields) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  struct cv_cmd *c = cv_cmd_new(CV_CMD_REQUEST, s);
  if (!c) {
    cv_cmd_free(c);
    json_decref(fields);
    return OTC_FATAL;
  }
  c->req = kind;
  c->fields = fields;
  c->on_done = done;
  c->retry = retry;
  c->done_data = data;
  return cv_service_submit(c, 0);
}

otc_status convene_session_send_signal(otc_session *s, const char *type, const char *data, const char *to,
                                       otc_bool retry, convene_completion_cb done, void *request_data) {
  if (!s) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  int err = cv_signal_check(type, data);
  if (err) return err;
  int state = atomic_load(&s->state);
  if (state == CV_STATE_RECONNECTING && !retry) return OTC_SESSION_UNABLE_TO_SEND_SIGNAL;
  if (state != CV_STATE_CONNECTED && state != CV_STATE_RECONNECTING) return OTC_SESSION_NOT_CONNECTED;
  json_t *fields = json_pack("{s:s, s:s}", "signalType", type ? type : "", "data", data ? data : "");
  if (fields && to) json_object_set_new(fields, "to", json_string(to));
  return submit(s, CV_REQ_SIGNAL, fields, retry, done, request_data);
}

otc_status convene_session_moderate(otc_session *s, const char *op, const char *target, const char *const *ids,
                                    size_t n_ids, convene_completion_cb done, void *request_data) {
  if (!s || !op) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  json_t *fields = NULL;
  if (strcmp(op, "forceDisconnect") == 0) {
    if (!target) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
    fields = json_pack("{s:s}", "connectionId", target);
  } else if (strcmp(op, "forceUnpublish") == 0 || strcmp(op, "forceMuteStream") == 0) {
    if (!target) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
    fields = json_pack("{s:s}", "streamId", target);
  } else if (strcmp(op, "forceMuteAll") == 0) {
    if (n_ids && !ids) return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n_ids; i++)
      if (ids[i]) json_array_append_new(arr, json_string(ids[i]));
    fields = json_pack("{s:o}", "excludedStreamIds", arr);
  } else if (strcmp(op, "disableForceMute") == 0) {
    fields = json_object();
  } else {
    return OTC_SESSION_NULL_OR_INVALID_PARAMETER;
  }
  return submit(s, (enum cv_request_kind)cv_request_kind_of(op), fields, 1, done, request_data);
}
