/* web_int.h: the asset table embed.cmake generates. Private to daemon/web/. */
#ifndef SEARCHD_WEB_INT_H
#define SEARCHD_WEB_INT_H

#include "web.h"

extern const struct web_asset web_assets[];
extern const size_t web_nassets;

#endif
