/* psf-child-setup.c: credentials, namespaces and cgroup of a child
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ASYNC-SIGNAL-SAFE ONLY: runs between fork() and exec()/_exit() in a copy
 * of a host that may have had threads. Raw libc calls only: open, write,
 * close, unshare, mount, umask, setgroups, setresgid, setresuid, fork,
 * waitpid, prctl, kill, _exit. No malloc, no stdio, no GLib.
 *
 * The order matters: the cgroup is joined and the namespaces are made while
 * the child still has the host's privileges, the groups are set before the
 * gid and the gid before the uid (after setresuid() there is no way back).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "psf-child-private.h"
#include "psf-child-setup-private.h"

int
psf_child_setup_is_empty (const PsfChildSetup *setup)
{
  return setup->cgroup_procs == NULL && setup->unshare_flags == 0 &&
         !setup->has_umask && !setup->has_groups && !setup->has_gid &&
         !setup->has_uid && setup->child_setup == NULL;
}

/* Writes @value in decimal into @buf (at least 24 bytes). */
static void
format_ulong (char          *buf,
              unsigned long  value)
{
  char tmp[24];
  size_t n = 0;

  do
    {
      tmp[n++] = (char) ('0' + value % 10);
      value /= 10;
    }
  while (value > 0);
  for (size_t i = 0; i < n; i++)
    buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
}

int
psf_child_setup_fail (int         error_fd,
                      int         error,
                      const char *call,
                      const char *detail)
{
  PsfSetupError record;

  psf_setup_error_encode (&record, error, call, detail);
  if (error_fd >= 0)
    psf_child_write_all (error_fd, &record, sizeof record);
  return -1;
}

int
psf_child_setup_fail_fds (int         error_fd,
                          int         error,
                          const char *call,
                          int         from,
                          int         to)
{
  char detail[64];
  size_t len;

  /* "FROM -> TO", fds being >= 0 here. */
  format_ulong (detail, (unsigned long) (from < 0 ? 0 : from));
  len = strlen (detail);
  memcpy (detail + len, " -> ", 4);
  format_ulong (detail + len + 4, (unsigned long) (to < 0 ? 0 : to));
  return psf_child_setup_fail (error_fd, error, call, detail);
}

static int
join_cgroup (const char *procs,
             int         error_fd)
{
  int fd = open (procs, O_WRONLY | O_CLOEXEC);

  if (fd < 0)
    return psf_child_setup_fail (error_fd, errno, "open", procs);
  /* "0" is the writing process itself. */
  if (write (fd, "0", 1) != 1)
    {
      int saved = errno;

      close (fd);
      return psf_child_setup_fail (error_fd, saved, "write", procs);
    }
  close (fd);
  return 0;
}

/* After unshare(CLONE_NEWPID) only children enter the namespace: fork once,
 * the child becomes its PID 1 and goes on; this process waits and mirrors
 * its end. PR_SET_PDEATHSIG ties the child to us, so a cancel (SIGTERM to
 * us) ends both. */
static int
enter_pid_namespace (int mount_proc,
                     int error_fd)
{
  pid_t pid = fork ();
  int status;

  if (pid < 0)
    return psf_child_setup_fail (error_fd, errno, "fork", "CLONE_NEWPID");

  if (pid == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (mount_proc &&
          mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return psf_child_setup_fail (error_fd, errno, "mount", "/proc");
      return 0;
    }

  /* Nothing here needs the fds: the setup channel must see EOF as soon as
   * the namespace's PID 1 is set up, whatever it inherited. */
  psf_child_close_fds_except (NULL, 0);

  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      _exit (127);

  if (WIFSIGNALED (status))
    {
      signal (WTERMSIG (status), SIG_DFL);
      kill (getpid (), WTERMSIG (status));
    }
  _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 127);
}

int
psf_child_setup_apply (const PsfChildSetup *setup,
                       int                  error_fd)
{
  char number[24];

  if (setup->cgroup_procs != NULL && join_cgroup (setup->cgroup_procs, error_fd) < 0)
    return -1;

  if (setup->unshare_flags != 0)
    {
      if (unshare (setup->unshare_flags) < 0)
        return psf_child_setup_fail (error_fd, errno, "unshare",
                             (setup->unshare_flags & CLONE_NEWPID) ? "CLONE_NEWPID" :
                             (setup->unshare_flags & CLONE_NEWNS) ? "CLONE_NEWNS" :
                             (setup->unshare_flags & CLONE_NEWNET) ? "CLONE_NEWNET" :
                             "CLONE_NEWIPC");

      /* Mounts made inside must not leak back to the host. */
      if ((setup->unshare_flags & CLONE_NEWNS) &&
          mount ("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
        return psf_child_setup_fail (error_fd, errno, "mount", "/ (MS_PRIVATE)");
    }

  if (setup->has_umask)
    umask (setup->umask_value);

  if (setup->has_groups && setgroups (setup->n_groups, setup->groups) < 0)
    {
      format_ulong (number, setup->n_groups);
      return psf_child_setup_fail (error_fd, errno, "setgroups", number);
    }

  if (setup->has_gid && setresgid (setup->gid, setup->gid, setup->gid) < 0)
    {
      format_ulong (number, setup->gid);
      return psf_child_setup_fail (error_fd, errno, "setresgid", number);
    }

  if (setup->has_uid && setresuid (setup->uid, setup->uid, setup->uid) < 0)
    {
      format_ulong (number, setup->uid);
      return psf_child_setup_fail (error_fd, errno, "setresuid", number);
    }

  if ((setup->unshare_flags & CLONE_NEWPID) &&
      enter_pid_namespace ((setup->unshare_flags & CLONE_NEWNS) != 0, error_fd) < 0)
    return -1;

  if (setup->child_setup != NULL)
    setup->child_setup (setup->child_setup_data);

  return 0;
}
