/* Starts and stops the library: enough to prove the headers and the library were found. */
#include <opentok.h>
#include <stdio.h>

int main(void) {
  if (otc_init(NULL) != OTC_SUCCESS) return 1;
  otc_log_enable(OTC_LOG_LEVEL_INFO);
  int level = (int)otc_get_log_level();
  if (otc_destroy() != OTC_SUCCESS) return 1;
  printf("vonage_app: ok (log level %d)\n", level);
  return level == OTC_LOG_LEVEL_INFO ? 0 : 1;
}
