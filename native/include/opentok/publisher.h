#ifndef CONVENE_OPENTOK_PUBLISHER_H
#define CONVENE_OPENTOK_PUBLISHER_H

#include "config.h"
#include "base.h"
#include "stream.h"

OTC_BEGIN_DECL

#ifndef OTC_SESSION_FWD_DECL
#define OTC_SESSION_FWD_DECL
typedef struct otc_session otc_session;
#endif

/** A publisher: the local side of a stream. Opaque. */
typedef struct otc_publisher otc_publisher;

/** Media capture arrives in a later version: pass NULL where this is asked for. */
struct otc_video_capturer_callbacks;

enum otc_publisher_error_code {
  OTC_PUBLISHER_INTERNAL_ERROR = 2000,
  OTC_PUBLISHER_SESSION_DISCONNECTED = 1010,
  OTC_PUBLISHER_TIMED_OUT = 1541,
  OTC_PUBLISHER_UNABLE_TO_PUBLISH = 1500,
  OTC_PUBLISHER_WEBRTC_ERROR = 1610,
};

/** Publisher callbacks; each runs on the service thread. Unused members may be NULL. */
struct otc_publisher_callbacks {
  /** The stream exists in the session; `stream` is valid during the call (otc_publisher_get_stream
   * gives one that stays valid until otc_publisher_delete). */
  void (*on_stream_created)(otc_publisher *publisher, void *user_data, const otc_stream *stream);
  /** The stream is gone (unpublished, force-unpublished, or the session ended); `stream` is
   * valid during the call. */
  void (*on_stream_destroyed)(otc_publisher *publisher, void *user_data, const otc_stream *stream);
  void (*on_error)(otc_publisher *publisher, void *user_data, const char *error_string,
                   enum otc_publisher_error_code error_code);
  void *user_data;
  void *reserved;
};

/**
 * Creates a publisher. `name` is copied (NULL: unnamed); `video_capturer` must be NULL in
 * this version; `callbacks` is copied. The caller owns the publisher and frees it with
 * otc_publisher_delete(). Returns NULL on bad input.
 */
OTC_DECL(otc_publisher *) otc_publisher_new(const char *name,
                                           const struct otc_video_capturer_callbacks *video_capturer,
                                           const struct otc_publisher_callbacks *callbacks);

/**
 * Frees a publisher. If it is published, it is unpublished first. No publisher callback
 * fires after this returns. From a publisher callback of this publisher, freeing is deferred.
 */
OTC_DECL(otc_status) otc_publisher_delete(otc_publisher *publisher);

/** Turns audio on or off; peers get on_stream_has_audio_changed. */
OTC_DECL(otc_status) otc_publisher_set_publish_audio(otc_publisher *publisher, otc_bool publish_audio);
/** Turns video on or off; peers get on_stream_has_video_changed. */
OTC_DECL(otc_status) otc_publisher_set_publish_video(otc_publisher *publisher, otc_bool publish_video);
OTC_DECL(otc_bool) otc_publisher_get_publish_audio(const otc_publisher *publisher);
OTC_DECL(otc_bool) otc_publisher_get_publish_video(const otc_publisher *publisher);
/*
 * Getters. Any thread (the app's, or a callback on the service thread), race-free. What
 * they return is owned by the publisher, never freed by the caller, and valid until
 * otc_publisher_delete() returns (not only while published: also after on_stream_destroyed,
 * after the session ends and after otc_session_delete).
 */
/** The name given to otc_publisher_new() ("" for none). Owned by the publisher. */
OTC_DECL(const char *) otc_publisher_get_name(const otc_publisher *publisher);
/**
 * The publisher's stream: NULL until on_stream_created and after on_stream_destroyed.
 * Owned by the publisher: do not free it (otc_stream_delete() refuses it with
 * OTC_INVALID_PARAM); otc_stream_copy() it to keep it past otc_publisher_delete(). Its
 * properties are those announced when it was created. A new publish gives a new object;
 * earlier ones stay valid (each stream costs about 200 bytes until the delete).
 */
OTC_DECL(otc_stream *) otc_publisher_get_stream(otc_publisher *publisher);
/** The callbacks' user_data. */
OTC_DECL(void *) otc_publisher_get_user_data(const otc_publisher *publisher);

OTC_END_DECL

#endif
