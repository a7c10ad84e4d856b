/*
 * Video capturers, in the Vonage SDK's shape (video_capturer.h): the application supplies the
 * frames a publisher sends. otc_publisher_new(name, &capturer_callbacks, &callbacks) with a
 * capturer publishes what it provides; with NULL nothing opens a camera (Convene never does).
 *
 * The library calls init and then get_capture_settings (the size and rate to encode for)
 * inside otc_publisher_new, on the caller's thread; start when the stream is created (frames
 * are wanted) and stop when it goes, on the service thread; destroy from otc_publisher_delete,
 * on the service thread. Return quickly from start / stop / destroy and do not call
 * otc_publisher_delete or functions that wait for the service thread from them. The capturer
 * then calls otc_video_capturer_provide_frame from any thread of its own, at its own pace
 * (the `capturer` pointer its callbacks get is the one to pass; it is valid until destroy).
 *
 * A frame of another size than the settings' is scaled (libyuv) to the settings' size; the
 * publisher encodes the newest frame at the settings' fps (fewer when the socket is
 * congested) and drops the others (counted: convene_media_stats.frames_dropped).
 */
#ifndef CONVENE_OPENTOK_VIDEO_CAPTURER_H
#define CONVENE_OPENTOK_VIDEO_CAPTURER_H

#include "config.h"
#include "video_frame.h"

OTC_BEGIN_DECL

typedef struct otc_video_capturer otc_video_capturer;

/** What a capturer produces (get_capture_settings fills it). */
struct otc_video_capturer_settings {
  int format;         /**< an enum otc_video_frame_format */
  int width;          /**< pixels */
  int height;         /**< pixels */
  int fps;            /**< expected frames per second */
  int expected_delay; /**< expected capture delay, ms */
  otc_bool mirror_on_local_render; /**< mirror the local preview (on_render_frame of the publisher) */
};

/** The capturer's callbacks; every one returns OTC_TRUE on success. Called on a library thread. */
struct otc_video_capturer_callbacks {
  otc_bool (*init)(const otc_video_capturer *capturer, void *user_data);
  otc_bool (*destroy)(const otc_video_capturer *capturer, void *user_data);
  otc_bool (*start)(const otc_video_capturer *capturer, void *user_data);
  otc_bool (*stop)(const otc_video_capturer *capturer, void *user_data);
  otc_bool (*get_capture_settings)(const otc_video_capturer *capturer, void *user_data,
                                   struct otc_video_capturer_settings *settings);
  void *user_data;
  void *reserved;
};

/**
 * Hands the library one frame to send (it copies what it needs before returning: the frame
 * stays the caller's). `rotation` is 0, 90, 180 or 270 (degrees clockwise). Any thread.
 * Frames provided faster than the publisher can encode are dropped (counted in the
 * publisher's media stats), never queued without bound. OTC_INVALID_PARAM for NULLs or an
 * unsupported format; OTC_ILLEGAL_STATE before start or after stop.
 */
OTC_DECL(otc_status) otc_video_capturer_provide_frame(const otc_video_capturer *capturer, int rotation,
                                                      const otc_video_frame *frame);

OTC_END_DECL

#endif
