/*
 * otc_video_frame (opentok/video_frame.h): a frame's layout per format, its planes, and
 * conversions through Debian's libyuv. No I/O, no state beyond the frame.
 */
#include "opentok/video_frame.h"

#include <libyuv.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE 16384

struct otc_video_frame {
  enum otc_video_frame_format format;
  int width, height;
  int64_t timestamp;
  int nplanes;
  const uint8_t *plane[3];
  int stride[3];
  int rows[3];
  uint8_t *owned;        /* our allocation, or NULL (a wrapper) */
  const uint8_t *contig; /* the frame's bytes when contiguous */
  size_t contig_size;
  otc_video_frame_memory_release_callback release_cb; /* contiguous wrapper */
  void *release_arg;
  void (*planar_release)(void *user_data); /* planar wrapper */
  void *planar_user_data;
  uint8_t metadata[OTC_VIDEO_FRAME_METADATA_MAX_SIZE];
  size_t metadata_size;
};

/* The default layout of a raw format: plane count, strides, rows. 0 for a format without one. */
static int layout(enum otc_video_frame_format f, int w, int h, int stride[3], int rows[3]) {
  int cw = (w + 1) / 2, ch = (h + 1) / 2;
  switch (f) {
    case OTC_VIDEO_FRAME_FORMAT_YUV420P:
      stride[0] = w, stride[1] = stride[2] = cw;
      rows[0] = h, rows[1] = rows[2] = ch;
      return 3;
    case OTC_VIDEO_FRAME_FORMAT_NV12:
    case OTC_VIDEO_FRAME_FORMAT_NV21:
      stride[0] = w, stride[1] = 2 * cw;
      rows[0] = h, rows[1] = ch;
      return 2;
    case OTC_VIDEO_FRAME_FORMAT_YUY2:
    case OTC_VIDEO_FRAME_FORMAT_UYVY:
      stride[0] = 4 * cw, rows[0] = h;
      return 1;
    case OTC_VIDEO_FRAME_FORMAT_ARGB32:
    case OTC_VIDEO_FRAME_FORMAT_BGRA32:
    case OTC_VIDEO_FRAME_FORMAT_ABGR32:
    case OTC_VIDEO_FRAME_FORMAT_RGBA32:
      stride[0] = 4 * w, rows[0] = h;
      return 1;
    case OTC_VIDEO_FRAME_FORMAT_RGB24:
      stride[0] = 3 * w, rows[0] = h;
      return 1;
    default:
      return 0;
  }
}

/* The narrowest stride a plane may have (its width in bytes). */
static int min_stride(enum otc_video_frame_format f, int w, int i) {
  int s[3], r[3];
  layout(f, w, 1, s, r);
  return s[i];
}

static int side_ok(int w, int h) {
  return w >= 1 && h >= 1 && w <= MAX_SIDE && h <= MAX_SIDE;
}

static size_t layout_size(int n, const int stride[3], const int rows[3]) {
  size_t total = 0;
  for (int i = 0; i < n; i++) total += (size_t)stride[i] * (size_t)rows[i];
  return total;
}

/* A frame with its own contiguous buffer in the default layout (uninitialised pixels). */
static otc_video_frame *alloc_frame(enum otc_video_frame_format f, int w, int h) {
  if (!side_ok(w, h)) return NULL;
  int stride[3] = {0}, rows[3] = {0};
  int n = layout(f, w, h, stride, rows);
  if (n == 0) return NULL;
  otc_video_frame *fr = calloc(1, sizeof *fr);
  size_t size = layout_size(n, stride, rows);
  uint8_t *buf = malloc(size);
  if (!fr || !buf) {
    free(fr);
    free(buf);
    return NULL;
  }
  fr->format = f, fr->width = w, fr->height = h, fr->nplanes = n;
  fr->owned = buf, fr->contig = buf, fr->contig_size = size;
  uint8_t *p = buf;
  for (int i = 0; i < n; i++) {
    fr->plane[i] = p, fr->stride[i] = stride[i], fr->rows[i] = rows[i];
    p += (size_t)stride[i] * (size_t)rows[i];
  }
  return fr;
}

/* Copies planes (any strides at least the plane width) into a new default-layout frame. */
static otc_video_frame *copy_planes(enum otc_video_frame_format f, int w, int h, const uint8_t *const *planes,
                                    const int *strides) {
  otc_video_frame *fr = alloc_frame(f, w, h);
  if (!fr) return NULL;
  for (int i = 0; i < fr->nplanes; i++) {
    if (!planes[i] || strides[i] < min_stride(f, w, i)) {
      otc_video_frame_delete(fr);
      return NULL;
    }
    CopyPlane(planes[i], strides[i], (uint8_t *)fr->plane[i], fr->stride[i], fr->stride[i], fr->rows[i]);
  }
  return fr;
}

/* A frame over the caller's planes (not copied). */
static otc_video_frame *wrap_planes(enum otc_video_frame_format f, int w, int h, const uint8_t *const *planes,
                                    const int *strides) {
  if (!side_ok(w, h)) return NULL;
  int stride[3] = {0}, rows[3] = {0};
  int n = layout(f, w, h, stride, rows);
  if (n == 0) return NULL;
  for (int i = 0; i < n; i++)
    if (!planes[i] || strides[i] < stride[i]) return NULL;
  otc_video_frame *fr = calloc(1, sizeof *fr);
  if (!fr) return NULL;
  fr->format = f, fr->width = w, fr->height = h, fr->nplanes = n;
  for (int i = 0; i < n; i++) fr->plane[i] = planes[i], fr->stride[i] = strides[i], fr->rows[i] = rows[i];
  return fr;
}

void *otc_video_frame_get_native_handle(const otc_video_frame *frame) {
  (void)frame;
  return NULL;
}

otc_video_frame *otc_video_frame_new(enum otc_video_frame_format format, int width, int height,
                                     const uint8_t *buffer) {
  if (!buffer) return NULL;
  otc_video_frame *fr = alloc_frame(format, width, height);
  if (fr) memcpy(fr->owned, buffer, fr->contig_size);
  return fr;
}

otc_status otc_video_frame_delete(otc_video_frame *frame) {
  if (!frame) return OTC_INVALID_PARAM;
  if (frame->release_cb) frame->release_cb(frame->contig, frame->release_arg);
  if (frame->planar_release) frame->planar_release(frame->planar_user_data);
  free(frame->owned);
  free(frame);
  return OTC_SUCCESS;
}

otc_video_frame *otc_video_frame_new_I420(int width, int height, const uint8_t *y_plane, int y_stride,
                                          const uint8_t *u_plane, int u_stride, const uint8_t *v_plane, int v_stride) {
  const uint8_t *planes[3] = {y_plane, u_plane, v_plane};
  int strides[3] = {y_stride, u_stride, v_stride};
  return copy_planes(OTC_VIDEO_FRAME_FORMAT_YUV420P, width, height, planes, strides);
}

otc_video_frame *otc_video_frame_new_MJPEG(int width, int height, const uint8_t *buffer, size_t size) {
  if (!buffer || size == 0) return NULL;
  otc_video_frame *fr = alloc_frame(OTC_VIDEO_FRAME_FORMAT_YUV420P, width, height);
  if (!fr) return NULL;
  if (MJPGToI420(buffer, size, (uint8_t *)fr->plane[0], fr->stride[0], (uint8_t *)fr->plane[1], fr->stride[1],
                 (uint8_t *)fr->plane[2], fr->stride[2], width, height, width, height) != 0) {
    otc_video_frame_delete(fr);
    return NULL;
  }
  return fr;
}

otc_video_frame *otc_video_frame_new_compressed(int width, int height, const uint8_t *buffer, size_t size) {
  if (!buffer || size == 0 || !side_ok(width, height)) return NULL;
  otc_video_frame *fr = calloc(1, sizeof *fr);
  uint8_t *buf = malloc(size);
  if (!fr || !buf) {
    free(fr);
    free(buf);
    return NULL;
  }
  memcpy(buf, buffer, size);
  fr->format = OTC_VIDEO_FRAME_FORMAT_COMPRESSED, fr->width = width, fr->height = height, fr->nplanes = 1;
  fr->owned = buf, fr->contig = buf, fr->contig_size = size;
  fr->plane[0] = buf, fr->stride[0] = 0, fr->rows[0] = 1;
  return fr;
}

otc_video_frame *otc_video_frame_new_from_planes(enum otc_video_frame_format format, int width, int height,
                                                 const uint8_t **planes, int *strides) {
  if (!planes || !strides) return NULL;
  return copy_planes(format, width, height, planes, strides);
}

otc_video_frame *otc_video_frame_new_I420_from_planes_with_format(enum otc_video_frame_format input_format, int width,
                                                                  int height, const uint8_t **planes, int *strides) {
  if (!planes || !strides) return NULL;
  otc_video_frame *in = wrap_planes(input_format, width, height, planes, strides);
  if (!in) return NULL;
  otc_video_frame *out = otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_YUV420P, in);
  otc_video_frame_delete(in);
  return out;
}

otc_video_frame *otc_video_frame_new_contiguous_memory_wrapper(enum otc_video_frame_format format, int width,
                                                               int height, otc_bool is_shallow_copyable,
                                                               const uint8_t *buffer, size_t size,
                                                               otc_video_frame_memory_release_callback callback,
                                                               void *arg) {
  (void)is_shallow_copyable;
  if (!buffer || !side_ok(width, height)) return NULL;
  int stride[3] = {0}, rows[3] = {0};
  int n = layout(format, width, height, stride, rows);
  if (n == 0 || size < layout_size(n, stride, rows)) return NULL;
  const uint8_t *planes[3] = {buffer, NULL, NULL};
  for (int i = 1; i < n; i++) planes[i] = planes[i - 1] + (size_t)stride[i - 1] * (size_t)rows[i - 1];
  otc_video_frame *fr = wrap_planes(format, width, height, planes, stride);
  if (!fr) return NULL;
  fr->contig = buffer, fr->contig_size = size;
  fr->release_cb = callback, fr->release_arg = arg;
  return fr;
}

otc_video_frame *otc_video_frame_new_planar_memory_wrapper(enum otc_video_frame_format format, int width, int height,
                                                           otc_bool is_shallow_copyable,
                                                           struct otc_video_frame_planar_memory_callbacks *callbacks) {
  (void)is_shallow_copyable;
  if (!callbacks || !callbacks->get_plane || !callbacks->get_plane_stride) return NULL;
  static const enum otc_video_frame_plane names[3][3] = {
      {OTC_VIDEO_FRAME_PLANE_PACKED},
      {OTC_VIDEO_FRAME_PLANE_Y, OTC_VIDEO_FRAME_PLANE_UV_INTERLEAVED},
      {OTC_VIDEO_FRAME_PLANE_Y, OTC_VIDEO_FRAME_PLANE_U, OTC_VIDEO_FRAME_PLANE_V},
  };
  int stride[3] = {0}, rows[3] = {0};
  int n = layout(format, 1, 1, stride, rows);
  if (n == 0) return NULL;
  if (format == OTC_VIDEO_FRAME_FORMAT_NV21) n = 2; /* its second plane is asked for as UV too: say VU */
  const uint8_t *planes[3] = {NULL, NULL, NULL};
  int strides[3] = {0, 0, 0};
  for (int i = 0; i < n; i++) {
    enum otc_video_frame_plane p = names[n - 1][i];
    if (format == OTC_VIDEO_FRAME_FORMAT_NV21 && i == 1) p = OTC_VIDEO_FRAME_PLANE_VU_INTERLEAVED;
    planes[i] = callbacks->get_plane(callbacks->user_data, p);
    strides[i] = callbacks->get_plane_stride(callbacks->user_data, p);
  }
  otc_video_frame *fr = wrap_planes(format, width, height, planes, strides);
  if (!fr) return NULL;
  fr->planar_release = callbacks->release, fr->planar_user_data = callbacks->user_data;
  return fr;
}

otc_video_frame *otc_video_frame_new_I420_wrapper(int width, int height, const uint8_t *y_plane, int y_stride,
                                                  const uint8_t *u_plane, int u_stride, const uint8_t *v_plane,
                                                  int v_stride) {
  const uint8_t *planes[3] = {y_plane, u_plane, v_plane};
  int strides[3] = {y_stride, u_stride, v_stride};
  return wrap_planes(OTC_VIDEO_FRAME_FORMAT_YUV420P, width, height, planes, strides);
}

otc_video_frame *otc_video_frame_new_NV21_wrapper(int width, int height, const uint8_t *y_plane, int y_stride,
                                                  const uint8_t *uv_plane, int uv_stride) {
  const uint8_t *planes[3] = {y_plane, uv_plane, NULL};
  int strides[3] = {y_stride, uv_stride, 0};
  return wrap_planes(OTC_VIDEO_FRAME_FORMAT_NV21, width, height, planes, strides);
}

otc_video_frame *otc_video_frame_new_NV12_wrapper(int width, int height, const uint8_t *y_plane, int y_stride,
                                                  const uint8_t *uv_plane, int uv_stride) {
  const uint8_t *planes[3] = {y_plane, uv_plane, NULL};
  int strides[3] = {y_stride, uv_stride, 0};
  return wrap_planes(OTC_VIDEO_FRAME_FORMAT_NV12, width, height, planes, strides);
}

const uint8_t *otc_video_frame_get_buffer(const otc_video_frame *frame) {
  return frame ? frame->contig : NULL;
}

size_t otc_video_frame_get_buffer_size(const otc_video_frame *frame) {
  return frame && frame->contig ? frame->contig_size : 0;
}

int64_t otc_video_frame_get_timestamp(const otc_video_frame *frame) {
  return frame ? frame->timestamp : 0;
}

void otc_video_frame_set_timestamp(otc_video_frame *frame, int64_t timestamp) {
  if (frame) frame->timestamp = timestamp;
}

int otc_video_frame_get_width(const otc_video_frame *frame) {
  return frame ? frame->width : 0;
}

int otc_video_frame_get_height(const otc_video_frame *frame) {
  return frame ? frame->height : 0;
}

size_t otc_video_frame_get_number_of_planes(const otc_video_frame *frame) {
  return frame ? (size_t)frame->nplanes : 0;
}

enum otc_video_frame_format otc_video_frame_get_format(const otc_video_frame *frame) {
  return frame ? frame->format : OTC_VIDEO_FRAME_FORMAT_UNKNOWN;
}

void otc_video_frame_set_format(otc_video_frame *frame, enum otc_video_frame_format format) {
  if (!frame || frame->format == OTC_VIDEO_FRAME_FORMAT_COMPRESSED) return;
  int s1[3] = {0}, r1[3] = {0}, s2[3] = {0}, r2[3] = {0};
  int n1 = layout(frame->format, frame->width, frame->height, s1, r1);
  int n2 = layout(format, frame->width, frame->height, s2, r2);
  if (n2 == 0 || n1 != n2) return;
  for (int i = 0; i < n1; i++)
    if (s1[i] != s2[i] || r1[i] != r2[i]) return;
  frame->format = format;
}

/* Which of the frame's planes a plane name means, or -1. */
static int plane_index(const otc_video_frame *frame, enum otc_video_frame_plane plane) {
  if (!frame) return -1;
  switch (frame->nplanes) {
    case 3:
      return plane <= OTC_VIDEO_FRAME_PLANE_V ? (int)plane : -1;
    case 2:
      if (plane == OTC_VIDEO_FRAME_PLANE_Y) return 0;
      if (plane == OTC_VIDEO_FRAME_PLANE_U || plane == OTC_VIDEO_FRAME_PLANE_UV_INTERLEAVED ||
          plane == OTC_VIDEO_FRAME_PLANE_VU_INTERLEAVED)
        return 1;
      return -1;
    case 1:
      return plane == OTC_VIDEO_FRAME_PLANE_PACKED || plane == OTC_VIDEO_FRAME_PLANE_Y ? 0 : -1;
    default:
      return -1;
  }
}

const uint8_t *otc_video_frame_get_plane_binary_data(const otc_video_frame *frame, enum otc_video_frame_plane plane) {
  int i = plane_index(frame, plane);
  return i < 0 ? NULL : frame->plane[i];
}

size_t otc_video_frame_get_plane_size(const otc_video_frame *frame, enum otc_video_frame_plane plane) {
  int i = plane_index(frame, plane);
  if (i < 0) return 0;
  if (frame->format == OTC_VIDEO_FRAME_FORMAT_COMPRESSED) return frame->contig_size;
  return (size_t)frame->stride[i] * (size_t)frame->rows[i];
}

int otc_video_frame_get_plane_stride(const otc_video_frame *frame, enum otc_video_frame_plane plane) {
  int i = plane_index(frame, plane);
  return i < 0 ? 0 : frame->stride[i];
}

int otc_video_frame_get_plane_width(const otc_video_frame *frame, enum otc_video_frame_plane plane) {
  int i = plane_index(frame, plane);
  if (i < 0) return 0;
  return frame->nplanes > 1 && i > 0 ? (frame->width + 1) / 2 : frame->width;
}

int otc_video_frame_get_plane_height(const otc_video_frame *frame, enum otc_video_frame_plane plane) {
  int i = plane_index(frame, plane);
  if (i < 0) return 0;
  return frame->format == OTC_VIDEO_FRAME_FORMAT_COMPRESSED ? frame->height : frame->rows[i];
}

static void copy_extras(otc_video_frame *to, const otc_video_frame *from) {
  to->timestamp = from->timestamp;
  memcpy(to->metadata, from->metadata, from->metadata_size);
  to->metadata_size = from->metadata_size;
}

otc_video_frame *otc_video_frame_copy(const otc_video_frame *frame) {
  if (!frame) return NULL;
  otc_video_frame *out;
  if (frame->format == OTC_VIDEO_FRAME_FORMAT_COMPRESSED)
    out = otc_video_frame_new_compressed(frame->width, frame->height, frame->contig, frame->contig_size);
  else
    out = copy_planes(frame->format, frame->width, frame->height, frame->plane, frame->stride);
  if (out) copy_extras(out, frame);
  return out;
}

otc_video_frame *otc_video_frame_mutable_copy(const otc_video_frame *frame) {
  return otc_video_frame_copy(frame);
}

/* Any raw format into I420 planes. 0 on success. */
static int to_i420(const otc_video_frame *f, uint8_t *y, int ys, uint8_t *u, int us, uint8_t *v, int vs) {
  const uint8_t *const *p = f->plane;
  const int *s = f->stride;
  int w = f->width, h = f->height;
  switch (f->format) {
    case OTC_VIDEO_FRAME_FORMAT_YUV420P: return I420Copy(p[0], s[0], p[1], s[1], p[2], s[2], y, ys, u, us, v, vs, w, h);
    case OTC_VIDEO_FRAME_FORMAT_NV12: return NV12ToI420(p[0], s[0], p[1], s[1], y, ys, u, us, v, vs, w, h);
    case OTC_VIDEO_FRAME_FORMAT_NV21: return NV21ToI420(p[0], s[0], p[1], s[1], y, ys, u, us, v, vs, w, h);
    case OTC_VIDEO_FRAME_FORMAT_YUY2: return YUY2ToI420(p[0], s[0], y, ys, u, us, v, vs, w, h);
    case OTC_VIDEO_FRAME_FORMAT_UYVY: return UYVYToI420(p[0], s[0], y, ys, u, us, v, vs, w, h);
    case OTC_VIDEO_FRAME_FORMAT_ARGB32: return ARGBToI420(p[0], s[0], y, ys, u, us, v, vs, w, h);
    case OTC_VIDEO_FRAME_FORMAT_BGRA32: return BGRAToI420(p[0], s[0], y, ys, u, us, v, vs, w, h);
    case OTC_VIDEO_FRAME_FORMAT_ABGR32: return ABGRToI420(p[0], s[0], y, ys, u, us, v, vs, w, h);
    case OTC_VIDEO_FRAME_FORMAT_RGBA32: return RGBAToI420(p[0], s[0], y, ys, u, us, v, vs, w, h);
    case OTC_VIDEO_FRAME_FORMAT_RGB24: return RGB24ToI420(p[0], s[0], y, ys, u, us, v, vs, w, h);
    default: return -1;
  }
}

/* I420 planes into `format` at dst planes / strides. 0 on success. */
static int from_i420(const uint8_t *y, int ys, const uint8_t *u, int us, const uint8_t *v, int vs, int w, int h,
                     enum otc_video_frame_format format, uint8_t *const *d, const int *ds) {
  switch (format) {
    case OTC_VIDEO_FRAME_FORMAT_YUV420P: return I420Copy(y, ys, u, us, v, vs, d[0], ds[0], d[1], ds[1], d[2], ds[2], w, h);
    case OTC_VIDEO_FRAME_FORMAT_NV12: return I420ToNV12(y, ys, u, us, v, vs, d[0], ds[0], d[1], ds[1], w, h);
    case OTC_VIDEO_FRAME_FORMAT_NV21: return I420ToNV21(y, ys, u, us, v, vs, d[0], ds[0], d[1], ds[1], w, h);
    case OTC_VIDEO_FRAME_FORMAT_ARGB32: return I420ToARGB(y, ys, u, us, v, vs, d[0], ds[0], w, h);
    case OTC_VIDEO_FRAME_FORMAT_BGRA32: return I420ToBGRA(y, ys, u, us, v, vs, d[0], ds[0], w, h);
    case OTC_VIDEO_FRAME_FORMAT_ABGR32: return I420ToABGR(y, ys, u, us, v, vs, d[0], ds[0], w, h);
    case OTC_VIDEO_FRAME_FORMAT_RGBA32: return I420ToRGBA(y, ys, u, us, v, vs, d[0], ds[0], w, h);
    case OTC_VIDEO_FRAME_FORMAT_RGB24: return I420ToRGB24(y, ys, u, us, v, vs, d[0], ds[0], w, h);
    default: return -1;
  }
}

static int is_output(enum otc_video_frame_format f) {
  switch (f) {
    case OTC_VIDEO_FRAME_FORMAT_YUV420P:
    case OTC_VIDEO_FRAME_FORMAT_NV12:
    case OTC_VIDEO_FRAME_FORMAT_NV21:
    case OTC_VIDEO_FRAME_FORMAT_ARGB32:
    case OTC_VIDEO_FRAME_FORMAT_BGRA32:
    case OTC_VIDEO_FRAME_FORMAT_ABGR32:
    case OTC_VIDEO_FRAME_FORMAT_RGBA32:
    case OTC_VIDEO_FRAME_FORMAT_RGB24:
      return 1;
    default:
      return 0;
  }
}

/* `frame` converted into dst planes laid out for `format`. 0 on success. */
static int convert_into(enum otc_video_frame_format format, const otc_video_frame *frame, uint8_t *const *d,
                        const int *ds) {
  if (frame->format == format) {
    for (int i = 0; i < frame->nplanes; i++)
      CopyPlane(frame->plane[i], frame->stride[i], d[i], ds[i], min_stride(format, frame->width, i), frame->rows[i]);
    return 0;
  }
  if (frame->format == OTC_VIDEO_FRAME_FORMAT_YUV420P) {
    const uint8_t *const *p = frame->plane;
    const int *s = frame->stride;
    return from_i420(p[0], s[0], p[1], s[1], p[2], s[2], frame->width, frame->height, format, d, ds);
  }
  if (format == OTC_VIDEO_FRAME_FORMAT_YUV420P) return to_i420(frame, d[0], ds[0], d[1], ds[1], d[2], ds[2]);
  otc_video_frame *tmp = alloc_frame(OTC_VIDEO_FRAME_FORMAT_YUV420P, frame->width, frame->height);
  if (!tmp) return -1;
  uint8_t *t[3] = {(uint8_t *)tmp->plane[0], (uint8_t *)tmp->plane[1], (uint8_t *)tmp->plane[2]};
  int rc = to_i420(frame, t[0], tmp->stride[0], t[1], tmp->stride[1], t[2], tmp->stride[2]);
  if (rc == 0)
    rc = from_i420(t[0], tmp->stride[0], t[1], tmp->stride[1], t[2], tmp->stride[2], frame->width, frame->height,
                   format, d, ds);
  otc_video_frame_delete(tmp);
  return rc;
}

otc_video_frame *otc_video_frame_convert(enum otc_video_frame_format format, const otc_video_frame *frame) {
  if (!frame || !is_output(format) || layout(frame->format, 1, 1, (int[3]){0}, (int[3]){0}) == 0) return NULL;
  otc_video_frame *out = alloc_frame(format, frame->width, frame->height);
  if (!out) return NULL;
  uint8_t *d[3] = {(uint8_t *)out->plane[0], (uint8_t *)out->plane[1], (uint8_t *)out->plane[2]};
  if (convert_into(format, frame, d, out->stride) != 0) {
    otc_video_frame_delete(out);
    return NULL;
  }
  copy_extras(out, frame);
  return out;
}

otc_status otc_video_frame_convert_inplace(enum otc_video_frame_format format, uint8_t **planes, const int *strides,
                                           const otc_video_frame *input_frame) {
  if (!planes || !strides || !input_frame || !is_output(format)) return OTC_INVALID_PARAM;
  int s[3] = {0}, r[3] = {0};
  if (layout(input_frame->format, 1, 1, s, r) == 0) return OTC_INVALID_PARAM;
  int n = layout(format, input_frame->width, input_frame->height, s, r);
  for (int i = 0; i < n; i++)
    if (!planes[i] || strides[i] < s[i]) return OTC_INVALID_PARAM;
  return convert_into(format, input_frame, planes, strides) == 0 ? OTC_SUCCESS : OTC_INVALID_PARAM;
}

otc_bool otc_video_frame_is_packed(const otc_video_frame *frame) {
  return frame && frame->nplanes == 1 && frame->format != OTC_VIDEO_FRAME_FORMAT_COMPRESSED ? OTC_TRUE : OTC_FALSE;
}

otc_bool otc_video_frame_is_contiguous(const otc_video_frame *frame) {
  return frame && frame->contig ? OTC_TRUE : OTC_FALSE;
}

otc_status otc_video_frame_set_metadata(otc_video_frame *frame, const uint8_t *data, size_t size) {
  if (!frame || (size > 0 && !data) || size > OTC_VIDEO_FRAME_METADATA_MAX_SIZE) return OTC_INVALID_PARAM;
  if (size > 0) memcpy(frame->metadata, data, size);
  frame->metadata_size = size;
  return OTC_SUCCESS;
}

const uint8_t *otc_video_frame_get_metadata(const otc_video_frame *frame, size_t *size) {
  if (size) *size = frame ? frame->metadata_size : 0;
  return frame && frame->metadata_size > 0 ? frame->metadata : NULL;
}
