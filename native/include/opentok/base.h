#ifndef CONVENE_OPENTOK_BASE_H
#define CONVENE_OPENTOK_BASE_H

#include "config.h"

OTC_BEGIN_DECL

typedef int otc_bool;
typedef int otc_status;

/** Common constants: otc_status OTC_SUCCESS, otc_bool OTC_FALSE / OTC_TRUE. */
enum otc_constant { OTC_SUCCESS = 0, OTC_FALSE = 0, OTC_TRUE = 1 };

/** Generic error codes returned as otc_status. */
enum otc_error_code {
  OTC_INVALID_PARAM = 1,
  OTC_FATAL = 2,
  OTC_MEDIA_FATAL = 3,
  OTC_ILLEGAL_STATE = 4,
  OTC_CONNECTION_DROPPED = 1022,
  OTC_CONNECTION_TIMED_OUT = 1542,
  OTC_UNKNOWN_PUBLISHER_INSTANCE = 2003,
  OTC_UNKNOWN_SUBSCRIBER_INSTANCE = 2004,
  /* media errors: not reported by this version (no media yet), defined for source compatibility */
  OTC_VIDEO_CAPTURE_FAILED = 3000,
  OTC_CAMERA_FAILED = 3010,
  OTC_VIDEO_RENDER_FAILED = 4000,
  OT_UNABLE_TO_ACCESS_MEDIA_ENGINE = 5000,
};

enum otc_log_level {
  OTC_LOG_LEVEL_DISABLED = 0,
  OTC_LOG_LEVEL_FATAL = 2,
  OTC_LOG_LEVEL_ERROR = 3,
  OTC_LOG_LEVEL_WARN = 4,
  OTC_LOG_LEVEL_INFO = 5,
  OTC_LOG_LEVEL_DEBUG = 6,
  OTC_LOG_LEVEL_MSG = 7,
  OTC_LOG_LEVEL_TRACE = 8,
  OTC_LOG_LEVEL_ALL = 100,
};

/**
 * Receives one log line (no trailing newline), valid during the call only. It runs on the
 * thread that logs: mostly the service thread, sometimes a thread calling an otc_*
 * function; it may run on two threads at once, so it must be thread-safe. It must not call
 * otc_* functions that wait for the service thread (otc_session_delete, otc_destroy ...).
 */
typedef void (*otc_logger_callback)(const char *message);

/**
 * Starts the library: creates the shared transport context and the service thread.
 * `reserved` must be NULL. Call once before anything else; a second call without
 * otc_destroy() returns OTC_ILLEGAL_STATE. Not to be called from a callback.
 */
OTC_DECL(otc_status) otc_init(void *reserved);

/**
 * Stops the service thread and frees the shared context. Sessions still alive are
 * disconnected (their on_disconnected fires) and freed. Not to be called from a callback.
 */
OTC_DECL(otc_status) otc_destroy(void);

/** Sets the function that receives log lines (NULL: standard error). Any thread. */
OTC_DECL(void) otc_log_set_logger_callback(otc_logger_callback callback);

/**
 * Logs the lines of `log_level` and the more severe ones (default OTC_LOG_LEVEL_DISABLED:
 * nothing). ERROR: errors reported to on_error and failures of the library; WARN: what was
 * ignored or refused; INFO: the life of a session (connecting to URL, connected, dropped
 * and why, each reconnection attempt, resumed, disconnected and why); DEBUG: disconnecting,
 * publishing, failed reconnection attempts. Tokens and resume tokens are never logged. Any thread.
 */
OTC_DECL(void) otc_log_enable(enum otc_log_level log_level);

/** The level set by otc_log_enable(). Any thread. */
OTC_DECL(enum otc_log_level) otc_get_log_level(void);

OTC_END_DECL

#endif
