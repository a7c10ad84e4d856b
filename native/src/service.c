/*
 * The service thread: owns the libwebsockets context, runs the commands that public
 * functions enqueue (woken by lws_cancel_service), and frees deleted sessions.
 *
 * Its loop is libev over epoll when the core is built with libev and libwebsockets' libev
 * plugin (libwebsockets-evlib-ev) is installed: each pass costs what is ready, not what is
 * open. Otherwise lws's own poll() loop, whose every pass scans every socket. Setting
 * CONVENE_EVENT_LOOP=poll in the environment forces the latter (for comparison).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#if defined(CONVENE_WITH_LIBEV)
#include <ev.h>
#endif

static struct {
  pthread_mutex_t lock; /* guards running/ctx against init/destroy races */
  pthread_cond_t done_cond;
  pthread_mutex_t done_lock;
  struct lws_context *ctx;
  pthread_t thread;
  atomic_int running;
  atomic_int stopping;
  struct cv_cmdq queue;
  otc_session *live; /* sessions the service thread knows (not yet freed) */
  void *ev_loop;     /* the libev loop lws runs on, or NULL with lws's poll() loop */
  void *foreign[1];  /* what lws is handed as its foreign loops */
  lws_sorted_usec_list_t sul_tick; /* libev only: see timer_tick */
#if defined(CONVENE_WITH_LIBEV)
  ev_timer ev_timers; /* libev only: drives the session timers (see arm_ev_timers) */
#endif
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .done_cond = PTHREAD_COND_INITIALIZER, .done_lock = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int t_on_service;

static struct {
  pthread_mutex_t lock;
  convene_pass_hook fn;
  void *user_data;
} hook = {.lock = PTHREAD_MUTEX_INITIALIZER};

void convene_set_pass_hook(convene_pass_hook fn, void *user_data) {
  pthread_mutex_lock(&hook.lock);
  hook.fn = fn;
  hook.user_data = user_data;
  pthread_mutex_unlock(&hook.lock);
}

/* Service thread, after each pass; media thread, after each tick (cv_service_pass_done). */
static void end_of_pass(void) {
  pthread_mutex_lock(&hook.lock);
  convene_pass_hook fn = hook.fn;
  void *user_data = hook.user_data;
  pthread_mutex_unlock(&hook.lock);
  if (fn) fn(user_data);
}

void cv_service_pass_done(void) { end_of_pass(); }

int cv_service_running(void) { return atomic_load(&g.running) && !atomic_load(&g.stopping); }
int cv_on_service_thread(void) { return t_on_service; }

struct cv_cmd *cv_cmd_new(enum cv_cmd_type type, otc_session *session) {
  struct cv_cmd *c = calloc(1, sizeof *c);
  if (c) {
    c->type = type;
    c->session = session;
  }
  return c;
}

static void mark_done(struct cv_cmd *c) {
  if (!c->done) return;
  pthread_mutex_lock(&g.done_lock);
  atomic_store(c->done, 1);
  pthread_cond_broadcast(&g.done_cond);
  pthread_mutex_unlock(&g.done_lock);
}

otc_status cv_service_submit(struct cv_cmd *cmd, int wait) {
  if (!cmd) return OTC_FATAL;
  if (!atomic_load(&g.running)) {
    cv_cmd_free(cmd);
    return OTC_ILLEGAL_STATE;
  }
  atomic_int done = 0;
  /* never from the media thread: the service thread may be waiting for its tick (media/engine.h) */
  int must_wait = wait && !t_on_service && !cv_media_on_thread();
  if (must_wait) cmd->done = &done;
  /* One wake-up per burst: a non-empty queue means a wake-up is already on its way and the
   * service thread has not taken the queue yet (it takes it all after waking). */
  if (cv_cmdq_push(&g.queue, cmd)) lws_cancel_service(g.ctx);
  if (must_wait) {
    pthread_mutex_lock(&g.done_lock);
    while (!atomic_load(&done)) pthread_cond_wait(&g.done_cond, &g.done_lock);
    pthread_mutex_unlock(&g.done_lock);
  }
  return OTC_SUCCESS;
}

/* The live list is doubly linked: O(1) per command, whatever the number of sessions. */
static void link_live(otc_session *s) {
  s->live.prev = NULL;
  s->live.next = g.live;
  if (g.live) g.live->live.prev = s;
  g.live = s;
  s->live.linked = 1;
}

static void unlink_live(otc_session *s) {
  if (!s->live.linked) return;
  if (s->live.prev) s->live.prev->live.next = s->live.next;
  else g.live = s->live.next;
  if (s->live.next) s->live.next->live.prev = s->live.prev;
  s->live.next = s->live.prev = NULL;
  s->live.linked = 0;
}

static void run(struct cv_cmd *c) {
  otc_session *s = c->session;
  if (s && !s->live.linked) link_live(s);
  switch (c->type) {
    case CV_CMD_CONNECT:
      cv_state_start_connect(s, c->text);
      c->text = NULL;
      break;
    case CV_CMD_DISCONNECT:
      cv_state_disconnect(s);
      break;
    case CV_CMD_DELETE:
      /* on_disconnected fires here if it had connected (opentok/session.h), unless the delete
       * came from inside a callback (otc_session_delete set `deleted` already); then no more. */
      cv_state_delete(s);
      unlink_live(s);
      cv_state_free(s);
      cv_session_free(s);
      break;
    case CV_CMD_REQUEST:
      if (c->req == CV_REQ_SIGNAL)
        cv_state_signal(s, c->fields, c->retry, c->on_done, c->done_data);
      else
        cv_state_submit(s, c->req, c->fields, NULL, c->on_done, c->done_data);
      c->fields = NULL;
      break;
    case CV_CMD_PUBLISH:
      cv_state_publish(s, c->publisher);
      break;
    case CV_CMD_UNPUBLISH:
      cv_state_unpublish(s, c->publisher);
      break;
    case CV_CMD_PUBLISHER_UPDATE:
      if (c->publisher->session) cv_state_publisher_update(c->publisher->session, c->publisher, c->fields);
      else json_decref(c->fields);
      c->fields = NULL;
      break;
    case CV_CMD_PUBLISHER_DELETE:
      c->publisher->deleted = 1;
      if (c->publisher->session) cv_state_forget_publisher(c->publisher->session, c->publisher);
      for (otc_session *x = g.live; x; x = x->live.next) cv_state_forget_publisher(x, c->publisher);
      cv_publisher_free(c->publisher);
      break;
    case CV_CMD_SUBSCRIBE:
      cv_state_subscribe(s, c->subscriber);
      break;
    case CV_CMD_UNSUBSCRIBE:
      cv_state_unsubscribe(s, c->subscriber);
      break;
    case CV_CMD_SUBSCRIBER_UPDATE: {
      otc_session *in = atomic_load(&c->subscriber->session);
      if (in) cv_state_subscriber_update(in, c->subscriber);
      break;
    }
    case CV_CMD_SUBSCRIBER_DELETE: {
      otc_subscriber *sub = c->subscriber;
      otc_session *in = atomic_load(&sub->session);
      if (in) cv_state_forget_subscriber(in, sub);
      for (otc_session *x = g.live; x; x = x->live.next) cv_state_forget_subscriber(x, sub);
      cv_subscriber_free(sub);
      break;
    }
    case CV_CMD_STOP:
      atomic_store(&g.stopping, 1);
      break;
  }
}

void cv_service_drain(void) {
  cv_state_media_flush(); /* what the media thread encoded since the last wake-up */
  struct cv_cmd *c = cv_cmdq_take_all(&g.queue);
  while (c) {
    struct cv_cmd *next = c->next;
    run(c);
    mark_done(c);
    cv_cmd_free(c);
    c = next;
  }
}

/* One pass: block until something is ready (or do only what is ready now), serve it. */
static int service_pass(int block) {
#if defined(CONVENE_WITH_LIBEV)
  if (g.ev_loop) {
    ev_run((struct ev_loop *)g.ev_loop, block ? EVRUN_ONCE : EVRUN_NOWAIT);
    return 0;
  }
#endif
  (void)block; /* lws 4 ignores the timeout: callers wake it with lws_cancel_service */
  return lws_service(g.ctx, 0);
}

const char *convene_event_loop_name(void) { return g.ev_loop ? "libev" : "poll"; }

/* The lws context, on libev when possible (see the top of this file). */
static struct lws_context *create_context(struct lws_context_creation_info *info) {
#if defined(CONVENE_WITH_LIBEV)
  const char *want = getenv("CONVENE_EVENT_LOOP");
  if (!want || strcmp(want, "poll") != 0) {
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (loop) {
      struct lws_context_creation_info ev_info = *info;
      g.foreign[0] = loop;
      ev_info.options |= LWS_SERVER_OPTION_LIBEV;
      ev_info.foreign_loops = g.foreign;
      struct lws_context *ctx = lws_create_context(&ev_info);
      if (ctx) {
        g.ev_loop = loop;
        return ctx;
      }
      ev_loop_destroy(loop);
      CV_WARN("otc_init: no libev plugin for libwebsockets (apt-get install libwebsockets-evlib-ev): "
              "using poll(), whose cost grows with the number of sessions");
    }
  }
#endif
  return lws_create_context(info);
}

static void destroy_context(void) {
  cv_transport_set_context(NULL, NULL);
  lws_context_destroy(g.ctx);
  g.ctx = NULL;
#if defined(CONVENE_WITH_LIBEV)
  if (g.ev_loop) ev_loop_destroy((struct ev_loop *)g.ev_loop);
#endif
  g.ev_loop = NULL;
}

/*
 * libwebsockets 4.1's libev plugin re-arms its one timer with ev_timer_set while the timer
 * is still running, which libev ignores: a timer scheduled earlier than the one pending
 * fires late (we saw a 250 ms reconnection timer fire after 30 s). So on libev the session
 * timers (the transport's heap) are driven by an ev_timer of our own, re-armed correctly
 * (stop, set, start) whenever the earliest deadline changes: exact, and no wake-up while
 * nothing is due. What is left on lws's list is lws's own (the close-ack timeout of a
 * closing socket, connect timeouts); a slow tick bounds how late those can be, at one
 * wake-up of the service thread a second.
 */
#define TICK_MS 1000
static void timer_tick(lws_sorted_usec_list_t *sul) {
  lws_sul_schedule(g.ctx, 0, sul, timer_tick, (lws_usec_t)TICK_MS * LWS_US_PER_MS);
}

#if defined(CONVENE_WITH_LIBEV)
static void ev_timers_fire(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)w;
  (void)revents;
  cv_transport_run_timers();
}

static void arm_ev_timers(int64_t due_ms) {
  struct ev_loop *loop = (struct ev_loop *)g.ev_loop;
  ev_timer_stop(loop, &g.ev_timers);
  if (due_ms == INT64_MAX) return;
  int64_t delay = due_ms - cv_now_ms();
  ev_now_update(loop);
  ev_timer_set(&g.ev_timers, delay > 0 ? (double)delay / 1000.0 : 0.0, 0.0);
  ev_timer_start(loop, &g.ev_timers);
}
#endif

static void *service_main(void *arg) {
  (void)arg;
  t_on_service = 1;
#if defined(CONVENE_WITH_LIBEV)
  if (g.ev_loop) {
    timer_tick(&g.sul_tick);
    ev_init(&g.ev_timers, ev_timers_fire);
    cv_transport_set_timer_driver(arm_ev_timers);
  }
#endif
  while (!atomic_load(&g.stopping)) {
    if (service_pass(1) < 0) break;
    end_of_pass();
  }
  /* otc_destroy: sessions still alive are disconnected and freed */
  while (g.live) {
    otc_session *s = g.live;
    cv_state_delete(s);
    unlink_live(s);
    cv_state_free(s);
    cv_session_free(s);
  }
  end_of_pass();
  lws_sul_cancel(&g.sul_tick);
#if defined(CONVENE_WITH_LIBEV)
  if (g.ev_loop) {
    cv_transport_set_timer_driver(NULL);
    ev_timer_stop((struct ev_loop *)g.ev_loop, &g.ev_timers);
  }
#endif
  /* let queued closes go out, and give servers that were sent a disconnect request up to
   * 2 s to close. lws 4 ignores the timeout argument: lws_service blocks until a socket event
   * or the next timer (up to ~30 s when nothing is pending; -1 skips poll() altogether), so
   * lws_cancel_service first makes each poll() return at once with what is ready. */
  int64_t deadline = cv_now_ms() + 2000;
  for (int i = 0; i < 20 || (cv_transport_awaiting_close() > 0 && cv_now_ms() < deadline); i++) {
    lws_cancel_service(g.ctx);
    service_pass(0);
    end_of_pass();
    if (i >= 20) nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
  }
  return NULL;
}

otc_status otc_init(void *reserved) {
  if (reserved) return OTC_INVALID_PARAM;
  pthread_mutex_lock(&g.lock);
  if (atomic_load(&g.running)) {
    pthread_mutex_unlock(&g.lock);
    return OTC_ILLEGAL_STATE;
  }
  lws_set_log_level(LLL_ERR, NULL);
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = cv_protocols;
  info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  info.gid = (gid_t)-1;
  info.uid = (uid_t)-1;
  info.timeout_secs = 10;
  info.retry_and_idle_policy = &cv_lws_no_idle_policy;
  g.ctx = create_context(&info);
  cv_transport_set_context(g.ctx, cv_service_drain);
  if (!g.ctx) {
    pthread_mutex_unlock(&g.lock);
    CV_ERROR("otc_init: cannot create the libwebsockets context");
    return OTC_FATAL;
  }
  cv_cmdq_init(&g.queue);
  g.live = NULL;
  atomic_store(&g.stopping, 0);
  atomic_store(&g.running, 1);
  if (pthread_create(&g.thread, NULL, service_main, NULL) != 0) {
    atomic_store(&g.running, 0);
    destroy_context();
    cv_cmdq_destroy(&g.queue);
    pthread_mutex_unlock(&g.lock);
    return OTC_FATAL;
  }
  if (cv_media_api_start() != 0) CV_ERROR("otc_init: cannot start the media thread: no media will flow");
  pthread_mutex_unlock(&g.lock);
  return OTC_SUCCESS;
}

/* The media thread has encoded frames: the service thread sends them (cv_service_drain). */
void cv_service_wake(void) {
  if (atomic_load(&g.running)) lws_cancel_service(g.ctx);
}

otc_status otc_destroy(void) {
  if (t_on_service) return OTC_ILLEGAL_STATE;
  pthread_mutex_lock(&g.lock);
  if (!atomic_load(&g.running)) {
    pthread_mutex_unlock(&g.lock);
    return OTC_ILLEGAL_STATE;
  }
  cv_media_api_stop(); /* no media callback after this */
  cv_audio_device_release();
  struct cv_cmd *stop = cv_cmd_new(CV_CMD_STOP, NULL);
  cv_service_submit(stop, 0);
  pthread_join(g.thread, NULL);
  atomic_store(&g.running, 0);
  cv_service_drain(); /* commands that raced with the stop */
  destroy_context();
  cv_cmdq_destroy(&g.queue);
  pthread_mutex_unlock(&g.lock);
  return OTC_SUCCESS;
}
