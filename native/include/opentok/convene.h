/*
 * Convene additions to the otc_* API. Not part of the Vonage SDK: code that uses them
 * does not compile against it. Same threading rules as opentok.h.
 */
#ifndef CONVENE_OPENTOK_CONVENE_H
#define CONVENE_OPENTOK_CONVENE_H

#include "base.h"
#include "connection.h"
#include "publisher.h"
#include "session.h"
#include "stream.h"
#include "subscriber.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Why a connection left: "clientDisconnected", "forceDisconnected" or
 * "networkDisconnected". A static string; NULL outside on_connection_dropped.
 */
OTC_DECL(const char *) convene_connection_get_reason(const otc_connection *connection);

/**
 * Why a stream went: "clientDisconnected", "forceDisconnected", "forceUnpublished",
 * "networkDisconnected" or "mediaStopped". A static string; NULL outside
 * on_stream_dropped and the publisher's on_stream_destroyed.
 */
OTC_DECL(const char *) convene_stream_get_reason(const otc_stream *stream);

/**
 * Why the session ended: "clientDisconnected", "forceDisconnected",
 * "networkDisconnected" or "serverRotation". A static string; meaningful in
 * on_disconnected (NULL before any disconnection).
 */
OTC_DECL(const char *) convene_session_get_disconnect_reason(const otc_session *session);

/** This client's role after on_connected: "subscriber", "publisher", "publisheronly" or "moderator" (static; "" before). */
OTC_DECL(const char *) convene_session_get_role(const otc_session *session);

/**
 * Called once per request on the service thread: error_code 0 when the server processed
 * it, else the OpenTok code (e.g. 1010 when the session ended first) and a message valid
 * during the call. Never called when the submitting function returned an error.
 */
typedef void (*convene_completion_cb)(otc_session *session, void *user_data, void *request_data, int error_code,
                                      const char *message);

/**
 * Sends a signal to everyone (to_connection_id NULL) or to one connection, and reports
 * its fate through `done` (may be NULL). Checks as otc_session_send_signal. Strings copied.
 */
OTC_DECL(otc_status) convene_session_send_signal(otc_session *session, const char *type, const char *data,
                                                 const char *to_connection_id, otc_bool retry_after_reconnect,
                                                 convene_completion_cb done, void *request_data);

/**
 * Moderation by id, with completion: `op` is "forceDisconnect" (target: a connection id),
 * "forceUnpublish" or "forceMuteStream" (target: a stream id), "forceMuteAll" (target:
 * NULL; excluded ids in `ids`/`n_ids`) or "disableForceMute" (target NULL). Ownership:
 * `op`, `target`, `ids` and its strings stay the caller's; they are copied during the call
 * and may be freed as soon as it returns (NULL entries of `ids` are skipped; `ids` may be
 * NULL when n_ids is 0).
 */
OTC_DECL(otc_status) convene_session_moderate(otc_session *session, const char *op, const char *target,
                                             const char *const *ids, size_t n_ids, convene_completion_cb done,
                                             void *request_data);

/**
 * Automatic reconnection: after a drop the core retries after base_ms, then base_ms*factor,
 * ... up to cap_ms, each delay with a random jitter (50-100 % of it), until the server's
 * grace window would have passed. Defaults 250 ms, 2.0, 5000 ms. OTC_INVALID_PARAM when
 * base_ms < 1, factor < 1 or cap_ms < base_ms.
 */
OTC_DECL(otc_status) convene_session_settings_set_reconnect_backoff(struct otc_session_settings *settings, int base_ms,
                                                                   double factor, int cap_ms);

/**
 * When resuming is impossible (grace window over, server restarted, token expired), connect
 * again as a new connection instead of ending the session (default off): on_error
 * (OTC_SESSION_CONNECTION_DROPPED, queued signals fail one by one), then on_connected again
 * with a new connection; no on_disconnected in between. The peers and streams are then
 * reconciled: on_connection_dropped / on_stream_dropped (reason "networkDisconnected") for
 * those that left meanwhile, on_connection_created / on_stream_received for those that came,
 * nothing for those still there. While the server cannot be reached, connecting is retried
 * with the reconnection backoff for the rejoin timeout (below); then on_error and
 * on_disconnected. An error the server sends (e.g. an expired token) ends it at once.
 */
OTC_DECL(otc_status) convene_session_settings_set_rejoin(struct otc_session_settings *settings, otc_bool rejoin);

/** How long rejoin attempts go on after resuming failed (default 60000 ms; 0: one attempt). */
OTC_DECL(otc_status) convene_session_settings_set_rejoin_timeout(struct otc_session_settings *settings, int timeout_ms);

/**
 * How many signals/requests may be queued during one reconnection (default 1000); past it a
 * send fails (1550). Requests already sent when the connection dropped (waiting for their
 * result, resent after the resume if the server had not processed them) do not count.
 * While connected, the same number bounds the backlog of requests waiting for the pacer
 * (the server's rate and the window of 1024 awaiting a result): a request that finds
 * max_requests others waiting (at least one) fails at once with CONVENE_BACKLOG_FULL (1570):
 * its completion, else the publisher's or the session's on_error. The backlog left by a
 * reconnection counts too, so new requests may fail until it has drained below the bound.
 * OTC_INVALID_PARAM when max_requests < 0.
 */
OTC_DECL(otc_status) convene_session_settings_set_max_queued(struct otc_session_settings *settings, int max_requests);

/**
 * Keepalive: ping the server every interval_ms and take the connection for dead (and start
 * reconnecting) when nothing was received for timeout_ms; the drop is noticed within about
 * timeout_ms of the last thing received. By default the server's (25000 and 40000 ms, sent
 * at connect), and between pings the kernel's TCP keepalive and TCP_USER_TIMEOUT, set on the
 * socket, find a dead path about 15 s after the last packet heard (or after timeout_ms when
 * it is shorter). The interval is never longer than the server's (it drops silent clients).
 * Bots on good networks may want e.g. 1000 and 3000. OTC_INVALID_PARAM when
 * interval_ms < 100 or timeout_ms <= interval_ms.
 */
OTC_DECL(otc_status) convene_session_settings_set_keepalive(struct otc_session_settings *settings, int interval_ms,
                                                            int timeout_ms);

/**
 * Error codes: one namespace. Every code the library reports (otc_status returns, on_error,
 * completions) is an int from one table, so one value means one fault:
 *   0            success (OTC_SUCCESS)
 *   1-4          generic otc_status of the Vonage SDK (OTC_INVALID_PARAM, OTC_FATAL,
 *                OTC_MEDIA_FATAL, OTC_ILLEGAL_STATE), returned by object functions
 *   1004-2001    OpenTok session/publisher codes (enum otc_session_error_code,
 *                enum otc_publisher_error_code: OTC_PUBLISHER_SESSION_DISCONNECTED and
 *                OTC_SESSION_NOT_CONNECTED are both 1010), as the Vonage SDK reports them
 *   1560         CONVENE_SIGNAL_UNDELIVERED
 *   1570         CONVENE_BACKLOG_FULL (local: the request backlog is full, max_queued)
 *   1580         CONVENE_AUDIO_QUEUE_FULL (local: convene_publisher_write_audio, the queue is full)
 *   1600-1605    OTC_SUBSCRIBER_* codes (enum otc_subscriber_error_code)
 *   4400-4499    protocol errors the server reports in an error frame (CONVENE_MALFORMED_FRAME
 *                4400, CONVENE_UNKNOWN_FRAME_TYPE 4405, CONVENE_REQUEST_OUT_OF_ORDER 4409,
 *                CONVENE_FRAME_TOO_LARGE 4413, CONVENE_BINARY_NOT_SUPPORTED 4415,
 *                CONVENE_FLOOD 4429), passed to on_error unchanged (docs/protocol.md)
 * OTC_INVALID_PARAM (1) and OTC_SESSION_NULL_OR_INVALID_PARAMETER (1011) both mean "a bad
 * argument": the Vonage SDK returns 1 from object and settings functions and 1011 from
 * otc_session_* calls that talk to the server, and Convene keeps each function's Vonage code.
 * A request the session's end cancels ends with 1010 (its completion, or the publisher's
 * on_error): the library's "canceled" (libuv's UV_ECANCELED).
 */

/**
 * The symbolic name of an error code of the table above ("OTC_SESSION_CONNECTION_DROPPED",
 * "CONVENE_FLOOD", ...), or "UNKNOWN" for a code not in it. A static string. Any thread.
 */
OTC_DECL(const char *) convene_error_name(int code);

/** Error code of a signal the server acknowledged but could not deliver to one addressee. */
#define CONVENE_SIGNAL_UNDELIVERED 1560
/* Local (never on the wire): a request found max_queued others waiting for the pacer while
 * connected (convene_session_settings_set_max_queued) and was not sent. */
#define CONVENE_BACKLOG_FULL 1570

/**
 * Called on the service thread when a signal this client sent, and that the server had
 * accepted (its completion reported success), could not be delivered to one addressee:
 * that connection ended for good (grace window over, force-disconnected) before it had
 * received the signal. Once per (signal, addressee): a broadcast may report several. The
 * signal is identified by its type and the addressee's connection id (strings valid during
 * the call); error_code is CONVENE_SIGNAL_UNDELIVERED (1560), message says why. user_data
 * is the session callbacks' user_data.
 */
typedef void (*convene_signal_undelivered_cb)(otc_session *session, void *user_data, const char *signal_type,
                                              const char *to_connection_id, int error_code, const char *message);

/** Sets the callback above (NULL: none, the default). */
OTC_DECL(otc_status) convene_session_settings_set_on_signal_undelivered(struct otc_session_settings *settings,
                                                                       convene_signal_undelivered_cb cb);

/**
 * A hook the service thread calls at the end of each pass over its sockets and commands,
 * after every callback of that pass, and the media thread at the end of each tick (every
 * 10 ms while media flows), after that tick's audio and video callbacks. A binding that
 * queues events in callbacks hands them over to its own thread here, once per pass or tick,
 * instead of once per event. It runs on either thread (possibly at the same time). Process-wide;
 * NULL removes it. Any thread may set it; it takes effect from the next pass. The hook must
 * not block and must not call otc_* functions that wait for the service thread.
 */
typedef void (*convene_pass_hook)(void *user_data);
OTC_DECL(void) convene_set_pass_hook(convene_pass_hook hook, void *user_data);

/**
 * The service thread's event loop: "libev" (epoll; needs libwebsockets-evlib-ev at run time)
 * or "poll" (lws's own loop, whose passes cost more with every open session). A static
 * string; meaningful between otc_init and otc_destroy. Any thread.
 */
OTC_DECL(const char *) convene_event_loop_name(void);

/** The video type the publisher's stream announces (default camera). Call before publishing. */
OTC_DECL(otc_status) convene_publisher_set_video_type(otc_publisher *publisher, enum otc_stream_video_type type);

/**
 * The video dimensions the publisher's stream announces (peers read them with
 * otc_stream_get_video_width / _height). Call before publishing; a stream already published
 * keeps what it announced. A publisher that sets none announces 640x480: the Vonage SDK has
 * no such setting for a publisher without a video capturer of its own, and its default
 * capturer is 640x480. OTC_INVALID_PARAM for NULL or a size outside 1..65535.
 */
OTC_DECL(otc_status) convene_publisher_set_video_dimensions(otc_publisher *publisher, int width, int height);

/*
 * Media (audio) additions: per-stream PCM for publishers, the output format of each
 * subscriber, and counters. See docs/architecture.md ("Media") for the threads.
 */

/** Local: convene_publisher_write_audio() refused samples that would not fit in the queue. */
#define CONVENE_AUDIO_QUEUE_FULL 1580

/**
 * The publisher takes its audio from convene_publisher_write_audio() (a queue of its own)
 * instead of the process-wide audio device. `capacity_ms` bounds the queue (100..60000).
 * Call before otc_session_publish. OTC_INVALID_PARAM for NULL or a capacity out of range,
 * OTC_ILLEGAL_STATE once published. Calling it again changes the capacity (the queue is
 * emptied). Any thread.
 */
OTC_DECL(otc_status) convene_publisher_set_audio_source(otc_publisher *publisher, int capacity_ms);

/**
 * Queues interleaved 16-bit PCM for the publisher: `samples_per_channel` samples per
 * channel at `sample_rate` (8000, 16000, 24000, 32000, 44100 or 48000) with `channels`
 * (1 or 2). Copied (resampled to 48 kHz on the way in). All or nothing: OTC_SUCCESS, or
 * CONVENE_AUDIO_QUEUE_FULL when the samples would not fit (nothing queued; see
 * convene_publisher_set_on_audio_space), OTC_INVALID_PARAM for bad input (a format other
 * than the one before in the same queue is accepted: the resampler follows it),
 * OTC_ILLEGAL_STATE when no audio source was set. The media thread takes 20 ms from the
 * queue every 20 ms while the stream is published with audio on; while it is not (before
 * publishing, publish_audio false), the queue keeps what it has. Any thread.
 */
OTC_DECL(otc_status) convene_publisher_write_audio(otc_publisher *publisher, const int16_t *samples,
                                                  size_t samples_per_channel, int sample_rate, int channels);

/** Empties the publisher's queue (barge-in). OTC_ILLEGAL_STATE without an audio source. Any thread. */
OTC_DECL(otc_status) convene_publisher_clear_audio(otc_publisher *publisher);

/** Milliseconds of audio queued (0 without an audio source, -1 for NULL). Any thread. */
OTC_DECL(int) convene_publisher_get_queued_audio_ms(const otc_publisher *publisher);

/**
 * Called on the media thread when, after a write was refused with CONVENE_AUDIO_QUEUE_FULL,
 * the queue has drained to at most half its capacity (once per refusal episode). It may
 * call convene_publisher_write_audio(); it must not call otc_publisher_delete().
 */
typedef void (*convene_audio_space_cb)(otc_publisher *publisher, void *user_data, int queued_ms);

/** Sets the callback above (NULL: none). Any thread. */
OTC_DECL(otc_status) convene_publisher_set_on_audio_space(otc_publisher *publisher, convene_audio_space_cb cb,
                                                         void *user_data);

/**
 * The format of the subscriber's on_audio_data: `sample_rate` (rates as above), `channels`
 * (1 or 2), `frame_ms` (10..60, a multiple of 10) per call. Default 48000 Hz, mono, 10 ms.
 * Before otc_session_subscribe (OTC_ILLEGAL_STATE after). OTC_INVALID_PARAM for bad input.
 */
OTC_DECL(otc_status) convene_subscriber_set_audio_format(otc_subscriber *subscriber, int sample_rate, int channels,
                                                        int frame_ms);

/** Media counters of one publisher or subscriber, cumulative since it was created. */
struct convene_media_stats {
  uint64_t frames_sent;      /**< publisher: media frames handed to the socket */
  uint64_t frames_received;  /**< subscriber: media frames received for its track */
  uint64_t bytes_sent;       /**< publisher: their size, header included */
  uint64_t bytes_received;   /**< subscriber: their size, header included */
  uint64_t frames_decoded;   /**< subscriber: frames decoded into PCM */
  uint64_t frames_concealed; /**< subscriber: 20 ms frames synthesized for lost ones (Opus PLC) */
  uint64_t decode_errors;    /**< subscriber: frames the decoder refused (corrupt) */
  uint64_t frames_lost;      /**< subscriber: frames the sequence numbers say never arrived */
  uint64_t queue_dropped;    /**< frames (or PCM, in 20 ms units) dropped because a queue was full */
  uint64_t queue_refused;    /**< publisher: convene_publisher_write_audio calls refused (queue full) */
  uint64_t frames_dtx;       /**< publisher: frames not sent because of DTX (silence) */
  uint64_t frames_malformed; /**< subscriber: frames for its track with a bad header */
  int queued_ms;             /**< publisher: convene_publisher_get_queued_audio_ms() */
  float audio_level;         /**< level of the last frame sent or received, 0 to 1 */
  /* Video (issue 18). The audio counters above count audio media frames only. */
  uint64_t frames_encoded;    /**< publisher: video frames encoded (and handed out to be sent) */
  uint64_t keyframes_sent;    /**< publisher: of which keyframes */
  uint64_t keyframe_requests; /**< publisher: keyframeRequested events received;
                                   subscriber: requestKeyframe requests sent */
  uint64_t frames_dropped;    /**< publisher: frames provided (capturer, convene_publisher_write_video) and
                                   never encoded: replaced by a newer one before the encoder's turn, or
                                   skipped by rate control; subscriber: video frames lost, incomplete, or
                                   refused by the decoder (never rendered) */
  uint64_t frames_rendered;   /**< subscriber: video frames decoded and handed to on_render_frame */
  uint64_t video_packets_sent;     /**< publisher: video media frames (packets) handed to the socket */
  uint64_t video_bytes_sent;       /**< publisher: their size, header included */
  uint64_t video_packets_dropped;  /**< publisher: video packets the socket's backlog refused */
  uint64_t video_packets_received; /**< subscriber: video media frames received for its video track */
  uint64_t video_bytes_received;   /**< subscriber: their size, header included */
  uint64_t video_packets_lost;     /**< subscriber: video packets the sequence numbers say never arrived */
  uint64_t video_decode_errors;    /**< subscriber: frames the VP8 decoder refused (corrupt, no keyframe) */
  int bitrate_kbps;           /**< publisher: the encoder's target now (bandwidth adaptation);
                                   subscriber: video received over the last second */
  int fps;                    /**< publisher: the frame rate encoded now; subscriber: rendered over the last second */
  int width;                  /**< publisher: the encoded size; subscriber: the last decoded size (0: none yet) */
  int height;
};

/*
 * Video additions. A publisher sends VP8 from its capturer (otc_publisher_new, video_capturer.h)
 * or from per-stream frames (below); one encoder per published stream, on the media thread,
 * at the source's frame rate, the bitrate from the size (about 0.08 bit per pixel per frame)
 * lowered while the socket's send backlog grows (then the frame rate), raised again when it
 * drains. Keyframes: the first frame, every 3 s, and on request (the server's
 * keyframeRequested: a new subscriber, a subscriber that lost packets). A subscriber decodes on
 * the media thread and hands frames to on_render_frame (subscriber.h) in its format.
 */

/**
 * The publisher takes its video from convene_publisher_write_video() (bots) instead of a
 * capturer: frames are encoded at width x height (2..4096, even sizes recommended) and `fps`
 * (1..60); the stream announces those dimensions (as convene_publisher_set_video_dimensions).
 * Called again while published, it changes the size and rate mid-stream: the next frame is a
 * keyframe of the new size and the stream's videoDimensions are updated (peers get
 * on_stream_video_dimensions_changed). OTC_ILLEGAL_STATE for a publisher with a capturer;
 * OTC_INVALID_PARAM for NULL or values out of range. Any thread.
 */
OTC_DECL(otc_status) convene_publisher_set_video_source(otc_publisher *publisher, int width, int height, int fps);

/**
 * Hands the publisher one frame (any raw format of video_frame.h; copied, converted to I420
 * and scaled to the source's size before this returns: the frame stays the caller's). The
 * publisher keeps only the newest frame not yet encoded: a producer faster than the fps
 * replaces the waiting frame (counted in frames_dropped). Frames written before the stream is
 * published, or while publish_video is false, wait in that one slot (the newest is sent when
 * video flows). OTC_INVALID_PARAM for NULL, a compressed or unknown format, or a size over
 * 16384; OTC_ILLEGAL_STATE without convene_publisher_set_video_source. Any thread.
 */
OTC_DECL(otc_status) convene_publisher_write_video(otc_publisher *publisher, const otc_video_frame *frame);

/**
 * The format of the subscriber's on_render_frame: OTC_VIDEO_FRAME_FORMAT_YUV420P (the
 * default: the decoder's output, no conversion), NV12, ARGB32, BGRA32, ABGR32, RGBA32 or RGB24.
 * Any time (takes effect from the next frame). OTC_INVALID_PARAM for NULL or another format.
 * Any thread.
 */
OTC_DECL(otc_status) convene_subscriber_set_video_format(otc_subscriber *subscriber,
                                                        enum otc_video_frame_format format);

/** Copies the publisher's counters into `out`. OTC_INVALID_PARAM for NULL. Any thread. */
OTC_DECL(otc_status) convene_publisher_get_media_stats(const otc_publisher *publisher, struct convene_media_stats *out);
/** Copies the subscriber's counters into `out`. OTC_INVALID_PARAM for NULL. Any thread. */
OTC_DECL(otc_status) convene_subscriber_get_media_stats(const otc_subscriber *subscriber,
                                                       struct convene_media_stats *out);

#ifdef __cplusplus
}
#endif

#endif
