/*
 * Session state, the outgoing side: frames to the transport, acknowledgements of events,
 * and the pacing of requests (at most CV_MAX_IN_FLIGHT waiting for a result, a token bucket
 * under the server's flood guard). Service thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

#define ACK_EVERY 32
#define ACK_DELAY_MS 1000
/* Request pacing: the server closes a socket past 5 x signalsPerSecond + 100 frames in a
 * second (4429) and refuses signals past signalsPerSecond (1429, bucket of signalBurst). The
 * client stays under both with a token bucket of its own, 90 % of signalsPerSecond and half
 * of signalBurst (no pace when the server has no signal limit: its guard is then 1e6 frames
 * a second), and keeps at most CV_MAX_IN_FLIGHT requests waiting for their result. Traffic
 * under the server's limits goes out at once; a backlog (after a resume) drains at the pace. */
#define FLOOD_RETRY_FLOOR_MS 1000

/* ---- sending ---- */

void cv_state_send(otc_session *s, const char *text) { cv_transport_send(s->link, text); }

void cv_state_send_owned(otc_session *s, char *text) {
  cv_state_send(s, text);
  free(text);
}

static void send_ack(otc_session *s) {
  if (s->last_seq > s->acked_seq && s->link && atomic_load(&s->state) == CV_STATE_CONNECTED) {
    s->acked_seq = s->last_seq;
    /* an ack is small and frequent (fan-in: one per session a second): written at once, not
     * through a writable round (docs/benchmarks.md, the fan-in's system calls) */
    char *ack = cv_frame_ack(s->last_seq);
    cv_transport_send_now(s->link, ack);
    free(ack);
  }
}

static void ack_timer(struct cv_timer *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_ack);
  s->ack_scheduled = 0;
  send_ack(s);
}

/* After an event: acknowledge at once every ACK_EVERY events, else within ACK_DELAY_MS. */
void cv_state_ack_events(otc_session *s) {
  if (atomic_load(&s->state) != CV_STATE_CONNECTED) return;
  if (s->last_seq - s->acked_seq >= ACK_EVERY) {
    send_ack(s);
  } else if (s->last_seq > s->acked_seq && !s->ack_scheduled) {
    s->ack_scheduled = 1;
    cv_timer_schedule(&s->sul_ack, ack_timer, ACK_DELAY_MS);
  }
}

static void pace_tick(struct cv_timer *sul) {
  otc_session *s = lws_container_of(sul, otc_session, sul_pace);
  cv_state_pump(s);
}

void cv_state_pump(otc_session *s) {
  if (!s->unsent || !s->link || atomic_load(&s->state) != CV_STATE_CONNECTED) return;
  int paced = s->pace_rate > 0;
  if (paced) {
    int64_t now = cv_now_ms();
    s->pace_tokens += (double)(now - s->pace_at_ms) * s->pace_rate / 1000.0;
    if (s->pace_tokens > s->pace_burst) s->pace_tokens = s->pace_burst;
    s->pace_at_ms = now;
  }
  while (s->unsent && s->in_flight < CV_MAX_IN_FLIGHT && (!paced || s->pace_tokens >= 1.0)) {
    struct cv_pending *p = s->unsent;
    cv_state_send(s, p->text);
    p->sent = 1;
    s->in_flight++;
    s->unsent_count--;
    if (paced) s->pace_tokens -= 1.0;
    s->unsent = p->next;
  }
  if (!paced) return; /* a full window: results call pump again */
  /* out of tokens: come back when one is there; a full window: results call pump again */
  if (s->unsent && s->in_flight < CV_MAX_IN_FLIGHT) {
    int64_t ms = (int64_t)((1.0 - s->pace_tokens) * 1000.0 / s->pace_rate) + 1;
    cv_timer_schedule(&s->sul_pace, pace_tick, (ms < 2 ? 2 : ms));
  }
}

void cv_state_resend_after(otc_session *s, uint64_t last_request_id) {
  s->unsent = NULL;
  s->in_flight = 0;
  s->unsent_count = 0;
  for (struct cv_pending *p = s->pending_head; p; p = p->next) {
    if (p->id <= last_request_id) {
      p->sent = 2;
    } else {
      p->sent = 0;
      s->unsent_count++;
      if (!s->unsent) s->unsent = p;
    }
  }
  cv_state_pump(s);
}
