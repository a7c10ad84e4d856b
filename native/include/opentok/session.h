#ifndef CONVENE_OPENTOK_SESSION_H
#define CONVENE_OPENTOK_SESSION_H

#include "config.h"
#include "base.h"
#include "connection.h"
#include "publisher.h"
#include "stream.h"

OTC_BEGIN_DECL

/** A session object. Opaque. Created by otc_session_new(), freed by otc_session_delete(). */
#ifndef OTC_SESSION_FWD_DECL
#define OTC_SESSION_FWD_DECL
typedef struct otc_session otc_session;
#endif
/** A subscriber (opentok/subscriber.h). */
typedef struct otc_subscriber otc_subscriber;

enum otc_session_error_code {
  OTC_SESSION_AUTHORIZATION_FAILURE = 1004,
  OTC_SESSION_INVALID_SESSION = 1005,
  OTC_SESSION_CONNECTION_FAILED = 1006,
  OTC_SESSION_NOT_CONNECTED = 1010,
  OTC_SESSION_NULL_OR_INVALID_PARAMETER = 1011,
  OTC_SESSION_ILLEGAL_STATE = 1015,
  OTC_SESSION_STATE_FAILED = 1020,
  OTC_SESSION_CONNECTION_TIMED_OUT = 1021,
  OTC_SESSION_CONNECTION_DROPPED = 1022,
  OTC_SESSION_CONNECTION_REFUSED = 1023,
  OTC_SESSION_BLOCKED_COUNTRY = 1026,
  OTC_SESSION_CONNECTION_LIMIT_EXCEEDED = 1027,
  OTC_SESSION_SUBSCRIBER_NOT_FOUND = 1112,
  OTC_SESSION_PUBLISHER_NOT_FOUND = 1113,
  OTC_SESSION_SIGNAL_DATA_TOO_LONG = 1413,
  OTC_SESSION_SIGNAL_TYPE_TOO_LONG = 1414,
  OTC_SESSION_INVALID_SIGNAL_TYPE = 1461,
  OTC_SESSION_NO_MESSAGING_SERVER = 1503,
  OTC_SESSION_FORCE_UNPUBLISH_OR_INVALID_STREAM = 1535,
  OTC_SESSION_UNABLE_TO_SEND_SIGNAL = 1550,
  OTC_SESSION_INTERNAL_ERROR = 2000,
  OTC_SESSION_UNEXPECTED_GET_SESSION_INFO_REPONSE = 2001,
};

/** What this client may do; valid after on_connected. */
struct otc_session_capabilities {
  otc_bool publish;
  otc_bool force_mute;
  otc_bool force_disconnect;
};

struct otc_signal_options {
  /** Queue the signal while reconnecting (default true in the *_with_options defaults). */
  otc_bool retry_after_reconnect;
};

typedef struct otc_on_mute_forced_info {
  otc_bool active;
} otc_on_mute_forced_info;

/**
 * Session callbacks. Each runs on the service thread with the session and user_data;
 * any member may be NULL. Pointers handed in are valid only during the call.
 */
struct otc_session_callbacks {
  void (*on_connected)(otc_session *session, void *user_data);
  void (*on_disconnected)(otc_session *session, void *user_data);
  void (*on_connection_created)(otc_session *session, void *user_data, const otc_connection *connection);
  void (*on_connection_dropped)(otc_session *session, void *user_data, const otc_connection *connection);
  void (*on_stream_received)(otc_session *session, void *user_data, const otc_stream *stream);
  void (*on_stream_dropped)(otc_session *session, void *user_data, const otc_stream *stream);
  void (*on_stream_has_audio_changed)(otc_session *session, void *user_data, const otc_stream *stream, otc_bool has_audio);
  void (*on_stream_has_video_changed)(otc_session *session, void *user_data, const otc_stream *stream, otc_bool has_video);
  void (*on_stream_video_dimensions_changed)(otc_session *session, void *user_data, const otc_stream *stream, int width, int height);
  void (*on_stream_video_type_changed)(otc_session *session, void *user_data, const otc_stream *stream,
                                       enum otc_stream_video_type type);
  void (*on_signal_received)(otc_session *session, void *user_data, const char *type, const char *signal,
                             const otc_connection *connection);
  void (*on_reconnection_started)(otc_session *session, void *user_data);
  void (*on_reconnected)(otc_session *session, void *user_data);
  void (*on_archive_started)(otc_session *session, void *user_data, const char *archive_id, const char *name);
  void (*on_archive_stopped)(otc_session *session, void *user_data, const char *archive_id);
  void (*on_error)(otc_session *session, void *user_data, const char *error_string, enum otc_session_error_code error);
  void *user_data;
  void *reserved;
  void (*on_mute_forced)(otc_session *session, void *user_data, otc_on_mute_forced_info *mute_forced_info);
};

/** Session settings. Opaque. Created by otc_session_settings_new(), owned by the caller. */
typedef struct otc_session_settings otc_session_settings;

/** A new settings object the caller owns (free with otc_session_settings_delete()). */
OTC_DECL(otc_session_settings *) otc_session_settings_new(void);
OTC_DECL(otc_status) otc_session_settings_delete(struct otc_session_settings *settings);
/** When true, on_connection_created / on_connection_dropped do not fire for other clients. */
OTC_DECL(otc_status) otc_session_settings_set_connection_events_suppressed(struct otc_session_settings *settings,
                                                                           otc_bool suppress);
/** Accepted for source compatibility; proxies are not supported yet (logged). The string is copied. */
OTC_DECL(otc_status) otc_session_settings_set_proxy_url(struct otc_session_settings *settings, const char *proxy_url);
/**
 * Convene addition: the server URL, `ws://HOST:PORT[/path]` or `wss://...` (copied).
 * Default: the environment variable CONVENE_SERVER_URL, else ws://127.0.0.1:4100.
 */
OTC_DECL(otc_status) otc_session_settings_set_server_url(struct otc_session_settings *settings, const char *url);
/** Convene addition: a PEM CA bundle to verify wss:// servers with (copied). Default: system CAs. */
OTC_DECL(otc_status) otc_session_settings_set_ca_file(struct otc_session_settings *settings, const char *path);
/** Convene addition: turn wss:// certificate verification off (default on). For testing only. */
OTC_DECL(otc_status) otc_session_settings_set_tls_verify(struct otc_session_settings *settings, otc_bool verify);
/** Convene addition: handshake timeout in ms (default 10000); on expiry on_error(1021). */
OTC_DECL(otc_status) otc_session_settings_set_connect_timeout(struct otc_session_settings *settings, int timeout_ms);

/**
 * Creates a session object (does not connect). Strings and callbacks are copied.
 * Returns NULL on bad input or before otc_init(). Free with otc_session_delete().
 */
OTC_DECL(otc_session *) otc_session_new(const char *apikey, const char *session_id,
                                       const struct otc_session_callbacks *callbacks);
/**
 * Like otc_session_new() with settings: read during the call (not modified), so the caller
 * keeps ownership of `settings` and may delete it at once.
 */
OTC_DECL(otc_session *) otc_session_new_with_settings(const char *apikey, const char *session_id,
                                                     const struct otc_session_callbacks *callbacks,
                                                     otc_session_settings *settings);

/*
 * How a session ends: for each cause, the callbacks that fire, in this order. "Requests"
 * are those still waiting for a result: each ends once, its completion with 1010
 * (OTC_SESSION_NOT_CONNECTED), a publish with the publisher's on_error(1010,
 * OTC_PUBLISHER_SESSION_DISCONNECTED); when the session ends on a fault (the rows with
 * networkDisconnected) each signal sent without a completion also gets on_error(1550).
 * "Publishers" are those with a stream: each gets on_stream_destroyed (reason as
 * on_disconnected's). convene_session_get_disconnect_reason gives the reason during
 * on_disconnected. Each session ends once: what comes after (a late close, a second
 * disconnect) fires nothing. (Implemented in one place, native/src/state_end.c, whose
 * k_rows is this table; native/test/unit/test_state.c has a test per row.)
 *
 *  cause                         callbacks, in order                              reason
 *  client disconnect             requests, publishers, on_disconnected            clientDisconnected
 *  server disconnect (rotation)  on_reconnection_started, then on_reconnected     (resumed)
 *                                (or the "drop past grace" row)
 *  force disconnect (then the    requests, publishers, on_disconnected            forceDisconnected
 *    socket closes or errors)
 *  fatal error from the server   on_error(its code) when it comes; at the close:  networkDisconnected
 *    while connected             requests, publishers, on_disconnected (never
 *                                resumed)
 *  drop past grace               on_reconnection_started ... on_error(1022),      networkDisconnected
 *                                requests, publishers, on_disconnected
 *  resume refused (fatal error   on_error(1022), requests, publishers,            networkDisconnected
 *    while reconnecting)         on_disconnected
 *  rejoin (setting on)           on_error(1022 "...rejoining"), requests,          -
 *                                publishers, then on_connected again; no
 *                                on_disconnected (if rejoining fails for good:
 *                                on_error(1006 or 1021), on_disconnected)
 *  delete (outside callbacks)    as client disconnect, then nothing more          clientDisconnected
 *  delete (inside a callback)    no session callback any more (completions        clientDisconnected
 *                                neither); publishers still get theirs
 *  drop, not resumable           on_error(1022), requests, publishers,            networkDisconnected
 *                                on_disconnected
 * A session that never connected gets on_error (1006 / 1021 / the server's code) and no
 * on_disconnected.
 */

/**
 * Frees the session; disconnects it first if needed (on_disconnected fires then, if it had
 * connected). No callback of this session fires after this returns. From inside one of the
 * session's callbacks, the free happens when the callback returns.
 */
OTC_DECL(otc_status) otc_session_delete(otc_session *session);

/** Starts connecting with `token` (copied). Result: on_connected, or on_error. */
OTC_DECL(otc_status) otc_session_connect(otc_session *session, const char *token);
/** Disconnects; on_disconnected fires once if the session had connected. Safe to call twice. */
OTC_DECL(otc_status) otc_session_disconnect(otc_session *session);

/**
 * Signals. `type` and `signal` are copied. Checked at the call: a NULL session or
 * connection gives OTC_SESSION_NULL_OR_INVALID_PARAMETER, a type over 128 bytes
 * OTC_SESSION_SIGNAL_TYPE_TOO_LONG, a type with characters other than A-Za-z0-9-_~
 * OTC_SESSION_INVALID_SIGNAL_TYPE, data over 8192 bytes OTC_SESSION_SIGNAL_DATA_TOO_LONG,
 * and a session that is not connected OTC_SESSION_NOT_CONNECTED. A failure after
 * sending (e.g. rate limit) is reported through on_error.
 */
OTC_DECL(otc_status) otc_session_send_signal(otc_session *session, const char *type, const char *signal);
OTC_DECL(otc_status) otc_session_send_signal_to_connection(otc_session *session, const char *type, const char *signal,
                                                          const otc_connection *connection);
OTC_DECL(otc_status) otc_session_send_signal_with_options(otc_session *session, const char *type, const char *signal,
                                                         struct otc_signal_options signal_options);
OTC_DECL(otc_status) otc_session_send_signal_to_connection_with_options(otc_session *session, const char *type,
                                                                       const char *signal,
                                                                       const otc_connection *connection,
                                                                       struct otc_signal_options signal_options);

/**
 * Publishes; the publisher's on_stream_created fires. Audio is sent from the publisher's
 * per-stream source (convene_publisher_set_audio_source) or the audio device's capture
 * (audio_device.h); silence when neither is set. Video (VP8) is sent from the publisher's
 * capturer (otc_publisher_new) or per-stream source (convene_publisher_set_video_source).
 */
OTC_DECL(otc_status) otc_session_publish(otc_session *session, otc_publisher *publisher);
OTC_DECL(otc_status) otc_session_unpublish(otc_session *session, otc_publisher *publisher);
/**
 * Subscribes to the subscriber's stream (a request to the server): its on_connected fires
 * when accepted, else its on_error (OTC_SUBSCRIBER_SERVER_CANNOT_FIND_STREAM for a stream
 * that is gone, OTC_SUBSCRIBER_SESSION_DISCONNECTED when the session ends first, the
 * server's code otherwise). OTC_SESSION_NULL_OR_INVALID_PARAMETER for NULL,
 * OTC_SESSION_ILLEGAL_STATE when the subscriber is already subscribed (in any session).
 */
OTC_DECL(otc_status) otc_session_subscribe(otc_session *session, otc_subscriber *subscriber);
/**
 * Ends the subscription (a request to the server; no callback). Media stops at once: no
 * on_audio_data of this subscriber starts after it returns. OTC_SESSION_SUBSCRIBER_NOT_FOUND
 * when it is not subscribed in this session.
 */
OTC_DECL(otc_status) otc_session_unsubscribe(otc_session *session, otc_subscriber *subscriber);

/*
 * Getters. Any thread (the app's, or a callback on the service thread), race-free. What
 * they return is owned by the library, never freed by the caller, and valid until
 * otc_session_delete() (as with the Vonage SDK, code that frees nothing leaks nothing).
 */

/** The session id given to otc_session_new(). Owned by the session: do not free or modify. */
OTC_DECL(char *) otc_session_get_id(const otc_session *session);
/**
 * This client's connection: NULL before the first on_connected, then the current one
 * (after a disconnection, the last one). Owned by the session: do not free it
 * (otc_connection_delete() refuses it with OTC_INVALID_PARAM); otc_connection_copy() it to
 * keep it past otc_session_delete(). Connecting again gives a new object; earlier ones stay
 * valid (each connection the session had costs about 150 bytes until the delete).
 */
OTC_DECL(otc_connection *) otc_session_get_connection(const otc_session *session);
/** Capabilities (a value); all false before on_connected. */
OTC_DECL(struct otc_session_capabilities) otc_session_get_capabilities(const otc_session *session);
/** The callbacks' user_data. */
OTC_DECL(void *) otc_session_get_user_data(const otc_session *session);

/**
 * Moderation (role moderator); failures are reported through on_error. Ownership: what is
 * passed stays the caller's. `connection`, `stream` and `stream_id` are only read during
 * the call (their ids copied). `excluded_stream_ids` (an array of `len` strings, may be NULL
 * when len is 0; NULL entries are skipped) is copied during the call and neither kept nor
 * freed: the caller may free it, and its strings, as soon as the function returns.
 */
OTC_DECL(otc_status) otc_session_force_disconnect(otc_session *session, const otc_connection *connection);
OTC_DECL(otc_status) otc_session_force_unpublish(otc_session *session, const otc_stream *stream);
OTC_DECL(otc_status) otc_session_force_mute_stream(otc_session *session, const char *stream_id);
OTC_DECL(otc_status) otc_session_force_mute_all(otc_session *session, char **excluded_stream_ids, size_t len);
OTC_DECL(otc_status) otc_session_disable_force_mute(otc_session *session);

OTC_END_DECL

#endif
