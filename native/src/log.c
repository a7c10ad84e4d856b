/* Logging: a level and a user callback, readable from any thread. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static atomic_int g_level = OTC_LOG_LEVEL_DISABLED;
static _Atomic(otc_logger_callback) g_logger; /* NULL; clang rejects "= NULL" on an _Atomic function pointer */

void otc_log_set_logger_callback(otc_logger_callback callback) { atomic_store(&g_logger, callback); }

void otc_log_enable(enum otc_log_level level) { atomic_store(&g_level, (int)level); }

enum otc_log_level otc_get_log_level(void) { return (enum otc_log_level)atomic_load(&g_level); }

void cv_log(int level, const char *fmt, ...) {
  if (level > atomic_load(&g_level)) return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  otc_logger_callback cb = atomic_load(&g_logger);
  if (cb)
    cb(line);
  else
    fprintf(stderr, "convene: %s\n", line);
}
