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

/* The set-up as a flat record, as the host gives it to the helper of SPAWN
 * (in its input memfd, see psf-child.c) and to the forkserver (in the
 * request's payload): this header, then n_groups uint32_t group ids, then
 * cgroup_len bytes of the cgroup.procs path with its NUL (cgroup_len 0:
 * none). Host byte order, at a 4-byte boundary. One codec,
 * psf-wire-setup.c. (A child-setup function cannot travel: SPAWN and
 * FORKSERVER refuse it.) */
#define PSF_CHILD_SETUP_MAGIC 0x75667370u /* "psfu" */

#define PSF_CHILD_SETUP_UMASK  (1u << 0)  /* fields: which has_* are set */
#define PSF_CHILD_SETUP_GROUPS (1u << 1)
#define PSF_CHILD_SETUP_GID    (1u << 2)
#define PSF_CHILD_SETUP_UID    (1u << 3)

typedef struct
{
  uint32_t magic;
  uint32_t fields;         /* PSF_CHILD_SETUP_* */
  int32_t  unshare_flags;  /* CLONE_NEWIPC|CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWNET */
  uint32_t umask_value;
  uint32_t uid;
  uint32_t gid;
  uint32_t n_groups;
  uint32_t cgroup_len;
} PsfChildSetupRecord;

/* Encodes @setup into @buffer when @size is enough; returns the size the
 * record needs either way (0: it cannot be encoded, more than 4 GiB).
 * Async-signal-safe. */
size_t psf_child_setup_encode (const PsfChildSetup *setup,
                               void                *buffer,
                               size_t               size);

/* Decodes the record of exactly @len bytes at @data (4-byte aligned) into
 * @setup, whose cgroup path and groups then point into @data. Returns 0,
 * or EINVAL for anything the encoder does not write: a short or long
 * record, another magic, unknown fields or unshare flags, a umask above
 * 0777, a value (umask, uid, gid, groups) without its field, groups
 * counted past the end, a cgroup path without its NUL last. What it
 * accepts, encoded again, is the same bytes. Async-signal-safe. */
int    psf_child_setup_decode (const void          *data,
                               size_t               len,
                               PsfChildSetup       *setup);

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

/* Fills @record: @error, then @call and @detail cut to fit. */
void psf_setup_error_encode   (PsfSetupError       *record,
                               int                  error,
                               const char          *call,
                               const char          *detail);

/* Decodes @len bytes at @data (any alignment) into @record, with call
 * and detail NUL-terminated. Returns 0, or -1 for what no child writes:
 * another length, another magic, an errno below 0 or above the kernel's
 * MAX_ERRNO. */
int  psf_setup_error_decode   (const void          *data,
                               size_t               len,
                               PsfSetupError       *record);

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

/* Where the helper of SPAWN finds the set-up channel; and its option
 * "--setup=OFFSET": a PsfChildSetupRecord follows the routine's input in
 * the input memfd (fd 4) from OFFSET (a multiple of 8) to its end. */
#define PSF_CHILD_SETUP_FD  5
#define PSF_CHILD_SETUP_ARG "--setup="
