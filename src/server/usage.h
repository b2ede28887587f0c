/* Usage records (issue 5): when an allocation ends, its worker hands a
 * record to a bounded queue; a writer thread appends the records as JSON
 * lines to --usage-log and, with --db, to the store's usage table. A
 * worker never waits for I/O: it holds the queue's mutex for one copy,
 * and when the queue is full the record is dropped and counted. */
#ifndef TS_SERVER_USAGE_H
#define TS_SERVER_USAGE_H
#include <stdio.h>

#include "store/store.h"
#include "turn/turn.h"

#define USAGE_QUEUE_DEFAULT 4096
/* The writer's buffer for one JSON line (usage_json): four text fields
 * of STORE_USAGE_STR bytes, each byte at most six in JSON (\u0001), and
 * the numbers, so that no record is left out of the file. */
#define USAGE_LINE_MAX 8192

struct usage_log;

/* A queue of cap records writing to out (may be NULL) and st (may be
 * NULL); the caller keeps ownership of both. No thread yet. */
int usage_log_alloc(struct usage_log **up, size_t cap, FILE *out,
		    struct store *st);
int usage_log_start(struct usage_log *u);
/* f is out's file name opened again (logrotate renamed it): the writer
 * moves to it between batches, so no record is split or lost, and closes
 * f. Any thread. */
void usage_log_reopen(struct usage_log *u, FILE *f);
/* Stops the thread (if started) after writing everything queued. */
void usage_log_free(struct usage_log *u);
/* A turn_usage_h: any thread, never blocks on I/O. */
void usage_log_record(void *arg, const struct turn_usage *t);
/* Writes what is queued now; the thread's work, also for tests. */
void usage_log_flush(struct usage_log *u);
uint64_t usage_log_dropped(const struct usage_log *u);

/* The record as stored: account from a "<expires>:<account>:<sub>" REST
 * username (docs/api.md), else the realm. */
void usage_from_turn(const struct turn_usage *t, struct store_usage *out);
/* One JSON object and a newline into buf; ENOSPC if it does not fit. */
int usage_json(const struct store_usage *u, char *buf, size_t sz);

#endif
