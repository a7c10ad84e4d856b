/*
 * libFuzzer target: the video building blocks (native/src/media) fed arbitrary bytes.
 *
 * Mode 0 (first byte even): the rest is a run of records [u16 big-endian length][bytes], each
 * one binary WebSocket frame as a subscriber receives them. Each goes through
 * cv_media_frame_decode; video frames go to one video assembler (1 MiB bound) and every frame
 * it completes to one VP8 decoder. Nothing may read out of bounds, leak or crash; every frame
 * given out lies within the bound.
 *
 * Mode 1 (first byte odd): the rest is [format][width][height] and pixel bytes: an
 * otc_video_frame of that format (when the bytes suffice) converted to every output format.
 *
 * Build: cmake -DCONVENE_FUZZ=ON with clang; run: fuzz_video native/fuzz/corpus-video
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/media_frame.h"
#include "media/video_packets.h"
#include "media/vp8_codec.h"
#include "opentok/video_frame.h"

#define MAX_FRAME (1u << 20)

static void packets(const uint8_t *data, size_t size) {
  cv_video_assembler *a;
  cv_vp8_decoder *d;
  if (cv_video_assembler_new(MAX_FRAME, &a) != 0) return;
  if (cv_vp8_decoder_new(1, &d) != CV_VP8_OK) {
    cv_video_assembler_free(a);
    return;
  }
  size_t at = 0;
  while (at + 2 <= size) {
    size_t len = ((size_t)data[at] << 8) | data[at + 1];
    at += 2;
    if (len > size - at) len = size - at;
    struct cv_media_frame f;
    if (cv_media_frame_decode(data + at, len, &f) == CV_MEDIA_OK && f.header.kind == CV_MEDIA_KIND_VIDEO) {
      const uint8_t *frame;
      size_t frame_len;
      uint32_t ts;
      int key;
      int rc = cv_video_assembler_push(a, &f.header, f.payload, f.payload_len, &frame, &frame_len, &ts, &key);
      if (rc == CV_VIDEO_FRAME) {
        if (frame_len > MAX_FRAME) abort();
        struct cv_vp8_picture pic;
        if (frame_len > 0 && cv_vp8_decoder_decode(d, frame, frame_len, &pic) == CV_VP8_OK) {
          if (pic.width < 1 || pic.height < 1 || pic.width > CV_VP8_MAX_SIDE || pic.height > CV_VP8_MAX_SIDE) abort();
          volatile uint8_t touch = pic.plane[0][(size_t)(pic.height - 1) * (size_t)pic.stride[0] + (size_t)pic.width - 1];
          (void)touch;
        }
      }
    }
    at += len;
  }
  cv_vp8_decoder_free(d);
  cv_video_assembler_free(a);
}

static void frames(const uint8_t *data, size_t size) {
  if (size < 3) return;
  enum otc_video_frame_format fmt = (enum otc_video_frame_format)(data[0] % 13);
  int w = 1 + data[1] % 64, h = 1 + data[2] % 64;
  data += 3, size -= 3;
  if (size < (size_t)w * (size_t)h * 4) return; /* enough for every raw format */
  otc_video_frame *f = otc_video_frame_new(fmt, w, h, data);
  if (!f) return;
  static const enum otc_video_frame_format outs[] = {
      OTC_VIDEO_FRAME_FORMAT_YUV420P, OTC_VIDEO_FRAME_FORMAT_NV12,   OTC_VIDEO_FRAME_FORMAT_NV21,
      OTC_VIDEO_FRAME_FORMAT_ARGB32,  OTC_VIDEO_FRAME_FORMAT_BGRA32, OTC_VIDEO_FRAME_FORMAT_ABGR32,
      OTC_VIDEO_FRAME_FORMAT_RGBA32,  OTC_VIDEO_FRAME_FORMAT_RGB24,  OTC_VIDEO_FRAME_FORMAT_YUY2};
  for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
    otc_video_frame *o = otc_video_frame_convert(outs[i], f);
    if (o) otc_video_frame_delete(o);
  }
  otc_video_frame *c = otc_video_frame_copy(f);
  if (c) otc_video_frame_delete(c);
  otc_video_frame_delete(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] & 1)
    frames(data + 1, size - 1);
  else
    packets(data + 1, size - 1);
  return 0;
}
