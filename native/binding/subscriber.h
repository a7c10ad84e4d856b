// A subscriber of a session: the core's otc_subscriber, its callbacks and its audio buffer.
// Owned by its SessionWrap (JS thread).
//
// Audio: on_audio_data (the core's media thread) copies each frame into a bounded buffer
// (buffer_ms of audio; the oldest frames are dropped and counted when JavaScript does not
// take them in time) and, when the buffer was empty of undelivered frames, queues one
// SubAudio event on the session's pump. On the JS thread the pump hands that event every
// frame buffered by then (TakeAudio): frames cross in batches, one event per subscriber per
// batch, and the buffer is the only place they wait.
//
// Video works the same way: on_render_frame (media thread) copies each decoded frame, already
// in the subscriber's format (convene_subscriber_set_video_format), its planes packed tightly,
// into a buffer bounded in frames (video_buffer), and queues one SubVideo event when that was
// empty of undelivered frames; the pump hands the event every frame buffered by then
// (TakeVideo). That copy is the only one: the JavaScript Uint8Array is made over its bytes.
//
// Other callbacks (service thread) queue SubConnected / SubDisconnected / SubError /
// SubVideoEnabled / SubVideoDisabled under the JS subscription id.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "callbacks.h"

namespace convene_addon {

struct SubscribeOptions {
  bool audio = true;
  int sample_rate = 48000;
  int channels = 1;
  int frame_ms = 10;
  int buffer_ms = 2000;
  bool video = true;
  enum otc_video_frame_format video_format = OTC_VIDEO_FRAME_FORMAT_YUV420P;
  bool swap_rb = false;  // RGB24 (R G B in memory): the core's RGB24 (B G R) with R and B swapped on the copy
  int video_buffer = 4;  // frames
};

// A video format as JavaScript names it (VideoFormat in lib/client/types.ts: byte order in
// memory) to the core's format, plus whether R and B must be swapped (RGB24, which the core
// has as B G R only). False for an unknown name.
bool VideoFormatFromName(const std::string& name, enum otc_video_frame_format* format, bool* swap_rb);

class Subscriber {
 public:
  // A subscriber of `stream` (not subscribed yet); nullptr (and *status set) if the core refuses it.
  static std::unique_ptr<Subscriber> Create(SessCtx* sess, int64_t id, const otc_stream* stream,
                                            const SubscribeOptions& opt, otc_status* status);
  // Unsubscribes if subscribed and frees the core's subscriber; waits for the core's threads,
  // so no callback of this subscriber runs after it.
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  otc_subscriber* get() const { return subscriber_; }

  // JS thread: moves the buffered frames into e->audio (oldest first) and the drop count
  // so far into e->i2; the next frame queues a new SubAudio event.
  void TakeAudio(Event* e);
  // JS thread: the same for video (e->video; SubVideo).
  void TakeVideo(Event* e);

 private:
  Subscriber(SessCtx* sess, int64_t id, size_t capacity, size_t video_capacity, bool swap_rb)
      : sess_(sess), id_(id), capacity_(capacity), video_capacity_(video_capacity), swap_rb_(swap_rb) {}
  static void OnConnected(otc_subscriber*, void* u, const otc_stream*);
  static void OnDisconnected(otc_subscriber*, void* u);
  static void OnReconnected(otc_subscriber*, void* u);
  static void OnError(otc_subscriber*, void* u, const char* msg, enum otc_subscriber_error_code code);
  static void OnAudioData(otc_subscriber*, void* u, const struct otc_audio_data* data);
  static void OnRenderFrame(otc_subscriber*, void* u, const otc_video_frame* frame);
  static void OnVideoEnabled(otc_subscriber*, void* u, enum otc_video_reason reason);
  static void OnVideoDisabled(otc_subscriber*, void* u, enum otc_video_reason reason);

  SessCtx* sess_;  // the owning session's: outlives this subscriber
  int64_t id_;     // the JS subscription id
  otc_subscriber* subscriber_ = nullptr;

  std::mutex mu_;               // guards what follows (media thread and JS thread)
  const size_t capacity_;       // frames
  std::deque<AudioChunk> buf_;  // frames not handed to JS yet
  bool announced_ = false;      // a SubAudio event is on its way: later frames ride along
  int64_t dropped_ = 0;         // frames dropped from buf_ (oldest first)

  std::mutex video_mu_;                // guards what follows (media thread and JS thread)
  const size_t video_capacity_;        // frames
  const bool swap_rb_;                 // see SubscribeOptions
  std::deque<VideoChunk> video_buf_;   // frames not handed to JS yet
  bool video_announced_ = false;       // a SubVideo event is on its way
  int64_t video_dropped_ = 0;          // frames dropped from video_buf_ (oldest first)
};

}  // namespace convene_addon
