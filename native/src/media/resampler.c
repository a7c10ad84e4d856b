/* Rate and channel conversion over speexdsp, with a bounded output FIFO; see resampler.h. */
#include "resampler.h"

#include <speex/speex_resampler.h>
#include <stdlib.h>
#include <string.h>

/* input processed per step, in samples per channel: 10 ms at 48 kHz */
#define CHUNK 480

struct cv_resampler {
  struct cv_resampler_config cfg;
  SpeexResamplerState *st; /* NULL: the rates are equal, samples pass through (channels still mixed) */
  int rs_channels;  /* channels speexdsp resamples: min(in, out) */
  int16_t *mix;     /* CHUNK * rs_channels: the input after a downmix */
  int16_t *rs_out;  /* rs_out_frames * rs_channels: speexdsp's output of one chunk */
  size_t rs_out_frames;
  int16_t *fifo;    /* cap * out_channels, a ring */
  size_t cap, head, count; /* in samples per channel */
};

int cv_resampler_rate_supported(int rate) {
  switch (rate) {
    case 8000: case 16000: case 24000: case 32000: case 44100: case 48000: return 1;
    default: return 0;
  }
}

/* the most output frames `frames` input frames can give: the ratio, rounded up, plus one for
   the resampler's fractional phase */
static size_t out_bound(const struct cv_resampler_config *c, size_t frames) {
  return (frames * (size_t)c->out_rate + (size_t)c->in_rate - 1) / (size_t)c->in_rate + 1;
}

int cv_resampler_new(const struct cv_resampler_config *cfg, cv_resampler **out) {
  if (!out) return CV_RESAMPLER_ERR_ARG;
  *out = NULL;
  if (!cfg || !cv_resampler_rate_supported(cfg->in_rate) || !cv_resampler_rate_supported(cfg->out_rate) ||
      cfg->in_channels < 1 || cfg->in_channels > 2 || cfg->out_channels < 1 || cfg->out_channels > 2 ||
      cfg->quality < -1 || cfg->quality > 10 || cfg->out_frame_samples > (size_t)cfg->out_rate * 10)
    return CV_RESAMPLER_ERR_ARG;
  cv_resampler *r = calloc(1, sizeof *r);
  if (!r) return CV_RESAMPLER_ERR_NOMEM;
  r->cfg = *cfg;
  r->rs_channels = cfg->in_channels < cfg->out_channels ? cfg->in_channels : cfg->out_channels;
  unsigned ms = cfg->max_buffered_ms ? cfg->max_buffered_ms : CV_RESAMPLER_DEFAULT_BUFFER_MS;
  r->cap = (size_t)cfg->out_rate * ms / 1000;
  if (r->cap < 2 * cfg->out_frame_samples) r->cap = 2 * cfg->out_frame_samples;
  if (r->cap < out_bound(cfg, CHUNK)) r->cap = out_bound(cfg, CHUNK);
  r->rs_out_frames = out_bound(cfg, CHUNK);
  r->mix = malloc(sizeof(int16_t) * CHUNK * (size_t)r->rs_channels);
  r->rs_out = malloc(sizeof(int16_t) * r->rs_out_frames * (size_t)r->rs_channels);
  r->fifo = malloc(sizeof(int16_t) * r->cap * (size_t)cfg->out_channels);
  int err = RESAMPLER_ERR_SUCCESS;
  int same_rate = cfg->in_rate == cfg->out_rate;
  if (same_rate && r->mix && r->rs_out && r->fifo) {
    *out = r; /* nothing to resample: no filter (it cost the subscriber's 48 kHz path CPU and delay) */
    return CV_RESAMPLER_OK;
  }
  if (r->mix && r->rs_out && r->fifo)
    r->st = speex_resampler_init((spx_uint32_t)r->rs_channels, (spx_uint32_t)cfg->in_rate, (spx_uint32_t)cfg->out_rate,
                                 cfg->quality < 0 ? SPEEX_RESAMPLER_QUALITY_VOIP : cfg->quality, &err);
  if (!r->st) {
    int rc = (!r->mix || !r->rs_out || !r->fifo || err == RESAMPLER_ERR_ALLOC_FAILED) ? CV_RESAMPLER_ERR_NOMEM
                                                                                      : CV_RESAMPLER_ERR_CODEC;
    cv_resampler_free(r);
    return rc;
  }
  *out = r;
  return CV_RESAMPLER_OK;
}

void cv_resampler_free(cv_resampler *r) {
  if (!r) return;
  if (r->st) speex_resampler_destroy(r->st);
  free(r->mix);
  free(r->rs_out);
  free(r->fifo);
  free(r);
}

/* appends n frames of rs_channels samples to the FIFO, upmixing to out_channels; the caller
   checked the room */
static void fifo_write(cv_resampler *r, const int16_t *src, size_t n) {
  size_t oc = (size_t)r->cfg.out_channels, rc = (size_t)r->rs_channels;
  size_t tail = (r->head + r->count) % r->cap;
  for (size_t i = 0; i < n; i++) {
    int16_t *dst = r->fifo + tail * oc;
    for (size_t c = 0; c < oc; c++) dst[c] = src[i * rc + (c < rc ? c : 0)];
    if (++tail == r->cap) tail = 0;
  }
  r->count += n;
}

int cv_resampler_push(cv_resampler *r, const int16_t *in, size_t frames) {
  if (!r || (!in && frames)) return CV_RESAMPLER_ERR_ARG;
  if (frames == 0) return CV_RESAMPLER_OK;
  if (frames > r->cap * 6) return CV_RESAMPLER_ERR_ARG; /* could never fit (6: 48 kHz / 8 kHz); keeps out_bound from overflowing */
  if (out_bound(&r->cfg, frames) > r->cap) return CV_RESAMPLER_ERR_ARG;
  if (r->count + out_bound(&r->cfg, frames) > r->cap) return CV_RESAMPLER_ERR_FULL;
  size_t ic = (size_t)r->cfg.in_channels;
  for (size_t done = 0; done < frames;) {
    size_t n = frames - done < CHUNK ? frames - done : CHUNK;
    const int16_t *src = in + done * ic;
    if (ic == 2 && r->rs_channels == 1) {
      for (size_t i = 0; i < n; i++) r->mix[i] = (int16_t)(((int32_t)src[2 * i] + src[2 * i + 1]) / 2);
      src = r->mix;
    }
    if (!r->st) {
      fifo_write(r, src, n); /* room checked above: out_bound(frames) >= frames */
      done += n;
      continue;
    }
    spx_uint32_t consumed_total = 0;
    while (consumed_total < n) {
      spx_uint32_t in_len = (spx_uint32_t)(n - consumed_total), out_len = (spx_uint32_t)r->rs_out_frames;
      int e = speex_resampler_process_interleaved_int(r->st, src + (size_t)consumed_total * (size_t)r->rs_channels,
                                                      &in_len, r->rs_out, &out_len);
      if (e != RESAMPLER_ERR_SUCCESS) return CV_RESAMPLER_ERR_CODEC;
      if (out_len > r->cap - r->count) out_len = (spx_uint32_t)(r->cap - r->count); /* cannot happen: checked */
      fifo_write(r, r->rs_out, out_len);
      consumed_total += in_len;
      if (in_len == 0 && out_len == 0) return CV_RESAMPLER_ERR_CODEC; /* no progress */
    }
    done += n;
  }
  return CV_RESAMPLER_OK;
}

size_t cv_resampler_available(const cv_resampler *r) { return r ? r->count : 0; }

size_t cv_resampler_capacity(const cv_resampler *r) { return r ? r->cap : 0; }

size_t cv_resampler_pop(cv_resampler *r, int16_t *out, size_t max_frames) {
  if (!r || !out) return 0;
  size_t n = max_frames < r->count ? max_frames : r->count;
  size_t oc = (size_t)r->cfg.out_channels;
  size_t first = r->cap - r->head < n ? r->cap - r->head : n;
  memcpy(out, r->fifo + r->head * oc, first * oc * sizeof(int16_t));
  if (n > first) memcpy(out + first * oc, r->fifo, (n - first) * oc * sizeof(int16_t));
  r->head = (r->head + n) % r->cap;
  r->count -= n;
  return n;
}

int cv_resampler_pop_frame(cv_resampler *r, int16_t *out) {
  if (!r || !out || r->cfg.out_frame_samples == 0) return CV_RESAMPLER_ERR_ARG;
  if (r->count < r->cfg.out_frame_samples) return 0;
  cv_resampler_pop(r, out, r->cfg.out_frame_samples);
  return 1;
}

void cv_resampler_reset(cv_resampler *r) {
  if (!r) return;
  r->head = r->count = 0;
  if (r->st) speex_resampler_reset_mem(r->st);
}
