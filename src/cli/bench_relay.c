/* turnstone bench relay, forward and hold. Relay: every allocation sends
 * ChannelData to the echo peer through the server, either keeping
 * --window packets in flight (self-clocking) or paced open-loop at
 * --rate; forward: the same payloads as raw UDP through the bare
 * forwarder; hold: the allocations just sit there. Each payload carries
 * the send time (monotonic ns), so RTT is measured per packet, and only
 * delivered packets count. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/bench.h"
#include "stun/stun.h"
#include "util/bytes.h"

#define RELAY_DRAIN_NS 300000000ull    /* late echoes still count as delivered */
#define RELAY_STALL_NS 200000000ull    /* a silent window is refilled */
#define RELAY_SCAN_NS 50000000ull
/* Open loop: what is due goes out every 100 us, a few packets per flow
 * set, not a millisecond's worth in one burst (a burst of 30-70 packets
 * makes its last ones wait behind the rest, in the server and in this
 * client's own sends, and the RTT then mostly measures the burst). */
#define RELAY_PACE_NS 100000ull
#define RELAY_RELEASE_NS 10000000000ull

static void relay_rx_arm(struct bench_rset *st)
{
	for (unsigned i = 0; i < BENCH_RX_BATCH; i++) {
		st->rxiov[i] = (struct iovec){st->rxbuf[i], BENCH_RX_BUFSZ};
		st->rx[i].msg_hdr = (struct msghdr){.msg_iov = &st->rxiov[i],
						    .msg_iovlen = 1};
	}
}

/* Write the 24-byte timestamped head (after the ChannelData header). */
static size_t relay_head(const struct bench_rset *st, const struct bench_rflow *fl,
			 unsigned size, uint64_t now, uint8_t *h)
{
	size_t off = 0;
	if (st->chdata) {
		stun_chdata_hdr(h, fl->f.channel, (uint16_t)size);
		off = STUN_CHDATA_HDR;
	}
	uint8_t *p = h + off;
	put_be32(p, BENCH_PKT_MAGIC);
	put_be32(p + BENCH_PKT_OFF_IDX, fl->idx);
	memcpy(p + BENCH_PKT_OFF_TS, &now, 8);
	memcpy(p + BENCH_PKT_OFF_ADDR, fl->self, 6);
	p[22] = p[23] = 0;
	return off + BENCH_PKT_HEAD;
}

/* A stream broke (closed by the server, garbage, or a write that timed
 * out mid-frame): it cannot carry another frame. Its packets in flight
 * count as lost. */
static void relay_stream_fail(struct bench_worker *w, struct bench_rflow *fl,
			      int err, uint64_t now)
{
	loop_close(w->loop, &fl->f.lf);
	w->c.last_error = err;
	if (err == ETIMEDOUT)
		w->c.timeouts++;
	if (fl->pending && fl->f.state != BF_FAILED) {
		/* Counted as a failed setup (or release) transaction. */
		fl->f.state = BF_FAILED;
		fl->f.last_error = err;
		bench_rset_changed(w, w->mode, fl, now);
		return;
	}
	w->c.errors++;
	fl->f.state = BF_FAILED;
}

/* Streams: cnt whole frames, padded to four bytes (RFC 8656 12.5), in
 * as few writes as possible; they are all sent or the stream fails. */
static void relay_send_stream(struct bench_worker *w, struct bench_rflow *fl,
			      unsigned cnt, uint64_t now)
{
	struct bench_rset *st = w->mode;
	unsigned size = w->run->a->size;
	size_t fsz = STUN_CHDATA_HDR + ((size + 3u) & ~3u);
	while (cnt > 0 && fl->f.lf.fd >= 0) {
		unsigned b = cnt < BENCH_TX_BATCH ? cnt : BENCH_TX_BATCH;
		for (unsigned i = 0; i < b; i++)
			relay_head(st, fl, size, now, st->sbuf + i * fsz);
		int e = bench_stream_write(fl->f.stream, fl->f.lf.fd, st->sbuf, b * fsz);
		if (e) {
			relay_stream_fail(w, fl, e, now);
			return;
		}
		fl->inflight += b;
		w->c.sent += b;
		cnt -= b;
	}
}

/* Send up to cnt packets on one flow; a full socket buffer stops it and
 * what was not sent is not counted. */
static void relay_send(struct bench_worker *w, struct bench_rflow *fl,
		       unsigned cnt, uint64_t now)
{
	struct bench_rset *st = w->mode;
	unsigned size = w->run->a->size;
	if (fl->f.state != BF_READY || fl->f.lf.fd < 0)
		return;
	if (fl->f.stream) {
		relay_send_stream(w, fl, cnt, now);
		return;
	}
	while (cnt > 0) {
		unsigned b = cnt < BENCH_TX_BATCH ? cnt : BENCH_TX_BATCH;
		for (unsigned i = 0; i < b; i++) {
			size_t hl = relay_head(st, fl, size, now, st->txhead[i]);
			st->txiov[i][0] = (struct iovec){st->txhead[i], hl};
			st->txiov[i][1] = (struct iovec){st->zero, size - BENCH_PKT_HEAD};
			st->tx[i].msg_hdr = (struct msghdr){.msg_iov = st->txiov[i],
							    .msg_iovlen = 2};
		}
		int r = sendmmsg(fl->f.lf.fd, st->tx, b, 0);
		if (r <= 0)
			return;
		fl->inflight += (unsigned)r;
		w->c.sent += (uint64_t)r;
		cnt -= (unsigned)r;
		if ((unsigned)r < b)
			return;
	}
}

static void relay_echo(struct bench_worker *w, struct bench_rflow *fl,
		       const uint8_t *p, size_t len, uint64_t now)
{
	uint64_t ts;
	if (len < BENCH_PKT_HEAD || get_be32(p) != BENCH_PKT_MAGIC ||
	    get_be32(p + BENCH_PKT_OFF_IDX) != fl->idx)
		return;
	memcpy(&ts, p + BENCH_PKT_OFF_TS, 8);
	if (ts > now)
		return;
	w->c.recv_win++;
	if (bench_phase_get(w->run) == BP_MEASURE)
		w->c.ops++;
	bench_hist_add(&w->hist, now - ts);
	if (fl->inflight)
		fl->inflight--;
	fl->last_rx = now;
}

static void relay_dgram(struct bench_worker *w, struct bench_rflow *fl,
			const uint8_t *buf, size_t len, uint64_t now)
{
	struct bench_rset *st = w->mode;
	uint16_t ch, dlen;
	const uint8_t *data;
	if (!st->chdata) {
		relay_echo(w, fl, buf, len, now);
	} else if (stun_is_chdata(buf, len)) {
		if (stun_chdata_decode(buf, len, &ch, &data, &dlen) == 0 &&
		    ch == fl->f.channel)
			relay_echo(w, fl, data, dlen, now);
	} else if (bench_flow_input(&fl->f, buf, len, now)) {
		bench_rset_changed(w, st, fl, now);
	}
}

/* Window mode: top the window up once the echoes are in. */
static void relay_refill(struct bench_worker *w, struct bench_rflow *fl)
{
	struct bench_rset *st = w->mode;
	unsigned win = w->run->a->window;
	if (!st->rate && fl->inflight < win &&
	    bench_phase_get(w->run) == BP_MEASURE)
		relay_send(w, fl, win - fl->inflight, bench_now_ns());
}

static void relay_input(struct loop_fd *lf, uint32_t events)
{
	struct bench_rflow *fl = lf->arg;
	struct bench_worker *w = fl->w;
	struct bench_rset *st = w->mode;
	(void)events;
	for (int round = 0; round < 4 && lf->fd >= 0; round++) {
		int n = recvmmsg(lf->fd, st->rx, BENCH_RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		uint64_t now = bench_now_ns();
		for (int i = 0; i < n; i++)
			relay_dgram(w, fl, st->rxbuf[i], st->rx[i].msg_len, now);
		if (n < BENCH_RX_BATCH)
			break;
	}
	relay_refill(w, fl);
}

struct relay_rx {
	struct bench_rflow *fl;
	uint64_t now;
};

static bool relay_frame(void *arg, const uint8_t *frame, size_t len)
{
	struct relay_rx *rx = arg;
	relay_dgram(rx->fl->w, rx->fl, frame, len, rx->now);
	return rx->fl->f.lf.fd >= 0;
}

/* Streams: the receive batch's buffers as one, cut into frames. After a
 * few rounds the loop's next wakeup reads on; bytes TLS has decrypted
 * already would wake nothing, so those are read now. */
static void relay_stream_input(struct loop_fd *lf, uint32_t events)
{
	struct bench_rflow *fl = lf->arg;
	struct bench_worker *w = fl->w;
	struct bench_rset *st = w->mode;
	(void)events;
	for (int round = 0; lf->fd >= 0; round++) {
		size_t got;
		struct relay_rx rx = {fl, 0};
		uint8_t *buf = (uint8_t *)st->rxbuf;
		int e = bench_stream_read(fl->f.stream, lf->fd, buf,
					  sizeof(st->rxbuf), &got);
		if (e == EAGAIN)
			break;
		rx.now = bench_now_ns();
		if (!e)
			e = bench_framer_feed(&fl->f.stream->fr, buf, got,
					      relay_frame, &rx);
		if (e) {
			relay_stream_fail(w, fl, e, rx.now);
			break;
		}
		if (round >= 3 && !bench_stream_pending(fl->f.stream))
			break;
	}
	relay_refill(w, fl);
}

/* Open loop: send what the schedule says is due, spread evenly. */
static void relay_pace(struct bench_worker *w, struct bench_rset *st,
		       uint64_t now)
{
	uint64_t target = (uint64_t)((double)(now - st->w_start) * st->rate / 1e9);
	if (target <= st->sched || st->n == 0)
		return;
	uint64_t due = target - st->sched;
	st->sched = target;
	uint64_t per = due / st->n;
	unsigned extra = (unsigned)(due % st->n);
	unsigned span = per ? st->n : extra;
	for (unsigned j = 0; j < span; j++) {
		struct bench_rflow *fl = &st->fl[(st->rr + j) % st->n];
		/* Stamped as it leaves, not when the tick began. */
		relay_send(w, fl, (unsigned)per + (j < extra), bench_now_ns());
	}
	st->rr = (st->rr + extra) % st->n;
}

/* Window mode: a window whose echoes all went missing would never be
 * refilled; refill it and count a stall. */
static void relay_unstall(struct bench_worker *w, struct bench_rset *st,
			  uint64_t now)
{
	for (unsigned i = 0; i < st->n; i++) {
		struct bench_rflow *fl = &st->fl[i];
		if (fl->inflight == 0 || now - fl->last_rx < RELAY_STALL_NS)
			continue;
		w->c.stalls++;
		fl->inflight = 0;
		fl->last_rx = now;
		relay_send(w, fl, w->run->a->window, now);
	}
}

static void relay_tick(struct bench_worker *w, uint64_t now)
{
	struct bench_rset *st = w->mode;
	if (bench_phase_get(w->run) != BP_MEASURE)
		return;
	if (st->rate) {
		relay_pace(w, st, now);
	} else if (now - st->sched >= RELAY_SCAN_NS) {
		st->sched = now; /* in window mode: time of the last scan */
		relay_unstall(w, st, now);
	}
}

static void relay_start(struct bench_worker *w, struct bench_rset *st)
{
	const struct bench_args *a = w->run->a;
	uint64_t now = bench_now_ns();
	st->w_start = now;
	st->sched = a->rate ? 0 : now;
	st->rate = (double)a->rate * st->n / (a->allocs ? a->allocs : 1);
	for (unsigned i = 0; i < st->n; i++) {
		st->fl[i].last_rx = now;
		if (!a->rate)
			relay_send(w, &st->fl[i], a->window, now);
	}
}

static void relay_measure(struct bench_worker *w, struct bench_rset *st)
{
	if (w->run->a->mode == BENCH_HOLD) {
		bench_loop_until(w, BP_DRAIN, UINT64_MAX, NULL);
		return;
	}
	if (w->run->a->rate)
		w->tick_ns = RELAY_PACE_NS;
	relay_start(w, st);
	bench_loop_until(w, BP_DRAIN, UINT64_MAX, relay_tick);
	bench_loop_until(w, BP_NEVER, bench_now_ns() + RELAY_DRAIN_NS, NULL);
}

void *bench_relay_thread(void *arg)
{
	struct bench_worker *w = arg;
	struct bench_rset *st = calloc(1, sizeof(*st));
	uint64_t setup_end = bench_now_ns() +
			     (uint64_t)(BENCH_SETUP_MAX_S - 10) * 1000000000ull;
	int err = st ? 0 : ENOMEM;
	if (st) {
		st->n = w->count;
		st->chdata = w->run->a->mode != BENCH_FORWARD;
		st->fl = calloc(st->n, sizeof(*st->fl));
		w->mode = st;
		relay_rx_arm(st);
		loop_h *in = w->run->a->transport == BENCH_UDP ? relay_input
							       : relay_stream_input;
		err = st->fl ? bench_rset_open(w, st, in) : ENOMEM;
	}
	if (!err)
		bench_rset_setup(w, st, setup_end);
	if (err) {
		w->c.setup_fail += w->count;
		w->c.last_error = err;
	}
	bench_setup_done(w);
	if (!err)
		relay_measure(w, st);
	if (st && st->fl) {
		bench_rset_release(w, st, bench_now_ns() + RELAY_RELEASE_NS);
		bench_rset_close(w, st);
		free(st->fl);
	}
	free(st);
	w->mode = NULL;
	return NULL;
}
