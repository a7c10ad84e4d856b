/*
 * The non-media otc_* API as the Vonage SDK (2.19) declares it, used from C11 and from C++
 * (compiled as both by check_api.cmake): every function is assigned to a pointer of the
 * Vonage type, so a signature that differs fails to compile (-Werror), and the program runs
 * the few calls that need no server. Written from the Vonage documentation, not copied.
 */
#include <opentok.h>
#include <opentok/base.h>
#include <opentok/capabilities.h>
#include <opentok/config.h>
#include <opentok/connection.h>
#include <opentok/error.h>
#include <opentok/publisher.h>
#include <opentok/session.h>
#include <opentok/stream.h>

#include <stdio.h>
#include <string.h>

#if !defined(OTC_BEGIN_DECL) || !defined(OTC_END_DECL) || !defined(OTC_DEF) || !defined(LIBOPENTOK_LIBRARY_EXPORTED)
#error "config.h macros missing"
#endif
#if !defined(IS_LINUX) || !defined(IS_MAC_OS) || !defined(OTC_SESSION_FWD_DECL)
#error "config.h / publisher.h macros missing"
#endif

/* A declaration of the program's own with the SDK's macros, as plugins do. */
OTC_BEGIN_DECL
OTC_DEF(int) app_helper(void);
OTC_END_DECL
OTC_DEF(int) app_helper(void) { return 0; }

static int g_lines;
static void logger(const char *message) {
  (void)message;
  g_lines++;
}

#define SIG(type, name, ...) type (*p_##name)(__VA_ARGS__) = name; (void)p_##name

int main(void) {
  /* base.h */
  SIG(otc_status, otc_init, void *);
  SIG(otc_status, otc_destroy, void);
  SIG(void, otc_log_set_logger_callback, otc_logger_callback);
  SIG(void, otc_log_enable, enum otc_log_level);
  SIG(enum otc_log_level, otc_get_log_level, void);
  enum otc_constant ok = OTC_SUCCESS;
  enum otc_constant yes = OTC_TRUE;
  enum otc_constant no = OTC_FALSE;
  enum otc_error generic = OTC_GENERIC_ERROR;
  enum otc_error_code codes[] = {OTC_INVALID_PARAM, OTC_FATAL, OTC_CONNECTION_DROPPED, OTC_CONNECTION_TIMED_OUT,
                                 OTC_UNKNOWN_PUBLISHER_INSTANCE, OTC_UNKNOWN_SUBSCRIBER_INSTANCE,
                                 OTC_VIDEO_CAPTURE_FAILED, OTC_CAMERA_FAILED, OTC_VIDEO_RENDER_FAILED,
                                 OT_UNABLE_TO_ACCESS_MEDIA_ENGINE};
  otc_bool b = yes;
  otc_status st = ok;

  /* connection.h */
  SIG(const char *, otc_connection_get_id, const otc_connection *);
  SIG(int64_t, otc_connection_get_creation_time, const otc_connection *);
  SIG(const char *, otc_connection_get_data, const otc_connection *);
  SIG(const char *, otc_connection_get_session_id, const otc_connection *);
  SIG(otc_connection *, otc_connection_copy, const otc_connection *);
  SIG(otc_status, otc_connection_delete, otc_connection *);

  /* stream.h */
  SIG(const char *, otc_stream_get_id, const otc_stream *);
  SIG(const char *, otc_stream_get_name, const otc_stream *);
  SIG(otc_bool, otc_stream_has_video_track, const otc_stream *);
  SIG(otc_bool, otc_stream_has_video, const otc_stream *);
  SIG(otc_bool, otc_stream_has_audio_track, const otc_stream *);
  SIG(otc_bool, otc_stream_has_audio, const otc_stream *);
  SIG(otc_stream *, otc_stream_copy, const otc_stream *);
  SIG(otc_status, otc_stream_delete, otc_stream *);
  SIG(int, otc_stream_get_video_width, const otc_stream *);
  SIG(int, otc_stream_get_video_height, const otc_stream *);
  SIG(int64_t, otc_stream_get_creation_time, const otc_stream *);
  SIG(enum otc_stream_video_type, otc_stream_get_video_type, const otc_stream *);
  SIG(const otc_connection *, otc_stream_get_connection, const otc_stream *);

  /* publisher.h */
  SIG(otc_publisher *, otc_publisher_new, const char *, const struct otc_video_capturer_callbacks *,
      const struct otc_publisher_callbacks *);
  SIG(otc_status, otc_publisher_delete, otc_publisher *);
  SIG(otc_stream *, otc_publisher_get_stream, otc_publisher *);
  SIG(otc_status, otc_publisher_set_publish_video, otc_publisher *, otc_bool);
  SIG(otc_status, otc_publisher_set_publish_audio, otc_publisher *, otc_bool);
  SIG(otc_bool, otc_publisher_get_publish_video, const otc_publisher *);
  SIG(otc_bool, otc_publisher_get_publish_audio, const otc_publisher *);
  SIG(const char *, otc_publisher_get_name, const otc_publisher *);
  SIG(void *, otc_publisher_get_user_data, const otc_publisher *);
  enum otc_publisher_error_code pub_err = OTC_PUBLISHER_WEBRTC_ERROR;

  /* session.h */
  SIG(otc_session *, otc_session_new, const char *, const char *, const struct otc_session_callbacks *);
  SIG(otc_session_settings *, otc_session_settings_new, void);
  SIG(otc_status, otc_session_settings_set_connection_events_suppressed, otc_session_settings *, otc_bool);
  SIG(otc_status, otc_session_settings_set_proxy_url, otc_session_settings *, const char *);
  SIG(otc_status, otc_session_settings_delete, otc_session_settings *);
  SIG(otc_session *, otc_session_new_with_settings, const char *, const char *, const struct otc_session_callbacks *,
      otc_session_settings *);
  SIG(otc_status, otc_session_delete, otc_session *);
  SIG(otc_status, otc_session_connect, otc_session *, const char *);
  SIG(otc_status, otc_session_disconnect, otc_session *);
  SIG(otc_status, otc_session_publish, otc_session *, otc_publisher *);
  SIG(otc_status, otc_session_unpublish, otc_session *, otc_publisher *);
  SIG(otc_status, otc_session_subscribe, otc_session *, otc_subscriber *);
  SIG(otc_status, otc_session_unsubscribe, otc_session *, otc_subscriber *);
  SIG(otc_status, otc_session_send_signal, otc_session *, const char *, const char *);
  SIG(otc_status, otc_session_send_signal_to_connection, otc_session *, const char *, const char *,
      const otc_connection *);
  SIG(otc_status, otc_session_send_signal_with_options, otc_session *, const char *, const char *,
      struct otc_signal_options);
  SIG(otc_status, otc_session_send_signal_to_connection_with_options, otc_session *, const char *, const char *,
      const otc_connection *, struct otc_signal_options);
  SIG(char *, otc_session_get_id, const otc_session *);
  SIG(otc_connection *, otc_session_get_connection, const otc_session *);
  SIG(struct otc_session_capabilities, otc_session_get_capabilities, const otc_session *);
  SIG(void *, otc_session_get_user_data, const otc_session *);
  enum otc_session_error_code sess_err = OTC_SESSION_UNEXPECTED_GET_SESSION_INFO_REPONSE;

  /* calls that need no server */
  otc_log_set_logger_callback(logger);
  otc_log_enable(OTC_LOG_LEVEL_ALL);
  if (otc_get_log_level() != OTC_LOG_LEVEL_ALL) {
    fprintf(stderr, "otc_get_log_level: %d\n", (int)otc_get_log_level());
    return 1;
  }
  otc_session_settings *settings = otc_session_settings_new();
  if (!settings || otc_session_settings_set_connection_events_suppressed(settings, OTC_TRUE) != OTC_SUCCESS ||
      otc_session_settings_delete(settings) != OTC_SUCCESS) {
    fprintf(stderr, "otc_session_settings_*\n");
    return 1;
  }
  otc_log_enable(OTC_LOG_LEVEL_DISABLED);
  printf("ok %d %d %d %d %d %d %d %d %d\n", (int)ok, (int)no, (int)generic, (int)codes[9], (int)b, (int)st,
         (int)pub_err, (int)sess_err, g_lines + app_helper());
  return 0;
}
