/* psf-launch-private.h: one description of a launch, one call per start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Host side. A process type (PsfForkProcess) fills a PsfLaunch in start()
 * and hands it to the start method it was asked for: psf_launch_fork(),
 * psf_launch_spawn() (psf-launch.c) or psf_forkserver_start_child()
 * (psf-forkserver.c). Each returns what it started, a PsfLaunched: the
 * pid, and for a child the forkserver forked the channel that relays its
 * exit (psf_forkserver_relay_source_new() reads it). The process type
 * watches it.
 * Nothing in plugin/launch includes a process type's header (the layout
 * test launch-includes holds it).
 */

#pragma once

#include <spawn.h>

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

/* What a start method started. */
typedef struct
{
  GPid  pid;
  /* FORKSERVER, a child the server forked (one with set-up options): the
   * read end of its status channel, where the server relays its exit; the
   * server keeps its zombie until this fd is closed. psf's own fd
   * (psf_fork_guard_own_fd()); give it to psf_forkserver_relay_source_new().
   * -1 for a child of this process (FORK, SPAWN, a child the server
   * cloned): the caller reaps it. */
  int   relay_fd;
  /* The server that relays it (which one to count as lost on EOF). */
  guint relay_generation;
  /* The exit status a relayed child said it leaves with before the server
   * said STARTED (a quick child), or -1. */
  int   exiting;
} PsfLaunched;

/* Where the helper is: $PSF_CHILD_PATH (set by `meson devenv` and the
 * tests), else the installed one. */
const char *psf_launch_get_helper_path (void);

/* A working directory the child cannot enter fails here, before anything
 * is made, with "chdir(CWD): errno text". */
gboolean    psf_launch_check_cwd       (const char       *cwd,
                                        GError          **error);

/* An fd map the child cannot have fails here, before anything is made,
 * the same way for every start method: a target that is negative or at
 * or above this process's RLIMIT_NOFILE soft limit (which the child
 * inherits; a forkserver's child is held to it too), as
 * "dup2(SOURCE -> TARGET): Bad file descriptor", what dup2() says. */
gboolean    psf_launch_check_fd_map    (const int        *source_fds,
                                        const int        *target_fds,
                                        guint             n_fds,
                                        GError          **error);

/* A memfd (close-on-exec) named @name holding a copy of @data; -1 with
 * "memfd_create: …" or "write(memfd): …" on failure. */
int         psf_launch_memfd_new       (const char       *name,
                                        const guint8     *data,
                                        gsize             len,
                                        GError          **error);

/* Default dispositions and an empty signal mask for what posix_spawn()
 * starts with @attr. */
void        psf_launch_spawnattr_clean_signals (posix_spawnattr_t *attr);

/* FORK: fork()s this process; the copy runs what @launch says. A child
 * of this process: no relay. */
gboolean    psf_launch_fork            (const PsfLaunch  *launch,
                                        PsfLaunched      *launched,
                                        GError          **error);

/* SPAWN: posix_spawn()s the helper with @launch->routine. A child of this
 * process: no relay. */
gboolean    psf_launch_spawn           (const PsfLaunch  *launch,
                                        PsfLaunched      *launched,
                                        GError          **error);

G_END_DECLS
