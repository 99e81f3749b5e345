/* SPDX-License-Identifier: Apache-2.0 */
/* sts_int.h: STS answer parsing and error classes, apart from the call machinery so tests and the fuzzer reach them. */
#ifndef AWSGATE_STS_INT_H
#define AWSGATE_STS_INT_H

#include "federation/federation.h"

/* Reads a 200 answer to |action| and calls |deliver| with the result
 * (borrowed: valid during the call only; the secrets are wiped after it).
 * This function returns what |deliver| returned, or FED_ERR_PARSE when a
 * required element is missing or the XML is bad, or FED_ERR_NOMEM. */
int fed_sts_parse_success(enum fed_sts_action action, const struct fed_http_response *res,
                          int (*deliver)(void *arg, const struct fed_sts_result *r), void *arg);

/* Fills |e|'s status, code, message and request id from an error answer
 * (empty strings for what it lacks; never fails). */
void fed_sts_parse_error(const struct fed_http_response *res, struct fed_sts_error *e);

/* The retry class of an error answer: 0 final (|*err| FED_ERR_DENIED or
 * FED_ERR_REJECTED), 1 throttled (FED_ERR_THROTTLED once retries run
 * out), 2 server trouble (FED_ERR_UNAVAILABLE). */
int fed_sts_classify(int status, const char *code, int *err);

#endif
