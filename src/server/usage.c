/* The usage writer: a bounded queue filled by the workers, drained by one
 * thread into a JSON-lines file and the SQLite store (see usage.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/usage.h"
#include "util/cond.h"
#include "util/log.h"

#define USAGE_BATCH 256
#define USAGE_WAIT_S 1

struct usage_log {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_usage *q; /* ring of cap records */
	size_t cap, head, n;
	bool stop, started;
	pthread_t thread;
	FILE *out;
	FILE *reopen; /* out's name opened again (usage_log_reopen) */
	struct store *st;
	atomic_uint_fast64_t dropped;
	struct store_usage batch[USAGE_BATCH]; /* the writer's copy */
};

static const char *const tp_names[TURN_TP_COUNT] = {"udp", "tcp", "dtls", "tls"};
static const char *const end_names[] = {"expired", "refresh", "closed",
					 "shutdown", "revoked"};

static void usage_copy(char *dst, size_t sz, const char *s, size_t n)
{
	if (n >= sz)
		n = sz - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* A REST username the API minted, "<expiry><sep><account>:<sub>" (the
 * user-id follows the expiry): its account; else the realm. */
static void usage_account(const struct turn_usage *t, struct store_usage *u)
{
	const char *acct = t->userid;
	const char *colon = acct != t->username
				    ? memchr(acct, ':', t->userid_len) : NULL;
	if (colon && colon > acct)
		usage_copy(u->account, sizeof(u->account), acct, (size_t)(colon - acct));
	else
		usage_copy(u->account, sizeof(u->account), t->realm, strlen(t->realm));
}

void usage_from_turn(const struct turn_usage *t, struct store_usage *u)
{
	memset(u, 0, sizeof(*u));
	usage_account(t, u);
	usage_copy(u->userid, sizeof(u->userid), t->userid, t->userid_len);
	usage_copy(u->username, sizeof(u->username), t->username, strlen(t->username));
	usage_copy(u->realm, sizeof(u->realm), t->realm, strlen(t->realm));
	snprintf(u->transport, sizeof(u->transport), "%s",
		 t->transport < TURN_TP_COUNT ? tp_names[t->transport] : "?");
	snprintf(u->reason, sizeof(u->reason), "%s",
		 (unsigned)t->reason < sizeof(end_names) / sizeof(end_names[0])
			 ? end_names[t->reason] : "?");
	u->family = t->family == AF_INET6 ? 6 : 4;
	u->start = (int64_t)t->start;
	u->end = (int64_t)t->end;
	u->c2p_bytes = t->bytes[TURN_DIR_C2P];
	u->c2p_packets = t->pkts[TURN_DIR_C2P];
	u->p2c_bytes = t->bytes[TURN_DIR_P2C];
	u->p2c_packets = t->pkts[TURN_DIR_P2C];
}

/* A JSON string, escaped as the JSON log lines are (log_json_escape):
 * controls escaped, and every byte that is not valid UTF-8 (overlong
 * forms and surrogates included) replaced by U+FFFD, so any username a
 * client sent gives a line that strict JSON readers accept. */
static void json_str(FILE *f, const char *str)
{
	char esc[STORE_USAGE_STR * 6 + 1]; /* a byte is at most 6 escaped */
	log_json_escape(str, esc, sizeof(esc));
	fprintf(f, "\"%s\"", esc);
}

int usage_json(const struct store_usage *u, char *buf, size_t sz)
{
	FILE *f = fmemopen(buf, sz, "w");
	if (!f)
		return ENOMEM;
	fputs("{\"account\":", f);
	json_str(f, u->account);
	fputs(",\"user_id\":", f);
	json_str(f, u->userid);
	fputs(",\"username\":", f);
	json_str(f, u->username);
	fputs(",\"realm\":", f);
	json_str(f, u->realm);
	fprintf(f, ",\"transport\":\"%s\",\"family\":\"ipv%d\",\"start\":%lld,"
		   "\"end\":%lld,\"c2p_bytes\":%llu,\"c2p_packets\":%llu,"
		   "\"p2c_bytes\":%llu,\"p2c_packets\":%llu,\"reason\":\"%s\"}\n",
		u->transport, u->family, (long long)u->start, (long long)u->end,
		(unsigned long long)u->c2p_bytes, (unsigned long long)u->c2p_packets,
		(unsigned long long)u->p2c_bytes, (unsigned long long)u->p2c_packets,
		u->reason);
	long len = ftell(f);
	bool bad = ferror(f) || len < 0 || (size_t)len >= sz;
	fclose(f);
	return bad ? ENOSPC : 0;
}

int usage_log_alloc(struct usage_log **up, size_t cap, FILE *out,
		    struct store *st)
{
	struct usage_log *u = calloc(1, sizeof(*u));
	if (!u || cap == 0 || !(u->q = calloc(cap, sizeof(*u->q)))) {
		free(u);
		return ENOMEM;
	}
	pthread_mutex_init(&u->mu, NULL);
	cond_init_mono(&u->cv);
	u->cap = cap;
	u->out = out;
	u->st = st;
	*up = u;
	return 0;
}

void usage_log_record(void *arg, const struct turn_usage *t)
{
	struct usage_log *u = arg;
	struct store_usage rec;
	usage_from_turn(t, &rec); /* outside the lock */
	pthread_mutex_lock(&u->mu);
	bool full = u->n == u->cap;
	if (!full) {
		u->q[(u->head + u->n) % u->cap] = rec;
		u->n++;
		pthread_cond_signal(&u->cv);
	}
	pthread_mutex_unlock(&u->mu);
	if (full)
		atomic_fetch_add(&u->dropped, 1);
}

/* Take up to USAGE_BATCH records; caller holds the mutex. */
static size_t usage_take(struct usage_log *u)
{
	size_t k = u->n < USAGE_BATCH ? u->n : USAGE_BATCH;
	for (size_t i = 0; i < k; i++)
		u->batch[i] = u->q[(u->head + i) % u->cap];
	u->head = (u->head + k) % u->cap;
	u->n -= k;
	return k;
}

static void usage_write(struct usage_log *u, size_t k)
{
	char line[USAGE_LINE_MAX];
	for (size_t i = 0; u->out && i < k; i++)
		if (usage_json(&u->batch[i], line, sizeof(line)) == 0)
			fputs(line, u->out);
	if (u->out)
		fflush(u->out);
	int err = u->st ? store_usage_add(u->st, u->batch, k) : 0;
	if (err)
		log_warn("usage: %zu records not stored: %s", k, strerror(err));
}

void usage_log_flush(struct usage_log *u)
{
	for (;;) {
		pthread_mutex_lock(&u->mu);
		size_t k = usage_take(u);
		pthread_mutex_unlock(&u->mu);
		if (k == 0)
			return;
		usage_write(u, k);
	}
}

/* Between batches, so out holds no part of a line: its descriptor now
 * names the reopened file (dup2 keeps the FILE the caller owns). */
static void usage_switch(struct usage_log *u)
{
	if (dup2(fileno(u->reopen), fileno(u->out)) < 0)
		log_warn("usage: cannot switch to the reopened usage-log: %s",
			 strerror(errno));
	fclose(u->reopen);
	u->reopen = NULL;
}

static void *usage_main(void *arg)
{
	struct usage_log *u = arg;
	pthread_mutex_lock(&u->mu);
	while (!u->stop || u->n > 0) {
		if (u->reopen)
			usage_switch(u);
		if (u->n == 0) {
			cond_wait_ms(&u->cv, &u->mu, USAGE_WAIT_S * 1000);
			continue;
		}
		size_t k = usage_take(u);
		pthread_mutex_unlock(&u->mu);
		usage_write(u, k); /* no lock held during I/O */
		pthread_mutex_lock(&u->mu);
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

void usage_log_reopen(struct usage_log *u, FILE *f)
{
	pthread_mutex_lock(&u->mu);
	if (u->reopen)
		fclose(u->reopen);
	u->reopen = u->out ? f : NULL;
	if (!u->out)
		fclose(f);
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

int usage_log_start(struct usage_log *u)
{
	int err = pthread_create(&u->thread, NULL, usage_main, u);
	u->started = err == 0;
	return err;
}

void usage_log_free(struct usage_log *u)
{
	if (!u)
		return;
	if (u->started) {
		pthread_mutex_lock(&u->mu);
		u->stop = true;
		pthread_cond_signal(&u->cv);
		pthread_mutex_unlock(&u->mu);
		pthread_join(u->thread, NULL);
	}
	usage_log_flush(u);
	if (u->reopen)
		fclose(u->reopen);
	pthread_cond_destroy(&u->cv);
	pthread_mutex_destroy(&u->mu);
	free(u->q);
	free(u);
}

uint64_t usage_log_dropped(const struct usage_log *u)
{
	return atomic_load(&((struct usage_log *)(uintptr_t)u)->dropped);
}
