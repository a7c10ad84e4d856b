/*
 * Subscribers: receiving a stream's media, in the Vonage SDK's shape (subscriber.h).
 *
 * A subscriber is created for one stream (otc_subscriber_new), then subscribed with
 * otc_session_subscribe(); on_connected fires when the server accepted the subscription,
 * on_error (and no on_connected) when it refused it. Audio arrives decoded through
 * on_audio_data (format: convene_subscriber_set_audio_format, default 48000 Hz mono 10 ms)
 * and, mixed with every other subscriber's, through the audio device's render side
 * (audio_device.h). Video arrives decoded (VP8) through on_render_frame, in the format of
 * convene_subscriber_set_video_format (default YUV420P), at the publisher's size.
 *
 * Threads: on_audio_data, on_audio_stats, on_audio_level_updated, on_render_frame,
 * on_video_data_received and on_video_stats run on the core's media thread; every other
 * callback on the service thread. Callbacks of one subscriber never run concurrently with
 * otc_subscriber_delete()'s return: after it returns none fires.
 *
 * The subscription ends with otc_session_unsubscribe() (no callback), when the stream is
 * destroyed or the session ends (on_error OTC_SUBSCRIBER_SESSION_DISCONNECTED for a session
 * end, nothing for a stream that went: the session's on_stream_dropped says so). The caller
 * still owns the subscriber and frees it with otc_subscriber_delete().
 */
#ifndef CONVENE_OPENTOK_SUBSCRIBER_H
#define CONVENE_OPENTOK_SUBSCRIBER_H

#include "config.h"
#include "base.h"
#include "stream.h"
#include "error.h"
#include "video_frame.h"

OTC_BEGIN_DECL

#ifndef OTC_SESSION_FWD_DECL
#define OTC_SESSION_FWD_DECL
typedef struct otc_session otc_session;
#endif

/** A subscriber: the receiving side of one stream. Opaque. */
typedef struct otc_subscriber otc_subscriber;

/** Why a subscriber's video went or came back (on_video_disabled / on_video_enabled). */
enum otc_video_reason {
  OTC_VIDEO_REASON_PUBLISH_VIDEO = 1,
  OTC_VIDEO_REASON_SUBSCRIBE_TO_VIDEO = 2,
  OTC_VIDEO_REASON_QUALITY = 3,
  OTC_VIDEO_REASON_CODEC_NOT_SUPPORTED = 4,
};

/** The codes a subscriber's on_error reports (same namespace as every other code, convene.h). */
enum otc_subscriber_error_code {
  OTC_SUBSCRIBER_INTERNAL_ERROR = 2000,
  OTC_SUBSCRIBER_SESSION_DISCONNECTED = 1010,
  OTC_SUBSCRIBER_SERVER_CANNOT_FIND_STREAM = 1604,
  OTC_SUBSCRIBER_STREAM_LIMIT_EXCEEDED = 1605,
  OTC_SUBSCRIBER_TIMED_OUT = 1542,
  OTC_SUBSCRIBER_WEBRTC_ERROR = 1600,
};

/** Audio statistics handed to on_audio_stats, cumulative since the subscription began. */
struct otc_subscriber_audio_stats {
  uint64_t packets_lost;     /**< frames the sequence numbers say never arrived */
  uint64_t packets_received; /**< media frames received */
  uint64_t bytes_received;   /**< their size (header and payload) */
  float audio_level;         /**< level of the last frame, 0 to 1 (RFC 6464, as sent) */
  double timestamp;          /**< when gathered, ms since the Unix epoch */
};

/** Video statistics handed to on_video_stats, cumulative since the subscription began. */
struct otc_subscriber_video_stats {
  uint64_t packets_lost;     /**< video packets the sequence numbers say never arrived */
  uint64_t packets_received; /**< video media frames (packets) received */
  uint64_t bytes_received;   /**< their size (header and payload) */
  double timestamp;          /**< when gathered, ms since the Unix epoch */
};

/**
 * One block of decoded PCM handed to on_audio_data: interleaved signed 16-bit samples
 * (bits_per_sample 16), `number_of_samples` per channel. Valid during the call only.
 */
struct otc_audio_data {
  const void *sample_buffer;
  const int bits_per_sample;
  const int sample_rate;
  const size_t number_of_channels;
  const size_t number_of_samples;
};

/**
 * Subscriber callbacks, in the Vonage SDK's member order (on_audio_data is the member the
 * SDK added after on_error). Unused members may be NULL. The callbacks are copied by
 * otc_subscriber_new().
 */
struct otc_subscriber_callbacks {
  /** The server accepted the subscription; media flows. `stream` is valid during the call. */
  void (*on_connected)(otc_subscriber *subscriber, void *user_data, const otc_stream *stream);
  /** The publisher's connection was interrupted (it may come back within the server's grace window). */
  void (*on_disconnected)(otc_subscriber *subscriber, void *user_data);
  /** The publisher came back after on_disconnected; media flows again. */
  void (*on_reconnected)(otc_subscriber *subscriber, void *user_data);
  /**
   * A decoded video frame in the subscriber's format (convene_subscriber_set_video_format),
   * the sender's capture timestamp in microseconds. Media thread; `frame` is the library's,
   * valid during the call (otc_video_frame_copy / _convert it to keep it).
   */
  void (*on_render_frame)(otc_subscriber *subscriber, void *user_data, const otc_video_frame *frame);
  /**
   * Video stopped: OTC_VIDEO_REASON_PUBLISH_VIDEO (the stream's hasVideo went false) or
   * OTC_VIDEO_REASON_SUBSCRIBE_TO_VIDEO (otc_subscriber_set_subscribe_to_video(false)).
   * Service thread.
   */
  void (*on_video_disabled)(otc_subscriber *subscriber, void *user_data, enum otc_video_reason reason);
  /** Video resumed, for the same reasons. Service thread. */
  void (*on_video_enabled)(otc_subscriber *subscriber, void *user_data, enum otc_video_reason reason);
  /** The publisher stopped publishing audio (the stream's hasAudio went false). Service thread. */
  void (*on_audio_disabled)(otc_subscriber *subscriber, void *user_data);
  /** The publisher resumed publishing audio. Service thread. */
  void (*on_audio_enabled)(otc_subscriber *subscriber, void *user_data);
  /** The first video frame decoded after subscribing (or after video came back). Media thread. */
  void (*on_video_data_received)(otc_subscriber *subscriber, void *user_data);
  /** Never called: Convene does not turn video off for quality (no audio fallback). */
  void (*on_video_disable_warning)(otc_subscriber *subscriber, void *user_data);
  /** Never called (see on_video_disable_warning). */
  void (*on_video_disable_warning_lifted)(otc_subscriber *subscriber, void *user_data);
  /** Every second while subscribed to audio. Media thread. */
  void (*on_audio_stats)(otc_subscriber *subscriber, void *user_data, struct otc_subscriber_audio_stats audio_stats);
  /** Every second while subscribed to video. Media thread. */
  void (*on_video_stats)(otc_subscriber *subscriber, void *user_data, struct otc_subscriber_video_stats video_stats);
  /** The audio level (0 to 1) about every 100 ms while subscribed to audio. Media thread. */
  void (*on_audio_level_updated)(otc_subscriber *subscriber, void *user_data, float audio_level);
  /** The subscription failed or ended with an error; `error_string` valid during the call. Service thread. */
  void (*on_error)(otc_subscriber *subscriber, void *user_data, const char *error_string,
                   enum otc_subscriber_error_code error);
  /** Decoded audio in the subscriber's format, every frame_ms. Media thread. */
  void (*on_audio_data)(otc_subscriber *subscriber, void *user_data, const struct otc_audio_data *audio_data);
  /** Handed back to every callback. */
  void *user_data;
  /** Unused; set it to NULL. */
  void *reserved;
};

/**
 * Creates a subscriber for `stream` (copied: the stream may be freed afterwards) with
 * `callbacks` (copied). The caller owns it and frees it with otc_subscriber_delete().
 * NULL on bad input.
 */
OTC_DECL(otc_subscriber *) otc_subscriber_new(const otc_stream *stream, const struct otc_subscriber_callbacks *callbacks);

/**
 * Frees a subscriber. If it is subscribed, it is unsubscribed first. No callback of it runs
 * after this returns (it waits for a callback running on another thread). From one of its
 * own callbacks, freeing is deferred until the callback returns.
 */
OTC_DECL(otc_status) otc_subscriber_delete(otc_subscriber *subscriber);

/** The subscriber's stream (its own copy: valid until otc_subscriber_delete). Any thread. */
OTC_DECL(otc_stream *) otc_subscriber_get_stream(const otc_subscriber *subscriber);

/**
 * Whether to receive the stream's video (default true). Before otc_session_subscribe it
 * chooses what the subscribe asks for; afterwards it stops or restarts the video (a request
 * to the server; on_video_disabled / on_video_enabled with OTC_VIDEO_REASON_SUBSCRIBE_TO_VIDEO).
 * Any thread.
 */
OTC_DECL(otc_status) otc_subscriber_set_subscribe_to_video(otc_subscriber *subscriber, otc_bool subscribe_to_video);

/**
 * Whether to receive the stream's audio (default true). Before otc_session_subscribe it
 * chooses what the subscribe asks for; afterwards it stops or restarts the audio (a request
 * to the server; frames already in flight are discarded). Any thread.
 */
OTC_DECL(otc_status) otc_subscriber_set_subscribe_to_audio(otc_subscriber *subscriber, otc_bool subscribe_to_audio);

OTC_DECL(otc_bool) otc_subscriber_get_subscribe_to_video(const otc_subscriber *subscriber);
OTC_DECL(otc_bool) otc_subscriber_get_subscribe_to_audio(const otc_subscriber *subscriber);

/** The session it is subscribed in; NULL before otc_session_subscribe. Any thread. */
OTC_DECL(otc_session *) otc_subscriber_get_session(const otc_subscriber *subscriber);

/**
 * A unique identifier of this subscriber (owned by it, valid until otc_subscriber_delete).
 * It never changes. Any thread.
 */
OTC_DECL(const char *) otc_subscriber_get_subscriber_id(const otc_subscriber *subscriber);

/** The callbacks' user_data. Any thread. */
OTC_DECL(void *) otc_subscriber_get_user_data(const otc_subscriber *subscriber);

OTC_END_DECL

#endif
