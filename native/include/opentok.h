/*
 * Convene C client: the session API of the Vonage Video (OpenTok) Linux SDK.
 *
 * Threading, said once: the library runs one service thread per process, started by
 * otc_init() and joined by otc_destroy(). Every public function may be called from any
 * thread, including from inside a callback: it enqueues a command and wakes the service
 * thread. Exceptions are listed at the function. Every callback runs on the service
 * thread; pointers it is handed (other than the session and user_data) are valid only
 * during the call: copy what you keep (otc_connection_copy, otc_stream_copy).
 *
 * Ownership, as in the Vonage SDK: the caller frees only what it created (otc_*_new,
 * otc_*_copy) with the matching otc_*_delete. Everything a getter returns belongs to the
 * library (otc_session_get_id, otc_session_get_connection: until otc_session_delete;
 * otc_publisher_get_stream: until otc_publisher_delete); each function says so.
 */
#ifndef CONVENE_OPENTOK_H
#define CONVENE_OPENTOK_H

#include "opentok/config.h"
#include "opentok/base.h"
#include "opentok/capabilities.h"
#include "opentok/error.h"
#include "opentok/connection.h"
#include "opentok/stream.h"
#include "opentok/video_frame.h"
#include "opentok/video_capturer.h"
#include "opentok/publisher.h"
#include "opentok/subscriber.h"
#include "opentok/audio_device.h"
#include "opentok/session.h"
#include "opentok/convene.h"

#endif
