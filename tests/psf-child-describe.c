/* psf-child-describe.c: the "describe" routine: a child reports what it is
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ASYNC-SIGNAL-SAFE ONLY (see psf-child-routines.c). Writes "key=value"
 * lines on the report channel: uid, gid, groups, umask, the namespace
 * links of ipc, mnt, pid and net, argv[0], the working directory, the
 * value of PSF_DESCRIBE in its environment, its RLIMIT_NOFILE soft limit
 * (nofile=), its open fds below 64 (fd.N=
 * what /proc/self/fd/N links to), and the cgroup line. It lets tests (and
 * people debugging spawn options) see what the set-up did, in every start
 * method. It is built into the tests' helper psf-child-test, not into the
 * installed psf-child.
 */

#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psf-child-describe.h"

typedef struct
{
  char   buf[8192];
  size_t len;
} Text;

static void
text_add (Text       *t,
          const char *s)
{
  size_t n = strlen (s);

  if (n > sizeof t->buf - t->len)
    n = sizeof t->buf - t->len;
  memcpy (t->buf + t->len, s, n);
  t->len += n;
}

static void
text_add_number (Text          *t,
                 unsigned long  value,
                 unsigned       base)
{
  char tmp[32];
  size_t n = 0;
  char out[33];

  do
    {
      tmp[n++] = "0123456789abcdef"[value % base];
      value /= base;
    }
  while (value > 0);
  for (size_t i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  out[n] = '\0';
  text_add (t, out);
}

static void
text_add_link (Text       *t,
               const char *key,
               const char *path)
{
  char target[256];
  ssize_t n = readlink (path, target, sizeof target - 1);

  text_add (t, key);
  if (n > 0)
    {
      target[n] = '\0';
      text_add (t, target);
    }
  text_add (t, "\n");
}

int
psf_child_describe_run (const void *input,
                        size_t      input_len,
                        int         report_fd)
{
  Text t;
  gid_t groups[256];
  int n_groups = getgroups (sizeof groups / sizeof groups[0], groups);
  mode_t mask = umask (0);
  char cgroup[1024];
  struct rlimit nofile;
  int fd;

  umask (mask);
  t.len = 0;

  text_add (&t, "uid=");
  text_add_number (&t, getuid (), 10);
  text_add (&t, "\ngid=");
  text_add_number (&t, getgid (), 10);
  text_add (&t, "\ngroups=");
  for (int i = 0; i < n_groups; i++)
    {
      if (i > 0)
        text_add (&t, ",");
      text_add_number (&t, groups[i], 10);
    }
  text_add (&t, "\numask=");
  text_add_number (&t, mask, 8);
  if (getrlimit (RLIMIT_NOFILE, &nofile) == 0)
    {
      text_add (&t, "\nnofile=");
      text_add_number (&t, (unsigned long) nofile.rlim_cur, 10);
    }
  text_add (&t, "\n");
  text_add_link (&t, "ipc=", "/proc/self/ns/ipc");
  text_add_link (&t, "mnt=", "/proc/self/ns/mnt");
  text_add_link (&t, "pid=", "/proc/self/ns/pid");
  text_add_link (&t, "net=", "/proc/self/ns/net");

  fd = open ("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      char cmdline[512];
      ssize_t n = read (fd, cmdline, sizeof cmdline - 1);

      close (fd);
      if (n > 0)
        {
          cmdline[n] = '\0';
          text_add (&t, "argv0=");
          text_add (&t, cmdline);
          text_add (&t, "\n");
        }
    }

  {
    char cwd[PATH_MAX];
    ssize_t n = readlink ("/proc/self/cwd", cwd, sizeof cwd - 1);
    const char *value = getenv ("PSF_DESCRIBE");

    if (n > 0)
      {
        cwd[n] = '\0';
        text_add (&t, "cwd=");
        text_add (&t, cwd);
        text_add (&t, "\n");
      }
    if (value != NULL)
      {
        text_add (&t, "env=");
        text_add (&t, value);
        text_add (&t, "\n");
      }
  }

  /* The open fds below 64, as "fd.N=" and what /proc says they are:
   * what the fd layout of the start method gave the child. */
  for (int n = 0; n < 64; n++)
    {
      char path[] = "/proc/self/fd/NN";
      char key[] = "fd.NN=";
      size_t at = 0;

      if (fcntl (n, F_GETFD) < 0)
        continue;
      if (n >= 10)
        path[14 + at++] = (char) ('0' + n / 10);
      path[14 + at++] = (char) ('0' + n % 10);
      path[14 + at] = '\0';
      memcpy (key + 3, path + 14, at);
      key[3 + at] = '=';
      key[4 + at] = '\0';
      text_add_link (&t, key, path);
    }

  text_add (&t, "getpid=");
  text_add_number (&t, (unsigned long) getpid (), 10);
  text_add (&t, "\n");

  fd = open ("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      ssize_t n = read (fd, cgroup, sizeof cgroup - 1);

      close (fd);
      if (n > 0)
        {
          cgroup[n] = '\0';
          text_add (&t, "cgroup=");
          /* The cgroup v2 line is "0::/path". */
          for (char *line = cgroup; line != NULL && *line != '\0'; )
            {
              char *nl = strchr (line, '\n');

              if (nl != NULL)
                *nl = '\0';
              if (strncmp (line, "0::", 3) == 0)
                text_add (&t, line + 3);
              line = nl != NULL ? nl + 1 : NULL;
            }
          text_add (&t, "\n");
        }
    }

  /* What the routine was given as its input (0 for none). */
  (void) input;
  text_add (&t, "input_len=");
  text_add_number (&t, (unsigned long) input_len, 10);
  text_add (&t, "\n");
  return psf_child_write_all (report_fd, t.buf, t.len) == 0 ? 0 : 1;
}

/* The tests' helper (psf-child-test) and the test programs (FORK) know
 * "describe" as well as the routines built into psf-child. */
PsfChildRoutine
psf_child_extra_routine_lookup (const char *name)
{
  return strcmp (name, "describe") == 0 ? psf_child_describe_run : NULL;
}
