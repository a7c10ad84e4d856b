// A publisher of a session: the core's otc_publisher and the context its callbacks get. Its
// callbacks (service thread) queue PubCreated / PubDestroyed / PubError events under the JS
// publisher id, on the session's pump; with an audio source, the core's "room again" callback
// (media thread) queues PubAudioSpace. With a video source, JavaScript writes frames to it
// (SessionWrap::WriteVideo). Owned by its SessionWrap.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "callbacks.h"

namespace convene_addon {

// A video source (convene_publisher_set_video_source): frames from writeVideo, encoded at
// this size and rate. width 0: none.
struct VideoSourceOptions {
  int width = 0;
  int height = 0;
  int fps = 0;
};

class Publisher {
 public:
  // A publisher named `name`, not published yet; nullptr if the core refuses it. With
  // audio_queue_ms > 0 its audio comes from convene_publisher_write_audio (a queue that long);
  // with a video source, its video from convene_publisher_write_video.
  static std::unique_ptr<Publisher> Create(SessCtx* sess, int64_t id, const std::string& name, bool audio, bool video,
                                           const std::string& video_type, int audio_queue_ms,
                                           const VideoSourceOptions& video_source);
  // Unpublishes if published and frees the core's publisher; waits for the service thread,
  // so no callback of this publisher runs after it.
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  otc_publisher* get() const { return publisher_; }

 private:
  Publisher(SessCtx* sess, int64_t id) : sess_(sess), id_(id) {}
  static void OnCreated(otc_publisher*, void* u, const otc_stream* st);
  static void OnDestroyed(otc_publisher*, void* u, const otc_stream* st);
  static void OnError(otc_publisher*, void* u, const char* msg, enum otc_publisher_error_code code);
  static void OnAudioSpace(otc_publisher*, void* u, int queued_ms);

  SessCtx* sess_;  // the owning session's: outlives this publisher
  int64_t id_;     // the JS publisher id
  otc_publisher* publisher_ = nullptr;
};

}  // namespace convene_addon
