/* psf-subprocess-private.h: what subclasses inside libpsf-1 use
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-subprocess.h"

G_BEGIN_DECLS

/* Called first by a subclass's ->start: fails when the host's SIGCHLD
 * disposition (SIG_IGN, or SA_NOCLDWAIT) makes the kernel reap children by
 * itself, so that no exit status could ever be observed. Only reads the
 * disposition, never changes it. */
gboolean psf_subprocess_check_reapable (GError **error);

/* Called by a subclass's ->start once @pid exists: records it, opens a
 * pidfd for signalling and reaping, installs the watch on it (a GLib child
 * watch where pidfds are refused; either holds a reference until the child
 * is reaped) and the timeout, all in the task's context. */
void psf_subprocess_watch (PsfSubprocess *self,
                           GPid           pid);

/* For a child created by someone else that relays its wait status (the
 * FORKSERVER start method): like psf_subprocess_watch() without the child
 * watch. The caller reports the exit with psf_subprocess_relay_exit() in
 * the task's context, exactly once, and keeps the pid from being reused
 * until then. */
void psf_subprocess_watch_relayed (PsfSubprocess *self,
                                   GPid           pid);
void psf_subprocess_relay_exit    (PsfSubprocess *self,
                                   int            wait_status);

/* Whether the child has exited, though its exit was not reaped or relayed
 * yet (no system call beyond a poll() of its pidfd where there is one), or
 * said it is exiting (psf_subprocess_note_exiting()). */
gboolean psf_subprocess_has_exited (PsfSubprocess *self);

/* The relay heard the child say it exits (its exit status comes later). */
void     psf_subprocess_note_exiting (PsfSubprocess *self);

G_END_DECLS
