/* Background mode (coturn's -o / daemon). */
#ifndef TS_SERVER_DAEMON_H
#define TS_SERVER_DAEMON_H

/* Fork before any thread exists. The parent does not return: it exits
 * with the status the child reports through server_daemon_ready (1 if
 * the child dies first). The child, in a new session, gets the pipe's
 * write end in *ready_fd. 0 or errno (then still in the caller's
 * process, in the foreground). */
int server_daemonize(int *ready_fd);

/* In the child: report status (0 = running) to the waiting parent and
 * close *ready_fd (then -1). On 0 the standard streams go to /dev/null.
 * Nothing happens when *ready_fd is -1 (not a daemon, or said already). */
void server_daemon_ready(int *ready_fd, int status);

#endif
