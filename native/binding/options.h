// Session options (the object lib/client passes, SessionOptions in lib/client/types.ts) to the
// core's otc_session_settings. Every option may be left out (undefined or null); one of the
// wrong type or out of range throws a TypeError naming it.
#pragma once

#include <napi.h>

extern "C" {
#include "opentok.h"
}

namespace convene_addon {

// New settings (the caller frees them with otc_session_settings_delete), or nullptr once a
// TypeError was thrown (or a getter of `opts` threw). *suppressed: connectionEventsSuppressed.
struct otc_session_settings* SettingsFromOptions(Napi::Env env, Napi::Object opts, bool* suppressed);

}  // namespace convene_addon
