#ifndef CONVENE_OPENTOK_PUBLISHER_H
#define CONVENE_OPENTOK_PUBLISHER_H

#include "config.h"
#include "base.h"
#include "stream.h"
#include "video_frame.h"
#include "video_capturer.h"

OTC_BEGIN_DECL

#ifndef OTC_SESSION_FWD_DECL
#define OTC_SESSION_FWD_DECL
typedef struct otc_session otc_session;
#endif

/** A publisher: the local side of a stream. Opaque. */
typedef struct otc_publisher otc_publisher;


enum otc_publisher_error_code {
  OTC_PUBLISHER_INTERNAL_ERROR = 2000,
  OTC_PUBLISHER_SESSION_DISCONNECTED = 1010,
  OTC_PUBLISHER_TIMED_OUT = 1541,
  OTC_PUBLISHER_UNABLE_TO_PUBLISH = 1500,
  OTC_PUBLISHER_WEBRTC_ERROR = 1610,
};

/**
 * Audio statistics of a publisher (Vonage's shape). Convene has one path per stream (to the
 * server): on_audio_stats is handed one entry, connection_id and subscriber_id "".
 */
struct otc_publisher_audio_stats {
  const char *connection_id; /**< "" (routed: the server) */
  const char *subscriber_id; /**< "" */
  int64_t packets_lost;      /**< media frames the socket refused (backlog full) */
  int64_t packets_sent;      /**< audio media frames handed to the socket */
  int64_t bytes_sent;        /**< their size, header included */
  float audio_level;         /**< level of the last frame sent, 0 to 1 */
  double timestamp;          /**< when gathered, ms since the Unix epoch */
  double start_time;         /**< when the counters started (the publisher's creation), ms since the epoch */
};

/** Video statistics of a publisher (Vonage's shape; one entry, as above). */
struct otc_publisher_video_stats {
  const char *connection_id; /**< "" */
  const char *subscriber_id; /**< "" */
  int64_t packets_lost;      /**< video packets the socket refused (backlog full) */
  int64_t packets_sent;      /**< video media frames (packets) handed to the socket */
  int64_t bytes_sent;        /**< their size, header included */
  double timestamp;          /**< when gathered, ms since the Unix epoch */
  double start_time;         /**< when the counters started, ms since the epoch */
};

/**
 * Publisher callbacks, in the Vonage SDK's member order. Unused members may be NULL.
 * on_stream_created, on_stream_destroyed and on_error run on the service thread;
 * on_render_frame, on_audio_level_updated, on_audio_stats and on_video_stats on the media
 * thread (see convene.h, "Media").
 */
struct otc_publisher_callbacks {
  /** The stream exists in the session; `stream` is valid during the call (otc_publisher_get_stream
   * gives one that stays valid until otc_publisher_delete). */
  void (*on_stream_created)(otc_publisher *publisher, void *user_data, const otc_stream *stream);
  /** The stream is gone (unpublished, force-unpublished, or the session ended); `stream` is
   * valid during the call. */
  void (*on_stream_destroyed)(otc_publisher *publisher, void *user_data, const otc_stream *stream);
  /**
   * The local preview: each video frame the publisher encodes, as it was given (I420, the
   * encoder's size), before encoding. Media thread; `frame` is the library's, valid during
   * the call (otc_video_frame_copy it to keep it).
   */
  void (*on_render_frame)(otc_publisher *publisher, void *user_data, const otc_video_frame *frame);
  /** The level of the audio sent (0 to 1), about every 100 ms while published. Media thread. */
  void (*on_audio_level_updated)(otc_publisher *publisher, void *user_data, float audio_level);
  /** Every second while published: one entry (valid during the call). Media thread. */
  void (*on_audio_stats)(otc_publisher *publisher, void *user_data, struct otc_publisher_audio_stats audio_stats[],
                         size_t number_of_stats);
  /** Every second while published with a video source: one entry (valid during the call). Media thread. */
  void (*on_video_stats)(otc_publisher *publisher, void *user_data, struct otc_publisher_video_stats video_stats[],
                         size_t number_of_stats);
  /** The publisher failed; `error_string` valid during the call. Service thread. */
  void (*on_error)(otc_publisher *publisher, void *user_data, const char *error_string,
                   enum otc_publisher_error_code error_code);
  void *user_data;
  void *reserved;
};

/**
 * Creates a publisher. `name` is copied (NULL: unnamed); `callbacks` is copied. The caller
 * owns the publisher and frees it with otc_publisher_delete(). Returns NULL on bad input.
 *
 * `video_capturer` (copied; may be NULL): the publisher sends the video the capturer
 * provides (video_capturer.h). Its init and get_capture_settings are called here, on the
 * caller's thread (the settings' width, height and fps are the size and rate encoded, and
 * the videoDimensions the stream announces; a capturer whose init fails, or whose settings
 * are out of range (2..4096 pixels a side, 1..60 fps), makes this return NULL); start when
 * the stream is created and stop when it goes (service thread); destroy from
 * otc_publisher_delete (service thread). With NULL no camera is opened: the stream has no
 * video frames unless convene_publisher_set_video_source() (convene.h) gives it a source.
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
