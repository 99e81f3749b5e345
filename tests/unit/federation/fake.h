/* SPDX-License-Identifier: Apache-2.0 */
/* fake.h: a fake fed_env and fed_transport for federation's unit tests: canned replies, a fake clock, a recorded log.
 *
 * One struct fake is a whole small world:
 *
 *   - an environment map (fake_setenv), in-memory files (fake_file,
 *     fake_file_error), a clock in Unix milliseconds that only moves when
 *     the test moves it (fake_set_now, fake_advance, fake_settle) and a
 *     deterministic random source (fake_seed, fake_random_push);
 *   - a transport whose HTTP replies are canned (fake_reply, fake_fail),
 *     matched in the order they were queued, each by URL substring or to
 *     any URL, and whose requests are all recorded (fake_request) with
 *     method, URL, headers, body, timeouts and the fake time they started;
 *   - timers, posted tasks and canned credential_process runs (fake_process).
 *
 * Nothing ever runs from inside the call that started it: completions,
 * timers and posted tasks are events on one queue ordered by due time (then
 * by creation), run only by fake_run() (what is due now), fake_advance()
 * (moves the clock step by step, running each event at its due time) and
 * fake_settle() (advances to each next event until none is left).
 *
 * A reply is due |delay| ms (fake_reply_delay, default 0) after its request
 * started; when the delay is longer than the request's timeout_ms the call
 * completes with FED_ERR_TIMEOUT at the timeout instead. A body longer than
 * the request's max_response completes with FED_ERR_TOO_LARGE (as the real
 * transport does). A request that matches no queued reply completes with
 * FED_ERR_TRANSPORT and counts in fake_unmatched(), so a test can assert it
 * made only the requests it expected.
 *
 * Misuse that a real transport would turn into a crash or a leak (cancelling
 * a call or timer that has already completed or was already cancelled, an
 * http_start with a NULL callback) is counted in fake_misuse() and reported
 * on stderr; fake_del() also reports calls and timers still pending.
 * Event objects are kept until fake_del(), so late misuse is seen rather
 * than being a use-after-free.
 *
 * fed_transport.post may be called from any thread (a mutex guards the
 * queue); everything else belongs to the test's thread.
 */
#ifndef AWSGATE_TESTS_FAKE_H
#define AWSGATE_TESTS_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "federation/federation.h"

#define FAKE_START_MS INT64_C(1764547200000) /* 2025-12-01T00:00:00Z: where the clock starts */

struct fake;
struct fake_reply;

/* A request as the transport saw it. All owned by the fake, valid until fake_del(). */
struct fake_request {
	char *method;
	char *url;
	struct fed_header *headers; /* copies */
	size_t nheaders;
	char *body; /* NUL-terminated copy; body_len without the NUL */
	size_t body_len;
	uint32_t connect_timeout_ms;
	uint32_t timeout_ms;
	size_t max_response;
	int64_t started_ms; /* the fake clock when http_start was called */
	int cancelled;      /* 1 when the caller cancelled it */
};

/* A credential_process run as the transport saw it. */
struct fake_process_run {
	char *command;
	size_t max;
	uint32_t timeout_ms;
};

struct fake *fake_new(void); /* aborts when out of memory: it is a test fixture */
void fake_del(struct fake *f);

/* The interfaces to hand to the code under test; owned by |f|. */
const struct fed_env *fake_env(struct fake *f);
struct fed_transport *fake_transport(struct fake *f);

/* --- the environment ---------------------------------------------------- */

/* Sets |name| to |value|; NULL unsets it. */
void fake_setenv(struct fake *f, const char *name, const char *value);
/* Makes file |path| hold |content| (|len| bytes; (size_t)-1: strlen);
 * NULL |content| removes it (read_file: FED_ERR_NO_CREDENTIALS). */
void fake_file(struct fake *f, const char *path, const char *content, size_t len);
/* Makes read_file(|path|) fail with |err| (e.g. FED_ERR_CONFIG). */
void fake_file_error(struct fake *f, const char *path, int err);
/* How many times read_file was called, in all. */
size_t fake_nreads(const struct fake *f);

/* The clock, Unix milliseconds. fake_set_now does not run anything. */
int64_t fake_now(const struct fake *f);
void fake_set_now(struct fake *f, int64_t ms);

/* random(): values pushed with fake_random_push come first, in order;
 * then a xorshift32 sequence from the seed (fake_seed; default 1). */
void fake_seed(struct fake *f, uint32_t seed);
void fake_random_push(struct fake *f, uint32_t value);

/* --- HTTP ----------------------------------------------------------------- */

/* Queues a reply with |status| and |body| (NULL: empty) for the first
 * request whose URL contains |match| (NULL: any URL). Returns the reply so
 * headers and a delay can be added. */
struct fake_reply *fake_reply(struct fake *f, const char *match, int status, const char *body);
/* Same with a body of |len| bytes (may hold NUL bytes). */
struct fake_reply *fake_reply_bytes(struct fake *f, const char *match, int status, const void *body, size_t len);
/* Queues a transport failure |err| (FED_ERR_TRANSPORT, FED_ERR_TIMEOUT, ...). */
struct fake_reply *fake_fail(struct fake *f, const char *match, int err);
void fake_reply_header(struct fake_reply *r, const char *name, const char *value);
void fake_reply_delay(struct fake_reply *r, uint32_t ms);
/* Makes the next |n| http_start calls fail synchronously with |err|. */
void fake_start_fails(struct fake *f, unsigned n, int err);

/* Replies queued and not yet taken. */
size_t fake_replies_left(const struct fake *f);
/* Requests that matched no queued reply. */
size_t fake_unmatched(const struct fake *f);

/* Recorded requests, in the order they started. */
size_t fake_nrequests(const struct fake *f);
const struct fake_request *fake_request(const struct fake *f, size_t i);
/* The value of header |name| (any case) of |r|, or NULL; the first one. */
const char *fake_request_header(const struct fake_request *r, const char *name);
/* The value of form field |name| of |r|'s application/x-www-form-urlencoded
 * body (or of its URL's query when |in_query|), %-decoded and '+' as space,
 * in a buffer valid until the next call; NULL when absent. */
const char *fake_request_param(const struct fake_request *r, const char *name, int in_query);

/* --- credential_process ------------------------------------------------- */

/* Queues a run result for the first command containing |match| (NULL: any):
 * exit |status| with standard output |out|, |delay_ms| after it started.
 * An unmatched command ends with status -1 and no output. */
void fake_process(struct fake *f, const char *match, int status, const char *out, uint32_t delay_ms);
/* Makes fed_transport.process_start NULL (no credential_process support). */
void fake_no_process(struct fake *f);
size_t fake_nprocesses(const struct fake *f);
const struct fake_process_run *fake_process_run(const struct fake *f, size_t i);

/* --- the loop ------------------------------------------------------------- */

/* Runs every event due now (including ones that become due while running),
 * without moving the clock. Returns how many ran. */
size_t fake_run(struct fake *f);
/* Moves the clock forward by |ms|, running each event at its due time, and
 * then whatever is due at the end. Returns how many ran. */
size_t fake_advance(struct fake *f, int64_t ms);
/* Runs events, advancing the clock to each next one, until none is left or
 * the clock has moved |max_ms|. Returns how many ran. */
size_t fake_settle(struct fake *f, int64_t max_ms);
/* Events (calls, timers, tasks, processes) not yet run or cancelled. */
size_t fake_pending(const struct fake *f);
/* Timers started, in all, and the delay of the |i|th one. */
size_t fake_ntimers(const struct fake *f);
uint32_t fake_timer_delay(const struct fake *f, size_t i);
/* Misuse of the interface seen (see above). */
size_t fake_misuse(const struct fake *f);

#endif
