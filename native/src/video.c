/*
 * Video (api layer): capturers (video_capturer.h), per-stream video sources and subscribers'
 * video format (convene.h). The media engine (media/engine.h) encodes and decodes on its
 * media thread.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

otc_status otc_video_capturer_provide_frame(const otc_video_capturer *capturer, int rotation,
                                            const otc_video_frame *frame) {
  if (!capturer || !frame) return OTC_INVALID_PARAM;
  (void)rotation;
  return OTC_ILLEGAL_STATE;
}

otc_status convene_publisher_set_video_source(otc_publisher *p, int width, int height, int fps) {
  if (!p || width < 2 || height < 2 || width > 4096 || height > 4096 || fps < 1 || fps > 60) return OTC_INVALID_PARAM;
  return OTC_ILLEGAL_STATE;
}

otc_status convene_publisher_write_video(otc_publisher *p, const otc_video_frame *frame) {
  if (!p || !frame) return OTC_INVALID_PARAM;
  return OTC_ILLEGAL_STATE;
}

otc_status convene_subscriber_set_video_format(otc_subscriber *sub, enum otc_video_frame_format format) {
  if (!sub) return OTC_INVALID_PARAM;
  switch (format) {
    case OTC_VIDEO_FRAME_FORMAT_YUV420P:
    case OTC_VIDEO_FRAME_FORMAT_NV12:
    case OTC_VIDEO_FRAME_FORMAT_ARGB32:
    case OTC_VIDEO_FRAME_FORMAT_BGRA32:
    case OTC_VIDEO_FRAME_FORMAT_ABGR32:
    case OTC_VIDEO_FRAME_FORMAT_RGBA32:
    case OTC_VIDEO_FRAME_FORMAT_RGB24:
      return OTC_SUCCESS;
    default:
      return OTC_INVALID_PARAM;
  }
}
