/*
 * Internal structures of the Convene C core, shared by its files. Not installed.
 *
 * Five layers; each calls only the layers below it (arrows point down), and a lower one
 * reports upward only through a table of function pointers its caller gives it:
 *
 *   api        session.c publisher.c convene.c (the public otc_ and convene_ functions: check,
 *              copy, enqueue) -> service.c (the service thread: lws context, runs commands)
 *              cmd_queue.c (commands from any thread to the service thread)
 *     |
 *   state      state.c (handshake, keepalive) state_dispatch.c (events in) state_out.c (frames
 *              out, acks, pace) state_request.c state_publisher.c state_end.c (the session's
 *              end, written once) recovery.c (carries out the recovery policy's decisions:
 *              timers, new sockets, resume, rejoin). Service thread only.
 *     |                        |
 *   protocol   frame.c (codec)   |     transport   transport.c (libwebsockets adapter:
 *              objects.c         |                 sockets, write queue, pings, fragments;
 *              policy.c (pure    |                 reports through struct cv_transport_events)
 *              decisions: backoff, reconnection, keepalive, pace)
 *     |                                 |
 *   base       log.c clock.c timer.c (deadline heap)
 *
 * Each layer is its own static library, linked in that order, and each is also linked alone
 * into a shared object with -Wl,--no-undefined (CMakeLists.txt, "layer checks"): a call from
 * a lower layer to a higher one fails the build. See docs/architecture.md.
 */
#ifndef CONVENE_INTERNAL_H
#define CONVENE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "opentok.h"
#include "opentok/convene.h"
#include "media/engine.h"

#define CV_MAX_SIGNAL_TYPE 128
#define CV_MAX_SIGNAL_DATA 8192
/* A publisher that says nothing of its size announces this (as a Vonage publisher without a
 * video capturer of its own: the SDK's default capturer is 640x480). */
#define CV_DEFAULT_VIDEO_WIDTH 640
#define CV_DEFAULT_VIDEO_HEIGHT 480
#define CV_SDK_NAME "convene-c"
#define CV_SDK_VERSION "0.1.0"

/* ---- log.c ---- */
void cv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define CV_ERROR(...) cv_log(OTC_LOG_LEVEL_ERROR, __VA_ARGS__)
#define CV_WARN(...) cv_log(OTC_LOG_LEVEL_WARN, __VA_ARGS__)
#define CV_INFO(...) cv_log(OTC_LOG_LEVEL_INFO, __VA_ARGS__)
#define CV_DEBUG(...) cv_log(OTC_LOG_LEVEL_DEBUG, __VA_ARGS__)

/* ---- objects.c: connections and streams ---- */
struct otc_connection {
  /* One allocation: id and data (and session_id when owned) are stored after the struct. */
  const char *id;
  const char *data;
  const char *session_id; /* borrowed from the session for the session's own table entries */
  int64_t creation_time;
  const char *reason; /* static; set only while on_connection_dropped runs */
  int lib_owned;      /* handed out by a getter: otc_connection_delete refuses it */
};

struct otc_stream {
  char *id;
  char *name;
  otc_connection *connection; /* owned */
  int64_t creation_time;
  otc_bool has_audio;
  otc_bool has_video;
  int width;
  int height;
  enum otc_stream_video_type video_type;
  const char *reason; /* static; set only while a stream-gone callback runs */
  int lib_owned;      /* handed out by a getter: otc_stream_delete refuses it */
  /* media tracks attach here in a later version */
};

otc_connection *cv_connection_from_json(const json_t *obj, const char *session_id);
/* The same, borrowing session_id: only for connections freed before their session's id. */
otc_connection *cv_connection_from_json_in(const json_t *obj, const char *session_id);
otc_stream *cv_stream_from_json(const json_t *obj, const otc_connection *owner, const char *session_id);
enum otc_stream_video_type cv_video_type_from_string(const char *s);
const char *cv_video_type_to_string(enum otc_stream_video_type t);
/* Copies for getters (otc_session_get_connection, otc_publisher_get_stream): owned by the
 * library (the public *_delete refuses them), freed with cv_*_free_owned. */
otc_connection *cv_connection_owned_copy(const otc_connection *c);
void cv_connection_free_owned(otc_connection *c);
otc_stream *cv_stream_owned_copy(const otc_stream *s);
void cv_stream_free_owned(otc_stream *s);

/* A growable array of owned pointers in insertion order, looked up by id: linearly while
 * small, through an open-addressing hash index (item index + 1 per slot) from 16 items on. */
struct cv_table {
  void **items;
  size_t len;
  size_t cap;
  uint32_t *idx;
  size_t idx_cap; /* a power of two, or 0 without an index */
};
/* get_id may be NULL for a table never looked up by id (no index is kept). */
int cv_table_add(struct cv_table *t, void *item, const char *(*get_id)(const void *));
void *cv_table_find(const struct cv_table *t, const char *id, const char *(*get_id)(const void *));
void *cv_table_remove(struct cv_table *t, const char *id, const char *(*get_id)(const void *));
/* Forgets every item (not freed) and the index. */
void cv_table_clear(struct cv_table *t);
/* Frees the table's own memory (not the items). */
void cv_table_free(struct cv_table *t);
const char *cv_connection_id_of(const void *c);
const char *cv_stream_id_of(const void *s);

/* ---- frame.c: protocol v1 codec (pure) ---- */
enum cv_frame_type {
  CV_FRAME_UNKNOWN = 0,
  CV_FRAME_CONNECTED,
  CV_FRAME_RESUMED,
  CV_FRAME_ERROR,
  CV_FRAME_PONG,
  CV_FRAME_RESULT,
  CV_FRAME_CONNECTION_CREATED,
  CV_FRAME_CONNECTION_DESTROYED,
  CV_FRAME_STREAM_CREATED,
  CV_FRAME_STREAM_DESTROYED,
  CV_FRAME_STREAM_PROPERTY_CHANGED,
  CV_FRAME_SIGNAL,
  CV_FRAME_MUTE_FORCED,
  CV_FRAME_SESSION_DISCONNECTED,
  CV_FRAME_SIGNAL_UNDELIVERED,
  CV_FRAME_STREAM_INTERRUPTED, /* 1.1: a subscribed stream's publisher dropped (grace window) */
  CV_FRAME_STREAM_RESTORED,    /* 1.1: it resumed */
  CV_FRAME_KEYFRAME_REQUESTED, /* 1.1: send a keyframe on the stream's video track */
};

struct cv_frame {
  enum cv_frame_type type;
  uint64_t seq; /* 0 for control frames */
  json_t *root; /* owned: release with cv_frame_clear() */
};

/* Decodes one text frame. Returns 0, or -1 when it is not a JSON object with a string
 * type or its seq is not a positive integer (frame left cleared). Never crashes. */
int cv_frame_decode(const char *text, size_t len, struct cv_frame *out);
void cv_frame_clear(struct cv_frame *f);
/* Encoders return malloc'd text the caller frees, or NULL on no memory. */
char *cv_frame_connect(const char *api_key, const char *session_id, const char *token, int suppressed);
char *cv_frame_resume(const char *api_key, const char *session_id, const char *connection_id,
                      const char *resume_token, uint64_t last_seq);
/* `fields` (may be NULL) is consumed. */
char *cv_frame_request(const char *type, uint64_t id, json_t *fields);
char *cv_frame_ack(uint64_t seq);
/* 0 when a signal type/data pair is valid, else the otc_session_error_code. */
int cv_signal_check(const char *type, const char *data);
/* Helpers reading fields of a decoded frame ("" / 0 when absent). */
const char *cv_json_str(const json_t *obj, const char *key);
int64_t cv_json_int(const json_t *obj, const char *key);
int cv_json_bool(const json_t *obj, const char *key);

/* The kinds of request a session sends (protocol v1 request frames). */
enum cv_request_kind {
  CV_REQ_SIGNAL,
  CV_REQ_PUBLISH,
  CV_REQ_UNPUBLISH,
  CV_REQ_UPDATE_STREAM,
  CV_REQ_FORCE_DISCONNECT,
  CV_REQ_FORCE_UNPUBLISH,
  CV_REQ_FORCE_MUTE_STREAM,
  CV_REQ_FORCE_MUTE_ALL,
  CV_REQ_DISABLE_FORCE_MUTE,
  CV_REQ_SUBSCRIBE,   /* 1.1 */
  CV_REQ_UNSUBSCRIBE, /* 1.1 */
  CV_REQ_REQUEST_KEYFRAME, /* 1.1: a subscriber asks the publisher of a stream for a keyframe */
  CV_REQ_COUNT
};
/* The frame type of a request kind ("signal", "publish", ...); NULL when out of range. */
const char *cv_request_name(enum cv_request_kind kind);
/* The kind named `name`, or -1. */
int cv_request_kind_of(const char *name);

/* ---- cmd_queue.c: commands from any thread to the service thread ---- */
enum cv_cmd_type {
  CV_CMD_CONNECT,
  CV_CMD_DISCONNECT,
  CV_CMD_DELETE,
  CV_CMD_REQUEST,
  CV_CMD_PUBLISH,
  CV_CMD_UNPUBLISH,
  CV_CMD_PUBLISHER_UPDATE,
  CV_CMD_PUBLISHER_DELETE,
  CV_CMD_SUBSCRIBE,
  CV_CMD_UNSUBSCRIBE,
  CV_CMD_SUBSCRIBER_UPDATE, /* subscribe to audio/video changed */
  CV_CMD_SUBSCRIBER_DELETE,
  CV_CMD_STOP,
};

struct cv_cmd {
  enum cv_cmd_type type;
  otc_session *session;
  otc_publisher *publisher;
  otc_subscriber *subscriber; /* SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBER_* */
  char *text;       /* CONNECT: token */
  enum cv_request_kind req; /* REQUEST: what is requested */
  json_t *fields;   /* REQUEST, PUBLISHER_UPDATE: owned */
  int retry;        /* REQUEST signal: retry_after_reconnect */
  convene_completion_cb on_done; /* REQUEST: completion (may be NULL) */
  void *done_data;
  atomic_int *done; /* when set, the service thread stores 1 and broadcasts */
  struct cv_cmd *next;
};

struct cv_cmdq {
  pthread_mutex_t lock;
  struct cv_cmd *head;
  struct cv_cmd *tail;
};

void cv_cmdq_init(struct cv_cmdq *q);
void cv_cmdq_destroy(struct cv_cmdq *q);
/* Returns 1 when the queue was empty: only then does the service thread need waking (it
 * takes everything queued when it wakes). */
int cv_cmdq_push(struct cv_cmdq *q, struct cv_cmd *cmd);
/* Takes every queued command, oldest first (a list the caller owns). */
struct cv_cmd *cv_cmdq_take_all(struct cv_cmdq *q);
void cv_cmd_free(struct cv_cmd *cmd);

/* ==== base: clock.c ==== */
/* Milliseconds of CLOCK_MONOTONIC, or of the clock a test installed. */
int64_t cv_now_ms(void);
/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for timestamps shown to the application. */
int64_t cv_wall_ms(void);
/* Test-only: time comes from `fn` (NULL: the monotonic clock again). */
void cv_clock_set_for_testing(int64_t (*fn)(void));

/* ==== base: timer.c (a min-heap of deadlines: O(log N) schedule/re-arm/cancel) ==== */
struct cv_timer;
typedef void (*cv_timer_fn)(struct cv_timer *t);
struct cv_timer {     /* embed in the owner; zeroed = not scheduled */
  int64_t due_ms;     /* deadline, on whatever clock the caller passes times from */
  uint64_t seq;       /* tie-break: equal deadlines fire in scheduling order */
  size_t slot;        /* 1 + index in the heap, 0 when not scheduled */
  cv_timer_fn cb;
};
struct cv_timers { /* zeroed = empty */
  struct cv_timer **heap;
  size_t n, cap;
  uint64_t seq;
};
/* Schedules (or re-arms, if pending) `t` for `due_ms`. -1 when out of memory (not scheduled). */
int cv_timers_schedule(struct cv_timers *h, struct cv_timer *t, cv_timer_fn cb, int64_t due_ms);
/* Unschedules `t` if pending in `h`; harmless otherwise. */
void cv_timers_cancel(struct cv_timers *h, struct cv_timer *t);
int cv_timer_pending(const struct cv_timer *t);
/* The earliest deadline, INT64_MAX when empty. */
int64_t cv_timers_next_due(const struct cv_timers *h);
size_t cv_timers_count(const struct cv_timers *h);
/* Fires (unschedules, then calls) every timer due at `now_ms`, earliest first; timers that
 * the callbacks schedule wait for the next run. Returns how many fired. */
int cv_timers_run(struct cv_timers *h, int64_t now_ms);
/* Forgets every timer (they read as not scheduled) and frees the heap. */
void cv_timers_free(struct cv_timers *h);

/* ==== protocol: policy.c (pure decisions: no I/O, no timers; time is an input) ==== */
/* Delay before attempt `attempt` (0-based): base * factor^attempt capped at cap, times a
 * jitter in [0.5, 1.0) given by r01 in [0, 1). */
int64_t cv_backoff_ms(int attempt, int base_ms, double factor, int cap_ms, double r01);

/* What the recovery policy is given once (from the session's settings and the server). */
struct cv_recovery_policy {
  int base_ms;           /* backoff: first delay */
  double factor;         /* growth per attempt */
  int cap_ms;            /* largest delay */
  int grace_window_ms;   /* the server keeps a dropped connection this long (resume) */
  int rejoin;            /* when resuming fails, connect again as a new connection */
  int rejoin_timeout_ms; /* rejoin attempts stop this long after resuming failed */
};

/* The recovery's running state (the policy's own fields, kept by the session). */
struct cv_recovery {
  int attempt;         /* attempts made since the drop (resume) or since resuming failed (rejoin) */
  int64_t deadline_ms; /* resume: no attempt after this; rejoin: likewise */
  int floor_ms;        /* no attempt sooner than this (after a flood close) */
};

enum cv_recovery_action {
  CV_RECOVERY_RETRY,   /* try again in delay_ms */
  CV_RECOVERY_REJOIN,  /* resuming is over: connect again as a new connection */
  CV_RECOVERY_GIVE_UP, /* the session ends */
};

struct cv_recovery_decision {
  enum cv_recovery_action action;
  int64_t delay_ms; /* RETRY only */
};

/* A drop while connected: resuming starts now (deadline = now + grace window). */
void cv_recovery_begin_resume(struct cv_recovery *r, const struct cv_recovery_policy *p, int64_t now, int floor_ms);
/* The next resume attempt: RETRY after a delay (bounded by the deadline), or GIVE_UP when
 * the grace window is over. r01 is the jitter in [0, 1). */
struct cv_recovery_decision cv_recovery_next_resume(struct cv_recovery *r, const struct cv_recovery_policy *p,
                                                    int64_t now, double r01);
/* Resuming failed for good (grace window over, resume refused): REJOIN when the settings
 * allow it and a token is there to connect with, else GIVE_UP. Starts the rejoin clock. */
struct cv_recovery_decision cv_recovery_after_resume_failed(struct cv_recovery *r, const struct cv_recovery_policy *p,
                                                            int64_t now, int have_token);
/* A rejoin connect failed: RETRY after a delay until the rejoin deadline, GIVE_UP after it
 * or when the server refused (fatal). */
struct cv_recovery_decision cv_recovery_next_rejoin(struct cv_recovery *r, const struct cv_recovery_policy *p,
                                                    int64_t now, double r01, int fatal);

/* Keepalive schedule: whether the path is dead (nothing received for timeout_ms), whether a
 * ping is due, and the delay in ms (at least 1) before the next check, given the last receive
 * and the last ping (the next ping is due interval_ms after it). Checks happen when either
 * deadline comes, so a dead path is noticed timeout_ms after the last receive, not at the
 * next ping. Both deadlines are on a grid of cv_keepalive_granule_ms (the ping rounded down,
 * the dead line up) so that the checks of many sessions share one wake-up (policy.c). */
int cv_keepalive_dead(int64_t now, int64_t last_rx, int timeout_ms);
int cv_keepalive_granule_ms(int interval_ms);
int cv_keepalive_ping_due(int64_t now, int64_t last_ping, int interval_ms);
int64_t cv_keepalive_next_check(int64_t now, int64_t last_rx, int64_t last_ping, int interval_ms, int timeout_ms);
/* The kernel's side of the keepalive (docs/protocol.md section 7): a silent path is found dead
 * by TCP keepalive probes (idle_s of silence, then cnt probes intvl_s apart, none answered) and
 * data left unacknowledged for user_timeout_ms, both about dead_ms, at no cost to the process:
 * the application's pings can then be rare (the server's interval). dead_ms >= 1000. */
struct cv_tcp_keepalive { int idle_s, intvl_s, cnt, user_timeout_ms; };
struct cv_tcp_keepalive cv_keepalive_tcp(int dead_ms);
/* A path is declared dead after this long without a sign of life, unless the session's
 * keepalive timeout setting is shorter (the server's announced timeout may be longer: its
 * pings are rare because this one is short). */
#define CV_LINK_DEAD_MS 15000
/* The pace (requests/s, 0: none) and burst for a server that announced these `limits`
 * (signalsPerSecond, signalBurst; NULL: unknown). */
double cv_pace_rate_for(const json_t *limits);
double cv_pace_burst_for(const json_t *limits);
#define CV_PACE_DEFAULT_RATE 800.0 /* a server that announced no limits */
#define CV_PACE_MIN_RATE 50.0

/* ==== transport: transport.c (libwebsockets adapter) ==== */
/* What the transport reports, to the owner given to cv_transport_open. Each is called on
 * the service thread; after on_error or on_closed the link is gone (the owner's slot is
 * NULL already) and no more events come from it. */
struct cv_transport_events {
  void (*on_open)(void *owner);                                 /* the WebSocket is up */
  void (*on_text)(void *owner, const char *text, size_t len);   /* one whole text message */
  void (*on_pong)(void *owner);                                 /* an answer to a ping */
  void (*on_error)(void *owner, const char *why);               /* could not connect */
  void (*on_closed)(void *owner, int close_code, const char *reason); /* the socket closed */
  void (*on_writable)(void *owner); /* the write queue emptied (may be NULL) */
  /* one whole binary message (media, protocol section 15); may be NULL (dropped) */
  void (*on_binary)(void *owner, const unsigned char *bytes, size_t len);
};

struct cv_transport_config {
  const char *url; /* ws:// or wss:// */
  const char *ca_file; /* may be NULL */
  int tls_verify;
  const char *name; /* for log lines (borrowed: must outlive the link) */
  struct cv_tcp_keepalive tcp_keepalive; /* set on the socket once open (idle_s 0: not set) */
};

struct cv_out {
  struct cv_out *next;
  size_t len;
  int binary; /* 0 text, 1 a binary (audio) message, 2 video (queued after the others) */
  unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
};

/* One socket: the wsi's user data. Outlives its owner (a closed or deleted session) until
 * lws is done with the socket. */
struct cv_link {
  const struct cv_transport_events *ev; /* NULL once detached from its owner */
  void *owner;
  struct cv_link **slot; /* the owner's pointer to this link, cleared on detach */
  const char *name;
  struct lws *wsi;
  struct cv_out *out_head, *out_tail;
  char *rx; /* a message arriving in fragments */
  size_t rx_len, rx_cap;
  int rx_skip;    /* skipping the fragments of a message that was dropped */
  int ping_due;   /* write a ping at the next writable */
  int peer_close_code;
  int closing;    /* flush the queue, then close normally */
  int failed;     /* CLIENT_CONNECTION_ERROR was reported */
  int await_server_close; /* a disconnect request is queued: after it, let the server close */
  unsigned char *brx; /* a binary message arriving in fragments */
  size_t brx_len, brx_cap;
  int brx_skip;       /* skipping the fragments of a binary message that was dropped */
  size_t out_binary;  /* bytes of binary messages queued (bounded: CV_TRANSPORT_MAX_BINARY_QUEUED) */
  struct cv_tcp_keepalive tcp_keepalive; /* from the config */
  int established;    /* the WebSocket is open (CLIENT_ESTABLISHED) */
};

extern const struct lws_protocols cv_protocols[];
/* For every lws context/vhost Convene creates: no lws idle (validity) timers. */
extern const lws_retry_bo_t cv_lws_no_idle_policy;
/* The lws context sockets and timers go on, and what to call when lws_cancel_service wakes
 * the loop (the service layer drains its commands there). Set by the service layer. */
void cv_transport_set_context(struct lws_context *ctx, void (*on_wake)(void));
struct lws_context *cv_transport_context(void);
/* Session timers (service thread): one heap (timer.c) on cv_now_ms() time, driven by ONE
 * timer armed for its earliest deadline: an lws_sul on the context, or the event loop's own
 * timer when the service layer installs `arm` (libev: see service.c). Without a context
 * nothing is scheduled. */
void cv_timer_schedule(struct cv_timer *t, cv_timer_fn cb, int64_t ms);
void cv_timer_schedule_at(struct cv_timer *t, cv_timer_fn cb, int64_t due_ms); /* cv_now_ms() time */
void cv_timer_cancel(struct cv_timer *t);
/* `arm(due_ms)` is called whenever the earliest deadline changes (INT64_MAX: none); its
 * timer must then call cv_transport_run_timers. NULL: an lws_sul drives the heap. */
void cv_transport_set_timer_driver(void (*arm)(int64_t due_ms));
void cv_transport_run_timers(void);
size_t cv_transport_timer_count(void);
/* Opens a socket; *slot is set to the link at once and cleared when it goes. 0 when under
 * way (an error may have been reported through ev->on_error already), -1 when it could not
 * start (nothing reported, *slot NULL). */
int cv_transport_open(const struct cv_transport_config *cfg, const struct cv_transport_events *ev, void *owner,
                      struct cv_link **slot);
/* Detaches *slot (no more events) and closes it once its queue is written (normal close). */
void cv_transport_close(struct cv_link **slot);
/* Queues text (copied) and asks to write. */
void cv_transport_send(struct cv_link *l, const char *text);
/* A short frame (at most CV_TRANSPORT_SEND_NOW_MAX bytes: an ack) written at once when
 * nothing is queued before it, else queued as cv_transport_send does. Service thread. */
#define CV_TRANSPORT_SEND_NOW_MAX 256
void cv_transport_send_now(struct cv_link *l, const char *text);
/* Queues one binary message (copied) and asks to write. Media is real time: -1 (nothing
 * queued) when l is NULL, out of memory, or more than CV_TRANSPORT_MAX_BINARY_QUEUED bytes of
 * binary messages already wait (a slow socket: the caller counts the drop). */
#define CV_TRANSPORT_MAX_BINARY_QUEUED (CV_TRANSPORT_MAX_VIDEO_QUEUED + 32 * 1024)
/* Video messages (cv_transport_send_video) are refused past this backlog, so audio always has
 * 32 KiB of room; and audio and text are queued ahead of any video waiting (they never wait
 * behind it). */
#define CV_TRANSPORT_MAX_VIDEO_QUEUED (128 * 1024)
#define CV_TRANSPORT_MAX_BINARY_MESSAGE (64 * 1024)
int cv_transport_send_binary(struct cv_link *l, const unsigned char *bytes, size_t len);
/* The same for a video message: queued after everything else, refused past CV_TRANSPORT_MAX_VIDEO_QUEUED. */
int cv_transport_send_video(struct cv_link *l, const unsigned char *bytes, size_t len);
/* Bytes of binary messages waiting to be written (0 for NULL). */
size_t cv_transport_binary_backlog(const struct cv_link *l);
/* A ping at the next chance to write. */
void cv_transport_ping(struct cv_link *l);
/* Takes the oldest queued text (malloc'd, NUL-terminated; the caller frees) or NULL: what a
 * socketless test reads instead of the wire (like nghttp2's mem_send). */
char *cv_transport_take_sent(struct cv_link *l, size_t *len);
/* The disconnect request is queued on the link: once it is written, the server answers and
 * closes the socket (protocol 4.1); the link waits for that (at most 5 s) instead of closing
 * first, which would reset a socket with unread events and could lose the request. */
void cv_transport_await_server_close(struct cv_link *l);
/* Links still waiting for the server to close (otc_destroy waits for them, briefly). */
int cv_transport_awaiting_close(void);
/* Test-only: a link with no socket (what is sent piles up, cv_transport_take_sent reads it). */
/* How many times libwebsockets asked transport.c's lws_get_random for bytes (frame masks). */
unsigned long long cv_transport_random_calls_for_testing(void);
struct cv_link *cv_link_new_detached_for_testing(const struct cv_transport_events *ev, void *owner,
                                                 struct cv_link **slot);

/* ==== state: the session (service thread only, except the fields marked) ==== */
enum cv_session_state {
  CV_STATE_IDLE = 0,
  CV_STATE_CONNECTING,
  CV_STATE_CONNECTED,
  CV_STATE_DISCONNECTING,
  CV_STATE_DISCONNECTED,
  CV_STATE_RECONNECTING, /* dropped; retrying with backoff and resuming */
};

/*
 * How a session ends (state_end.c), written once. The end's cause decides the callbacks and
 * their order (the table in opentok/session.h; state_end.c's k_rows is that table in code).
 * Everything else that used to decide it (had connected, rejoining, reported, fatal, ended
 * by the server, fail the queue) is one of the fields below, and only state_end.c writes
 * them (`deleted` also by otc_session_delete, through cv_state_silence).
 */
enum cv_end_cause {
  CV_END_NONE = 0,       /* the session has not ended (since the last connect) */
  CV_END_CLIENT,         /* otc_session_disconnect */
  CV_END_DELETE,         /* otc_session_delete: as CLIENT, then no callback any more */
  CV_END_SERVER,         /* the server ended it (sessionDisconnected, e.g. forceDisconnected), then closed */
  CV_END_FATAL,          /* the server sent a fatal error (reported when it came), then closed */
  CV_END_DROPPED,        /* the connection went and could not be resumed (no resume token, protocol error) */
  CV_END_GAVE_UP,        /* resuming failed for good (grace window over, resume refused), no rejoin */
  CV_END_REJOIN,         /* resuming failed for good; the session rejoins as a new connection */
  CV_END_CONNECT_FAILED, /* a connect (the first, or a rejoin) failed for good */
  CV_END_COUNT
};

/* The application's view of the session's life: what an end owes it. */
enum cv_life {
  CV_LIFE_NEW = 0,   /* no on_connected since connect: an end gives on_error only */
  CV_LIFE_CONNECTED, /* on_connected fired: the end owes on_disconnected */
  CV_LIFE_REJOINING, /* resuming failed, a rejoin connect is under way: on_connected again, or the
                      * end owes on_disconnected */
  CV_LIFE_ENDED,     /* ended (`cause`): nothing more until the next connect */
};

/* What the server announced on this socket before it closes it: it decides what the close means. */
enum cv_announced {
  CV_ANNOUNCED_NOTHING = 0,
  CV_ANNOUNCED_FATAL, /* a fatal error frame: the close ends the session, no second error */
  CV_ANNOUNCED_END,   /* sessionDisconnected (reason below): resumed unless forceDisconnected */
};

struct cv_end {
  enum cv_life life;
  enum cv_end_cause cause;     /* the last end's cause (CV_END_NONE while alive) */
  enum cv_announced announced; /* reset when a socket is replaced (reconnection) */
  const char *announced_reason; /* static: sessionDisconnected's reason */
  int deleted;                 /* otc_session_delete was called: no more callbacks */
};

struct cv_pending {
  struct cv_pending *next;
  uint64_t id;
  enum cv_request_kind kind;
  char *text;
  otc_publisher *publisher;
  otc_subscriber *subscriber; /* a subscribe request: whose (NULL once unsubscribed or deleted) */
  int sent; /* 0 not written on this socket, 1 written (counted in in_flight), 2 processed before a resume */
  convene_completion_cb done; /* called once with the result, or when the session ends */
  void *done_data;
};

/* The api layer's per-session fields (service.c's list of live sessions). */
struct cv_live_node {
  struct otc_session *next;
  struct otc_session *prev;
  int linked;
};

struct otc_session {
  /* immutable after creation */
  char *api_key;
  char *session_id;
  struct otc_session_callbacks cb;
  char *server_url;
  char *ca_file;
  int tls_verify;
  int suppress_connection_events;
  int connect_timeout_ms;
  int backoff_base_ms;   /* reconnection: first delay */
  double backoff_factor; /* growth per attempt */
  int backoff_cap_ms;    /* largest delay */
  int max_queued;        /* requests queued while reconnecting */
  int max_backlog;       /* requests waiting for the pacer while connected (the same setting;
                          * INT_MAX for a testing session, which has no settings) */
  int rejoin;            /* when resuming fails, connect again as a new connection */
  int rejoin_timeout_ms; /* rejoin attempts stop this long after the connection was lost */
  convene_signal_undelivered_cb on_signal_undelivered; /* may be NULL */

  /* read by any thread */
  atomic_int state; /* enum cv_session_state */
  pthread_mutex_t info_lock; /* guards self, caps and handed for the getters */
  otc_connection *self;
  struct otc_session_capabilities caps;
  struct cv_table handed; /* library-owned copies of self given out by otc_session_get_connection, one
                           * per connection this session had; freed with the session */
  _Atomic(const char *) disconnect_reason; /* static, for convene_session_get_disconnect_reason (any thread);
                                            * written by state_end.c only */
  _Atomic(const char *) role;              /* static, for convene_session_get_role (any thread) */

  /* api layer (service.c) */
  struct cv_live_node live;

  /* transport: the socket, NULL when none (set and cleared by the transport) */
  struct cv_link *link;

  /* state layer, service thread only */
  char *token;
  char *resume_token;
  uint64_t last_seq, acked_seq, next_id;
  struct cv_pending *pending_head, *pending_tail;
  /* pacing (state.c): requests go out in id order, at most CV_MAX_IN_FLIGHT waiting for their
   * result and at most pace_rate a second (token bucket), well under the server's flood guard */
  struct cv_pending *unsent; /* the first pending request not yet written on this socket */
  int in_flight;
  int unsent_count; /* requests from `unsent` on: written on no socket yet (bounded by max_backlog while connected) */
  int queued_reconnecting; /* requests added during the current reconnection (bounded by max_queued) */
  double pace_rate, pace_burst, pace_tokens; /* rate 0: not paced */
  int64_t pace_at_ms;
  struct cv_timer sul_pace;
  int flooded;        /* the server's flood guard is closing the socket */
  struct cv_table connections; /* otc_connection* of the others */
  struct cv_table streams;     /* otc_stream* of everyone, mine included */
  struct cv_table publishers;  /* otc_publisher* published or publishing here (not owned) */
  struct cv_table subscribers; /* otc_subscriber* subscribed or subscribing here (not owned) */
  uint64_t media_unknown_track; /* binary frames for no subscriber of ours (counted, dropped) */
  uint64_t media_malformed;     /* binary frames whose header did not decode */
  /* what the lost connection knew, reconciled with the new connection's lists on rejoin */
  struct cv_table stale_connections, stale_streams;
  struct cv_end end; /* how the session ends (state_end.c): the only place its fields are written */
  int in_callback;
  int keepalive_interval_ms, keepalive_timeout_ms; /* in effect (the server's, or the settings') */
  int ka_interval_setting, ka_timeout_setting;      /* from the settings; 0: the server's */
  int64_t last_ping_ms;
  int64_t last_rx_ms;
  struct cv_timer sul_handshake;
  struct cv_timer sul_keepalive;
  struct cv_timer sul_ack;
  int ack_scheduled;
  /* recovery (recovery.c carries out policy.c's decisions) */
  struct cv_recovery rec;
  int grace_window_ms;   /* the server's, from connected/resumed */
  struct cv_timer sul_retry;
};

/* What a capturer's callbacks are handed (video_capturer.h): its publisher. */
struct otc_video_capturer {
  struct otc_publisher *publisher;
};

struct otc_publisher {
  char *name;
  atomic_int video_type; /* enum otc_stream_video_type */
  atomic_int video_width, video_height; /* what the stream announces; 0: unset (CV_DEFAULT_VIDEO_*) */
  struct otc_publisher_callbacks cb;
  atomic_int publish_audio;
  atomic_int publish_video;
  pthread_mutex_t lock;      /* guards stream and handed for otc_publisher_get_stream */
  otc_stream *stream;        /* owned copy, NULL while unpublished */
  struct cv_table handed;    /* library-owned copies given out by otc_publisher_get_stream, one per
                              * stream this publisher had; freed with the publisher */
  otc_session *session;      /* service thread: where it is published */
  int deleted;
  struct cv_media_pub *media; /* its media (media/engine.h): created with it, freed with it */
  _Atomic(convene_audio_space_cb) on_space; /* convene_publisher_set_on_audio_space */
  void *_Atomic on_space_data;
  /* video: a capturer (otc_publisher_new) or a per-stream source (convene_publisher_set_video_source) */
  int has_capturer;                                /* immutable */
  struct otc_video_capturer_callbacks capturer_cb; /* immutable copy */
  struct otc_video_capturer capturer;              /* handed to its callbacks */
  atomic_int capturing;  /* between start and stop: otc_video_capturer_provide_frame accepts frames */
  atomic_int has_video_source; /* either of the two */
  int capturer_started;  /* service thread */
  uint16_t video_track;  /* service thread: the stream's video track (publish result), 0 when none */
  int64_t created_wall_ms; /* the stats' start_time */
};

/* A subscriber (opentok/subscriber.h). */
enum cv_sub_state {
  CV_SUB_IDLE = 0,   /* not subscribed */
  CV_SUB_REQUESTED,  /* the subscribe request waits for its result */
  CV_SUB_CONNECTED,  /* on_connected fired: media flows (tracks known) */
};
struct otc_subscriber {
  otc_stream *stream; /* owned copy, immutable */
  char id[40];        /* otc_subscriber_get_subscriber_id */
  struct otc_subscriber_callbacks cb;
  atomic_int want_audio, want_video;
  atomic_int claimed;   /* otc_session_subscribe accepted it (until unsubscribed or ended): any thread */
  atomic_int muted;     /* otc_session_unsubscribe / delete called: no more on_audio_data */
  atomic_int deleted;   /* otc_subscriber_delete called: no more callbacks */
  _Atomic(otc_session *) session; /* where it is subscribed (otc_subscriber_get_session) */
  struct cv_media_sub *media;     /* its media (media/engine.h): created with it, freed with it */
  /* service thread */
  enum cv_sub_state state;
  int interrupted; /* streamInterrupted came, streamRestored not yet */
};

/* ---- state layer entry points (service thread) ---- */
void cv_state_start_connect(otc_session *s, char *token /* consumed */);
void cv_state_disconnect(otc_session *s);
/* Sends a request (fields consumed, may be NULL) and ends it with exactly one final callback:
 * `done` when given, else the publisher's (pub) or the session's on_error on failure. */
void cv_state_submit(otc_session *s, enum cv_request_kind kind, json_t *fields, otc_publisher *pub,
                     convene_completion_cb done, void *done_data);
/* The same by frame type name, without completion (tests, fuzzing); an unknown name fails. */
void cv_state_request(otc_session *s, const char *type, json_t *fields /* consumed */, otc_publisher *pub);
/* A signal request: while reconnecting, queued if retry_after_reconnect, else failed (1550). */
void cv_state_signal(otc_session *s, json_t *fields, int retry_after_reconnect, convene_completion_cb done,
                     void *done_data);
/* The static string for a reason sent by the server ("clientDisconnected" if unknown). */
const char *cv_static_reason(const char *reason);
void cv_state_publish(otc_session *s, otc_publisher *p);
void cv_state_unpublish(otc_session *s, otc_publisher *p);
void cv_state_publisher_update(otc_session *s, otc_publisher *p, json_t *fields);
void cv_state_forget_publisher(otc_session *s, otc_publisher *p);
/* Subscribers (state_subscriber.c). */
void cv_state_subscribe(otc_session *s, otc_subscriber *sub);
void cv_state_unsubscribe(otc_session *s, otc_subscriber *sub);
/* otc_subscriber_set_subscribe_to_audio / _video after subscribing: the subscribe request again. */
void cv_state_subscriber_update(otc_session *s, otc_subscriber *sub);
/* otc_subscriber_delete: unsubscribes (if subscribed) without callbacks. */
void cv_state_forget_subscriber(otc_session *s, otc_subscriber *sub);
/* One binary message from the socket: a media frame routed by track (transport event). */
void cv_state_on_binary(otc_session *s, const unsigned char *bytes, size_t len);
/* Service thread: sends the frames the media thread encoded (on every wake-up), and the
 * subscribers' keyframe requests. */
void cv_state_media_flush(void);
/* Service thread: a capturer's stop (the stream went) and destroy (the publisher is freed). */
void cv_state_capturer_stop(otc_publisher *p);
void cv_state_capturer_destroy(otc_publisher *p);
/* The state layer's handlers of transport events (the table given to cv_transport_open);
 * tests call them directly. */
extern const struct cv_transport_events cv_state_transport_events;
void cv_state_on_open(otc_session *s);
void cv_state_on_text(otc_session *s, const char *text, size_t len);
void cv_state_on_transport_error(otc_session *s, const char *why);
void cv_state_on_closed(otc_session *s, int close_code, const char *reason);
/* Frees what the state layer holds (no callbacks once `deleted`). */
void cv_state_free(otc_session *s);
/* Frees the session object itself (after cv_state_free). */
void cv_session_free(otc_session *s);
/* queues text to send (copied) */
void cv_state_send(otc_session *s, const char *text);

/* state.c helpers used by recovery.c */
void cv_state_report_error(otc_session *s, int code, const char *message);
/* ---- state_end.c: how the session ends, decided in one place ---- */
/* Ends the session for `cause`: the row of the end table says which callbacks fire, in which
 * order (on_error(code, message) first when the row has one; then requests, publishers,
 * on_disconnected when owed). Once: a session already ended is left alone. */
void cv_state_end(otc_session *s, enum cv_end_cause cause, int code, const char *message);
/* How the socket went (the transport's events and the timers call cv_state_lost). */
enum cv_loss {
  CV_LOST_CLOSED,  /* the peer closed it (close_code) */
  CV_LOST_ERROR,   /* a socket error, or it could not be opened */
  CV_LOST_SILENT,  /* nothing came in time: handshake or keepalive timeout */
};
/* The socket went: resume, retry a rejoin, or end the session with the cause that fits (the
 * state, what the server announced, whether the connection can be resumed). */
void cv_state_lost(otc_session *s, enum cv_loss how, int close_code, const char *why);
/* An error frame from the server: reported; a fatal one ends the session (at once while
 * connecting, at the close while connected, as "resume refused" while reconnecting). */
void cv_state_server_error(otc_session *s, int code, const char *message, int fatal);
/* sessionDisconnected: the server is about to close the socket for `reason`. */
void cv_state_server_ending(otc_session *s, const char *reason);
/* on_connected is about to fire: the life (re)starts; the end will owe on_disconnected. */
void cv_state_life_connected(otc_session *s);
/* A socket was replaced (reconnection): what the old one's server announced is forgotten. */
void cv_state_forget_announced(otc_session *s);
/* otc_session_delete: no callback of this session from now on. */
void cv_state_silence(otc_session *s);
/* The DELETE command: ends the session as otc_session_delete does (then the caller frees it). */
void cv_state_delete(otc_session *s);
void cv_state_start_keepalive(otc_session *s);
/* Takes the keepalive interval/timeout the server announced (`keepalive` of connected or
 * resumed, may be NULL), unless the settings chose them. */
void cv_state_set_keepalive(otc_session *s, const json_t *ka);
/* One connect attempt on a new socket (handshake timer, transport); -1 when it cannot start. */
int cv_state_connect_attempt(otc_session *s);
/* Opens a socket for the session (its URL, TLS settings, the state layer's event table). */
int cv_state_open_link(otc_session *s);
/* After `resumed`: requests up to last_request_id were processed (their results are replayed);
 * the others are sent again, paced. */
void cv_state_resend_after(otc_session *s, uint64_t last_request_id);
/* Writes pending requests as the window and the pace allow (schedules itself for the rest). */
void cv_state_pump(otc_session *s);

/* ---- recovery.c: carries out the recovery policy (service thread) ---- */
/* The connection dropped while connected: start reconnecting (on_reconnection_started once). */
void cv_reconnect_start(otc_session *s, const char *why);
/* The same, no attempt sooner than floor_ms (after a flood close). */
void cv_reconnect_start_after(otc_session *s, const char *why, int floor_ms);
/* An attempt failed (socket error, close, timeout): schedule the next or give up. */
void cv_reconnect_attempt_failed(otc_session *s, const char *why);
/* The server answered `resumed`. */
void cv_reconnect_resumed(otc_session *s, json_t *frame);
/* Resuming is impossible: on_error(CONNECTION_DROPPED), then the session ends (or rejoins). */
void cv_reconnect_give_up(otc_session *s, const char *why);
/* A rejoin connect failed (not a fatal error): 1 when another attempt is scheduled (backoff,
 * until the rejoin deadline), 0 when the caller ends the session. */
int cv_rejoin_attempt_failed(otc_session *s, const char *why);

/* ---- callbacks (service thread): never after delete ---- */

#define CV_EMIT(s, name, ...)                                   \
  do {                                                          \
    if (!(s)->end.deleted && (s)->cb.name) {                        \
      (s)->in_callback++;                                       \
      (s)->cb.name((s), (s)->cb.user_data, ##__VA_ARGS__);      \
      (s)->in_callback--;                                       \
    }                                                           \
  } while (0)

#define CV_EMIT0(s, name)                                       \
  do {                                                          \
    if (!(s)->end.deleted && (s)->cb.name) {                        \
      (s)->in_callback++;                                       \
      (s)->cb.name((s), (s)->cb.user_data);                     \
      (s)->in_callback--;                                       \
    }                                                           \
  } while (0)

#define CV_PUB_EMIT(p, name, ...)                               \
  do {                                                          \
    if (!(p)->deleted && (p)->cb.name) (p)->cb.name((p), (p)->cb.user_data, ##__VA_ARGS__); \
  } while (0)

/* ==== api: service.c ==== */
int cv_service_running(void);
int cv_on_service_thread(void);
/* Enqueues a command and wakes the service thread. Takes ownership of cmd. If `wait`
 * and the caller is not the service thread, blocks until the command has run. */
otc_status cv_service_submit(struct cv_cmd *cmd, int wait);
struct cv_cmd *cv_cmd_new(enum cv_cmd_type type, otc_session *session);
void cv_service_drain(void);
void cv_publisher_free(otc_publisher *p);
void cv_subscriber_free(otc_subscriber *sub);
/* Any thread: wakes the service thread (it then sends what the media thread encoded). */
void cv_service_wake(void);
/* Runs the pass hook (convene_set_pass_hook): the media thread's end of a tick. */
void cv_service_pass_done(void);
/* subscriber.c / audio.c: the media engine with the api layer's callbacks (otc_init / otc_destroy). */
int cv_media_api_start(void);
void cv_media_api_stop(void);
/* video.c: the engine's video reports into the public callbacks (media thread). */
void cv_video_api_on_frame(void *owner, const otc_video_frame *frame);
void cv_video_api_on_first(void *owner);
void cv_video_api_on_stats(void *owner, const struct convene_media_stats *st);
void cv_video_api_on_preview(void *owner, const otc_video_frame *frame);
void cv_video_api_on_pub_stats(void *owner, const struct convene_media_stats *st, int has_video);
void cv_video_api_on_pub_level(void *owner, float level);
/* otc_destroy: the audio device is retired (its stop and destroy callbacks) and its buffers freed. */
void cv_audio_device_release(void);

/* ---- testing.c: test-only, compiled into the unit tests and the fuzzer, not the library ---- */
/* Creates an lws context that nobody services and makes it the one timers go on, so the
 * state machine can run without a socket or service thread. -1 when otc_init() is active. */
int cv_testing_begin(void);
void cv_testing_end(void);
/* A session in CONNECTING state (as if the socket had just opened), on a fake link with no
 * wsi: what the state layer sends piles up on the link (cv_transport_take_sent reads it). */
otc_session *cv_testing_session_new(const char *api_key, const char *session_id,
                                    const struct otc_session_callbacks *callbacks);
/* A new fake link for the session (as if a new socket had opened). */
void cv_testing_attach_link(otc_session *s);
/* Frees it without callbacks (as the DELETE command does). */
void cv_testing_session_free(otc_session *s);

#endif
