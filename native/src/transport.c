/*
 * The libwebsockets adapter: one client wsi per connected session, all on the shared
 * context of the service thread. It writes queued frames, sends keepalive pings,
 * reassembles fragmented text messages and reports socket events to state.c.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_MESSAGE (1024 * 1024)
#define SERVER_CLOSE_WAIT_S 5

static int g_awaiting_close; /* links with await_server_close, not yet freed */

int cv_transport_awaiting_close(void) { return g_awaiting_close; }

void cv_transport_await_server_close(otc_session *s) {
  if (!s->link || s->link->await_server_close) return;
  s->link->await_server_close = 1;
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
  free(l);
}

/*
 * The vhost whose TLS client context trusts `ca_file`, created on first use and named after
 * the file (service thread only; vhosts live as long as the context).
 */
static struct lws_vhost *ca_vhost(const char *ca_file) {
  struct lws_context *ctx = cv_service_context();
  struct lws_vhost *vh = lws_get_vhost_by_name(ctx, ca_file);
  if (vh) return vh;
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = cv_protocols;
  info.vhost_name = ca_file;
  info.client_ssl_ca_filepath = ca_file;
  info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  return lws_create_vhost(ctx, &info);
}

int cv_transport_open(otc_session *s) {
  char url[512];
  if (strlen(s->server_url) >= sizeof url) return -1;
  strcpy(url, s->server_url);
  const char *scheme = NULL, *address = NULL, *path = NULL;
  int port = 0;
  if (lws_parse_uri(url, &scheme, &address, &port, &path) != 0) return -1;
  int tls = strcmp(scheme, "wss") == 0 || strcmp(scheme, "https") == 0;
  if (!tls && strcmp(scheme, "ws") != 0 && strcmp(scheme, "http") != 0) return -1;
  if (port == 0 || (port == 80 && tls && !strstr(s->server_url, ":80"))) port = tls ? 443 : 80;
  char full_path[300];
  snprintf(full_path, sizeof full_path, "/%s", path ? path : "");

  struct cv_link *l = calloc(1, sizeof *l);
  if (!l) return -1;
  l->session = s;
  s->link = l;
  s->rx_len = 0;
  s->rx_skip = 0;

  struct lws_client_connect_info ci;
  memset(&ci, 0, sizeof ci);
  ci.context = cv_service_context();
  ci.address = address;
  ci.port = port;
  ci.path = full_path;
  ci.host = address;
  ci.origin = address;
  ci.protocol = "convene.v1";
  ci.local_protocol_name = "convene";
  ci.userdata = l;
  ci.pwsi = &l->wsi;
  if (tls) {
    ci.ssl_connection = LCCSCF_USE_SSL;
    if (s->ca_file) {
      ci.vhost = ca_vhost(s->ca_file);
      if (!ci.vhost) {
        CV_ERROR("cannot load the CA file %s", s->ca_file);
        s->link = NULL;
        link_free(l);
        return -1;
      }
    }
    if (!s->tls_verify)
      ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_EXPIRED |
                           LCCSCF_ALLOW_INSECURE;
  }
  if (!lws_client_connect_via_info(&ci)) {
    /* If lws reported CLIENT_CONNECTION_ERROR already, the error is told and WSI_DESTROY
     * freed (or frees) the link; otherwise nothing of ours is referenced by lws. */
    if (s->link == l) {
      s->link = NULL;
      link_free(l);
      return -1;
    }
    return 0;
  }
  return 0;
}

void cv_transport_close(otc_session *s) {
  struct cv_link *l = s->link;
  if (!l) return;
  s->link = NULL;
  l->session = NULL;
  l->closing = 1;
  if (l->wsi)
    lws_callback_on_writable(l->wsi);
  else
    link_free(l); /* never connected */
}

void cv_transport_want_write(otc_session *s) {
  if (s->link && s->link->wsi) lws_callback_on_writable(s->link->wsi);
}

#define RX_CHUNK 4096

static void on_receive(struct cv_link *l, struct lws *wsi, const void *in, size_t len) {
  otc_session *s = l->session;
  if (!s) return;
  if (lws_frame_is_binary(wsi)) return; /* reserved for media */
  if (s->rx_skip) { /* the rest of a message we could not keep */
    if (lws_is_final_fragment(wsi)) s->rx_skip = 0;
    return;
  }
  if (s->rx_len == 0 && lws_is_final_fragment(wsi)) {
    cv_state_on_text(s, in, len); /* the usual case: a whole message in one piece, no copy */
    return;
  }
  int too_big = s->rx_len + len > MAX_MESSAGE;
  if (!too_big && s->rx_len + len > s->rx_cap) {
    size_t cap = s->rx_cap ? s->rx_cap : 4096;
    while (cap < s->rx_len + len) cap *= 2;
    char *rx = realloc(s->rx, cap);
    if (rx) {
      s->rx = rx;
      s->rx_cap = cap;
    } else {
      too_big = 1;
    }
  }
  if (too_big) { /* drop the whole message, not just this fragment */
    CV_WARN("session %.24s: dropping a message over %d bytes (or out of memory)", s->session_id, MAX_MESSAGE);
    s->rx_len = 0;
    s->rx_skip = !lws_is_final_fragment(wsi);
    return;
  }
  memcpy(s->rx + s->rx_len, in, len);
  s->rx_len += len;
  if (!lws_is_final_fragment(wsi)) return;
  size_t n = s->rx_len;
  char *rx = s->rx;
  /* A message in pieces is rare (over RX_CHUNK bytes): its buffer is not kept. */
  s->rx = NULL;
  s->rx_len = s->rx_cap = 0;
  cv_state_on_text(s, rx, n);
  free(rx);
}

static int on_writeable(struct cv_link *l, struct lws *wsi) {
  otc_session *s = l->session;
  if (s && s->ping_due) {
    s->ping_due = 0;
    unsigned char buf[LWS_PRE + 4];
    if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0) return -1;
    lws_callback_on_writable(wsi);
    return 0;
  }
  struct cv_out *o = l->out_head;
  if (o) {
    l->out_head = o->next;
    if (!l->out_head) l->out_tail = NULL;
    int n = lws_write(wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT);
    free(o);
    if (n < 0) return -1;
    if (l->out_head || l->closing) lws_callback_on_writable(wsi);
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

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  struct cv_link *l = user;
  switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      cv_service_drain();
      return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
      if (l && l->session) cv_state_on_open(l->session);
      if (l && l->closing) lws_callback_on_writable(wsi);
      return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      /* WSI_DESTROY follows and frees the link */
      if (l && l->session) {
        otc_session *s = l->session;
        s->link = NULL;
        l->session = NULL;
        l->failed = 1;
        cv_state_on_transport_error(s, in ? (const char *)in : "connection failed");
      }
      return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
      if (l) on_receive(l, wsi, in, len);
      return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
      if (l && l->session) l->session->last_rx_ms = cv_now_ms();
      return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
      return l ? on_writeable(l, wsi) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      if (l && l->session) l->session->peer_close_code = peer_close_code(in, len);
      return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
      if (l && l->session) {
        otc_session *s = l->session;
        s->link = NULL;
        l->session = NULL;
        cv_state_on_closed(s, s->peer_close_code ? s->peer_close_code : 1006, "");
      }
      return 0;
    case LWS_CALLBACK_WSI_DESTROY:
      if (l) {
        if (l->session) { /* closed without CLIENT_CLOSED (e.g. before the upgrade) */
          otc_session *s = l->session;
          s->link = NULL;
          l->session = NULL;
          cv_state_on_closed(s, 1006, "socket destroyed");
        }
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
