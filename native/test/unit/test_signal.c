/* Signal validation (cv_signal_check) and the signal checks of the public API before connect. */
#include "check.h"
#include "internal.h"

static char *repeat(char c, size_t n) {
  char *s = malloc(n + 1);
  CHECK_NOT_NULL(s);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

int main(void) {
  CHECK_EQ(0, cv_signal_check(NULL, NULL));
  CHECK_EQ(0, cv_signal_check("", ""));
  CHECK_EQ(0, cv_signal_check("chat", NULL));
  CHECK_EQ(0, cv_signal_check(NULL, "data"));
  CHECK_EQ(0, cv_signal_check("azAZ09-_~", "anything \"goes\" \n here \xc3\xa9"));

  char *t128 = repeat('t', 128), *t129 = repeat('t', 129);
  CHECK_EQ(0, cv_signal_check(t128, NULL));
  CHECK_EQ(OTC_SESSION_SIGNAL_TYPE_TOO_LONG, cv_signal_check(t129, NULL));
  /* too long wins over invalid characters and over too much data */
  t129[5] = '!';
  CHECK_EQ(OTC_SESSION_SIGNAL_TYPE_TOO_LONG, cv_signal_check(t129, NULL));

  static const char *bad_types[] = {"a b", "a!", "chat.room", "a/b", "\xc3\xa9", "tab\t", "x\n", "semi;", "*"};
  for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
    if (cv_signal_check(bad_types[i], "x") != OTC_SESSION_INVALID_SIGNAL_TYPE)
      CHECK_FAIL_("type \"%s\" accepted", bad_types[i]);
  }
  /* every byte outside A-Za-z0-9-_~ is refused */
  for (int c = 1; c < 256; c++) {
    char type[2] = {(char)c, 0};
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
             c == '~';
    CHECK_EQ(ok ? 0 : OTC_SESSION_INVALID_SIGNAL_TYPE, cv_signal_check(type, NULL));
  }

  char *d8192 = repeat('d', 8192), *d8193 = repeat('d', 8193);
  CHECK_EQ(0, cv_signal_check("chat", d8192));
  CHECK_EQ(0, cv_signal_check(t128, d8192));
  CHECK_EQ(OTC_SESSION_SIGNAL_DATA_TOO_LONG, cv_signal_check("chat", d8193));
  CHECK_EQ(OTC_SESSION_SIGNAL_DATA_TOO_LONG, cv_signal_check(NULL, d8193));
  CHECK_EQ(OTC_SESSION_INVALID_SIGNAL_TYPE, cv_signal_check("bad type", d8193)); /* the type is checked first */
  /* bytes, not characters: 4097 two-byte characters are 8194 bytes */
  char *wide = malloc(2 * 4097 + 1);
  CHECK_NOT_NULL(wide);
  for (int i = 0; i < 4097; i++) memcpy(wide + 2 * i, "\xc3\xa9", 2);
  wide[2 * 4097] = '\0';
  CHECK_EQ(OTC_SESSION_SIGNAL_DATA_TOO_LONG, cv_signal_check("chat", wide));
  wide[2 * 4096] = '\0';
  CHECK_EQ(0, cv_signal_check("chat", wide));

  /* the public API: NULL session, NULL connection (no otc_init needed: checked at the call) */
  struct otc_signal_options opts = {OTC_TRUE};
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER, otc_session_send_signal(NULL, "chat", "x"));
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER, otc_session_send_signal_with_options(NULL, "chat", "x", opts));
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER, otc_session_send_signal_to_connection(NULL, "chat", "x", NULL));
  CHECK_EQ(OTC_SESSION_NULL_OR_INVALID_PARAMETER,
           otc_session_send_signal_to_connection_with_options(NULL, "chat", "x", NULL, opts));

  free(wide);
  free(t128);
  free(t129);
  free(d8192);
  free(d8193);
  return 0;
}
