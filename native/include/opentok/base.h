#ifndef CONVENE_OPENTOK_BASE_H
#define CONVENE_OPENTOK_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define OTC_DECL(type) __attribute__((visibility("default"))) type
#else
#define OTC_DECL(type) type
#endif

typedef int otc_bool;
typedef int otc_status;

enum { OTC_SUCCESS = 0, OTC_FALSE = 0, OTC_TRUE = 1 };

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

/** Sets the log level (default OTC_LOG_LEVEL_DISABLED). Any thread. */
OTC_DECL(void) otc_log_enable(int level);

#ifdef __cplusplus
}
#endif

#endif
