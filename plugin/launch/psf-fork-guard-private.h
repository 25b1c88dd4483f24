/* psf-fork-guard-private.h: what a fork() of the host leaves to each copy
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Sets up the fork handlers; call before taking any lock that
 * psf_fork_guard_add_lock() was given. Idempotent and cheap. */
void  psf_fork_guard_init          (void);

/* Which copy of the process this is: bumped in the child of every fork().
 * Whatever was made under another generation belongs to the process that
 * made it, not to this one. */
guint psf_fork_guard_generation    (void);

/* @lock is taken before every fork() and released on both sides, so that
 * a copy never starts with it held by a thread it does not have. Locks are
 * taken in the order they were added. */
void  psf_fork_guard_add_lock      (GMutex *lock);

/* Records @fd as psf's own: the copy made by a fork() closes its copy at
 * once, while the number is still certain to be it. */
void  psf_fork_guard_own_fd        (int fd);

/* Closes *@fd, recorded at @generation, if this process is the one that
 * owns it (a copy already closed it at the fork, and its number may be
 * another file by now), and sets it to -1. */
void  psf_fork_guard_close_fd      (int   *fd,
                                    guint  generation);

G_END_DECLS
