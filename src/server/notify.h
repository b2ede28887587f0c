/* The service manager's readiness protocol (sd_notify(3)): a no-op when
 * NOTIFY_SOCKET is unset, so the daemon runs the same outside systemd. */
#ifndef TS_SERVER_NOTIFY_H
#define TS_SERVER_NOTIFY_H

/* READY=1: workers and the API listen. */
void notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC (systemd >= 253 wants it; older ones
 * ignore it) at the start of a SIGHUP reload; notify_ready() ends it. */
void notify_reloading(void);
/* STOPPING=1: a stop or a drain has begun. */
void notify_stopping(void);
/* STATUS=...: one line for `systemctl status`. */
void notify_status(const char *status);

#endif
