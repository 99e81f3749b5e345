/* SPDX-License-Identifier: Apache-2.0 */
/* proxy.h: the proxy module's shared pieces: errors, durations, files, and the commands of the programs. */
#ifndef AWSGATE_PROXY_H
#define AWSGATE_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rbac/rbac.h"

/* Error codes (proxy's range is -400..-499). */
#define PX_ERR_NOMEM -401
#define PX_ERR_DURATION -402 /* not a duration: see px_duration_parse() */
#define PX_ERR_RANGE -403    /* a number out of range */
#define PX_ERR_IO -404       /* reading a file failed; errno-derived text in the message */
#define PX_ERR_TOO_LARGE -405

/* Exit statuses, INTERFACES.md: 0 success, 1 a negative answer, 2 usage
 * errors and failures to run. */
#define PX_EXIT_OK 0
#define PX_EXIT_NO 1
#define PX_EXIT_USAGE 2

/* Parses a duration: "90s", "15m", "8h", "1h30m", "720h", or a bare integer
 * of seconds. Units appear at most once each and in the order h, m, s.
 * Writes seconds to |*secs| on success.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_DURATION, PX_ERR_RANGE (more than UINT32_MAX seconds). */
int px_duration_parse(const char *s, uint32_t *secs);

/* Reads all of |path| ("-" is standard input) into a new buffer of at most
 * |max| bytes, NUL-terminated, into |*data| and |*len|; free() it.
 * This function returns 0 if it succeeds, or one of the following negative
 * error codes: PX_ERR_IO (|errbuf| says why), PX_ERR_TOO_LARGE, PX_ERR_NOMEM. */
int px_file_read(const char *path, size_t max, char **data, size_t *len, char *errbuf, size_t errlen);

/* Parses a signing time given on a command line: "20150830T123600Z",
 * "2015-08-30T12:36:00Z" or an integer of seconds since the epoch.
 * This function returns 0 if it succeeds, or PX_ERR_RANGE. */
int px_time_parse(const char *s, int64_t *t);

/* Loads every "*.json" file of the resources directory |dir|, in name
 * order, into |pol| (not frozen), reporting through |fn|; counts the files
 * read in |*nfiles|. Hidden files are skipped: writers create ".NAME.tmp"
 * and rename it into place.
 * This function returns 0 if every file loaded, else the first error
 * (PX_ERR_IO, PX_ERR_TOO_LARGE, or an RBAC_ERR_*). */
int px_resources_load(struct rbac_policy *pol, const char *dir, rbac_diag_fn *fn, void *arg, size_t *nfiles);

/* Prints |d| as FILE:LINE:COLUMN: error|warning: PATH: message. */
void px_diag_print(FILE *f, const struct rbac_diag *d);

/* The commands of awsgatectl: argv[0] is the command's name ("sigv4",
 * "ca", ...). Each returns the exit status. */
int px_ctl_sigv4(int argc, char **argv);
int px_ctl_ca(int argc, char **argv);     /* ca init|pin|crl (ctl_ca.c) */
int px_ctl_certs(int argc, char **argv);  /* certs user|server|revoke (ctl_ca.c) */
int px_ctl_config(int argc, char **argv); /* config check (ctl_config.c) */
int px_ctl_rbac(int argc, char **argv);   /* rbac check|roles (ctl_rbac.c) */
int px_ctl_lock(int argc, char **argv);   /* lock add|ls|rm (ctl_rbac.c) */

#endif
