/*
 * The state layer's own declarations, shared by its files (state*.c, recovery.c). The
 * layer's entry points for the api layer are in internal.h.
 *
 *   state.c            connecting, the handshake, the transport's events, keepalive
 *   state_dispatch.c   events in: decode, sequence, dispatch, callbacks
 *   state_out.c        frames out, acknowledgements, pacing of requests
 *   state_request.c    requests and their one final callback
 *   state_publisher.c  publishers and their streams
 *   state_end.c        the session's end, written once: losses, causes, callbacks; freeing
 *   recovery.c         carries out policy.c's reconnection decisions
 */
#ifndef CONVENE_STATE_H
#define CONVENE_STATE_H

#include "internal.h"

#define CV_MAX_IN_FLIGHT 1024
#define CV_FLOOD_CODE 4429 /* CONVENE_FLOOD: fatal, close 1008 */

/* A request's completion, once, unless the session was deleted. */
#define CV_COMPLETE(s, done, data, code, msg)                        \
  do {                                                               \
    if ((done) && !(s)->end.deleted) {                                   \
      (s)->in_callback++;                                            \
      (done)((s), (s)->cb.user_data, (data), (code), (msg));         \
      (s)->in_callback--;                                            \
    }                                                                \
  } while (0)

/* state.c */
/* Disconnects (a disconnect request when connected) and ends the session for `cause`
 * (CV_END_CLIENT or CV_END_DELETE). */
void cv_state_disconnect_for(otc_session *s, enum cv_end_cause cause);
/* state_end.c */
/* Whether a drop can be resumed: a resume token, and the server did not end the session. */
int cv_state_can_resume(otc_session *s);
/* A connect starts (the application's, or a rejoin's). */
void cv_state_life_connecting(otc_session *s);
/* state_out.c */
void cv_state_send_owned(otc_session *s, char *text /* freed */);
void cv_state_ack_events(otc_session *s);
/* state_request.c */
void cv_state_on_result(otc_session *s, json_t *f);
/* Ends every request still waiting: each gets its final callback (see state_request.c). */
void cv_state_end_requests(otc_session *s, int fail_signals);
/* state_publisher.c */
otc_publisher *cv_state_publisher_of_stream(otc_session *s, const char *stream_id);
void cv_state_drop_publisher(otc_session *s, otc_publisher *p);
void cv_state_publisher_stream_gone(otc_session *s, otc_publisher *p, const char *reason);
/* Publishers of this session lose their streams when the session ends. */
void cv_state_end_publishers(otc_session *s);
/* state_subscriber.c */
void cv_state_subscribe_result(otc_session *s, otc_subscriber *sub, json_t *f);
/* streamInterrupted, streamRestored or streamDestroyed, for the subscribers of that stream. */
void cv_state_subscribers_stream_event(otc_session *s, const char *stream_id, enum cv_frame_type type);
void cv_state_subscribers_audio_changed(otc_session *s, const char *stream_id, int has_audio);
void cv_state_subscribers_video_changed(otc_session *s, const char *stream_id, int has_video);
/* The session ended: its subscriptions end (on_error 1010 unless deleted). */
void cv_state_end_subscribers(otc_session *s);
/* A completion that only logs a failure (unsubscribe: the Vonage SDK reports nothing). */
void cv_state_ignore_completion(otc_session *s, void *user_data, void *request_data, int error_code, const char *message);

#endif
