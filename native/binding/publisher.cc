// A publisher of a session (see publisher.h).
#include "publisher.h"

#include <utility>

namespace convene_addon {

std::unique_ptr<Publisher> Publisher::Create(SessCtx* sess, int64_t id, const std::string& name, bool audio,
                                             bool video, const std::string& video_type, int audio_queue_ms,
                                             const VideoSourceOptions& video_source) {
  std::unique_ptr<Publisher> p(new Publisher(sess, id));
  struct otc_publisher_callbacks cb = {};
  cb.on_stream_created = OnCreated;
  cb.on_stream_destroyed = OnDestroyed;
  cb.on_error = OnError;
  cb.user_data = p.get();
  p->publisher_ = otc_publisher_new(name.c_str(), nullptr, &cb);
  if (!p->publisher_) return nullptr;
  convene_publisher_set_video_type(p->publisher_, video_type == "screen"   ? OTC_STREAM_VIDEO_TYPE_SCREEN
                                                  : video_type == "custom" ? OTC_STREAM_VIDEO_TYPE_CUSTOM
                                                                           : OTC_STREAM_VIDEO_TYPE_CAMERA);
  otc_publisher_set_publish_audio(p->publisher_, audio);
  otc_publisher_set_publish_video(p->publisher_, video);
  if (audio_queue_ms > 0) {
    if (convene_publisher_set_audio_source(p->publisher_, audio_queue_ms) != OTC_SUCCESS ||
        convene_publisher_set_on_audio_space(p->publisher_, OnAudioSpace, p.get()) != OTC_SUCCESS) {
      return nullptr;  // ~Publisher frees it
    }
  }
  if (video_source.width > 0 &&
      convene_publisher_set_video_source(p->publisher_, video_source.width, video_source.height, video_source.fps) !=
          OTC_SUCCESS) {
    return nullptr;
  }
  return p;
}

Publisher::~Publisher() {
  if (publisher_) otc_publisher_delete(publisher_);
}

void Publisher::OnCreated(otc_publisher*, void* u, const otc_stream* st) {
  auto* p = static_cast<Publisher*>(u);
  Event e(Kind::PubCreated);
  e.i1 = p->id_;
  e.stream = CopyStream(st);
  Queue(p->sess_, std::move(e));
}

void Publisher::OnDestroyed(otc_publisher*, void* u, const otc_stream* st) {
  auto* p = static_cast<Publisher*>(u);
  Event e(Kind::PubDestroyed);
  e.i1 = p->id_;
  e.stream = CopyStream(st);
  e.s1 = ReasonOr(convene_stream_get_reason(st));
  Queue(p->sess_, std::move(e));
}

void Publisher::OnError(otc_publisher*, void* u, const char* msg, enum otc_publisher_error_code code) {
  auto* p = static_cast<Publisher*>(u);
  Event e(Kind::PubError);
  e.i1 = p->id_;
  e.i2 = code;
  e.s1 = msg ? msg : "";
  Queue(p->sess_, std::move(e));
}

// Media thread: the queue, full before, has room again.
void Publisher::OnAudioSpace(otc_publisher*, void* u, int queued_ms) {
  auto* p = static_cast<Publisher*>(u);
  Event e(Kind::PubAudioSpace);
  e.i1 = p->id_;
  e.i2 = queued_ms;
  Queue(p->sess_, std::move(e));
}

}  // namespace convene_addon
