/* SPDX-License-Identifier: Apache-2.0 */
/* webassets.c: the web UI's stylesheet and script, compiled into the binary (no external fetch, no CDN). */
#include <stddef.h>

#include "webassets.h"

/* The page works without the script: it only filters the list. */
const char px_web_app_js[] =
	"'use strict';\n"
	"// app.js: filters the apps and roles as the user types (awsgate web UI).\n"
	"document.addEventListener('DOMContentLoaded', function () {\n"
	"  var box = document.getElementById('filter');\n"
	"  if (!box) return;\n"
	"  box.hidden = false;\n"
	"  box.addEventListener('input', function () {\n"
	"    var q = box.value.trim().toLowerCase();\n"
	"    var apps = document.querySelectorAll('section.app');\n"
	"    var shown = 0;\n"
	"    apps.forEach(function (app) {\n"
	"      var appHit = app.getAttribute('data-search').indexOf(q) >= 0;\n"
	"      var any = false;\n"
	"      app.querySelectorAll('li.role').forEach(function (li) {\n"
	"        var hit = appHit || li.getAttribute('data-search').indexOf(q) >= 0;\n"
	"        li.hidden = !hit;\n"
	"        any = any || hit;\n"
	"      });\n"
	"      app.hidden = !any;\n"
	"      if (any) shown++;\n"
	"    });\n"
	"    var none = document.getElementById('nomatch');\n"
	"    if (none) none.hidden = shown > 0;\n"
	"  });\n"
	"});\n";
const size_t px_web_app_js_len = sizeof(px_web_app_js) - 1;

const char px_web_app_css[] =
	"/* app.css: the awsgate web UI. */\n"
	"body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f5f7;color:#1d2430}\n"
	"header{background:#232f3e;color:#fff;padding:.8em 1.5em;display:flex;align-items:center;gap:1em}\n"
	"header h1{font-size:1.2em;margin:0;flex:1}\n"
	"header .who{font-size:.9em}\n"
	"header form{margin:0}\n"
	"main{max-width:60em;margin:1.5em auto;padding:0 1em}\n"
	"section.app{background:#fff;border:1px solid #d5dbe1;border-radius:6px;margin:0 0 1em;padding:1em 1.2em}\n"
	"section.app h2{margin:0 0 .3em;font-size:1.1em}\n"
	".acct,.arn{font-family:ui-monospace,monospace;font-size:.85em;color:#4a5563}\n"
	".labels span{display:inline-block;background:#eef1f4;border-radius:3px;padding:0 .4em;margin:0 .3em .3em 0;"
	"font-size:.8em}\n"
	"ul.roles{list-style:none;padding:0;margin:.5em 0 0}\n"
	"li.role{border-top:1px solid #eef1f4;padding:.6em 0}\n"
	"li.role .name{font-weight:600}\n"
	"li.role form{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;margin-top:.4em}\n"
	"input[type=text],input[type=search]{padding:.35em .5em;border:1px solid #aab4bf;border-radius:4px}\n"
	"input[type=search]{width:100%;box-sizing:border-box;font-size:1em;margin-bottom:1em}\n"
	"button{background:#ec7211;color:#fff;border:0;border-radius:4px;padding:.45em 1em;font-weight:600;"
	"cursor:pointer}\n"
	"header button{background:#545b64}\n"
	".notice{background:#fff;border-left:4px solid #0972d3;padding:1em 1.2em;margin:0 0 1em}\n"
	".error{border-left-color:#d91515}\n"
	".notice h2{margin:0 0 .4em;font-size:1.1em}\n"
	".small{font-size:.85em;color:#4a5563}\n";
const size_t px_web_app_css_len = sizeof(px_web_app_css) - 1;
