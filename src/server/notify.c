/* sd_notify(3) from libsystemd rather than our own datagram writer: the
 * library knows the socket forms (abstract, vsock) and the protocol's
 * details, and is in every Debian system already (libsystemd0). */
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "server/notify.h"
#include "util/log.h"

static void notify_send(const char *state)
{
	int r = sd_notify(0, state);
	if (r < 0)
		log_warn("sd_notify failed: %d", r);
}

void notify_ready(void)
{
	notify_send("READY=1\nSTATUS=serving");
}

void notify_reloading(void)
{
	struct timespec ts;
	char msg[96];
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
			 (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(msg);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=draining");
}

void notify_status(const char *status)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	notify_send(msg);
}
