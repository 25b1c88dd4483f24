/* psf-forkserver-private.h: the host side of the FORKSERVER start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-child-setup-private.h"
#include "psf-fork-process.h"

G_BEGIN_DECLS

/* What one child gets. The fds stay the caller's: the server gets copies. */
typedef struct
{
  const char          *routine;     /* built into psf-child */
  GBytes              *input;       /* nullable */
  int                  report_fd;   /* write end of the report channel */
  const char          *cwd;         /* nullable: the host's cwd */
  const char * const  *env;         /* nullable: the host's environ */
  const int           *source_fds;
  const int           *target_fds;
  guint                n_fds;
  gboolean             close_fds;   /* FALSE: the host's inheritable fds too */
  int                  output_fd;   /* becomes stdout and stderr, or -1 */
  const PsfChildSetup *setup;       /* nullable */
} PsfForkserverLaunch;

/* Has the forkserver (started on first use, restarted if it died) fork a
 * child for @launch. On success @subprocess watches the child through
 * psf_subprocess_watch_relayed() and learns its exit in its own context;
 * on failure nothing is left behind. Thread-safe. */
/* On failure *@use_spawn says whether the task can still run with SPAWN:
 * the server could not be started, or could not make the child (EAGAIN,
 * ENOMEM, EPERM, ENOSYS: RLIMIT_NPROC, a seccomp filter), or died twice. */
gboolean psf_forkserver_start_child   (PsfSubprocess              *subprocess,
                                       const PsfForkserverLaunch  *launch,
                                       GPid                       *pid,
                                       gboolean                   *use_spawn,
                                       GError                    **error);

/* The same for a PsfForkProcess whose class has a built-in routine: the
 * options come from the process (cwd, env, fd map, close-fds), @setup and
 * @output_fd from its psf_spawn_process_prepare_child(). */
gboolean psf_forkserver_start_fork_process (PsfForkProcess       *process,
                                            GBytes               *input,
                                            int                   report_fd,
                                            const PsfChildSetup  *setup,
                                            int                   output_fd,
                                            GPid                 *pid,
                                            gboolean             *use_spawn,
                                            GError              **error);

/* Whether this system can run the forkserver at all. */
gboolean psf_forkserver_is_supported  (void);

G_END_DECLS
