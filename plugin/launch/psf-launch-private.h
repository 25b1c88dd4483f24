/* psf-launch-private.h: one description of a launch, one call per start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Host side. A process type (PsfForkProcess) fills a PsfLaunch in start()
 * and hands it to the start method it was asked for: psf_launch_fork(),
 * psf_launch_spawn() (psf-launch.c) or psf_forkserver_start_child()
 * (psf-forkserver.c). They return what they started: FORK and SPAWN the
 * pid of a child of this process, FORKSERVER a PsfLaunched (the pid, and
 * the relay channel of a child the server forked, which
 * psf_forkserver_relay_source_new() reads). The process type watches it.
 * Nothing in plugin/launch includes a process type's header (the layout
 * test launch-includes holds it).
 */

#pragma once

#include <gio/gio.h>

#include "psf-child-private.h"

G_BEGIN_DECLS

/* Everything a child gets. The fds stay the caller's: each method makes
 * the copies it needs and closes them; none is closed for the caller. */
typedef struct
{
  /* What the child runs. SPAWN and FORKSERVER run @routine, by name, in
   * the helper; FORK runs @func, else @fork_routine (the same routine,
   * linked into this library), else @method. */
  const char          *routine;
  PsfChildRoutine      fork_routine;
  int                (*func)   (int report_fd, void *data);
  void                *func_data;
  int                (*method) (void *instance, int report_fd);
  void                *instance;
  GBytes              *input;          /* nullable: the routine's input */

  /* What it gets. */
  const char          *helper;         /* the psf-child program (SPAWN, FORKSERVER) */
  const char          *argv0;          /* nullable: the helper's argv[0] (SPAWN) */
  const char          *cwd;            /* nullable: the host's */
  const char * const  *env;            /* nullable: the host's environ */
  const int           *source_fds;     /* the fd map: source_fds[i] -> target_fds[i] */
  const int           *target_fds;
  guint                n_fds;
  gboolean             close_fds;      /* FALSE: the host's inheritable fds too */
  int                  output_fd;      /* becomes stdout and stderr, or -1 */
  PsfChildSetup        setup;          /* credentials, namespaces, cgroup, umask */
  int                  setup_fd;       /* write end of the set-up channel, or -1 */
  int                  setup_read_fd;  /* its read end (closed in a FORK child), or -1 */
  int                  report_fd;      /* write end of the report channel */
  int                  report_read_fd; /* its read end (closed in a FORK child) */
} PsfLaunch;

/* Where the helper is: $PSF_CHILD_PATH (set by `meson devenv` and the
 * tests), else the installed one. */
const char *psf_launch_get_helper_path (void);

/* A working directory the child cannot enter fails here, before anything
 * is made, with "chdir(CWD): errno text". */
gboolean    psf_launch_check_cwd       (const char       *cwd,
                                        GError          **error);

/* FORK: fork()s this process; the copy runs what @launch says. */
gboolean    psf_launch_fork            (const PsfLaunch  *launch,
                                        GPid             *pid,
                                        GError          **error);

/* SPAWN: posix_spawn()s the helper with @launch->routine. */
gboolean    psf_launch_spawn           (const PsfLaunch  *launch,
                                        GPid             *pid,
                                        GError          **error);

G_END_DECLS
