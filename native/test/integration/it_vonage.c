/*
 * A program written for the Vonage SDK (native/test/vonage/vonage_app.c) runs unchanged:
 * the harness only gives it the fixture's credentials and server URL (CONVENE_SERVER_URL),
 * then lets it own otc_init / otc_destroy. Under valgrind and ASan this test is what shows
 * that code which never frees what the getters return does not leak.
 */
#include <stdlib.h>

#include "harness.h"
#include "vonage_app.h"

static void vonage_program(void) {
  CHECK_EQ(0, setenv("CONVENE_SERVER_URL", fx_url("main"), 1));
  CHECK_EQ(OTC_SUCCESS, otc_destroy()); /* the program starts and stops the library itself */
  CHECK_EQ(0, vonage_app_run(fx_api_key(), fx_session(), fx_token("publisher"), fx_token("publisher2")));
  CHECK_EQ(OTC_SUCCESS, otc_init(NULL));
}

static const struct it_case cases[] = {
    CASE(vonage_program, 60),
};
IT_MAIN(cases)
