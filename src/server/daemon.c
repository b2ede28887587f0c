/* coturn's -o / daemon: run in the background, detached from the
 * terminal. The parent stays until the child has started (listeners bound,
 * workers and API running) or failed, and exits with the child's status,
 * so `turnstone serve -o ... && next-step` only goes on with a server that
 * runs, and a startup error is printed where it was started. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/daemon.h"

/* The parent: wait for the child's one status byte. EOF without one means
 * the child died before it could say. */
static int daemon_parent(int rfd)
{
	uint8_t st = 1;
	ssize_t n;
	do
		n = read(rfd, &st, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? st : 1;
}

int server_daemonize(int *ready_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return errno;
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid > 0) {
		close(p[1]);
		_exit(daemon_parent(p[0]));
	}
	close(p[0]);
	/* A session of its own: no controlling terminal, and the shell's
	 * job control and hangup no longer reach it. */
	if (setsid() < 0) {
		int err = errno;
		close(p[1]);
		return err;
	}
	*ready_fd = p[1];
	return 0;
}

void server_daemon_ready(int *ready_fd, int status)
{
	if (*ready_fd < 0)
		return;
	uint8_t st = (uint8_t)(status > 255 ? 1 : status);
	ssize_t n;
	do
		n = write(*ready_fd, &st, 1);
	while (n < 0 && errno == EINTR);
	close(*ready_fd);
	*ready_fd = -1;
	if (status != 0)
		return;
	/* Up: the terminal may go away now. Nothing is logged to these
	 * (config validation demands log-file or syslog with daemon). */
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}
