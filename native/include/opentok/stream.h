#ifndef CONVENE_OPENTOK_STREAM_H
#define CONVENE_OPENTOK_STREAM_H

#include "config.h"
#include "base.h"
#include "connection.h"

OTC_BEGIN_DECL

/**
 * A stream published in a session. Opaque: its metadata (its media travels on tracks the
 * server assigns, docs/protocol.md section 15.2, out of sight of this API). Who owns one: the library,
 * for those handed to callbacks (valid during the call) and those returned by
 * otc_publisher_get_stream() (valid as long as the publisher); the caller, for copies from
 * otc_stream_copy(). The getters below may be called from any thread while the stream is
 * valid; strings and the connection they return belong to the stream.
 */
typedef struct otc_stream otc_stream;

enum otc_stream_video_type {
  OTC_STREAM_VIDEO_TYPE_CAMERA = 1,
  OTC_STREAM_VIDEO_TYPE_SCREEN = 2,
  OTC_STREAM_VIDEO_TYPE_CUSTOM = 3,
};

/** Owned by the stream. */
OTC_DECL(const char *) otc_stream_get_id(const otc_stream *stream);
/** Owned by the stream ("" when unnamed). */
OTC_DECL(const char *) otc_stream_get_name(const otc_stream *stream);
OTC_DECL(otc_bool) otc_stream_has_video(const otc_stream *stream);
/** Whether the stream has a video track (metadata-only streams: same as has_video). */
OTC_DECL(otc_bool) otc_stream_has_video_track(const otc_stream *stream);
OTC_DECL(otc_bool) otc_stream_has_audio(const otc_stream *stream);
OTC_DECL(otc_bool) otc_stream_has_audio_track(const otc_stream *stream);
OTC_DECL(int) otc_stream_get_video_width(const otc_stream *stream);
OTC_DECL(int) otc_stream_get_video_height(const otc_stream *stream);
/** Creation time in ms since the Unix epoch. */
OTC_DECL(int64_t) otc_stream_get_creation_time(const otc_stream *stream);
OTC_DECL(enum otc_stream_video_type) otc_stream_get_video_type(const otc_stream *stream);
/** The publishing connection. Owned by the stream. */
OTC_DECL(const otc_connection *) otc_stream_get_connection(const otc_stream *stream);
/** A copy the caller owns and frees with otc_stream_delete(). */
OTC_DECL(otc_stream *) otc_stream_copy(const otc_stream *stream);
/**
 * Frees a copy made by otc_stream_copy(). One from otc_publisher_get_stream() is refused
 * (OTC_INVALID_PARAM, nothing freed); never pass one handed to a callback.
 */
OTC_DECL(otc_status) otc_stream_delete(otc_stream *stream);

OTC_END_DECL

#endif
