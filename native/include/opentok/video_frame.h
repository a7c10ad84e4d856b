/*
 * Video frames, in the Vonage SDK's shape (video_frame.h): a frame of one format, its planes
 * and strides, a timestamp, metadata, and conversions between formats.
 *
 * Ownership: every otc_video_frame_new*, _copy, _mutable_copy and _convert returns a frame the
 * caller owns and frees with otc_video_frame_delete. A frame handed to a callback (a
 * subscriber's or publisher's on_render_frame) belongs to the library and is valid only during
 * the call: copy or convert it to keep it. The _wrapper constructors do not copy: the frame
 * points into the caller's memory, which must outlive it (the contiguous and planar memory
 * wrappers call the caller's release callback from otc_video_frame_delete).
 *
 * Threads: a frame is a plain value; any thread may use it, one thread at a time.
 *
 * Pixel formats follow libyuv's FOURCC names (which WebRTC's, and so Vonage's, follow): the
 * 32-bit formats name the channels of a little-endian 32-bit word, so ARGB32 is stored in
 * memory as the bytes B, G, R, A; BGRA32 as A, R, G, B; ABGR32 as R, G, B, A; RGBA32 as
 * A, B, G, R; RGB24 as B, G, R. YUV420P is I420 (BT.601, limited range). Conversions use
 * Debian's libyuv.
 */
#ifndef CONVENE_OPENTOK_VIDEO_FRAME_H
#define CONVENE_OPENTOK_VIDEO_FRAME_H

#include "base.h"
#include "config.h"

OTC_BEGIN_DECL

/** The most metadata bytes a frame carries (otc_video_frame_set_metadata). */
#define OTC_VIDEO_FRAME_METADATA_MAX_SIZE 32

typedef struct otc_video_frame otc_video_frame;

enum otc_video_frame_format {
  OTC_VIDEO_FRAME_FORMAT_UNKNOWN = 0,
  OTC_VIDEO_FRAME_FORMAT_YUV420P = 1, /**< I420: Y, then U and V at half width and height */
  OTC_VIDEO_FRAME_FORMAT_NV12 = 2,    /**< Y, then interleaved U V at half width and height */
  OTC_VIDEO_FRAME_FORMAT_NV21 = 3,    /**< Y, then interleaved V U */
  OTC_VIDEO_FRAME_FORMAT_YUY2 = 4,    /**< packed Y0 U Y1 V */
  OTC_VIDEO_FRAME_FORMAT_UYVY = 5,    /**< packed U Y0 V Y1 */
  OTC_VIDEO_FRAME_FORMAT_ARGB32 = 6,  /**< 4 bytes per pixel: B G R A in memory */
  OTC_VIDEO_FRAME_FORMAT_BGRA32 = 7,  /**< A R G B in memory */
  OTC_VIDEO_FRAME_FORMAT_RGB24 = 8,   /**< 3 bytes per pixel: B G R in memory */
  OTC_VIDEO_FRAME_FORMAT_ABGR32 = 9,  /**< R G B A in memory */
  OTC_VIDEO_FRAME_FORMAT_MJPEG = 10,  /**< one JPEG image (input only: converted on the way in) */
  OTC_VIDEO_FRAME_FORMAT_RGBA32 = 11, /**< A B G R in memory */
  OTC_VIDEO_FRAME_FORMAT_MAX,
  OTC_VIDEO_FRAME_FORMAT_COMPRESSED = 255 /**< an encoded frame (opaque bytes) */
};

enum otc_video_frame_plane {
  OTC_VIDEO_FRAME_PLANE_Y = 0,
  OTC_VIDEO_FRAME_PLANE_U = 1,
  OTC_VIDEO_FRAME_PLANE_V = 2,
  OTC_VIDEO_FRAME_PLANE_PACKED = 3,         /**< the one plane of a packed format (YUY2, ARGB32, ...) */
  OTC_VIDEO_FRAME_PLANE_UV_INTERLEAVED = 4, /**< NV12's second plane */
  OTC_VIDEO_FRAME_PLANE_VU_INTERLEAVED = 5, /**< NV21's second plane */
};

/** Callbacks of a planar memory wrapper (otc_video_frame_new_planar_memory_wrapper). */
struct otc_video_frame_planar_memory_callbacks {
  /** Required: the plane's first byte. */
  const uint8_t *(*get_plane)(void *user_data, enum otc_video_frame_plane plane);
  /** Required: the plane's stride in bytes. */
  int (*get_plane_stride)(void *user_data, enum otc_video_frame_plane plane);
  /** Optional: called once, from otc_video_frame_delete, when the memory may be released. */
  void (*release)(void *user_data);
  void *user_data;
  void *reserved;
};

/** Called from otc_video_frame_delete of a contiguous memory wrapper: the buffer may be released. */
typedef void (*otc_video_frame_memory_release_callback)(const uint8_t *buffer, void *arg);

/** Always NULL in Convene (no platform-native frame handle). */
OTC_DECL(void *) otc_video_frame_get_native_handle(const otc_video_frame *frame);

/**
 * A frame of `format` copied from one contiguous buffer laid out with the format's default
 * strides (width-based, no padding). MJPEG cannot be given here (its size is unknown): use
 * otc_video_frame_new_MJPEG. NULL on bad input (NULL buffer, width or height outside
 * 1..16384, UNKNOWN / MAX / COMPRESSED) or out of memory.
 */
OTC_DECL(otc_video_frame *) otc_video_frame_new(enum otc_video_frame_format format, int width, int height,
                                                const uint8_t *buffer);

/** Frees a frame the caller owns (NULL: OTC_INVALID_PARAM). A wrapper calls its release callback here. */
OTC_DECL(otc_status) otc_video_frame_delete(otc_video_frame *frame);

/** An I420 frame copied from three planes and their strides (strides >= the plane widths). */
OTC_DECL(otc_video_frame *) otc_video_frame_new_I420(int width, int height, const uint8_t *y_plane, int y_stride,
                                                     const uint8_t *u_plane, int u_stride, const uint8_t *v_plane,
                                                     int v_stride);

/** A JPEG image decoded (libyuv) into an I420 frame of width x height; NULL if it does not decode to that size. */
OTC_DECL(otc_video_frame *) otc_video_frame_new_MJPEG(int width, int height, const uint8_t *buffer, size_t size);

/** An encoded frame: `size` opaque bytes copied (format COMPRESSED; not convertible). */
OTC_DECL(otc_video_frame *) otc_video_frame_new_compressed(int width, int height, const uint8_t *buffer, size_t size);

/**
 * A frame of `format` copied from its planes: planes[i] / strides[i] for i < the format's plane
 * count (3 for YUV420P, 2 for NV12 / NV21, 1 for packed formats).
 */
OTC_DECL(otc_video_frame *) otc_video_frame_new_from_planes(enum otc_video_frame_format format, int width, int height,
                                                            const uint8_t **planes, int *strides);

/** As otc_video_frame_new_from_planes, converted to an I420 frame. */
OTC_DECL(otc_video_frame *) otc_video_frame_new_I420_from_planes_with_format(enum otc_video_frame_format input_format,
                                                                             int width, int height,
                                                                             const uint8_t **planes, int *strides);

/**
 * A frame over the caller's contiguous buffer (default strides; `size` at least the format's
 * size), not copied. `callback` (may be NULL) is called with (buffer, arg) by
 * otc_video_frame_delete. `is_shallow_copyable` is accepted for source compatibility: copies
 * are always deep.
 */
OTC_DECL(otc_video_frame *) otc_video_frame_new_contiguous_memory_wrapper(
    enum otc_video_frame_format format, int width, int height, otc_bool is_shallow_copyable, const uint8_t *buffer,
    size_t size, otc_video_frame_memory_release_callback callback, void *arg);

/** A frame whose planes and strides the callbacks give (asked once, at creation), not copied. */
OTC_DECL(otc_video_frame *) otc_video_frame_new_planar_memory_wrapper(
    enum otc_video_frame_format format, int width, int height, otc_bool is_shallow_copyable,
    struct otc_video_frame_planar_memory_callbacks *callbacks);

/** An I420 frame over the caller's planes, not copied. */
OTC_DECL(otc_video_frame *) otc_video_frame_new_I420_wrapper(int width, int height, const uint8_t *y_plane,
                                                             int y_stride, const uint8_t *u_plane, int u_stride,
                                                             const uint8_t *v_plane, int v_stride);

/** An NV21 frame over the caller's planes, not copied. */
OTC_DECL(otc_video_frame *) otc_video_frame_new_NV21_wrapper(int width, int height, const uint8_t *y_plane,
                                                             int y_stride, const uint8_t *uv_plane, int uv_stride);

/** An NV12 frame over the caller's planes, not copied. */
OTC_DECL(otc_video_frame *) otc_video_frame_new_NV12_wrapper(int width, int height, const uint8_t *y_plane,
                                                             int y_stride, const uint8_t *uv_plane, int uv_stride);

/**
 * The frame's bytes when they are one contiguous buffer (frames this library makes always
 * are; a planar wrapper is not: NULL). Owned by the frame.
 */
OTC_DECL(const uint8_t *) otc_video_frame_get_buffer(const otc_video_frame *frame);
/** Bytes of that buffer (0 when not contiguous). */
OTC_DECL(size_t) otc_video_frame_get_buffer_size(const otc_video_frame *frame);

/** Capture time in microseconds (0 unless set; frames from a subscriber carry the sender's). */
OTC_DECL(int64_t) otc_video_frame_get_timestamp(const otc_video_frame *frame);
OTC_DECL(void) otc_video_frame_set_timestamp(otc_video_frame *frame, int64_t timestamp);

OTC_DECL(int) otc_video_frame_get_width(const otc_video_frame *frame);
OTC_DECL(int) otc_video_frame_get_height(const otc_video_frame *frame);
/** 3 for YUV420P, 2 for NV12 / NV21, 1 for packed and compressed formats, 0 for NULL. */
OTC_DECL(size_t) otc_video_frame_get_number_of_planes(const otc_video_frame *frame);
OTC_DECL(enum otc_video_frame_format) otc_video_frame_get_format(const otc_video_frame *frame);
/**
 * Relabels the frame's format without touching its bytes; ignored unless the new format has
 * the same plane layout and sizes (e.g. ARGB32 <-> BGRA32, NV12 <-> NV21, YUY2 <-> UYVY).
 */
OTC_DECL(void) otc_video_frame_set_format(otc_video_frame *frame, enum otc_video_frame_format format);

/**
 * A plane's first byte (owned by the frame), or NULL when the frame has no such plane. Planar
 * formats: Y, U, V (NV12 / NV21: U, UV_INTERLEAVED or VU_INTERLEAVED name the second plane);
 * packed formats: PACKED (or Y).
 */
OTC_DECL(const uint8_t *) otc_video_frame_get_plane_binary_data(const otc_video_frame *frame,
                                                                enum otc_video_frame_plane plane);
/** stride x plane height, in bytes (0 when no such plane). */
OTC_DECL(size_t) otc_video_frame_get_plane_size(const otc_video_frame *frame, enum otc_video_frame_plane plane);
OTC_DECL(int) otc_video_frame_get_plane_stride(const otc_video_frame *frame, enum otc_video_frame_plane plane);
/** In samples of that plane (I420's U is (width + 1) / 2 wide). */
OTC_DECL(int) otc_video_frame_get_plane_width(const otc_video_frame *frame, enum otc_video_frame_plane plane);
OTC_DECL(int) otc_video_frame_get_plane_height(const otc_video_frame *frame, enum otc_video_frame_plane plane);

/** A deep copy (timestamp and metadata included), contiguous and owned by the caller. */
OTC_DECL(otc_video_frame *) otc_video_frame_copy(const otc_video_frame *frame);
/** The same as otc_video_frame_copy (every copy is mutable). */
OTC_DECL(otc_video_frame *) otc_video_frame_mutable_copy(const otc_video_frame *frame);

/**
 * A new frame holding `frame` converted to `format`: YUV420P, NV12, ARGB32, BGRA32, ABGR32,
 * RGBA32 or RGB24 (from any of the raw formats). Owned by the caller; NULL on an unsupported
 * pair (COMPRESSED, MJPEG out) or out of memory. Timestamp and metadata are kept.
 */
OTC_DECL(otc_video_frame *) otc_video_frame_convert(enum otc_video_frame_format format, const otc_video_frame *frame);

/**
 * Converts `input_frame` into the caller's planes / strides laid out for `format` (formats as
 * otc_video_frame_convert). OTC_INVALID_PARAM on NULLs or an unsupported pair.
 */
OTC_DECL(otc_status) otc_video_frame_convert_inplace(enum otc_video_frame_format format, uint8_t **planes,
                                                     const int *strides, const otc_video_frame *input_frame);

/** Whether the format is packed (one plane: YUY2, UYVY, the RGB formats). */
OTC_DECL(otc_bool) otc_video_frame_is_packed(const otc_video_frame *frame);
/** Whether the frame's bytes are one buffer (otc_video_frame_get_buffer is not NULL). */
OTC_DECL(otc_bool) otc_video_frame_is_contiguous(const otc_video_frame *frame);

/** Copies up to OTC_VIDEO_FRAME_METADATA_MAX_SIZE bytes of metadata into the frame (more: OTC_INVALID_PARAM). */
OTC_DECL(otc_status) otc_video_frame_set_metadata(otc_video_frame *frame, const uint8_t *data, size_t size);
/** The frame's metadata (owned by the frame) and its size in *size; NULL when it has none. */
OTC_DECL(const uint8_t *) otc_video_frame_get_metadata(const otc_video_frame *frame, size_t *size);

OTC_END_DECL

#endif
