/*
 * Leak canary: creates a publisher and never frees it. Passes in a plain build; in the
 * ASan build (detect_leaks=1) and under valgrind (--errors-for-leak-kinds=definite) it must
 * fail, proving that those runs catch leaks (registered with WILL_FAIL there).
 */
#include <opentok.h>
#include <stdio.h>

int main(void) {
  struct otc_publisher_callbacks cb = {0};
  otc_publisher *p = otc_publisher_new("leaked", NULL, &cb);
  if (!p) return 2;
  printf("leaking publisher %s\n", otc_publisher_get_name(p));
  p = NULL; /* the only reference is gone: definitely lost */
  return 0;
}
