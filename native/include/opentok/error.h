/* Generic error enumeration (kept for source compatibility with the Vonage SDK). */
#ifndef CONVENE_OPENTOK_ERROR_H
#define CONVENE_OPENTOK_ERROR_H

#include "config.h"

OTC_BEGIN_DECL

enum otc_error {
  OTC_GENERIC_ERROR,
};

OTC_END_DECL

#endif
