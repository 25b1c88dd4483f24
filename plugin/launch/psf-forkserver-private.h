/* psf-forkserver-private.h: the host side of the FORKSERVER start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-launch-private.h"
#include "psf-subprocess.h"

G_BEGIN_DECLS

/* FORKSERVER: has the forkserver (started on first use, restarted if it
 * died) make a child for @launch (its routine, input, cwd, env, fd map,
 * close-fds, output and set-up; the helper is psf_launch_get_helper_path()).
 * A child the server clones is this process's own: @subprocess watches it
 * as for the other methods. A child the server forks (one with set-up
 * options) is the server's: @subprocess gets it through
 * psf_subprocess_watch_relayed() and learns its exit in its own context.
 * On failure nothing is left behind, and *@use_spawn says whether the task
 * can still run with SPAWN: the server could not be started, could not
 * make the child (EAGAIN, ENOMEM, EPERM, ENOSYS: RLIMIT_NPROC, a seccomp
 * filter), or died twice. Thread-safe. */
gboolean psf_forkserver_start_child   (PsfSubprocess    *subprocess,
                                       const PsfLaunch  *launch,
                                       GPid             *pid,
                                       gboolean         *use_spawn,
                                       GError          **error);

/* Whether this system can run the forkserver at all. */
gboolean psf_forkserver_is_supported  (void);

G_END_DECLS
