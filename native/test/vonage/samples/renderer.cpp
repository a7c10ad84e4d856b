/* The headless renderer of renderer.h: see there. */
#include "renderer.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {
const size_t kMaxQueued = 8;
volatile sig_atomic_t g_quit = 0;
void on_quit_signal(int) { g_quit = 1; }
}  // namespace

RendererManager::RendererManager() {
  signal(SIGINT, on_quit_signal);
  signal(SIGTERM, on_quit_signal);
}

RendererManager::~RendererManager() {
  for (auto &p : queue_) otc_video_frame_delete(p.argb);
}

RendererManager::Stats *RendererManager::find(void *key) {
  for (auto &r : renderers_)
    if (r.live && r.key == key) return &r;
  return nullptr;
}

void RendererManager::createRenderer(void *key) {
  std::lock_guard<std::mutex> g(lock_);
  if (!find(key)) renderers_.push_back(Stats{key, true, 0, 0, 0, 0});
}

void RendererManager::destroyRenderer(void *key) {
  std::lock_guard<std::mutex> g(lock_);
  Stats *r = find(key);
  if (r) r->live = false;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->key == key) {
      otc_video_frame_delete(it->argb);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

void RendererManager::addFrame(void *key, const otc_video_frame *frame) {
  // what the SDL renderer does: a copy in ARGB32, drawn later on the event loop's thread
  otc_video_frame *argb = otc_video_frame_convert(OTC_VIDEO_FRAME_FORMAT_ARGB32, frame);
  std::lock_guard<std::mutex> g(lock_);
  if (!find(key)) {
    unknown_++;
    if (argb) otc_video_frame_delete(argb);
    return;
  }
  if (queue_.size() >= kMaxQueued) {
    otc_video_frame_delete(queue_.front().argb);
    queue_.pop_front();
    dropped_++;
  }
  queue_.push_back(Pending{key, argb});
  wake_.notify_one();
}

void RendererManager::draw(const Pending &p) {
  Stats *r = find(p.key);
  if (!r) return;
  const otc_video_frame *f = p.argb;
  int w = f ? otc_video_frame_get_width(f) : 0, h = f ? otc_video_frame_get_height(f) : 0;
  const uint8_t *px = f ? otc_video_frame_get_plane_binary_data(f, static_cast<enum otc_video_frame_plane>(0)) : nullptr;
  int stride = f ? otc_video_frame_get_plane_stride(f, static_cast<enum otc_video_frame_plane>(0)) : 0;
  if (!f || otc_video_frame_get_format(f) != OTC_VIDEO_FRAME_FORMAT_ARGB32 || w <= 0 || h <= 0 || !px ||
      stride < w * 4) {
    r->bad++;
    return;
  }
  // "draw": touch the first and the last pixel row, as a texture upload would
  volatile uint8_t sink = px[0] ^ px[(size_t)(h - 1) * (size_t)stride + (size_t)w * 4 - 1];
  (void)sink;
  r->frames++;
  r->width = w;
  r->height = h;
}

void RendererManager::runEventLoop() {
  const char *env = getenv("CONVENE_SAMPLE_SECONDS");
  double seconds = env ? atof(env) : 5.0;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds((long)(seconds * 1000));
  std::unique_lock<std::mutex> g(lock_);
  while (!g_quit && std::chrono::steady_clock::now() < end) {
    wake_.wait_for(g, std::chrono::milliseconds(50), [this] { return !queue_.empty(); });
    while (!queue_.empty()) {
      Pending p = queue_.front();
      queue_.pop_front();
      draw(p);
      if (p.argb) otc_video_frame_delete(p.argb);
    }
  }
  for (size_t i = 0; i < renderers_.size(); i++) {
    const Stats &r = renderers_[i];
    printf("headless-renderer: renderer %zu frames %ld size %dx%d bad %ld\n", i, r.frames, r.width, r.height, r.bad);
  }
  printf("headless-renderer: dropped %ld, frames for no renderer %ld\n", dropped_, unknown_);
  fflush(stdout);
}
