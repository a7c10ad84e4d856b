/* VP8 over libvpx; see vp8_codec.h. */
#include "vp8_codec.h"

#include <stdlib.h>
#include <string.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

const char *cv_vp8_status_str(int status) {
  switch (status) {
    case CV_VP8_OK: return "ok";
    case CV_VP8_ERR_ARG: return "invalid argument";
    case CV_VP8_ERR_NOMEM: return "out of memory";
    case CV_VP8_ERR_BUFFER: return "output buffer too small";
    case CV_VP8_ERR_CORRUPT: return "corrupt VP8 frame";
    case CV_VP8_ERR_NO_KEY: return "delta frame before a keyframe";
    case CV_VP8_ERR_CODEC: return "libvpx error";
    default: return "unknown status";
  }
}

int cv_vp8_default_bitrate_kbps(int width, int height, int fps) {
  if (width < 1 || height < 1 || fps < 1) return 60;
  double kbps = (double)width * height * fps * 0.08 / 1000.0;
  if (kbps < 60) return 60;
  if (kbps > 4000) return 4000;
  return (int)kbps;
}

/* ---- encoder ---- */

struct cv_vp8_encoder {
  vpx_codec_ctx_t ctx;
  vpx_codec_enc_cfg_t cfg;
  vpx_image_t img; /* a wrapper: its planes point at the caller's for one call */
  int width, height;
  int force_key;
};

int cv_vp8_encoder_new(const struct cv_vp8_encoder_options *o, cv_vp8_encoder **out) {
  if (!out) return CV_VP8_ERR_ARG;
  *out = NULL;
  if (!o || o->width < 2 || o->height < 2 || o->width > CV_VP8_MAX_SIDE || o->height > CV_VP8_MAX_SIDE ||
      o->fps < 1 || o->fps > 60 || o->bitrate_kbps < 0 || (o->bitrate_kbps > 0 && o->bitrate_kbps < 30) ||
      o->bitrate_kbps > 20000 || o->keyframe_interval < 0 || o->threads < 0 || o->threads > 4)
    return CV_VP8_ERR_ARG;
  cv_vp8_encoder *e = calloc(1, sizeof *e);
  if (!e) return CV_VP8_ERR_NOMEM;
  if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0) != VPX_CODEC_OK) {
    free(e);
    return CV_VP8_ERR_CODEC;
  }
  e->cfg.g_w = (unsigned)o->width;
  e->cfg.g_h = (unsigned)o->height;
  e->cfg.g_timebase.num = 1;
  e->cfg.g_timebase.den = 90000;
  e->cfg.g_threads = (unsigned)(o->threads ? o->threads : 1);
  e->cfg.g_lag_in_frames = 0; /* real time: a frame out for each frame in */
  e->cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
  e->cfg.rc_end_usage = VPX_CBR;
  e->cfg.rc_target_bitrate = (unsigned)(o->bitrate_kbps ? o->bitrate_kbps
                                                        : cv_vp8_default_bitrate_kbps(o->width, o->height, o->fps));
  e->cfg.rc_min_quantizer = 2;
  e->cfg.rc_max_quantizer = 56;
  e->cfg.rc_undershoot_pct = 100;
  e->cfg.rc_overshoot_pct = 15;
  e->cfg.rc_buf_initial_sz = 500;
  e->cfg.rc_buf_optimal_sz = 600;
  e->cfg.rc_buf_sz = 1000;
  e->cfg.rc_dropframe_thresh = 30; /* under pressure, drop a frame rather than blow the budget */
  e->cfg.kf_mode = VPX_KF_AUTO;
  e->cfg.kf_min_dist = 0;
  e->cfg.kf_max_dist = (unsigned)(o->keyframe_interval ? o->keyframe_interval : 3 * o->fps);
  if (vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &e->cfg, 0) != VPX_CODEC_OK) {
    free(e);
    return CV_VP8_ERR_CODEC;
  }
  vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, -6); /* real time: speed over quality */
  vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
  vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
  vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300); /* keyframes at most 3x a frame's budget */
  e->width = o->width;
  e->height = o->height;
  e->force_key = 1;
  *out = e;
  return CV_VP8_OK;
}

void cv_vp8_encoder_free(cv_vp8_encoder *e) {
  if (!e) return;
  vpx_codec_destroy(&e->ctx);
  free(e);
}

int cv_vp8_encoder_set_rates(cv_vp8_encoder *e, int bitrate_kbps, int fps) {
  if (!e || bitrate_kbps < 30 || bitrate_kbps > 20000 || fps < 1 || fps > 60) return CV_VP8_ERR_ARG;
  e->cfg.rc_target_bitrate = (unsigned)bitrate_kbps;
  return vpx_codec_enc_config_set(&e->ctx, &e->cfg) == VPX_CODEC_OK ? CV_VP8_OK : CV_VP8_ERR_CODEC;
}

int cv_vp8_encoder_bitrate_kbps(const cv_vp8_encoder *e) {
  return e ? (int)e->cfg.rc_target_bitrate : 0;
}

void cv_vp8_encoder_request_keyframe(cv_vp8_encoder *e) {
  if (e) e->force_key = 1;
}

int cv_vp8_encoder_encode(cv_vp8_encoder *e, const uint8_t *y, int ys, const uint8_t *u, int us, const uint8_t *v,
                          int vs, int64_t pts, uint8_t *out, size_t cap, size_t *out_len, int *keyframe) {
  if (out_len) *out_len = 0;
  if (keyframe) *keyframe = 0;
  if (!e || !y || !u || !v || !out || !out_len || ys < e->width || us < (e->width + 1) / 2 ||
      vs < (e->width + 1) / 2 || pts < 0)
    return CV_VP8_ERR_ARG;
  vpx_img_wrap(&e->img, VPX_IMG_FMT_I420, (unsigned)e->width, (unsigned)e->height, 1, (unsigned char *)y);
  e->img.planes[VPX_PLANE_Y] = (unsigned char *)y;
  e->img.planes[VPX_PLANE_U] = (unsigned char *)u;
  e->img.planes[VPX_PLANE_V] = (unsigned char *)v;
  e->img.stride[VPX_PLANE_Y] = ys;
  e->img.stride[VPX_PLANE_U] = us;
  e->img.stride[VPX_PLANE_V] = vs;
  vpx_enc_frame_flags_t flags = e->force_key ? VPX_EFLAG_FORCE_KF : 0;
  if (vpx_codec_encode(&e->ctx, &e->img, pts, 1, flags, VPX_DL_REALTIME) != VPX_CODEC_OK) return CV_VP8_ERR_CODEC;
  vpx_codec_iter_t iter = NULL;
  const vpx_codec_cx_pkt_t *pkt;
  size_t len = 0;
  int key = 0, rc = CV_VP8_OK;
  while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
    if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
    if (len + pkt->data.frame.sz > cap) {
      rc = CV_VP8_ERR_BUFFER;
      continue; /* drain the iterator all the same */
    }
    memcpy(out + len, pkt->data.frame.buf, pkt->data.frame.sz);
    len += pkt->data.frame.sz;
    if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) key = 1;
  }
  if (rc != CV_VP8_OK) {
    e->force_key = 1; /* the lost frame breaks the chain: restart it */
    return rc;
  }
  if (len > 0 && key) e->force_key = 0;
  *out_len = len;
  if (keyframe) *keyframe = key;
  return CV_VP8_OK;
}

/* ---- decoder ---- */

struct cv_vp8_decoder {
  vpx_codec_ctx_t ctx;
  int have_key; /* a keyframe decoded since the start or the last error */
  struct cv_vp8_decoder_stats stats;
};

int cv_vp8_decoder_new(int threads, cv_vp8_decoder **out) {
  if (!out) return CV_VP8_ERR_ARG;
  *out = NULL;
  if (threads < 0 || threads > 4) return CV_VP8_ERR_ARG;
  cv_vp8_decoder *d = calloc(1, sizeof *d);
  if (!d) return CV_VP8_ERR_NOMEM;
  vpx_codec_dec_cfg_t cfg = {.threads = (unsigned)(threads ? threads : 1), .w = 0, .h = 0};
  if (vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0) != VPX_CODEC_OK) {
    free(d);
    return CV_VP8_ERR_CODEC;
  }
  *out = d;
  return CV_VP8_OK;
}

void cv_vp8_decoder_free(cv_vp8_decoder *d) {
  if (!d) return;
  vpx_codec_destroy(&d->ctx);
  free(d);
}

int cv_vp8_peek(const uint8_t *data, size_t len, int *width, int *height) {
  if (width) *width = 0;
  if (height) *height = 0;
  if (!data || len == 0 || len > UINT32_MAX) return CV_VP8_ERR_CORRUPT;
  vpx_codec_stream_info_t si;
  memset(&si, 0, sizeof si);
  si.sz = sizeof si;
  if (vpx_codec_peek_stream_info(vpx_codec_vp8_dx(), data, (unsigned)len, &si) != VPX_CODEC_OK) {
    /* libvpx's peek answers "unsupported bitstream" for delta frames: tell them apart by the frame tag */
    return (data[0] & 1) ? 0 : CV_VP8_ERR_CORRUPT;
  }
  if (!si.is_kf) return 0;
  if (width) *width = (int)si.w;
  if (height) *height = (int)si.h;
  return 1;
}

int cv_vp8_decoder_decode(cv_vp8_decoder *d, const uint8_t *data, size_t len, struct cv_vp8_picture *pic) {
  if (!d || !data || !pic || len == 0) return CV_VP8_ERR_ARG;
  memset(pic, 0, sizeof *pic);
  int w = 0, h = 0;
  int kind = cv_vp8_peek(data, len, &w, &h);
  if (kind < 0 || (kind == 1 && (w < 1 || h < 1 || w > CV_VP8_MAX_SIDE || h > CV_VP8_MAX_SIDE))) {
    d->stats.corrupt++;
    d->have_key = 0;
    return CV_VP8_ERR_CORRUPT;
  }
  if (kind == 0 && !d->have_key) {
    d->stats.no_key++;
    return CV_VP8_ERR_NO_KEY;
  }
  if (vpx_codec_decode(&d->ctx, data, (unsigned)len, NULL, 0) != VPX_CODEC_OK) {
    d->stats.corrupt++;
    d->have_key = 0;
    return CV_VP8_ERR_CORRUPT;
  }
  vpx_codec_iter_t iter = NULL;
  vpx_image_t *img = vpx_codec_get_frame(&d->ctx, &iter);
  if (!img) {
    d->stats.corrupt++;
    d->have_key = 0;
    return CV_VP8_ERR_CORRUPT;
  }
  if (kind == 1) d->have_key = 1;
  pic->width = (int)img->d_w;
  pic->height = (int)img->d_h;
  for (int i = 0; i < 3; i++) {
    pic->plane[i] = img->planes[i];
    pic->stride[i] = img->stride[i];
  }
  d->stats.frames++;
  return CV_VP8_OK;
}

void cv_vp8_decoder_stats(const cv_vp8_decoder *d, struct cv_vp8_decoder_stats *out) {
  if (!out) return;
  if (!d) {
    memset(out, 0, sizeof *out);
    return;
  }
  *out = d->stats;
}
