/*
 * otc_video_frame (native/src/media/video_frame.c): layouts, planes and strides per format,
 * copies and wrappers (release callbacks), metadata, and conversions through libyuv checked
 * against colours: a frame of known RGB survives RGB -> I420 -> each format -> I420 within the
 * rounding of BT.601.
 */
#include "check.h"
#include "opentok/video_frame.h"

#include <stdlib.h>

#define W 64
#define H 36

/* ARGB32 (libyuv order: B G R A in memory) of a 4-colour pattern: quadrants red, green, blue, grey */
static void pattern_argb(uint8_t *p, int w, int h) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *px = p + ((size_t)y * (size_t)w + (size_t)x) * 4;
      int q = (y >= h / 2) * 2 + (x >= w / 2);
      static const uint8_t bgr[4][3] = {{30, 30, 220}, {40, 200, 40}, {210, 40, 40}, {128, 128, 128}};
      px[0] = bgr[q][0], px[1] = bgr[q][1], px[2] = bgr[q][2], px[3] = 255;
    }
}

static int near(int a, int b, int tol) { return abs(a - b) <= tol; }

static void check_layouts(void) {
  static uint8_t buf[W * H * 4];
  otc_video_frame *f = otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_YUV420P, W, H, buf);
  CHECK_NOT_NULL(f);
  CHECK_EQ(3, otc_video_frame_get_number_of_planes(f));
  CHECK_EQ(W, otc_video_frame_get_plane_stride(f, OTC_VIDEO_FRAME_PLANE_Y));
  CHECK_EQ(W / 2, otc_video_frame_get_plane_stride(f, OTC_VIDEO_FRAME_PLANE_U));
  CHECK_EQ(H / 2, otc_video_frame_get_plane_height(f, OTC_VIDEO_FRAME_PLANE_V));
  CHECK_EQ(W * H * 3 / 2, otc_video_frame_get_buffer_size(f));
  CHECK(otc_video_frame_is_contiguous(f));
  CHECK(!otc_video_frame_is_packed(f));
  CHECK_NULL(otc_video_frame_get_plane_binary_data(f, OTC_VIDEO_FRAME_PLANE_PACKED));
  CHECK_EQ(OTC_SUCCESS, otc_video_frame_delete(f));

  /* odd sizes round the chroma up */
  f = otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_NV12, 5, 3, buf);
  CHECK_EQ(2, otc_video_frame_get_number_of_planes(f));
  CHECK_EQ(6, otc_video_frame_get_plane_stride(f, OTC_VIDEO_FRAME_PLANE_UV_INTERLEAVED));
  CHECK_EQ(2, otc_video_frame_get_plane_height(f, OTC_VIDEO_FRAME_PLANE_U));
  CHECK_EQ(5 * 3 + 6 * 2, otc_video_frame_get_buffer_size(f));
  otc_video_frame_delete(f);

  f = otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_RGB24, 5, 3, buf);
  CHECK(otc_video_frame_is_packed(f));
  CHECK_EQ(15, otc_video_frame_get_plane_stride(f, OTC_VIDEO_FRAME_PLANE_PACKED));
  CHECK_EQ(45, otc_video_frame_get_plane_size(f, OTC_VIDEO_FRAME_PLANE_PACKED));
  /* relabel only between formats of the same layout */
  otc_video_frame_set_format(f, OTC_VIDEO_FRAME_FORMAT_ARGB32);
  CHECK_EQ(OTC_VIDEO_FRAME_FORMAT_RGB24, otc_video_frame_get_format(f));
  otc_video_frame_delete(f);
  f = otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_ARGB32, 5, 3, buf);
  otc_video_frame_set_format(f, OTC_VIDEO_FRAME_FORMAT_BGRA32);
  CHECK_EQ(OTC_VIDEO_FRAME_FORMAT_BGRA32, otc_video_frame_get_format(f));
  otc_video_frame_delete(f);

  /* bad input: NULL, not a raw format, sizes out of range */
  CHECK_NULL(otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_YUV420P, W, H, NULL));
  CHECK_NULL(otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_MJPEG, W, H, buf));
  CHECK_NULL(otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_UNKNOWN, W, H, buf));
  CHECK_NULL(otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_YUV420P, 0, H, buf));
  CHECK_NULL(otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_YUV420P, 20000, 2, buf));
  CHECK_NULL(otc_video_frame_new_I420(W, H, buf, W - 1, buf, W / 2, buf, W / 2)); /* stride under the width */
  CHECK_EQ(OTC_INVALID_PARAM, otc_video_frame_delete(NULL));
  CHECK_EQ(0, otc_video_frame_get_width(NULL));
  CHECK_NULL(otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_ARGB32, NULL));
}

static void check_colours_through_formats(void) {
  static uint8_t argb[W * H * 4];
  pattern_argb(argb, W, H);
  otc_video_frame *src = otc_video_frame_new(OTC_VIDEO_FRAME_FORMAT_ARGB32, W, H, argb);
  CHECK_NOT_NULL(src);
  otc_video_frame_set_timestamp(src, 123456);
  const uint8_t meta[3] = {1, 2, 3};
  CHECK_EQ(OTC_SUCCESS, otc_video_frame_set_metadata(src, meta, 3));
  otc_video_frame *i420 = otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_YUV420P, src);
  CHECK_NOT_NULL(i420);
  CHECK_EQ(123456, otc_video_frame_get_timestamp(i420));
  size_t msize = 0;
  const uint8_t *m = otc_video_frame_get_metadata(i420, &msize);
  CHECK_EQ(3, msize);
  CHECK_EQ(3, m[2]);
  static const enum otc_video_frame_format fmts[] = {
      OTC_VIDEO_FRAME_FORMAT_NV12,   OTC_VIDEO_FRAME_FORMAT_NV21,   OTC_VIDEO_FRAME_FORMAT_ARGB32,
      OTC_VIDEO_FRAME_FORMAT_BGRA32, OTC_VIDEO_FRAME_FORMAT_ABGR32, OTC_VIDEO_FRAME_FORMAT_RGBA32,
      OTC_VIDEO_FRAME_FORMAT_RGB24,  OTC_VIDEO_FRAME_FORMAT_YUV420P};
  for (size_t k = 0; k < sizeof fmts / sizeof fmts[0]; k++) {
    otc_video_frame *x = otc_video_frame_convert(fmts[k], i420);
    CHECK_NOT_NULL(x);
    CHECK_EQ(fmts[k], otc_video_frame_get_format(x));
    /* and back to ARGB32 (through I420 when needed): each quadrant's colour, within rounding */
    otc_video_frame *back = otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_ARGB32, x);
    CHECK_NOT_NULL(back);
    const uint8_t *p = otc_video_frame_get_plane_binary_data(back, OTC_VIDEO_FRAME_PLANE_PACKED);
    int stride = otc_video_frame_get_plane_stride(back, OTC_VIDEO_FRAME_PLANE_PACKED);
    const int probes[4][2] = {{W / 4, H / 4}, {3 * W / 4, H / 4}, {W / 4, 3 * H / 4}, {3 * W / 4, 3 * H / 4}};
    for (int q = 0; q < 4; q++) {
      const uint8_t *a = argb + ((size_t)probes[q][1] * W + (size_t)probes[q][0]) * 4;
      const uint8_t *b = p + (size_t)probes[q][1] * (size_t)stride + (size_t)probes[q][0] * 4;
      for (int c = 0; c < 3; c++)
        if (!near(a[c], b[c], 12))
          CHECK_FAIL_("format %d quadrant %d channel %d: %d vs %d", (int)fmts[k], q, c, a[c], b[c]);
    }
    otc_video_frame_delete(back);
    otc_video_frame_delete(x);
  }
  /* the byte order of the 32-bit formats: ABGR32 is R G B A in memory */
  otc_video_frame *abgr = otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_ABGR32, src);
  const uint8_t *px = otc_video_frame_get_plane_binary_data(abgr, OTC_VIDEO_FRAME_PLANE_PACKED);
  CHECK(px[0] > 180 && px[2] < 70); /* top-left is red: R first */
  otc_video_frame_delete(abgr);
  /* a copy is deep and keeps everything */
  otc_video_frame *c = otc_video_frame_copy(i420);
  CHECK(otc_video_frame_get_buffer(c) != otc_video_frame_get_buffer(i420));
  CHECK_EQ(0, memcmp(otc_video_frame_get_buffer(c), otc_video_frame_get_buffer(i420), W * H * 3 / 2));
  CHECK_EQ(123456, otc_video_frame_get_timestamp(c));
  otc_video_frame_delete(c);
  /* into the caller's planes */
  static uint8_t rgb[W * H * 3];
  uint8_t *planes[1] = {rgb};
  int strides[1] = {W * 3};
  CHECK_EQ(OTC_SUCCESS, otc_video_frame_convert_inplace(OTC_VIDEO_FRAME_FORMAT_RGB24, planes, strides, i420));
  CHECK(rgb[2] > 180); /* RGB24 is B G R: red in the third byte */
  int small[1] = {W};
  CHECK_EQ(OTC_INVALID_PARAM, otc_video_frame_convert_inplace(OTC_VIDEO_FRAME_FORMAT_RGB24, planes, small, i420));
  CHECK_EQ(OTC_INVALID_PARAM, otc_video_frame_convert_inplace(OTC_VIDEO_FRAME_FORMAT_YUY2, planes, strides, i420));
  /* metadata bound */
  static const uint8_t big[OTC_VIDEO_FRAME_METADATA_MAX_SIZE + 1];
  CHECK_EQ(OTC_INVALID_PARAM, otc_video_frame_set_metadata(src, big, sizeof big));
  otc_video_frame_delete(i420);
  otc_video_frame_delete(src);
}

static int released;
static void on_release(const uint8_t *buffer, void *arg) {
  (void)buffer;
  released += *(int *)arg;
}
static uint8_t planar_y[W * H], planar_uv[W * H / 2];
static const uint8_t *get_plane(void *ud, enum otc_video_frame_plane p) {
  (void)ud;
  return p == OTC_VIDEO_FRAME_PLANE_Y ? planar_y : planar_uv;
}
static int get_stride(void *ud, enum otc_video_frame_plane p) {
  (void)ud;
  (void)p;
  return W;
}
static void planar_release(void *ud) { released += *(int *)ud; }

static void check_wrappers(void) {
  static uint8_t buf[W * H * 3 / 2];
  memset(buf, 77, sizeof buf);
  int one = 1, ten = 10;
  otc_video_frame *f = otc_video_frame_new_contiguous_memory_wrapper(OTC_VIDEO_FRAME_FORMAT_YUV420P, W, H, OTC_TRUE,
                                                                     buf, sizeof buf, on_release, &one);
  CHECK_NOT_NULL(f);
  CHECK(otc_video_frame_get_buffer(f) == buf); /* not copied */
  CHECK(otc_video_frame_get_plane_binary_data(f, OTC_VIDEO_FRAME_PLANE_U) == buf + W * H);
  otc_video_frame *c = otc_video_frame_copy(f);
  otc_video_frame_delete(f);
  CHECK_EQ(1, released);
  CHECK_EQ(77, otc_video_frame_get_buffer(c)[W * H + 5]); /* the copy outlives the wrapper */
  otc_video_frame_delete(c);
  CHECK_EQ(1, released);
  /* too small a buffer for the format */
  CHECK_NULL(otc_video_frame_new_contiguous_memory_wrapper(OTC_VIDEO_FRAME_FORMAT_YUV420P, W, H, OTC_TRUE, buf,
                                                           sizeof buf - 1, on_release, &one));
  struct otc_video_frame_planar_memory_callbacks cbs = {get_plane, get_stride, planar_release, &ten, NULL};
  f = otc_video_frame_new_planar_memory_wrapper(OTC_VIDEO_FRAME_FORMAT_NV12, W, H, OTC_FALSE, &cbs);
  CHECK_NOT_NULL(f);
  CHECK(!otc_video_frame_is_contiguous(f));
  CHECK(otc_video_frame_get_plane_binary_data(f, OTC_VIDEO_FRAME_PLANE_UV_INTERLEAVED) == planar_uv);
  otc_video_frame *conv = otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_YUV420P, f);
  CHECK_NOT_NULL(conv);
  otc_video_frame_delete(conv);
  otc_video_frame_delete(f);
  CHECK_EQ(11, released);
  f = otc_video_frame_new_NV12_wrapper(W, H, planar_y, W, planar_uv, W);
  CHECK(otc_video_frame_get_plane_binary_data(f, OTC_VIDEO_FRAME_PLANE_Y) == planar_y);
  otc_video_frame_delete(f);
  f = otc_video_frame_new_I420_wrapper(W, H, buf, W, buf + W * H, W / 2, buf + W * H * 5 / 4, W / 2);
  otc_video_frame *i2 = otc_video_frame_new_I420_from_planes_with_format(
      OTC_VIDEO_FRAME_FORMAT_NV21, W, H, (const uint8_t *[]){planar_y, planar_uv}, (int[]){W, W});
  CHECK_NOT_NULL(i2);
  CHECK_EQ(OTC_VIDEO_FRAME_FORMAT_YUV420P, otc_video_frame_get_format(i2));
  otc_video_frame_delete(i2);
  otc_video_frame_delete(f);
  /* a compressed frame keeps its bytes, converts to nothing */
  const uint8_t enc[5] = {9, 8, 7, 6, 5};
  f = otc_video_frame_new_compressed(W, H, enc, sizeof enc);
  CHECK_EQ(5, otc_video_frame_get_buffer_size(f));
  CHECK_EQ(5, otc_video_frame_get_plane_size(f, OTC_VIDEO_FRAME_PLANE_PACKED));
  CHECK_NULL(otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_ARGB32, f));
  c = otc_video_frame_copy(f);
  CHECK_EQ(6, otc_video_frame_get_buffer(c)[3]);
  otc_video_frame_delete(c);
  otc_video_frame_delete(f);
  /* MJPEG: garbage does not decode (and does not crash) */
  CHECK_NULL(otc_video_frame_new_MJPEG(W, H, enc, sizeof enc));
}

int main(void) {
  check_layouts();
  check_colours_through_formats();
  check_wrappers();
  printf("test_video_frame: ok\n");
  return 0;
}
