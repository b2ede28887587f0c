/* turnstone probe: the relay test. Numbered, timestamped ChannelData go
 * to the server, out of the relay to our echo peer, and back; each one's
 * round trip is timed from the send time it carries. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/probe.h"
#include "util/bytes.h"
#include "util/rand.h"

#define PROBE_PAYLOAD 16 /* "TSPR", sequence (4), send time in us (8) */

/* Our payload with this sequence number? Then its send time in *sent. */
static bool probe_payload_match(const uint8_t *d, size_t n, uint32_t seq,
				uint64_t *sent)
{
	if (n < PROBE_PAYLOAD || memcmp(d, "TSPR", 4) || get_be32(d + 4) != seq)
		return false;
	*sent = ((uint64_t)get_be32(d + 8) << 32) | get_be32(d + 12);
	return true;
}

/* The echo arrives as ChannelData, or as a Data indication if the server
 * chose not to use the channel (RFC 8656 11.6, 12.6). */
static bool probe_echo_match(struct probe_turn *t, const uint8_t *f,
			     size_t n, uint32_t seq, uint64_t *sent)
{
	const uint8_t *d;
	uint16_t ch, dlen;
	if (stun_is_chdata(f, n))
		return stun_chdata_decode(f, n, &ch, &d, &dlen) == 0 &&
		       ch == PROBE_CHANNEL &&
		       probe_payload_match(d, dlen, seq, sent);
	if (!stun_is_msg(f, n) || stun_msg_decode(&t->resp, f, n) ||
	    t->resp.method != TURN_DATA ||
	    t->resp.cls != STUN_CLASS_INDICATION)
		return false;
	const struct stun_attr *at = stun_msg_attr(&t->resp, TURN_ATTR_DATA);
	return at && probe_payload_match(at->val, at->len, seq, sent);
}

/* Send one numbered ChannelData and wait for it to come back. 0 with
 * *rtt_us, ETIMEDOUT when lost, or a socket error. */
static int probe_relay_one(struct probe_turn *t, uint32_t seq,
			   uint64_t *rtt_us)
{
	uint8_t msg[STUN_CHDATA_HDR + PROBE_PAYLOAD];
	uint64_t now = probe_now_us(), sent;
	stun_chdata_hdr(msg, PROBE_CHANNEL, PROBE_PAYLOAD);
	memcpy(msg + 4, "TSPR", 4);
	put_be32(msg + 8, seq);
	put_be32(msg + 12, (uint32_t)(now >> 32));
	put_be32(msg + 16, (uint32_t)now);
	/* The payload is a multiple of 4, so it needs no padding over TCP
	 * (RFC 8656 12.5) and none is ever sent over UDP. */
	int e = probe_io_send(&t->io, msg, sizeof(msg));
	uint64_t deadline = now / 1000u + PROBE_ECHO_MS;
	while (!e) {
		const uint8_t *f;
		size_t n;
		e = probe_io_recv(&t->io, deadline, &f, &n);
		if (!e && probe_echo_match(t, f, n, seq, &sent)) {
			*rtt_us = probe_now_us() - sent;
			return 0;
		}
	}
	return e;
}

int probe_relay(struct probe_turn *t)
{
	unsigned got = 0, n = t->a->count;
	uint64_t min = UINT64_MAX, max = 0, sum = 0, rtt;
	uint32_t seq0 = rand_u32();
	for (unsigned i = 0; i < n; i++) {
		int e = probe_relay_one(t, seq0 + i, &rtt);
		if (e && e != ETIMEDOUT) {
			fprintf(t->err, "relay: %s\n", strerror(e));
			return e;
		}
		if (e)
			continue;
		got++;
		sum += rtt;
		min = rtt < min ? rtt : min;
		max = rtt > max ? rtt : max;
	}
	fprintf(t->out, "relay: %u/%u echoed", got, n);
	if (got)
		fprintf(t->out, ", rtt min/avg/max = %.3f/%.3f/%.3f ms",
			(double)min / 1e3, (double)sum / got / 1e3,
			(double)max / 1e3);
	fprintf(t->out, ", loss %u%%\n", (n - got) * 100 / n);
	if (got < n)
		fprintf(t->err, "relay: %u lost; the echo peer answered %u\n",
			n - got, t->io.echoed);
	return got == n ? 0 : EIO;
}
