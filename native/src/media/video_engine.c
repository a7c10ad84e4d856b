/* The video half of the media engine: see video_engine.h. */
#include "media/video_engine.h"

#include <libyuv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "media/video_packets.h"
#include "media/vp8_codec.h"

/* An I420 picture in one allocation: Y (stride w), U and V (stride (w+1)/2). */
struct pic {
  int w, h;
  int64_t ts_us; /* the frame's timestamp (0: none) */
  uint8_t *y, *u, *v;
  uint8_t data[];
};

static int cw(int w) { return (w + 1) / 2; }

static struct pic *pic_new(int w, int h) {
  size_t ys = (size_t)w * (size_t)h, cs = (size_t)cw(w) * (size_t)cw(h);
  struct pic *p = malloc(sizeof *p + ys + 2 * cs);
  if (!p) return NULL;
  p->w = w;
  p->h = h;
  p->ts_us = 0;
  p->y = p->data;
  p->u = p->y + ys;
  p->v = p->u + cs;
  return p;
}

/* ---- sending ---- */

struct cv_video_pub {
  pthread_mutex_t lock; /* everything down to the media thread's part */
  int width, height, fps; /* configured (0: none) */
  unsigned gen;           /* +1 per configuration */
  struct pic *slot;       /* the newest frame not yet encoded */
  int key_wanted;
  size_t backlog;
  unsigned refused;
  struct convene_media_stats st; /* the video fields only */
  /* the media thread's */
  cv_vp8_encoder *enc;
  unsigned enc_gen;
  struct pic *last; /* the last picture encoded (re-encoded as a keyframe on request) */
  int was_enabled;
  int64_t next_ms;  /* the earliest time of the next frame */
  uint16_t seq;
  int64_t t0_ms;
  int nominal_kbps, kbps, cur_fps;
  int64_t last_down_ms, last_up_ms, calm_since_ms;
  uint8_t *buf; /* the encoded frame */
  size_t buf_cap;
};

cv_video_pub *cv_video_pub_new(void) {
  cv_video_pub *v = calloc(1, sizeof *v);
  if (!v) return NULL;
  pthread_mutex_init(&v->lock, NULL);
  v->seq = (uint16_t)rand();
  return v;
}

void cv_video_pub_free(cv_video_pub *v) {
  if (!v) return;
  cv_vp8_encoder_free(v->enc);
  free(v->slot);
  free(v->last);
  free(v->buf);
  pthread_mutex_destroy(&v->lock);
  free(v);
}

int cv_video_pub_configure(cv_video_pub *v, int width, int height, int fps) {
  if (!v || width < 2 || height < 2 || width > CV_VP8_MAX_SIDE || height > CV_VP8_MAX_SIDE || fps < 1 || fps > 60)
    return CV_VIDEO_EARG;
  pthread_mutex_lock(&v->lock);
  if (v->width != width || v->height != height || v->fps != fps) {
    v->width = width;
    v->height = height;
    v->fps = fps;
    v->gen++;
    if (v->slot && (v->slot->w != width || v->slot->h != height)) {
      free(v->slot);
      v->slot = NULL;
      v->st.frames_dropped++;
    }
  }
  pthread_mutex_unlock(&v->lock);
  return CV_VIDEO_OK;
}

int cv_video_pub_config(cv_video_pub *v, int *width, int *height, int *fps) {
  if (!v) return 0;
  pthread_mutex_lock(&v->lock);
  int on = v->width > 0;
  if (width) *width = v->width;
  if (height) *height = v->height;
  if (fps) *fps = v->fps;
  pthread_mutex_unlock(&v->lock);
  return on;
}

static int raw_format(enum otc_video_frame_format f) {
  return f > OTC_VIDEO_FRAME_FORMAT_UNKNOWN && f < OTC_VIDEO_FRAME_FORMAT_MAX && f != OTC_VIDEO_FRAME_FORMAT_MJPEG;
}

int cv_video_pub_put(cv_video_pub *v, const otc_video_frame *frame, int rotation) {
  if (!v || !frame || (rotation != 0 && rotation != 90 && rotation != 180 && rotation != 270)) return CV_VIDEO_EARG;
  enum otc_video_frame_format f = otc_video_frame_get_format(frame);
  int sw = otc_video_frame_get_width(frame), sh = otc_video_frame_get_height(frame);
  if (!raw_format(f) || sw < 1 || sh < 1 || sw > 16384 || sh > 16384) return CV_VIDEO_EARG;
  pthread_mutex_lock(&v->lock);
  int w = v->width, h = v->height;
  pthread_mutex_unlock(&v->lock);
  if (!w) return CV_VIDEO_ENOSOURCE;

  otc_video_frame *conv = NULL;
  const otc_video_frame *src = frame;
  if (f != OTC_VIDEO_FRAME_FORMAT_YUV420P) {
    conv = otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_YUV420P, frame);
    if (!conv) return CV_VIDEO_EARG;
    src = conv;
  }
  const uint8_t *sy = otc_video_frame_get_plane_binary_data(src, OTC_VIDEO_FRAME_PLANE_Y);
  const uint8_t *su = otc_video_frame_get_plane_binary_data(src, OTC_VIDEO_FRAME_PLANE_U);
  const uint8_t *sv = otc_video_frame_get_plane_binary_data(src, OTC_VIDEO_FRAME_PLANE_V);
  int ys = otc_video_frame_get_plane_stride(src, OTC_VIDEO_FRAME_PLANE_Y);
  int us = otc_video_frame_get_plane_stride(src, OTC_VIDEO_FRAME_PLANE_U);
  int vs = otc_video_frame_get_plane_stride(src, OTC_VIDEO_FRAME_PLANE_V);
  int rc = CV_VIDEO_OK;
  struct pic *rot = NULL, *out = NULL;
  if (!sy || !su || !sv) {
    rc = CV_VIDEO_EARG;
    goto done;
  }
  if (rotation) {
    int rw = rotation == 180 ? sw : sh, rh = rotation == 180 ? sh : sw;
    rot = pic_new(rw, rh);
    if (!rot) {
      rc = CV_VIDEO_ENOMEM;
      goto done;
    }
    I420Rotate(sy, ys, su, us, sv, vs, rot->y, rw, rot->u, cw(rw), rot->v, cw(rw), sw, sh,
               rotation == 90 ? kRotate90 : rotation == 180 ? kRotate180 : kRotate270);
    sy = rot->y, su = rot->u, sv = rot->v;
    ys = rw, us = vs = cw(rw);
    sw = rw, sh = rh;
  }
  out = pic_new(w, h);
  if (!out) {
    rc = CV_VIDEO_ENOMEM;
    goto done;
  }
  if (sw == w && sh == h)
    I420Copy(sy, ys, su, us, sv, vs, out->y, w, out->u, cw(w), out->v, cw(w), w, h);
  else
    I420Scale(sy, ys, su, us, sv, vs, sw, sh, out->y, w, out->u, cw(w), out->v, cw(w), w, h, kFilterBilinear);
  out->ts_us = otc_video_frame_get_timestamp(frame);
  pthread_mutex_lock(&v->lock);
  struct pic *old = NULL;
  if (v->width == w && v->height == h) { /* still the size it was scaled for */
    old = v->slot;
    v->slot = out;
    out = NULL;
  } else {
    v->st.frames_dropped++;
  }
  if (old) v->st.frames_dropped++;
  pthread_mutex_unlock(&v->lock);
  free(old);
done:
  free(out);
  free(rot);
  if (conv) otc_video_frame_delete(conv);
  return rc;
}

void cv_video_pub_request_keyframe(cv_video_pub *v, int counted) {
  if (!v) return;
  pthread_mutex_lock(&v->lock);
  v->key_wanted = 1;
  if (counted) v->st.keyframe_requests++;
  pthread_mutex_unlock(&v->lock);
}

void cv_video_pub_report_backlog(cv_video_pub *v, size_t backlog_bytes, unsigned refused) {
  if (!v) return;
  pthread_mutex_lock(&v->lock);
  v->backlog = backlog_bytes;
  v->refused += refused;
  v->st.video_packets_dropped += refused;
  pthread_mutex_unlock(&v->lock);
}

/* Bandwidth adaptation (media thread): lower the bitrate, then the frame rate, while the
 * socket's backlog grows or it refuses packets; raise the frame rate, then the bitrate, once
 * it has stayed drained. */
static void adapt(cv_video_pub *v, int64_t now, size_t backlog, unsigned refused) {
  int min_kbps = v->nominal_kbps / 8 < 30 ? 30 : v->nominal_kbps / 8;
  int min_fps = v->fps < 5 ? v->fps : 5;
  int kbps = v->kbps, fps = v->cur_fps;
  if (backlog > CV_VIDEO_BACKLOG_HIGH || refused) {
    v->calm_since_ms = now;
    if (now - v->last_down_ms >= CV_VIDEO_DOWN_EVERY_MS) {
      if (kbps > min_kbps) kbps = kbps * 6 / 10 < min_kbps ? min_kbps : kbps * 6 / 10;
      else if (fps > min_fps) fps = fps * 6 / 10 < min_fps ? min_fps : fps * 6 / 10;
      v->last_down_ms = now;
    }
  } else if (backlog > CV_VIDEO_BACKLOG_LOW) {
    v->calm_since_ms = now;
  } else if (now - v->calm_since_ms >= CV_VIDEO_UP_AFTER_MS && now - v->last_up_ms >= 1000) {
    if (fps < v->fps) fps = fps * 3 / 2 + 1 > v->fps ? v->fps : fps * 3 / 2 + 1;
    else if (kbps < v->nominal_kbps) kbps = kbps * 5 / 4 + 10 > v->nominal_kbps ? v->nominal_kbps : kbps * 5 / 4 + 10;
    v->last_up_ms = now;
  }
  if (kbps != v->kbps || fps != v->cur_fps) {
    if (cv_vp8_encoder_set_rates(v->enc, kbps, fps) == CV_VP8_OK) {
      v->kbps = kbps;
      v->cur_fps = fps;
    }
  }
}

static void emit_frame(cv_video_pub *v, const uint8_t *data, size_t len, int key, uint32_t ts, uint16_t track,
                       const struct cv_video_pub_out *out, int *emitted) {
  size_t n = cv_video_packet_count(len, CV_MEDIA_MAX_PAYLOAD_BYTES);
  static _Thread_local uint8_t pkt[CV_MEDIA_MAX_FRAME_BYTES];
  for (size_t i = 0; i < n; i++) {
    const uint8_t *payload;
    size_t plen, plen_out;
    uint8_t flags;
    if (cv_video_packet_at(data, len, CV_MEDIA_MAX_PAYLOAD_BYTES, key, i, &payload, &plen, &flags) != 0) return;
    struct cv_media_header hd = {.kind = CV_MEDIA_KIND_VIDEO, .flags = flags, .track = track, .sequence = v->seq++,
                                 .timestamp = ts, .audio_level = 0};
    if (cv_media_frame_encode(&hd, payload, plen, pkt, sizeof pkt, &plen_out) != CV_MEDIA_OK) return;
    out->emit(out->ctx, pkt, plen_out);
    (*emitted)++;
  }
}

int cv_video_pub_tick(cv_video_pub *v, int64_t now, uint16_t track, int enabled, const struct cv_video_pub_out *out) {
  if (!v || !track) return 0;
  if (!enabled) {
    v->was_enabled = 0;
    return 0;
  }
  pthread_mutex_lock(&v->lock);
  int w = v->width, h = v->height, fps = v->fps;
  unsigned gen = v->gen;
  size_t backlog = v->backlog;
  unsigned refused = v->refused;
  v->refused = 0;
  pthread_mutex_unlock(&v->lock);
  if (!w) return 0;
  if (!v->enc || v->enc_gen != gen) { /* the first frame, or a new size / rate: a new encoder */
    cv_vp8_encoder_free(v->enc);
    v->enc = NULL;
    free(v->last);
    v->last = NULL;
    v->nominal_kbps = cv_vp8_default_bitrate_kbps(w, h, fps);
    v->kbps = v->nominal_kbps;
    v->cur_fps = fps;
    struct cv_vp8_encoder_options o = {.width = w, .height = h, .fps = fps, .bitrate_kbps = v->kbps,
                                       .keyframe_interval = fps * CV_VIDEO_KEYFRAME_SECONDS, .threads = 1};
    if (cv_vp8_encoder_new(&o, &v->enc) != CV_VP8_OK) return 0;
    v->enc_gen = gen;
    v->next_ms = now;
    v->t0_ms = now;
    v->calm_since_ms = v->last_up_ms = v->last_down_ms = now;
    pthread_mutex_lock(&v->lock);
    v->st.bitrate_kbps = v->kbps;
    v->st.fps = v->cur_fps;
    v->st.width = w;
    v->st.height = h;
    pthread_mutex_unlock(&v->lock);
  }
  adapt(v, now, backlog, refused);
  pthread_mutex_lock(&v->lock);
  v->st.bitrate_kbps = v->kbps;
  v->st.fps = v->cur_fps;
  pthread_mutex_unlock(&v->lock);
  if (!v->was_enabled) cv_vp8_encoder_request_keyframe(v->enc); /* (again) enabled: start with a keyframe */
  v->was_enabled = 1;
  int interval = 1000 / v->cur_fps;
  if (now < v->next_ms - interval / 4) return 0; /* not yet: the frame waits (a newer one replaces it) */
  pthread_mutex_lock(&v->lock);
  struct pic *p = v->slot;
  v->slot = NULL;
  int key = v->key_wanted;
  v->key_wanted = 0;
  pthread_mutex_unlock(&v->lock);
  if (!p && key && v->last) { /* a keyframe asked for and nothing new: the last picture again */
    p = v->last;
    v->last = NULL;
  }
  if (!p) {
    if (key) {
      pthread_mutex_lock(&v->lock);
      v->key_wanted = 1; /* for the next frame */
      pthread_mutex_unlock(&v->lock);
    }
    return 0;
  }
  v->next_ms = now - v->next_ms > interval ? now + interval : v->next_ms + interval;
  if (key) cv_vp8_encoder_request_keyframe(v->enc);
  if (out->preview) {
    otc_video_frame *f = otc_video_frame_new_I420_wrapper(w, h, p->y, w, p->u, cw(w), p->v, cw(w));
    if (f) {
      otc_video_frame_set_timestamp(f, p->ts_us);
      out->preview(out->ctx, f);
      otc_video_frame_delete(f);
    }
  }
  int64_t pts = (now - v->t0_ms) * 90;
  size_t cap = (size_t)w * (size_t)h * 3 / 2 + 4096, len = 0;
  if (v->buf_cap < cap) {
    uint8_t *nb = realloc(v->buf, cap);
    if (!nb) {
      free(p);
      return 0;
    }
    v->buf = nb;
    v->buf_cap = cap;
  }
  uint8_t *buf = v->buf;
  int is_key = 0;
  int rc = cv_vp8_encoder_encode(v->enc, p->y, w, p->u, cw(w), p->v, cw(w), pts, buf, cap, &len, &is_key);
  /* the wire's 90 kHz timestamp: the frame's own (microseconds) when it has one, else the clock's */
  int64_t ts_us = p->ts_us ? p->ts_us : now * 1000;
  uint32_t ts = (uint32_t)((uint64_t)ts_us * 9 / 100);
  free(v->last);
  v->last = p;
  int emitted = 0;
  if (rc == CV_VP8_OK && len > 0) emit_frame(v, buf, len, is_key, ts, track, out, &emitted);
  pthread_mutex_lock(&v->lock);
  if (rc != CV_VP8_OK || len == 0) {
    v->st.frames_dropped++;
  } else {
    v->st.frames_encoded++;
    if (is_key) v->st.keyframes_sent++;
  }
  v->st.bitrate_kbps = v->kbps;
  v->st.fps = v->cur_fps;
  pthread_mutex_unlock(&v->lock);
  return emitted;
}

void cv_video_pub_reset(cv_video_pub *v) {
  if (!v) return;
  cv_vp8_encoder_free(v->enc);
  v->enc = NULL;
  free(v->last);
  v->last = NULL;
  v->was_enabled = 0;
}

void cv_video_pub_stats(cv_video_pub *v, struct convene_media_stats *st) {
  if (!v || !st) return;
  pthread_mutex_lock(&v->lock);
  st->frames_encoded = v->st.frames_encoded;
  st->keyframes_sent = v->st.keyframes_sent;
  st->keyframe_requests = v->st.keyframe_requests;
  st->frames_dropped = v->st.frames_dropped;
  st->video_packets_dropped = v->st.video_packets_dropped;
  st->bitrate_kbps = v->st.bitrate_kbps;
  st->fps = v->st.fps;
  st->width = v->st.width;
  st->height = v->st.height;
  pthread_mutex_unlock(&v->lock);
}

/* ---- receiving ---- */

struct cv_video_sub {
  pthread_mutex_t lock; /* format, st */
  enum otc_video_frame_format format;
  struct convene_media_stats st; /* the video fields only */
  uint64_t bytes_at_sample, rendered_at_sample;
  int64_t sample_ms;
  /* the media thread's */
  cv_video_assembler *asm_;
  cv_vp8_decoder *dec;
  int have_seq;
  uint16_t last_seq;
  int have_ts;
  uint32_t last_ts;
  int64_t ext_ts;
  int64_t last_req_ms;
  int req_ever;
};

cv_video_sub *cv_video_sub_new(void) {
  cv_video_sub *v = calloc(1, sizeof *v);
  if (!v) return NULL;
  pthread_mutex_init(&v->lock, NULL);
  v->format = OTC_VIDEO_FRAME_FORMAT_YUV420P;
  return v;
}

void cv_video_sub_free(cv_video_sub *v) {
  if (!v) return;
  cv_video_assembler_free(v->asm_);
  cv_vp8_decoder_free(v->dec);
  pthread_mutex_destroy(&v->lock);
  free(v);
}

int cv_video_sub_set_format(cv_video_sub *v, enum otc_video_frame_format format) {
  if (!v) return CV_VIDEO_EARG;
  switch (format) {
    case OTC_VIDEO_FRAME_FORMAT_YUV420P:
    case OTC_VIDEO_FRAME_FORMAT_NV12:
    case OTC_VIDEO_FRAME_FORMAT_ARGB32:
    case OTC_VIDEO_FRAME_FORMAT_BGRA32:
    case OTC_VIDEO_FRAME_FORMAT_ABGR32:
    case OTC_VIDEO_FRAME_FORMAT_RGBA32:
    case OTC_VIDEO_FRAME_FORMAT_RGB24:
      break;
    default:
      return CV_VIDEO_EARG;
  }
  pthread_mutex_lock(&v->lock);
  v->format = format;
  pthread_mutex_unlock(&v->lock);
  return CV_VIDEO_OK;
}

void cv_video_sub_reset(cv_video_sub *v) {
  if (!v) return;
  cv_video_assembler_free(v->asm_);
  cv_vp8_decoder_free(v->dec);
  v->asm_ = NULL;
  v->dec = NULL;
  v->have_seq = v->have_ts = 0;
  v->req_ever = 0;
}

void cv_video_sub_count_received(cv_video_sub *v, size_t len) {
  if (!v) return;
  pthread_mutex_lock(&v->lock);
  v->st.video_packets_received++;
  v->st.video_bytes_received += len;
  pthread_mutex_unlock(&v->lock);
}

static void deliver(cv_video_sub *v, const struct cv_vp8_picture *pic, int64_t ts_us, const struct cv_video_sub_out *out) {
  pthread_mutex_lock(&v->lock);
  enum otc_video_frame_format format = v->format;
  pthread_mutex_unlock(&v->lock);
  otc_video_frame *f = otc_video_frame_new_I420_wrapper(pic->width, pic->height, pic->plane[0], pic->stride[0],
                                                        pic->plane[1], pic->stride[1], pic->plane[2], pic->stride[2]);
  if (!f) return;
  otc_video_frame_set_timestamp(f, ts_us);
  otc_video_frame *conv = NULL;
  if (format != OTC_VIDEO_FRAME_FORMAT_YUV420P) conv = otc_video_frame_convert(format, f);
  if (conv || format == OTC_VIDEO_FRAME_FORMAT_YUV420P) {
    if (out && out->on_frame) out->on_frame(out->ctx, conv ? conv : f);
    pthread_mutex_lock(&v->lock);
    v->st.frames_rendered++;
    v->st.width = pic->width;
    v->st.height = pic->height;
    pthread_mutex_unlock(&v->lock);
  }
  if (conv) otc_video_frame_delete(conv);
  otc_video_frame_delete(f);
}

int cv_video_sub_packet(cv_video_sub *v, const struct cv_media_header *h, const uint8_t *payload, size_t len,
                        int64_t now, const struct cv_video_sub_out *out) {
  if (!v || !h || h->kind != CV_MEDIA_KIND_VIDEO) return 0;
  if (!v->asm_ && cv_video_assembler_new(CV_VIDEO_MAX_FRAME_BYTES, &v->asm_) != CV_VIDEO_MORE) return 0;
  if (!v->dec && cv_vp8_decoder_new(1, &v->dec) != CV_VP8_OK) return 0;
  uint64_t lost = 0;
  if (v->have_seq) {
    int gap = cv_media_sequence_delta(h->sequence, v->last_seq);
    if (gap > 1) lost = (uint64_t)(gap - 1);
    if (gap > 0 || gap <= -CV_VIDEO_RESYNC_PACKETS) v->last_seq = h->sequence; /* as the assembler */
  } else {
    v->have_seq = 1;
    v->last_seq = h->sequence;
  }
  struct cv_video_assembler_stats before, after;
  cv_video_assembler_stats(v->asm_, &before);
  const uint8_t *frame;
  size_t flen;
  uint32_t ts;
  int key, want_key = 0;
  int r = cv_video_assembler_push(v->asm_, h, payload, len, &frame, &flen, &ts, &key);
  cv_video_assembler_stats(v->asm_, &after);
  uint64_t dropped = (after.lost - before.lost) + (after.oversize - before.oversize);
  uint64_t errors = 0;
  if (after.skipped > before.skipped || dropped) want_key = 1;
  if (r == CV_VIDEO_FRAME) {
    struct cv_vp8_picture pic;
    int d = cv_vp8_decoder_decode(v->dec, frame, flen, &pic);
    if (d == CV_VP8_OK) {
      if (!v->have_ts) {
        v->have_ts = 1;
        v->ext_ts = ts;
      } else {
        v->ext_ts += (int32_t)(ts - v->last_ts);
      }
      v->last_ts = ts;
      deliver(v, &pic, v->ext_ts * 100 / 9, out);
    } else {
      errors++;
      dropped++;
      want_key = 1;
    }
  }
  int ask = 0;
  if (want_key && (!v->req_ever || now - v->last_req_ms >= CV_VIDEO_KEYREQ_MS)) {
    v->req_ever = 1;
    v->last_req_ms = now;
    ask = 1;
  }
  pthread_mutex_lock(&v->lock);
  v->st.video_packets_lost += lost;
  v->st.frames_dropped += dropped;
  v->st.video_decode_errors += errors;
  if (ask) v->st.keyframe_requests++;
  pthread_mutex_unlock(&v->lock);
  return ask;
}

void cv_video_sub_stats(cv_video_sub *v, struct convene_media_stats *st, int64_t now, int sample) {
  if (!v || !st) return;
  pthread_mutex_lock(&v->lock);
  if (sample) {
    int64_t dt = now - v->sample_ms;
    if (v->sample_ms && dt > 0) {
      v->st.bitrate_kbps = (int)((v->st.video_bytes_received - v->bytes_at_sample) * 8 / (uint64_t)dt);
      v->st.fps = (int)((v->st.frames_rendered - v->rendered_at_sample) * 1000 / (uint64_t)dt);
    }
    v->sample_ms = now;
    v->bytes_at_sample = v->st.video_bytes_received;
    v->rendered_at_sample = v->st.frames_rendered;
  }
  st->keyframe_requests = v->st.keyframe_requests;
  st->frames_dropped = v->st.frames_dropped;
  st->frames_rendered = v->st.frames_rendered;
  st->video_packets_received = v->st.video_packets_received;
  st->video_bytes_received = v->st.video_bytes_received;
  st->video_packets_lost = v->st.video_packets_lost;
  st->video_decode_errors = v->st.video_decode_errors;
  st->bitrate_kbps = v->st.bitrate_kbps;
  st->fps = v->st.fps;
  st->width = v->st.width;
  st->height = v->st.height;
  pthread_mutex_unlock(&v->lock);
}
