/*
 * A session server owned by one test: `node dist/cli.js server --port 0` as a child process,
 * with the fixture's api key and secret (so the fixture's session ids and tokens work on it).
 * The test can stop (SIGSTOP) or kill it to play a server that hangs or goes away.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

void child_server_start(struct child_server *cs, const char *const *extra_args) {
  memset(cs, 0, sizeof *cs);
  const char *argv[32];
  int n = 0;
  argv[n++] = fx_node();
  argv[n++] = fx_cli();
  argv[n++] = "server";
  argv[n++] = "--port";
  argv[n++] = "0";
  argv[n++] = "--api-key";
  argv[n++] = fx_api_key();
  argv[n++] = "--api-secret";
  argv[n++] = fx_api_secret();
  argv[n++] = "--shutdown-timeout";
  argv[n++] = "500";
  for (int i = 0; extra_args && extra_args[i] && n < 31; i++) argv[n++] = extra_args[i];
  argv[n] = NULL;

  int fds[2];
  CHECK_EQ(0, pipe(fds));
  pid_t parent = getpid();
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
    if (getppid() != parent) _exit(1);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(fds[1]);
  cs->pid = pid;
  cs->out_fd = fds[0];

  /* read stdout until "listening on ws://..." */
  char buf[2048];
  size_t len = 0;
  int64_t deadline = it_now_ms() + 20000;
  for (;;) {
    buf[len] = '\0';
    const char *p = strstr(buf, "listening on ");
    if (p) {
      const char *nl = strchr(p, '\n');
      if (nl) {
        p += strlen("listening on ");
        snprintf(cs->url, sizeof cs->url, "%.*s", (int)(nl - p), p);
        break;
      }
    }
    int64_t left = deadline - it_now_ms();
    if (left <= 0) CHECK_FAIL_("the child server printed no \"listening on\" line: %s", buf);
    struct pollfd pfd = {cs->out_fd, POLLIN, 0};
    int r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    CHECK(r >= 0);
    if (r == 0) continue;
    ssize_t got = read(cs->out_fd, buf + len, sizeof buf - 1 - len);
    if (got <= 0) CHECK_FAIL_("the child server exited before listening: %s", buf);
    len += (size_t)got;
  }
  CHECK(strncmp(cs->url, "ws://", 5) == 0);
}

void child_server_signal(struct child_server *cs, int sig) {
  CHECK(cs->pid > 0);
  CHECK_EQ(0, kill(cs->pid, sig));
}

void child_server_kill(struct child_server *cs) {
  if (cs->pid <= 0) return;
  kill(cs->pid, SIGKILL);
  kill(cs->pid, SIGCONT);
  int status;
  while (waitpid(cs->pid, &status, 0) < 0 && errno == EINTR) {
  }
  close(cs->out_fd);
  cs->pid = 0;
}
