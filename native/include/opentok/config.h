/*
 * Declaration macros shared by every otc_* header (the same names as the Vonage SDK's
 * config.h, so code that uses OTC_DECL / OTC_BEGIN_DECL itself compiles unchanged).
 */
#ifndef CONVENE_OPENTOK_CONFIG_H
#define CONVENE_OPENTOK_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#ifndef _WIN32
#include <sys/time.h> /* the Vonage header includes it; programs may rely on it */
#endif

#if defined(__GNUC__)
#define LIBOPENTOK_LIBRARY_EXPORTED __attribute__((visibility("default")))
#else
#define LIBOPENTOK_LIBRARY_EXPORTED
#endif

#if defined(__cplusplus)
#define OTC_DECL(type) LIBOPENTOK_LIBRARY_EXPORTED type
#define OTC_BEGIN_DECL extern "C" {
#define OTC_END_DECL }
#else
#define OTC_DECL(type) extern LIBOPENTOK_LIBRARY_EXPORTED type
#define OTC_BEGIN_DECL
#define OTC_END_DECL
#endif
#define OTC_DEF(type) type

#if defined(__APPLE__)
#define IS_MAC_OS 1
#else
#define IS_MAC_OS 0
#endif
#if defined(__linux__) && !defined(__ANDROID__)
#define IS_LINUX 1
#else
#define IS_LINUX 0
#endif

#endif
