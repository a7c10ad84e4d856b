// Events to JavaScript values (JS thread). The slot layout of each kind is documented once, in
// lib/client/native.ts (the reading side).
#pragma once

#include <napi.h>

#include "events.h"

namespace convene_addon {

// Writes one event's kEventStride slots into the batch array `arr`, starting at `base`:
// [target, kind, a, b, c, d, e]; unused fields are undefined.
// A SubVideo event's frames are moved out of `e` (their bytes become the Uint8Arrays').
void PutEvent(Napi::Env env, napi_value arr, uint32_t base, napi_value target, Event& e);

// Per frame of a SubAudio event, in its Float64Array: timestamp, sample rate, channels, level.
constexpr uint32_t kAudioMeta = 4;

// Per frame of a SubVideo event, in its Float64Array: timestamp (us), width, height.
constexpr uint32_t kVideoMeta = 3;

// The EVENTS export: a frozen {name: number} of every kind (events.h).
Napi::Object EventKindsObject(Napi::Env env);

}  // namespace convene_addon
