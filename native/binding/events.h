// The events the binding carries from the C core's callbacks to JavaScript.
//
// The kinds are numbered here and only here: CONVENE_EVENT_KINDS lists them in order, and both
// the C++ enum and the addon's `EVENTS` export ({name: number}, read by lib/client/native.ts
// when it loads the addon) are made from that list. To add a kind: append it below, write its
// fields in marshal.cc (PutEvent, the layout is documented in lib/client/native.ts), add its name
// to EVENT_KINDS in native.ts and handle it in lib/client/session.ts. test/binding.test.ts checks
// that the two sides name the same kinds.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#define CONVENE_EVENT_KINDS(X)                                                                            \
  X(Connected)                                                                                            \
  X(Disconnected)                                                                                         \
  X(Error)                                                                                                \
  X(ConnectionCreated)                                                                                    \
  X(ConnectionDropped)                                                                                    \
  X(StreamReceived)                                                                                       \
  X(StreamDropped)                                                                                        \
  X(StreamAudio)                                                                                          \
  X(StreamVideo)                                                                                          \
  X(StreamDims)                                                                                           \
  X(StreamVideoType)                                                                                      \
  X(Signal)                                                                                               \
  X(Reconnecting)                                                                                         \
  X(Reconnected)                                                                                          \
  X(MuteForced)                                                                                           \
  X(Done)                                                                                                 \
  X(PubCreated)                                                                                           \
  X(PubDestroyed)                                                                                         \
  X(PubError)                                                                                             \
  X(SignalUndelivered)                                                                                    \
  X(PubAudioSpace)                                                                                        \
  X(SubConnected)                                                                                         \
  X(SubDisconnected)                                                                                      \
  X(SubError)                                                                                             \
  X(SubAudio)                                                                                             \
  X(SubVideo)                                                                                             \
  X(SubVideoEnabled)                                                                                      \
  X(SubVideoDisabled)

namespace convene_addon {

enum class Kind : uint8_t {
#define CONVENE_KIND_ENUMERATOR(name) name,
  CONVENE_EVENT_KINDS(CONVENE_KIND_ENUMERATOR)
#undef CONVENE_KIND_ENUMERATOR
};

struct KindName {
  Kind kind;
  const char* name;
};

// Every kind with its name, in numbering order (for the EVENTS export).
inline constexpr KindName kKindNames[] = {
#define CONVENE_KIND_NAME(name) {Kind::name, #name},
    CONVENE_EVENT_KINDS(CONVENE_KIND_NAME)
#undef CONVENE_KIND_NAME
};

// Slots per event in a delivered batch: target, kind, then up to five fields (a..e).
constexpr uint32_t kEventStride = 7;

// A connection as copied out of a callback (the C object is valid for the call only).
struct ConnData {
  std::string id, data;
  int64_t creation_time = 0;
};

// A stream as copied out of a callback.
struct StreamData {
  std::string id, connection_id, name;
  int64_t creation_time = 0;
  bool has_audio = false, has_video = false;
  int width = 0, height = 0;
  int video_type = 1;
};

// One frame of decoded PCM as copied out of a subscriber's on_audio_data (media thread).
struct AudioChunk {
  std::vector<int16_t> pcm;  // interleaved
  double timestamp = 0;      // ms since the epoch, when the core handed it over
  int sample_rate = 0;
  int channels = 0;
  float level = 0;  // peak, 0..1
};

// One decoded video frame as copied out of a subscriber's on_render_frame (media thread): its
// planes packed tightly in the subscriber's format. The bytes are malloc'ed: JavaScript gets
// them as the backing store of its Uint8Array (marshal.cc), which frees them: copied once.
struct VideoChunk {
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data;
  size_t size = 0;
  double timestamp_us = 0;
  int width = 0;
  int height = 0;
};

// One event: made on the service thread (callbacks.cc, publisher.cc, subscriber.cc) or the
// core's media thread (audio space, SubAudio, SubVideo), queued by the pump,
// turned into JavaScript values on the JS thread (marshal.cc). Owns all its data.
struct Event {
  explicit Event(Kind k) : kind(k) {}
  Kind kind;
  uint32_t sid = 0;  // the session it belongs to (SessionWrap id), set by the pump
  ConnData conn;
  StreamData stream;
  std::string s1, s2;  // reason / message / signal type+data
  int64_t i1 = 0, i2 = 0;
  bool b = false;
  bool has_from = false;
  std::vector<AudioChunk> audio;  // SubAudio: filled on the JS thread, from the subscriber's buffer
  std::vector<VideoChunk> video;  // SubVideo: likewise
};

}  // namespace convene_addon
