/*
 * Transport layer: the libwebsockets adapter. One client wsi (a `struct cv_link`) per
 * connection attempt, all on one shared lws context (created by the service layer and
 * handed down with cv_transport_set_context). It queues and writes text frames, sends
 * keepalive pings, reassembles fragmented text messages and reports what happens on the
 * socket upward through the events table its owner gave to cv_transport_open (open, text,
 * pong, error, closed, writable). It knows nothing of sessions: it calls only lws and the
 * base layer (log, clock), never a layer above it (checked at link time: CMakeLists.txt).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "internal.h"

#define MAX_MESSAGE (1024 * 1024)
#define SERVER_CLOSE_WAIT_S 5
#define RX_CHUNK 4096

static struct lws_context *g_ctx;

/* No lws idle policy: lws would otherwise re-arm a per-connection validity timer on lws's
 * sorted timer list (O(connections) per insert) on every frame received; Convene's own
 * keepalive (state.c) does that job. */
const lws_retry_bo_t cv_lws_no_idle_policy = {.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};
static void (*g_wake)(void);
static int g_awaiting_close; /* links with await_server_close, not yet freed */
static struct cv_timers g_timers; /* the session timers (see internal.h) */
static lws_sorted_usec_list_t g_sul_timers; /* the driving lws timer, when no external driver */
static int64_t g_armed_ms = INT64_MAX;       /* the deadline the driving timer is armed for */
static void (*g_arm)(int64_t due_ms);

void cv_transport_set_context(struct lws_context *ctx, void (*on_wake)(void)) {
  if (!ctx && g_ctx) { /* the context goes: so do the timers on it */
    if (!g_arm) lws_sul_cancel(&g_sul_timers);
    cv_timers_free(&g_timers);
    g_armed_ms = INT64_MAX;
  }
  g_ctx = ctx;
  g_wake = on_wake;
}

struct lws_context *cv_transport_context(void) { return g_ctx; }

/* ---- session timers: one heap, one driving timer (see internal.h) ---- */

static void sul_timers_fire(lws_sorted_usec_list_t *sul) {
  (void)sul;
  cv_transport_run_timers();
}

/* Re-arms the driving timer when the earliest deadline changed: O(1) otherwise. */
static void rearm(void) {
  int64_t due = cv_timers_next_due(&g_timers);
  if (due == g_armed_ms) return;
  g_armed_ms = due;
  if (g_arm) {
    g_arm(due);
  } else if (due == INT64_MAX) {
    lws_sul_cancel(&g_sul_timers);
  } else if (g_ctx) {
    int64_t delay = due - cv_now_ms();
    lws_sul_schedule(g_ctx, 0, &g_sul_timers, sul_timers_fire, (lws_usec_t)(delay > 0 ? delay : 0) * LWS_US_PER_MS);
  }
}

void cv_transport_set_timer_driver(void (*arm)(int64_t due_ms)) {
  if (!g_arm) lws_sul_cancel(&g_sul_timers);
  g_arm = arm;
  g_armed_ms = INT64_MAX;
  rearm();
}

void cv_transport_run_timers(void) {
  g_armed_ms = INT64_MAX; /* the driving timer has fired: arm it again */
  cv_timers_run(&g_timers, cv_now_ms());
  rearm();
}

size_t cv_transport_timer_count(void) { return cv_timers_count(&g_timers); }

void cv_timer_schedule(struct cv_timer *t, cv_timer_fn cb, int64_t ms) { cv_timer_schedule_at(t, cb, cv_now_ms() + ms); }

void cv_timer_schedule_at(struct cv_timer *t, cv_timer_fn cb, int64_t due_ms) {
  if (!g_ctx) return;
  if (cv_timers_schedule(&g_timers, t, cb, due_ms) != 0) {
    CV_ERROR("timer: out of memory");
    return;
  }
  rearm();
}

void cv_timer_cancel(struct cv_timer *t) {
  if (!cv_timer_pending(t)) return;
  cv_timers_cancel(&g_timers, t);
  rearm();
}

int cv_transport_awaiting_close(void) { return g_awaiting_close; }

void cv_transport_await_server_close(struct cv_link *l) {
  if (!l || l->await_server_close) return;
  l->await_server_close = 1;
  g_awaiting_close++;
}

static void link_free(struct cv_link *l) {
  if (l->await_server_close) g_awaiting_close--;
  struct cv_out *o = l->out_head;
  while (o) {
    struct cv_out *next = o->next;
    free(o);
    o = next;
  }
  free(l->rx);
  free(l->brx);
  free(l);
}

/* Cuts the link from its owner: no more events; the owner's slot is cleared. */
static void detach(struct cv_link *l) {
  if (l->slot && *l->slot == l) *l->slot = NULL;
  l->slot = NULL;
  l->ev = NULL;
  l->owner = NULL;
}

/*
 * lws_get_random, interposed. libwebsockets 4.1 calls it (through its PLT) for the 4-byte mask
 * key of every frame a client sends, and reads /dev/urandom each time: one system call per
 * ack, ping or media frame (docs/benchmarks.md, the fan-in's system calls). This definition,
 * exported by libconvene.so, which is searched before libwebsockets.so, serves the same
 * kernel CSPRNG bytes (getrandom) from a pool refilled 4 KiB at a time, per thread: the mask
 * keys stay unpredictable, one system call per 1,024 frames. lws calls it on the service
 * thread only; any thread may.
 */
#define RANDOM_POOL 4096
static _Thread_local unsigned char random_pool[RANDOM_POOL];
static _Thread_local size_t random_left;
static atomic_ullong random_calls;

static int fill_random(unsigned char *buf, size_t len) {
  while (len) {
    ssize_t n = getrandom(buf, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

__attribute__((visibility("default"))) size_t lws_get_random(struct lws_context *context, void *buf, size_t len) {
  (void)context;
  atomic_fetch_add(&random_calls, 1);
  if (len > RANDOM_POOL / 4) return fill_random(buf, len) == 0 ? len : 0;
  if (random_left < len) {
    if (fill_random(random_pool, RANDOM_POOL) != 0) return 0;
    random_left = RANDOM_POOL;
  }
  unsigned char *from = random_pool + (RANDOM_POOL - random_left);
  memcpy(buf, from, len);
  memset(from, 0, len); /* handed out once */
  random_left -= len;
  return len;
}

unsigned long long cv_transport_random_calls_for_testing(void) { return atomic_load(&random_calls); }

struct cv_link *cv_link_new_detached_for_testing(const struct cv_transport_events *ev, void *owner,
                                                 struct cv_link **slot) {
  struct cv_link *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->ev = ev;
  l->owner = owner;
  l->slot = slot;
  if (slot) *slot = l;
  return l;
}

/*
 * The vhost whose TLS client context trusts `ca_file`, created on first use and named after
 * the file (service thread only; vhosts live as long as the context).
 */
static struct lws_vhost *ca_vhost(const char *ca_file) {
  struct lws_vhost *vh = lws_get_vhost_by_name(g_ctx, ca_file);
  if (vh) return vh;
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = cv_protocols;
  info.vhost_name = ca_file;
  info.client_ssl_ca_filepath = ca_file;
  info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  info.retry_and_idle_policy = &cv_lws_no_idle_policy;
  return lws_create_vhost(g_ctx, &info);
}

int cv_transport_open(const struct cv_transport_config *cfg, const struct cv_transport_events *ev, void *owner,
                      struct cv_link **slot) {
  char url[512];
  if (!g_ctx || strlen(cfg->url) >= sizeof url) return -1;
  strcpy(url, cfg->url);
  const char *scheme = NULL, *address = NULL, *path = NULL;
  int port = 0;
  if (lws_parse_uri(url, &scheme, &address, &port, &path) != 0) return -1;
  int tls = strcmp(scheme, "wss") == 0 || strcmp(scheme, "https") == 0;
  if (!tls && strcmp(scheme, "ws") != 0 && strcmp(scheme, "http") != 0) return -1;
  if (port == 0 || (port == 80 && tls && !strstr(cfg->url, ":80"))) port = tls ? 443 : 80;
  char full_path[300];
  snprintf(full_path, sizeof full_path, "/%s", path ? path : "");

  struct cv_link *l = calloc(1, sizeof *l);
  if (!l) return -1;
  l->ev = ev;
  l->owner = owner;
  l->slot = slot;
  l->name = cfg->name;
  l->tcp_keepalive = cfg->tcp_keepalive;
  *slot = l;

  struct lws_client_connect_info ci;
  memset(&ci, 0, sizeof ci);
  ci.context = g_ctx;
  ci.address = address;
  ci.port = port;
  ci.path = full_path;
  ci.host = address;
  ci.origin = address;
  ci.protocol = "convene.v1";
  ci.local_protocol_name = "convene";
  ci.userdata = l;
  ci.pwsi = &l->wsi;
  ci.retry_and_idle_policy = &cv_lws_no_idle_policy;
  if (tls) {
    ci.ssl_connection = LCCSCF_USE_SSL;
    if (cfg->ca_file) {
      ci.vhost = ca_vhost(cfg->ca_file);
      if (!ci.vhost) {
        CV_ERROR("cannot load the CA file %s", cfg->ca_file);
        detach(l);
        link_free(l);
        return -1;
      }
    }
    if (!cfg->tls_verify)
      ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_EXPIRED |
                           LCCSCF_ALLOW_INSECURE;
  }
  if (!lws_client_connect_via_info(&ci)) {
    /* If lws reported CLIENT_CONNECTION_ERROR already, the error event was delivered and
     * WSI_DESTROY freed (or frees) the link; otherwise nothing of ours is referenced by lws. */
    if (*slot == l) {
      detach(l);
      link_free(l);
      return -1;
    }
    return 0;
  }
  return 0;
}

void cv_transport_close(struct cv_link **slot) {
  struct cv_link *l = *slot;
  if (!l) return;
  detach(l);
  l->closing = 1;
  if (l->wsi)
    lws_callback_on_writable(l->wsi);
  else
    link_free(l); /* never connected */
}

/* o->binary: 0 text, 1 audio, OUT_VIDEO video. The queue is always [text and audio...][video...]:
 * a message that is not video goes in before the first video message waiting (its order among
 * text and audio kept), video at the end. */
#define OUT_VIDEO 2

static void enqueue(struct cv_link *l, struct cv_out *o) {
  o->next = NULL;
  if (o->binary != OUT_VIDEO) {
    struct cv_out **pp = &l->out_head;
    while (*pp && (*pp)->binary != OUT_VIDEO) pp = &(*pp)->next;
    o->next = *pp;
    *pp = o;
    if (!o->next) l->out_tail = o;
  } else {
    if (l->out_tail)
      l->out_tail->next = o;
    else
      l->out_head = o;
    l->out_tail = o;
  }
  if (l->wsi) lws_callback_on_writable(l->wsi);
}

void cv_transport_send(struct cv_link *l, const char *text) {
  if (!l || !text) return;
  size_t len = strlen(text);
  struct cv_out *o = malloc(sizeof *o + LWS_PRE + len);
  if (!o) return;
  o->len = len;
  o->binary = 0;
  memcpy(o->buf + LWS_PRE, text, len);
  enqueue(l, o);
}

/* Nothing of ours waits and lws holds nothing back: a frame written now keeps the order. */
static int can_write_now(const struct cv_link *l) {
  return l->wsi && l->established && !l->closing && !l->out_head && !lws_partial_buffered(l->wsi);
}

void cv_transport_send_now(struct cv_link *l, const char *text) {
  if (!l || !text) return;
  size_t len = strlen(text);
  if (len <= CV_TRANSPORT_SEND_NOW_MAX && can_write_now(l)) {
    /* written at once, on the service thread, without a writable round (two epoll_ctl and a
     * pass fewer); what the socket does not take lws keeps and writes at the next writable */
    unsigned char buf[LWS_PRE + CV_TRANSPORT_SEND_NOW_MAX];
    memcpy(buf + LWS_PRE, text, len);
    if (lws_write(l->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT) >= 0) return;
  }
  cv_transport_send(l, text);
}

static int send_binary(struct cv_link *l, const unsigned char *bytes, size_t len, int kind, size_t bound) {
  if (!l || !bytes || l->closing || l->out_binary + len > bound) return -1;
  struct cv_out *o = malloc(sizeof *o + LWS_PRE + len);
  if (!o) return -1;
  o->len = len;
  o->binary = kind;
  memcpy(o->buf + LWS_PRE, bytes, len);
  l->out_binary += len;
  enqueue(l, o);
  return 0;
}

int cv_transport_send_binary(struct cv_link *l, const unsigned char *bytes, size_t len) {
  return send_binary(l, bytes, len, 1, CV_TRANSPORT_MAX_BINARY_QUEUED);
}

int cv_transport_send_video(struct cv_link *l, const unsigned char *bytes, size_t len) {
  return send_binary(l, bytes, len, OUT_VIDEO, CV_TRANSPORT_MAX_VIDEO_QUEUED);
}

size_t cv_transport_binary_backlog(const struct cv_link *l) { return l ? l->out_binary : 0; }

void cv_transport_ping(struct cv_link *l) {
  if (!l || l->ping_due) return;
  if (can_write_now(l)) {
    /* Nothing waits to be written (an idle link): the ping goes out now, on the service
     * thread, without a writable round (which would cost two epoll_ctl and a wake-up). What
     * the socket does not take, lws keeps and writes at the next writable. */
    unsigned char buf[LWS_PRE + 4];
    if (lws_write(l->wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) >= 0) return;
  }
  l->ping_due = 1;
  if (l->wsi) lws_callback_on_writable(l->wsi);
}

/* The kernel watches the path between our frames (cv_keepalive_tcp): a black hole is found
 * dead without a wake-up of the service thread per session. Failing to set them is not
 * fatal: the application keepalive (state.c) still runs. */
static void set_tcp_keepalive(struct cv_link *l, struct lws *wsi) {
  const struct cv_tcp_keepalive k = l->tcp_keepalive;
  if (k.idle_s <= 0) return;
  lws_sockfd_type fd = lws_get_socket_fd(wsi);
  if (fd < 0) return;
  int on = 1;
  unsigned int uto = (unsigned int)k.user_timeout_ms;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &k.idle_s, sizeof k.idle_s) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &k.intvl_s, sizeof k.intvl_s) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &k.cnt, sizeof k.cnt) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof uto) != 0)
    CV_WARN("%.24s: cannot set TCP keepalive on the socket", l->name ? l->name : "");
}

char *cv_transport_take_sent(struct cv_link *l, size_t *len) {
  if (!l || !l->out_head) return NULL;
  struct cv_out *o = l->out_head;
  l->out_head = o->next;
  if (!l->out_head) l->out_tail = NULL;
  if (o->binary) l->out_binary -= o->len;
  char *text = malloc(o->len + 1);
  if (text) {
    memcpy(text, o->buf + LWS_PRE, o->len);
    text[o->len] = 0;
    if (len) *len = o->len;
  }
  free(o);
  return text;
}

static void deliver_text(struct cv_link *l, const char *text, size_t len) {
  if (l->ev && l->ev->on_text) l->ev->on_text(l->owner, text, len);
}

/* A binary message (media): joined from its fragments, at most CV_TRANSPORT_MAX_BINARY_MESSAGE
 * bytes (a bigger one is dropped whole), handed up whole. */
static void on_receive_binary(struct cv_link *l, struct lws *wsi, const unsigned char *in, size_t len) {
  int final = lws_is_final_fragment(wsi);
  if (l->brx_skip) {
    if (final) l->brx_skip = 0;
    return;
  }
  if (l->brx_len == 0 && final) {
    if (l->ev->on_binary) l->ev->on_binary(l->owner, in, len);
    return;
  }
  if (l->brx_len + len > CV_TRANSPORT_MAX_BINARY_MESSAGE) {
    l->brx_len = 0;
    l->brx_skip = !final;
    return;
  }
  if (l->brx_len + len > l->brx_cap) {
    size_t cap = l->brx_cap ? l->brx_cap : 8192;
    while (cap < l->brx_len + len) cap *= 2;
    unsigned char *b = realloc(l->brx, cap);
    if (!b) {
      l->brx_len = 0;
      l->brx_skip = !final;
      return;
    }
    l->brx = b;
    l->brx_cap = cap;
  }
  memcpy(l->brx + l->brx_len, in, len);
  l->brx_len += len;
  if (!final) return;
  size_t n = l->brx_len;
  l->brx_len = 0; /* the buffer is kept: media messages come all the time */
  if (l->ev->on_binary) l->ev->on_binary(l->owner, l->brx, n);
}

static void on_receive(struct cv_link *l, struct lws *wsi, const void *in, size_t len) {
  if (!l->ev) return;
  if (lws_frame_is_binary(wsi)) {
    on_receive_binary(l, wsi, in, len);
    return;
  }
  if (l->rx_skip) { /* the rest of a message we could not keep */
    if (lws_is_final_fragment(wsi)) l->rx_skip = 0;
    return;
  }
  if (l->rx_len == 0 && lws_is_final_fragment(wsi)) {
    deliver_text(l, in, len); /* the usual case: a whole message in one piece, no copy */
    return;
  }
  int too_big = l->rx_len + len > MAX_MESSAGE;
  if (!too_big && l->rx_len + len > l->rx_cap) {
    size_t cap = l->rx_cap ? l->rx_cap : 4096;
    while (cap < l->rx_len + len) cap *= 2;
    char *rx = realloc(l->rx, cap);
    if (rx) {
      l->rx = rx;
      l->rx_cap = cap;
    } else {
      too_big = 1;
    }
  }
  if (too_big) { /* drop the whole message, not just this fragment */
    CV_WARN("%.24s: dropping a message over %d bytes (or out of memory)", l->name ? l->name : "", MAX_MESSAGE);
    l->rx_len = 0;
    l->rx_skip = !lws_is_final_fragment(wsi);
    return;
  }
  memcpy(l->rx + l->rx_len, in, len);
  l->rx_len += len;
  if (!lws_is_final_fragment(wsi)) return;
  size_t n = l->rx_len;
  char *rx = l->rx;
  /* A message in pieces is rare (over RX_CHUNK bytes): its buffer is not kept. */
  l->rx = NULL;
  l->rx_len = l->rx_cap = 0;
  deliver_text(l, rx, n);
  free(rx);
}

static int on_writeable(struct cv_link *l, struct lws *wsi) {
  if (l->ping_due && !l->closing) {
    l->ping_due = 0;
    unsigned char buf[LWS_PRE + 4];
    if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0) return -1;
    /* another writable only for what is queued: an idle link's ping costs one round */
    if (l->out_head || l->closing) lws_callback_on_writable(wsi);
    return 0;
  }
  struct cv_out *o = l->out_head;
  if (o) {
    l->out_head = o->next;
    if (!l->out_head) l->out_tail = NULL;
    if (o->binary) l->out_binary -= o->len;
    int n = lws_write(wsi, o->buf + LWS_PRE, o->len, o->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    free(o);
    if (n < 0) return -1;
    if (l->out_head || l->closing) lws_callback_on_writable(wsi);
    else if (l->ev && l->ev->on_writable) l->ev->on_writable(l->owner);
    return 0;
  }
  if (l->closing && l->await_server_close && l->wsi) {
    /* the disconnect request is out: keep reading (and dropping) events until the server
     * closes. Closing first with unread data would send a TCP reset, which can destroy the
     * request before the server reads it (it would then keep the connection for its grace
     * window). lws closes the socket if the server has not within SERVER_CLOSE_WAIT_S. */
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, SERVER_CLOSE_WAIT_S);
    return 0;
  }
  if (l->closing) {
    lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
    return -1;
  }
  return 0;
}

static int peer_close_code(const void *in, size_t len) {
  const unsigned char *p = in;
  return len >= 2 ? (p[0] << 8) | p[1] : 1005;
}

/* The socket is gone: detach, then tell the owner (which may open another link at once). */
static void report_closed(struct cv_link *l, int code, const char *reason) {
  const struct cv_transport_events *ev = l->ev;
  void *owner = l->owner;
  detach(l);
  if (ev && ev->on_closed) ev->on_closed(owner, code, reason);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  struct cv_link *l = user;
  switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      if (g_wake) g_wake();
      return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
      if (l) {
        l->established = 1;
        set_tcp_keepalive(l, wsi);
      }
      if (l && l->ev && l->ev->on_open) l->ev->on_open(l->owner);
      if (l && l->closing) lws_callback_on_writable(wsi);
      return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      /* WSI_DESTROY follows and frees the link */
      if (l && l->ev) {
        const struct cv_transport_events *ev = l->ev;
        void *owner = l->owner;
        detach(l);
        l->failed = 1;
        if (ev->on_error) ev->on_error(owner, in ? (const char *)in : "connection failed");
      }
      return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
      if (l) on_receive(l, wsi, in, len);
      return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
      if (l && l->ev && l->ev->on_pong) l->ev->on_pong(l->owner);
      return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
      return l ? on_writeable(l, wsi) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      if (l && l->ev) l->peer_close_code = peer_close_code(in, len);
      return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
      if (l && l->ev) report_closed(l, l->peer_close_code ? l->peer_close_code : 1006, "");
      return 0;
    case LWS_CALLBACK_WSI_DESTROY:
      if (l) {
        if (l->ev) report_closed(l, 1006, "socket destroyed"); /* closed without CLIENT_CLOSED (e.g. before the upgrade) */
        link_free(l);
      }
      return 0;
    default:
      return 0;
  }
}

const struct lws_protocols cv_protocols[] = {
    /* lws gives each connection an rx buffer of this size: messages over it arrive in
     * pieces that on_receive joins. Small, as most frames are: memory per session. */
    {"convene", callback, 0, RX_CHUNK, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};
