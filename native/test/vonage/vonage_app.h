/* A program written for the Vonage SDK (vonage_app.c), run by integration/it_vonage.c. */
#ifndef CONVENE_TEST_VONAGE_APP_H
#define CONVENE_TEST_VONAGE_APP_H

/* Runs the whole program: otc_init ... otc_destroy. The server URL comes from
 * CONVENE_SERVER_URL (the only Convene-specific thing, and not in the code). Returns 0
 * when every expected callback came; prints what it saw to stderr. */
int vonage_app_run(const char *api_key, const char *session_id, const char *token_a, const char *token_b);

#endif
