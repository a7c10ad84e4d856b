/*
 * Convene additions to the otc_* API. Not part of the Vonage SDK: code that uses them
 * does not compile against it. Same threading rules as opentok.h.
 */
#ifndef CONVENE_OPENTOK_CONVENE_H
#define CONVENE_OPENTOK_CONVENE_H

#include "base.h"
#include "connection.h"
#include "publisher.h"
#include "session.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Why a connection left: "clientDisconnected", "forceDisconnected" or
 * "networkDisconnected". A static string; NULL outside on_connection_dropped.
 */
OTC_DECL(const char *) convene_connection_get_reason(const otc_connection *connection);

/**
 * Why a stream went: "clientDisconnected", "forceDisconnected", "forceUnpublished",
 * "networkDisconnected" or "mediaStopped". A static string; NULL outside
 * on_stream_dropped and the publisher's on_stream_destroyed.
 */
OTC_DECL(const char *) convene_stream_get_reason(const otc_stream *stream);

/**
 * Why the session ended: "clientDisconnected", "forceDisconnected",
 * "networkDisconnected" or "serverRotation". A static string; meaningful in
 * on_disconnected (NULL before any disconnection).
 */
OTC_DECL(const char *) convene_session_get_disconnect_reason(const otc_session *session);

/** This client's role after on_connected: "subscriber", "publisher", "publisheronly" or "moderator" (static; "" before). */
OTC_DECL(const char *) convene_session_get_role(const otc_session *session);

/**
 * Called once per request on the service thread: error_code 0 when the server processed
 * it, else the OpenTok code (e.g. 1010 when the session ended first) and a message valid
 * during the call. Never called when the submitting function returned an error.
 */
typedef void (*convene_completion_cb)(otc_session *session, void *user_data, void *request_data, int error_code,
                                      const char *message);

/**
 * Sends a signal to everyone (to_connection_id NULL) or to one connection, and reports
 * its fate through `done` (may be NULL). Checks as otc_session_send_signal. Strings copied.
 */
OTC_DECL(otc_status) convene_session_send_signal(otc_session *session, const char *type, const char *data,
                                                 const char *to_connection_id, otc_bool retry_after_reconnect,
                                                 convene_completion_cb done, void *request_data);

/**
 * Moderation by id, with completion: `op` is "forceDisconnect" (target: a connection id),
 * "forceUnpublish" or "forceMuteStream" (target: a stream id), "forceMuteAll" (target:
 * NULL; excluded ids in `ids`/`n_ids`) or "disableForceMute" (target NULL). Ownership:
 * `op`, `target`, `ids` and its strings stay the caller's; they are copied during the call
 * and may be freed as soon as it returns (NULL entries of `ids` are skipped; `ids` may be
 * NULL when n_ids is 0).
 */
OTC_DECL(otc_status) convene_session_moderate(otc_session *session, const char *op, const char *target,
                                             const char *const *ids, size_t n_ids, convene_completion_cb done,
                                             void *request_data);

/**
 * Automatic reconnection: after a drop the core retries after base_ms, then base_ms*factor,
 * ... up to cap_ms, each delay with a random jitter (50-100 % of it), until the server's
 * grace window would have passed. Defaults 250 ms, 2.0, 5000 ms. OTC_INVALID_PARAM when
 * base_ms < 1, factor < 1 or cap_ms < base_ms.
 */
OTC_DECL(otc_status) convene_session_settings_set_reconnect_backoff(struct otc_session_settings *settings, int base_ms,
                                                                   double factor, int cap_ms);

/**
 * When resuming is impossible (grace window over, server restarted, token expired), connect
 * again as a new connection instead of ending the session (default off): on_error
 * (OTC_SESSION_CONNECTION_DROPPED, queued signals fail one by one), then on_connected again
 * with a new connection; no on_disconnected in between. The peers and streams are then
 * reconciled: on_connection_dropped / on_stream_dropped (reason "networkDisconnected") for
 * those that left meanwhile, on_connection_created / on_stream_received for those that came,
 * nothing for those still there. While the server cannot be reached, connecting is retried
 * with the reconnection backoff for the rejoin timeout (below); then on_error and
 * on_disconnected. An error the server sends (e.g. an expired token) ends it at once.
 */
OTC_DECL(otc_status) convene_session_settings_set_rejoin(struct otc_session_settings *settings, otc_bool rejoin);

/** How long rejoin attempts go on after resuming failed (default 60000 ms; 0: one attempt). */
OTC_DECL(otc_status) convene_session_settings_set_rejoin_timeout(struct otc_session_settings *settings, int timeout_ms);

/**
 * How many signals/requests may be queued during one reconnection (default 1000); past it a
 * send fails (1550). Requests already sent when the connection dropped (waiting for their
 * result, resent after the resume if the server had not processed them) do not count.
 * While connected, the same number bounds the backlog of requests waiting for the pacer
 * (the server's rate and the window of 1024 awaiting a result): a request that finds
 * max_requests others waiting (at least one) fails at once with CONVENE_BACKLOG_FULL (1570):
 * its completion, else the publisher's or the session's on_error. The backlog left by a
 * reconnection counts too, so new requests may fail until it has drained below the bound.
 * OTC_INVALID_PARAM when max_requests < 0.
 */
OTC_DECL(otc_status) convene_session_settings_set_max_queued(struct otc_session_settings *settings, int max_requests);

/**
 * Keepalive: ping the server every interval_ms and take the connection for dead (and start
 * reconnecting) when nothing was received for timeout_ms; the drop is noticed within about
 * timeout_ms of the last thing received. By default the server's (10000 and 15000 ms, sent
 * at connect). The interval is never longer than the server's (it drops silent clients).
 * Bots on good networks may want e.g. 1000 and 3000. OTC_INVALID_PARAM when
 * interval_ms < 100 or timeout_ms <= interval_ms.
 */
OTC_DECL(otc_status) convene_session_settings_set_keepalive(struct otc_session_settings *settings, int interval_ms,
                                                            int timeout_ms);

/**
 * Error codes: one namespace. Every code the library reports (otc_status returns, on_error,
 * completions) is an int from one table, so one value means one fault:
 *   0            success (OTC_SUCCESS)
 *   1-4          generic otc_status of the Vonage SDK (OTC_INVALID_PARAM, OTC_FATAL,
 *                OTC_MEDIA_FATAL, OTC_ILLEGAL_STATE), returned by object functions
 *   1004-2001    OpenTok session/publisher codes (enum otc_session_error_code,
 *                enum otc_publisher_error_code: OTC_PUBLISHER_SESSION_DISCONNECTED and
 *                OTC_SESSION_NOT_CONNECTED are both 1010), as the Vonage SDK reports them
 *   1560         CONVENE_SIGNAL_UNDELIVERED
 *   1570         CONVENE_BACKLOG_FULL (local: the request backlog is full, max_queued)
 *   4400-4499    protocol errors the server reports in an error frame (CONVENE_MALFORMED_FRAME
 *                4400, CONVENE_UNKNOWN_FRAME_TYPE 4405, CONVENE_REQUEST_OUT_OF_ORDER 4409,
 *                CONVENE_FRAME_TOO_LARGE 4413, CONVENE_BINARY_NOT_SUPPORTED 4415,
 *                CONVENE_FLOOD 4429), passed to on_error unchanged (docs/protocol.md)
 * OTC_INVALID_PARAM (1) and OTC_SESSION_NULL_OR_INVALID_PARAMETER (1011) both mean "a bad
 * argument": the Vonage SDK returns 1 from object and settings functions and 1011 from
 * otc_session_* calls that talk to the server, and Convene keeps each function's Vonage code.
 * A request the session's end cancels ends with 1010 (its completion, or the publisher's
 * on_error): the library's "canceled" (libuv's UV_ECANCELED).
 */

/**
 * The symbolic name of an error code of the table above ("OTC_SESSION_CONNECTION_DROPPED",
 * "CONVENE_FLOOD", ...), or "UNKNOWN" for a code not in it. A static string. Any thread.
 */
OTC_DECL(const char *) convene_error_name(int code);

/** Error code of a signal the server acknowledged but could not deliver to one addressee. */
#define CONVENE_SIGNAL_UNDELIVERED 1560
/* Local (never on the wire): a request found max_queued others waiting for the pacer while
 * connected (convene_session_settings_set_max_queued) and was not sent. */
#define CONVENE_BACKLOG_FULL 1570

/**
 * Called on the service thread when a signal this client sent, and that the server had
 * accepted (its completion reported success), could not be delivered to one addressee:
 * that connection ended for good (grace window over, force-disconnected) before it had
 * received the signal. Once per (signal, addressee): a broadcast may report several. The
 * signal is identified by its type and the addressee's connection id (strings valid during
 * the call); error_code is CONVENE_SIGNAL_UNDELIVERED (1560), message says why. user_data
 * is the session callbacks' user_data.
 */
typedef void (*convene_signal_undelivered_cb)(otc_session *session, void *user_data, const char *signal_type,
                                              const char *to_connection_id, int error_code, const char *message);

/** Sets the callback above (NULL: none, the default). */
OTC_DECL(otc_status) convene_session_settings_set_on_signal_undelivered(struct otc_session_settings *settings,
                                                                       convene_signal_undelivered_cb cb);

/**
 * A hook the service thread calls at the end of each pass over its sockets and commands,
 * after every callback of that pass. A binding that queues events in callbacks hands them
 * over to its own thread here, once per pass, instead of once per event. Process-wide;
 * NULL removes it. Any thread may set it; it takes effect from the next pass. The hook must
 * not block and must not call otc_* functions that wait for the service thread.
 */
typedef void (*convene_pass_hook)(void *user_data);
OTC_DECL(void) convene_set_pass_hook(convene_pass_hook hook, void *user_data);

/**
 * The service thread's event loop: "libev" (epoll; needs libwebsockets-evlib-ev at run time)
 * or "poll" (lws's own loop, whose passes cost more with every open session). A static
 * string; meaningful between otc_init and otc_destroy. Any thread.
 */
OTC_DECL(const char *) convene_event_loop_name(void);

/** The video type the publisher's stream announces (default camera). Call before publishing. */
OTC_DECL(otc_status) convene_publisher_set_video_type(otc_publisher *publisher, enum otc_stream_video_type type);

/**
 * The video dimensions the publisher's stream announces (peers read them with
 * otc_stream_get_video_width / _height). Call before publishing; a stream already published
 * keeps what it announced. A publisher that sets none announces 640x480: the Vonage SDK has
 * no such setting for a publisher without a video capturer of its own, and its default
 * capturer is 640x480. OTC_INVALID_PARAM for NULL or a size outside 1..65535.
 */
OTC_DECL(otc_status) convene_publisher_set_video_dimensions(otc_publisher *publisher, int width, int height);

#ifdef __cplusplus
}
#endif

#endif
