// A subscriber of a session (see subscriber.h).
#include "subscriber.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace convene_addon {

namespace {

double NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct FormatName {
  const char* name;
  enum otc_video_frame_format format;
  bool swap_rb;
};

// JavaScript names are the byte order in memory; the core's (libyuv's) are not (video_frame.h).
constexpr FormatName kVideoFormats[] = {
    {"I420", OTC_VIDEO_FRAME_FORMAT_YUV420P, false}, {"NV12", OTC_VIDEO_FRAME_FORMAT_NV12, false},
    {"BGRA", OTC_VIDEO_FRAME_FORMAT_ARGB32, false},  {"ARGB", OTC_VIDEO_FRAME_FORMAT_BGRA32, false},
    {"RGBA", OTC_VIDEO_FRAME_FORMAT_ABGR32, false},  {"ABGR", OTC_VIDEO_FRAME_FORMAT_RGBA32, false},
    {"BGR24", OTC_VIDEO_FRAME_FORMAT_RGB24, false},  {"RGB24", OTC_VIDEO_FRAME_FORMAT_RGB24, true},
};

// Copies a frame's planes, packed tightly one after the other, into c (malloc'ed); with
// swap_rb a 3-byte format's first and third bytes of every pixel change places. False for a
// format this side does not deliver, missing planes, or no memory.
bool PackFrame(const otc_video_frame* f, bool swap_rb, VideoChunk* c) {
  const int w = otc_video_frame_get_width(f), h = otc_video_frame_get_height(f);
  if (w <= 0 || h <= 0) return false;
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  enum otc_video_frame_plane plane[3];
  int row_bytes[3], rows[3], n = 0;
  switch (otc_video_frame_get_format(f)) {
    case OTC_VIDEO_FRAME_FORMAT_YUV420P:
      n = 3;
      plane[0] = OTC_VIDEO_FRAME_PLANE_Y, plane[1] = OTC_VIDEO_FRAME_PLANE_U, plane[2] = OTC_VIDEO_FRAME_PLANE_V;
      row_bytes[0] = w, row_bytes[1] = row_bytes[2] = cw;
      rows[0] = h, rows[1] = rows[2] = ch;
      break;
    case OTC_VIDEO_FRAME_FORMAT_NV12:
      n = 2;
      plane[0] = OTC_VIDEO_FRAME_PLANE_Y, plane[1] = OTC_VIDEO_FRAME_PLANE_UV_INTERLEAVED;
      row_bytes[0] = w, row_bytes[1] = 2 * cw;
      rows[0] = h, rows[1] = ch;
      break;
    case OTC_VIDEO_FRAME_FORMAT_ARGB32:
    case OTC_VIDEO_FRAME_FORMAT_BGRA32:
    case OTC_VIDEO_FRAME_FORMAT_ABGR32:
    case OTC_VIDEO_FRAME_FORMAT_RGBA32:
      n = 1, plane[0] = OTC_VIDEO_FRAME_PLANE_PACKED, row_bytes[0] = 4 * w, rows[0] = h;
      break;
    case OTC_VIDEO_FRAME_FORMAT_RGB24:
      n = 1, plane[0] = OTC_VIDEO_FRAME_PLANE_PACKED, row_bytes[0] = 3 * w, rows[0] = h;
      break;
    default:
      return false;
  }
  const bool swap = swap_rb && otc_video_frame_get_format(f) == OTC_VIDEO_FRAME_FORMAT_RGB24;
  size_t total = 0;
  for (int i = 0; i < n; i++) total += static_cast<size_t>(row_bytes[i]) * static_cast<size_t>(rows[i]);
  c->data.reset(static_cast<uint8_t*>(std::malloc(total)));
  if (!c->data) return false;
  uint8_t* out = c->data.get();
  for (int i = 0; i < n; i++) {
    const uint8_t* src = otc_video_frame_get_plane_binary_data(f, plane[i]);
    const int stride = otc_video_frame_get_plane_stride(f, plane[i]);
    if (src == nullptr || stride < row_bytes[i]) {
      c->data.reset();
      return false;
    }
    for (int y = 0; y < rows[i]; y++, src += stride, out += row_bytes[i]) {
      if (!swap) {
        std::memcpy(out, src, static_cast<size_t>(row_bytes[i]));
        continue;
      }
      for (int x = 0; x < row_bytes[i]; x += 3) out[x] = src[x + 2], out[x + 1] = src[x + 1], out[x + 2] = src[x];
    }
  }
  c->size = total;
  c->width = w;
  c->height = h;
  return true;
}

}  // namespace

bool VideoFormatFromName(const std::string& name, enum otc_video_frame_format* format, bool* swap_rb) {
  for (const FormatName& f : kVideoFormats) {
    if (name == f.name) {
      *format = f.format;
      *swap_rb = f.swap_rb;
      return true;
    }
  }
  return false;
}

std::unique_ptr<Subscriber> Subscriber::Create(SessCtx* sess, int64_t id, const otc_stream* stream,
                                               const SubscribeOptions& opt, otc_status* status) {
  size_t capacity = static_cast<size_t>(std::max(1, opt.buffer_ms / opt.frame_ms));
  size_t video_capacity = static_cast<size_t>(std::max(1, opt.video_buffer));
  std::unique_ptr<Subscriber> s(new Subscriber(sess, id, capacity, video_capacity, opt.swap_rb));
  struct otc_subscriber_callbacks cb = {};
  cb.on_connected = OnConnected;
  cb.on_disconnected = OnDisconnected;
  cb.on_reconnected = OnReconnected;
  cb.on_error = OnError;
  cb.on_audio_data = OnAudioData;
  cb.on_render_frame = OnRenderFrame;
  cb.on_video_enabled = OnVideoEnabled;
  cb.on_video_disabled = OnVideoDisabled;
  cb.user_data = s.get();
  s->subscriber_ = otc_subscriber_new(stream, &cb);
  if (!s->subscriber_) {
    *status = OTC_INVALID_PARAM;
    return nullptr;
  }
  otc_status st = convene_subscriber_set_audio_format(s->subscriber_, opt.sample_rate, opt.channels, opt.frame_ms);
  if (st == OTC_SUCCESS) st = convene_subscriber_set_video_format(s->subscriber_, opt.video_format);
  if (st == OTC_SUCCESS) st = otc_subscriber_set_subscribe_to_audio(s->subscriber_, opt.audio);
  if (st == OTC_SUCCESS) st = otc_subscriber_set_subscribe_to_video(s->subscriber_, opt.video);
  if (st != OTC_SUCCESS) {
    *status = st;
    return nullptr;  // ~Subscriber frees it
  }
  *status = OTC_SUCCESS;
  return s;
}

Subscriber::~Subscriber() {
  if (subscriber_) otc_subscriber_delete(subscriber_);
}

void Subscriber::TakeAudio(Event* e) {
  std::lock_guard<std::mutex> lock(mu_);
  e->audio.reserve(buf_.size());
  for (AudioChunk& c : buf_) e->audio.push_back(std::move(c));
  buf_.clear();
  announced_ = false;
  e->i2 = dropped_;
}

void Subscriber::TakeVideo(Event* e) {
  std::lock_guard<std::mutex> lock(video_mu_);
  e->video.reserve(video_buf_.size());
  for (VideoChunk& c : video_buf_) e->video.push_back(std::move(c));
  video_buf_.clear();
  video_announced_ = false;
  e->i2 = video_dropped_;
}

void Subscriber::OnConnected(otc_subscriber*, void* u, const otc_stream*) {
  auto* s = static_cast<Subscriber*>(u);
  Event e(Kind::SubConnected);
  e.i1 = s->id_;
  Queue(s->sess_, std::move(e));
}

void Subscriber::OnDisconnected(otc_subscriber*, void* u) {
  auto* s = static_cast<Subscriber*>(u);
  Event e(Kind::SubDisconnected);
  e.i1 = s->id_;
  Queue(s->sess_, std::move(e));
}

// Back after a disconnection: JavaScript tells it from the first SubConnected (subscribe() is settled by then).
void Subscriber::OnReconnected(otc_subscriber*, void* u) {
  auto* s = static_cast<Subscriber*>(u);
  Event e(Kind::SubConnected);
  e.i1 = s->id_;
  Queue(s->sess_, std::move(e));
}

void Subscriber::OnError(otc_subscriber*, void* u, const char* msg, enum otc_subscriber_error_code code) {
  auto* s = static_cast<Subscriber*>(u);
  Event e(Kind::SubError);
  e.i1 = s->id_;
  e.i2 = code;
  e.s1 = msg ? msg : "";
  Queue(s->sess_, std::move(e));
}

// Media thread: one copy of the frame, into the bounded buffer.
void Subscriber::OnAudioData(otc_subscriber*, void* u, const struct otc_audio_data* d) {
  auto* s = static_cast<Subscriber*>(u);
  if (d == nullptr || d->sample_buffer == nullptr || d->bits_per_sample != 16 || d->number_of_channels == 0) return;
  size_t n = d->number_of_samples * d->number_of_channels;
  const int16_t* in = static_cast<const int16_t*>(d->sample_buffer);
  AudioChunk c;
  c.pcm.assign(in, in + n);
  int peak = 0;
  for (size_t i = 0; i < n; i++) peak = std::max(peak, std::abs(static_cast<int>(in[i])));
  c.level = std::min(1.0f, static_cast<float>(peak) / 32767.0f);
  c.timestamp = NowMs();
  c.sample_rate = d->sample_rate;
  c.channels = static_cast<int>(d->number_of_channels);
  bool announce = false;
  {
    std::lock_guard<std::mutex> lock(s->mu_);
    if (s->buf_.size() >= s->capacity_) {
      s->buf_.pop_front();  // the oldest goes: audio is real time
      s->dropped_++;
    }
    s->buf_.push_back(std::move(c));
    if (!s->announced_) announce = s->announced_ = true;
  }
  if (announce) {
    Event e(Kind::SubAudio);
    e.i1 = s->id_;
    Queue(s->sess_, std::move(e));
  }
}

// Media thread: one copy of the frame (packed, in the subscriber's format), into the bounded buffer.
void Subscriber::OnRenderFrame(otc_subscriber*, void* u, const otc_video_frame* frame) {
  auto* s = static_cast<Subscriber*>(u);
  if (frame == nullptr) return;
  VideoChunk c;
  if (!PackFrame(frame, s->swap_rb_, &c)) return;
  c.timestamp_us = static_cast<double>(otc_video_frame_get_timestamp(frame));
  bool announce = false;
  {
    std::lock_guard<std::mutex> lock(s->video_mu_);
    if (s->video_buf_.size() >= s->video_capacity_) {
      s->video_buf_.pop_front();  // the oldest goes: video is real time
      s->video_dropped_++;
    }
    s->video_buf_.push_back(std::move(c));
    if (!s->video_announced_) announce = s->video_announced_ = true;
  }
  if (announce) {
    Event e(Kind::SubVideo);
    e.i1 = s->id_;
    Queue(s->sess_, std::move(e));
  }
}

void Subscriber::OnVideoEnabled(otc_subscriber*, void* u, enum otc_video_reason reason) {
  auto* s = static_cast<Subscriber*>(u);
  Event e(Kind::SubVideoEnabled);
  e.i1 = s->id_;
  e.i2 = reason;
  Queue(s->sess_, std::move(e));
}

void Subscriber::OnVideoDisabled(otc_subscriber*, void* u, enum otc_video_reason reason) {
  auto* s = static_cast<Subscriber*>(u);
  Event e(Kind::SubVideoDisabled);
  e.i1 = s->id_;
  e.i2 = reason;
  Queue(s->sess_, std::move(e));
}

}  // namespace convene_addon
