/* psf-forkserver-private.h: the host side of the FORKSERVER start method
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-launch-private.h"

G_BEGIN_DECLS

/* FORKSERVER: has the forkserver (started on first use, restarted if it
 * died) make a child for @launch (its routine, input, cwd, env, fd map,
 * close-fds, output and set-up; the helper is psf_launch_get_helper_path())
 * and says in @launched what it made. The caller watches it: a child of
 * its own like those of the other methods, a child the server forked
 * through psf_forkserver_relay_source_new().
 * On failure nothing is left behind, and *@use_spawn says whether the task
 * can still run with SPAWN: the server could not be started, could not
 * make the child (EAGAIN, ENOMEM, EPERM, ENOSYS: RLIMIT_NPROC, a seccomp
 * filter), or died twice. Thread-safe. */
gboolean psf_forkserver_start_child   (const PsfLaunch  *launch,
                                       PsfLaunched      *launched,
                                       gboolean         *use_spawn,
                                       GError          **error);

/* What the relay of a forked child says, in this order: EXITING when the
 * child said it is on its way out (@wait_status is 0: not known yet),
 * then EXITED, once, with the wait status to record. */
typedef enum
{
  PSF_RELAY_EXITING,
  PSF_RELAY_EXITED,
} PsfRelayEvent;

typedef void (*PsfRelayFunc) (PsfRelayEvent  event,
                              int            wait_status,
                              gpointer       user_data);

/* A source (G_PRIORITY_DEFAULT, as a child watch; not attached) that
 * reads the relay channel of @launched, whose relay_fd it takes, and calls
 * @func. EXITED is the server's word, or, if the server went first, the
 * status the child said it leaves with, else SIGKILL (such children die
 * with their server); the lost server is then counted. The channel is
 * closed after EXITED was delivered (only then may the server reap the
 * zombie, so the pid cannot be reused before the exit is recorded) or
 * when the source goes. In the copy of a fork() of the host the source
 * removes itself unheard: the exit is the parent's to hear. */
GSource *psf_forkserver_relay_source_new (const PsfLaunched *launched,
                                          PsfRelayFunc       func,
                                          gpointer           user_data,
                                          GDestroyNotify     destroy);

/* Whether this system can run the forkserver at all. */
gboolean psf_forkserver_is_supported  (void);

G_END_DECLS
