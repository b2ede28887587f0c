/* The bookkeeping of one health-check round, without sockets: every URL
 * becomes a probe with its own transaction id; UDP answers, which all
 * arrive on one shared socket per address family, are matched to their
 * probe by transaction id and source address; the round ends at one
 * deadline whatever the number of servers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_health.h"
#include "util/bytes.h"
#include "util/rand.h"

static int tid_cmp(const void *a, const void *b)
{
	return memcmp(((const struct hround_tid *)a)->tid,
		      ((const struct hround_tid *)b)->tid, STUN_TID_LEN);
}

static void probe_init(struct hprobe *p, const char *url)
{
	p->fd = -1;
	if (rand_bytes(p->tid, sizeof(p->tid)) != 0 ||
	    api_url_parse(url, p->host, sizeof(p->host), &p->port, &p->t) != 0) {
		p->st = HP_DONE;
		return;
	}
	/* An IP literal needs no lookup. */
	p->st = sa_set_str(&p->addr, p->host, p->port) == 0 ? HP_START : HP_DNS;
}

int hround_init(struct hround *r, const char (*urls)[STORE_URL_MAX],
		size_t n, uint32_t timeout_ms, uint32_t rto_ms, uint64_t now_us)
{
	memset(r, 0, sizeof(*r));
	r->udp[0] = r->udp[1] = -1;
	r->p = calloc(n ? n : 1, sizeof(*r->p));
	r->tids = calloc(n ? n : 1, sizeof(*r->tids));
	if (!r->p || !r->tids) {
		hround_free(r);
		return ENOMEM;
	}
	r->n = n;
	r->deadline_us = now_us + (uint64_t)timeout_ms * 1000;
	r->rto_us = (uint64_t)rto_ms * 1000;
	r->tcp_max = HROUND_TCP_MAX;
	r->first = n ? rand_u32() % n : 0;
	for (size_t i = 0; i < n; i++) {
		probe_init(&r->p[i], urls[i]);
		r->left += r->p[i].st != HP_DONE;
		memcpy(r->tids[i].tid, r->p[i].tid, STUN_TID_LEN);
		r->tids[i].idx = (uint32_t)i;
	}
	qsort(r->tids, n, sizeof(*r->tids), tid_cmp);
	return 0;
}

void hround_free(struct hround *r)
{
	for (size_t i = 0; r->p && i < r->n; i++)
		if (r->p[i].fd >= 0)
			close(r->p[i].fd);
	for (int f = 0; f < 2; f++)
		if (r->udp[f] >= 0)
			close(r->udp[f]);
	free(r->p);
	free(r->tids);
	memset(r, 0, sizeof(*r));
	r->udp[0] = r->udp[1] = -1;
}

/* Any answer with our id counts, a 401 from a server that authenticates
 * Binding too: the server is alive (RFC 8489 6.3.4 leaves that to it). */
static bool is_answer(const struct stun_msg *m)
{
	return m->method == STUN_BINDING &&
	       (m->cls == STUN_CLASS_SUCCESS || m->cls == STUN_CLASS_ERROR);
}

long hround_match(const struct hround *r, const uint8_t *buf, size_t len,
		  const struct sa *from)
{
	struct stun_msg m;
	struct hround_tid key;
	if (stun_msg_decode(&m, buf, len) != 0 || !is_answer(&m))
		return -1;
	memcpy(key.tid, m.tid, STUN_TID_LEN);
	const struct hround_tid *hit = bsearch(&key, r->tids, r->n,
					       sizeof(*r->tids), tid_cmp);
	if (!hit)
		return -1;
	const struct hprobe *p = &r->p[hit->idx];
	/* A spoofed or stray answer from elsewhere must not mark a server
	 * up: the id is 96 random bits, the source must be the server too. */
	if (p->t != API_T_UDP || p->st != HP_WAIT || !sa_eq(from, &p->addr))
		return -1;
	return (long)hit->idx;
}

int hround_stream_check(const struct hprobe *p)
{
	struct stun_msg m;
	if (p->got < STUN_HDR_LEN)
		return 0;
	if ((p->rbuf[0] & 0xC0) != 0 || get_be32(p->rbuf + 4) != STUN_MAGIC)
		return -1; /* not STUN: no use reading on */
	size_t want = STUN_HDR_LEN + get_be16(p->rbuf + 2);
	if (want > sizeof(p->rbuf))
		return -1;
	if (p->got < want)
		return 0;
	if (stun_msg_decode(&m, p->rbuf, want) != 0 || !is_answer(&m) ||
	    memcmp(m.tid, p->tid, STUN_TID_LEN) != 0)
		return -1;
	return 1;
}

void hround_done(struct hround *r, size_t i, bool ok, uint64_t now_us)
{
	struct hprobe *p = &r->p[i];
	if (p->st == HP_DONE)
		return;
	if (p->fd >= 0) {
		close(p->fd);
		r->tcp_open--;
	}
	p->fd = -1;
	p->ok = ok;
	p->rtt_ms = ok && now_us >= p->t0_us ? (double)(now_us - p->t0_us) / 1e3 : 0;
	p->st = HP_DONE;
	r->left--;
}

void hround_resolve(struct hround *r, const struct hdns *d)
{
	for (size_t i = 0; i < r->n; i++) {
		struct hprobe *p = &r->p[i];
		if (p->st != HP_DNS)
			continue;
		switch (hdns_get(d, p->host, &p->addr)) {
		case HDNS_READY:
			sa_set_port(&p->addr, p->port);
			p->st = HP_START;
			break;
		case HDNS_FAILED:
			hround_done(r, i, false, 0);
			break;
		case HDNS_PENDING:
			break;
		}
	}
}

bool hround_rtx_due(const struct hround *r, size_t i, uint64_t now_us)
{
	const struct hprobe *p = &r->p[i];
	return p->t == API_T_UDP && p->st == HP_WAIT && p->sends == 1 &&
	       now_us >= p->next_us;
}

bool hround_expire(struct hround *r, uint64_t now_us)
{
	if (now_us < r->deadline_us)
		return r->left == 0;
	for (size_t i = 0; i < r->n; i++) {
		struct hprobe *p = &r->p[i];
		if (p->st == HP_START && p->t != API_T_UDP)
			p->skipped = true;
		hround_done(r, i, false, now_us);
	}
	return r->left == 0;
}

int hround_wait_ms(const struct hround *r, uint64_t now_us, int tick_ms)
{
	uint64_t until = r->deadline_us;
	bool tick = false;
	for (size_t i = 0; i < r->n; i++) {
		const struct hprobe *p = &r->p[i];
		tick |= p->st == HP_DNS || p->st == HP_START;
		if (p->t == API_T_UDP && p->st == HP_WAIT && p->sends == 1 &&
		    p->next_us < until)
			until = p->next_us;
	}
	if (until <= now_us)
		return 0;
	uint64_t ms = (until - now_us + 999) / 1000;
	if (tick && ms > (uint64_t)tick_ms)
		ms = (uint64_t)tick_ms;
	return (int)ms;
}
