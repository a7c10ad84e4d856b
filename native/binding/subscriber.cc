// A subscriber of a session (see subscriber.h).
#include "subscriber.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace convene_addon {

namespace {

double NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

}  // namespace

std::unique_ptr<Subscriber> Subscriber::Create(SessCtx* sess, int64_t id, const otc_stream* stream,
                                               const SubscribeOptions& opt, otc_status* status) {
  size_t capacity = static_cast<size_t>(std::max(1, opt.buffer_ms / opt.frame_ms));
  std::unique_ptr<Subscriber> s(new Subscriber(sess, id, capacity));
  struct otc_subscriber_callbacks cb = {};
  cb.on_connected = OnConnected;
  cb.on_disconnected = OnDisconnected;
  cb.on_reconnected = OnReconnected;
  cb.on_error = OnError;
  cb.on_audio_data = OnAudioData;
  cb.user_data = s.get();
  s->subscriber_ = otc_subscriber_new(stream, &cb);
  if (!s->subscriber_) {
    *status = OTC_INVALID_PARAM;
    return nullptr;
  }
  otc_status st = convene_subscriber_set_audio_format(s->subscriber_, opt.sample_rate, opt.channels, opt.frame_ms);
  if (st == OTC_SUCCESS) st = otc_subscriber_set_subscribe_to_audio(s->subscriber_, opt.audio);
  if (st == OTC_SUCCESS) otc_subscriber_set_subscribe_to_video(s->subscriber_, OTC_FALSE);
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

}  // namespace convene_addon
