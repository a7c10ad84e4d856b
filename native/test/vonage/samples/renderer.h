/*
 * A headless stand-in for the SDL renderer of the Vonage Linux SDK samples
 * (opentok-linux-sdk-samples, common/src/renderer.h): the same RendererManager interface the
 * samples call, written for Convene's checks (native/test/vonage/check_samples.sh). Instead
 * of windows it converts each frame to ARGB32 (as a screen renderer does), hands it to the
 * thread running runEventLoop(), checks it there and counts it per renderer. runEventLoop()
 * returns after CONVENE_SAMPLE_SECONDS seconds (default 5) or on SIGINT / SIGTERM (the
 * samples' "window closed"), then prints one line per renderer:
 *
 *   headless-renderer: renderer 0 frames 150 size 1280x720 bad 0
 *
 * Renderers are numbered in createRenderer() order. Not SDL: nothing here opens a display.
 */
#ifndef CONVENE_HEADLESS_RENDERER_H
#define CONVENE_HEADLESS_RENDERER_H

/* What the samples take from SDL.h besides the renderer (SDL_stdinc.h pulls these in). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "opentok.h"

class RendererManager {
 public:
  RendererManager();
  ~RendererManager();
  RendererManager(const RendererManager &) = delete;
  RendererManager &operator=(const RendererManager &) = delete;
  void runEventLoop();  // on the thread that created the instance, as with SDL

  // Thread safe functions
  void addFrame(void *key, const otc_video_frame *frame);
  void createRenderer(void *key);
  void destroyRenderer(void *key);

 private:
  struct Stats {
    void *key;
    bool live;
    long frames, bad;
    int width, height;
  };
  struct Pending {
    void *key;
    otc_video_frame *argb;
  };
  Stats *find(void *key);  // the live renderer of key (lock held)
  void draw(const Pending &p);
  std::mutex lock_;
  std::condition_variable wake_;
  std::vector<Stats> renderers_;
  std::deque<Pending> queue_;  // at most kMaxQueued frames: older ones are dropped
  long dropped_ = 0, unknown_ = 0;
};

#endif
