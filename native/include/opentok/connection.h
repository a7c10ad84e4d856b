#ifndef CONVENE_OPENTOK_CONNECTION_H
#define CONVENE_OPENTOK_CONNECTION_H

#include "config.h"
#include "base.h"

OTC_BEGIN_DECL

/**
 * A client's connection to a session. Opaque. Who owns one: the library, for those handed
 * to callbacks (valid during the call) and those returned by otc_session_get_connection()
 * and otc_stream_get_connection() (valid as long as their session / stream); the caller,
 * for copies from otc_connection_copy(). The getters below may be called from any thread
 * while the connection is valid; the strings they return belong to the connection.
 */
typedef struct otc_connection otc_connection;

/** The connection id. Owned by the connection: valid while it is. */
OTC_DECL(const char *) otc_connection_get_id(const otc_connection *connection);
/** Creation time in ms since the Unix epoch. */
OTC_DECL(int64_t) otc_connection_get_creation_time(const otc_connection *connection);
/** The token's connection data ("" when none). Owned by the connection. */
OTC_DECL(const char *) otc_connection_get_data(const otc_connection *connection);
/** The session id. Owned by the connection. */
OTC_DECL(const char *) otc_connection_get_session_id(const otc_connection *connection);
/** A copy the caller owns and frees with otc_connection_delete(). NULL on bad input or no memory. */
OTC_DECL(otc_connection *) otc_connection_copy(const otc_connection *connection);
/**
 * Frees a copy made by otc_connection_copy(). One from otc_session_get_connection() or
 * otc_stream_get_connection() is refused (OTC_INVALID_PARAM, nothing freed); never pass
 * one handed to a callback.
 */
OTC_DECL(otc_status) otc_connection_delete(otc_connection *connection);

OTC_END_DECL

#endif
