/* Waking the sender for a spool: the delivery after it queued an ack,
   doveadm frontdesk retry after it put one back. Tells the
   frontdesk-sender service, else starts a one-spool runner. */

#include "lib.h"
#include "net.h"
#include "frontdesk-sender-wake.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/wait.h>

/* Start frontdesk-sender unless one is running (it holds runner.lock). A
   runner that is leaving looks at the queue once more after letting the
   lock go, so an entry queued meanwhile is never stranded. */
static void sender_start_runner(struct event *event, const char *path,
				const char *spool_dir, bool dovecot_log)
{
	const char *lock_path = t_strconcat(spool_dir, "/runner.lock", NULL);
	pid_t pid;
	int fd, status;

	fd = open(lock_path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		e_error(event, "open(%s) failed: %m", lock_path);
		return;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		i_close_fd(&fd);
		return; /* a runner is at work */
	}
	i_close_fd(&fd);
	if (access(path, X_OK) < 0) {
		e_error(event, "frontdesk_sender_path %s: %m; the ack "
			"stays queued in %s", path, spool_dir);
		return;
	}
	pid = fork();
	if (pid < 0) {
		e_error(event, "fork() failed: %m; the ack stays queued "
			"in %s", spool_dir);
		return;
	}
	if (pid == 0) {
		/* the child forks the runner and leaves at once, so the
		   runner belongs to init and lmtp never waits for it */
		const char *argv[] = {
			path, "-d", spool_dir, NULL
		};
		const char *envp[] = {
			"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL, NULL
		};
		int null_fd;

		if (fork() != 0)
			_exit(0);
		(void)setsid();
		null_fd = open("/dev/null", O_RDWR);
		if (null_fd >= 0) {
			(void)dup2(null_fd, 0);
			(void)dup2(null_fd, 1);
			/* stderr stays where it is Dovecot's log */
			if (!dovecot_log)
				(void)dup2(null_fd, 2);
		}
		if (!dovecot_log)
			argv[1] = spool_dir, argv[2] = NULL;
		closefrom(3);
		if (getenv("TZ") != NULL)
			envp[1] = t_strconcat("TZ=", getenv("TZ"), NULL);
		(void)execve(path, (char **)argv, (char **)envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) ;
	/* ECHILD: a SIGCHLD handler of lmtp reaped it first; fine */
}

/* Tell the frontdesk-sender service (its socket in base_dir) that spool_dir
   has a new entry: one line on a non-blocking socket, no reply awaited.
   Returns 0 when the line was written or the service is there but busy
   (the entry waits for the service's rescan), -1 when there is no service
   to tell (then a runner is started). */
static int sender_notify_service(struct event *event, const char *base_dir,
				 const char *spool_dir)
{
	const char *path = t_strconcat(base_dir, "/"FRONTDESK_SENDER_SOCKET,
				       NULL);
	const char *line = t_strconcat("SPOOL\t", spool_dir, "\n", NULL);
	size_t len = strlen(line);
	ssize_t ret;
	int fd;

	fd = net_connect_unix(path);
	if (fd == -1) {
		/* no service, a stopped one, or one for another mail
		   user (the socket is its user's only) */
		if (errno == ENOENT || errno == ECONNREFUSED ||
		    errno == ENOTSOCK || errno == EACCES || errno == EPERM)
			return -1;
		/* EAGAIN: the listener's backlog is full; the service is
		   busy and rescans its spools anyway */
		e_warning(event, "connect(%s) failed: %m; the ack waits in "
			  "%s for the service's next scan", path, spool_dir);
		return 0;
	}
	ret = write(fd, line, len);
	if (ret != (ssize_t)len) {
		e_warning(event, "write(%s) failed: %s; the ack waits in %s "
			  "for the service's next scan", path,
			  ret < 0 ? strerror(errno) : "short write", spool_dir);
	}
	i_close_fd(&fd);
	return 0;
}

void frontdesk_sender_wake(struct event *event, const char *base_dir,
			   const char *sender_path, const char *spool_dir,
			   bool dovecot_log)
{
	T_BEGIN {
		if (base_dir == NULL ||
		    sender_notify_service(event, base_dir, spool_dir) < 0) {
			sender_start_runner(event, sender_path, spool_dir,
					    dovecot_log);
		}
	} T_END;
}
