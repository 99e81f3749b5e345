/* SPDX-License-Identifier: Apache-2.0 */
/* webassets.h: the web UI's compiled-in stylesheet and script (webassets.c). */
#ifndef AWSGATE_PROXY_WEBASSETS_H
#define AWSGATE_PROXY_WEBASSETS_H

#include <stddef.h>

extern const char px_web_app_js[];
extern const size_t px_web_app_js_len;
extern const char px_web_app_css[];
extern const size_t px_web_app_css_len;

#endif
