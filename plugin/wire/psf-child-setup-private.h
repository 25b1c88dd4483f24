/* psf-child-setup-private.h: credentials, namespaces and cgroup of a child
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain libc, async-signal-safe: applied between fork() and exec() (the
 * exec path of PsfSpawnProcess and the FORK start method) and in the helper
 * psf-child (the SPAWN start method). One source serves all of them.
 */

#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a child applies to itself before it runs, in this order: cgroup,
 * unshare, umask, setgroups, setresgid, setresuid, the PID namespace's
 * extra fork, then the caller's child-setup function. */
typedef struct
{
  const char    *cgroup_procs;   /* ".../cgroup.procs" or NULL */
  int            unshare_flags;  /* CLONE_NEWIPC|CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWNET */
  int            has_umask;
  mode_t         umask_value;
  int            has_groups;
  const gid_t   *groups;
  size_t         n_groups;
  int            has_gid;
  gid_t          gid;
  int            has_uid;
  uid_t          uid;
  void         (*child_setup) (void *data);
  void          *child_setup_data;
} PsfChildSetup;

/* A setup failure, written on the setup channel; the parent turns it into
 * "CALL(DETAIL): errno text". */
#define PSF_SETUP_ERROR_MAGIC 0x65667370u /* "psfe" */

typedef struct
{
  uint32_t magic;
  int32_t  error;
  char     call[32];
  char     detail[224];
} PsfSetupError;

int  psf_child_setup_is_empty (const PsfChildSetup *setup);

/* Applies @setup. On failure writes a PsfSetupError to @error_fd and
 * returns -1; the caller then _exit()s. With CLONE_NEWPID the process forks
 * once more: the original waits for its child (PID 1 of the namespace) and
 * exits with its status, never returning. */
int  psf_child_setup_apply    (const PsfChildSetup *setup,
                               int                  error_fd);

/* Writes a PsfSetupError "CALL(DETAIL): errno" to @error_fd (when >= 0)
 * and returns -1. The _fds variant's detail is "FROM -> TO". */
int  psf_child_setup_fail     (int                  error_fd,
                               int                  error,
                               const char          *call,
                               const char          *detail);
int  psf_child_setup_fail_fds (int                  error_fd,
                               int                  error,
                               const char          *call,
                               int                  from,
                               int                  to);

/* Encodes/decodes @setup as argv options of psf-child (SPAWN method). */
#define PSF_CHILD_SETUP_FD 5
