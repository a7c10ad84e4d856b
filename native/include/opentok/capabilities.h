/*
 * Present for source compatibility with the Vonage SDK, which ships it empty.
 * struct otc_session_capabilities is in session.h (as in the Vonage SDK).
 */
#ifndef CONVENE_OPENTOK_CAPABILITIES_H
#define CONVENE_OPENTOK_CAPABILITIES_H

#include "config.h"

#endif
