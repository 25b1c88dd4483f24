/* psf-fork-guard.c: psf in a host that forks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* What a fork() of the host does to psf
 * =====================================
 *
 * Package managers fork with work in flight (Portage's MergeProcess runs
 * the merge in a forked copy of a process that has its own tasks). The
 * copy gets the memory of every task, every source attached to a main
 * context and a copy of every fd, but none of the children: they are the
 * parent's, and so are their reports, their exits and the forkserver.
 *
 * Three things keep the copy off them:
 *
 *  - A generation, bumped in the child handler of pthread_atfork(). Every
 *    task records the generation it was started in; one of another
 *    generation is inherited, and psf does nothing with it in the copy: its
 *    sources remove themselves when they fire, without reading, reaping or
 *    signalling anything, and the public calls that would wait for it or
 *    signal its child fail with PSF_ERROR_INVALID_STATE.
 *
 *  - The fds psf owns (pidfds, report channels, relayed status pipes, the
 *    forkserver's socket) are recorded here. The child handler closes the
 *    copy's copies at once: at that instant the numbers are certainly
 *    those files. Later the copy may close every fd and open files of its
 *    own under the same numbers; psf never closes a number it recorded in
 *    another generation (psf_fork_guard_close_fd()), so ownership is the
 *    pair (process generation, open file), never the number alone.
 *
 *  - Process-wide locks (the registry's own, the forkserver's) are taken
 *    by the prepare handler and released on both sides, so a fork while
 *    another thread is inside start() never leaves the copy with a held
 *    lock. Per-task locks are never taken on an inherited task.
 *
 * The handlers also run in the children of the FORK start method (a fork()
 * too): the child handler only bumps a counter, closes fds and unlocks,
 * all async-signal-safe, and allocates nothing.
 */

#include "config.h"

#include <pthread.h>
#include <unistd.h>

#include "psf-fork-guard-private.h"

#define MAX_LOCKS 4

static guint generation;

/* The fds psf owns in this process; the registry of the process it was
 * forked from stays reachable, not used. */
static GMutex owned_lock;
static GHashTable *owned;
static GHashTable *inherited;

static GMutex *locks[MAX_LOCKS];
static guint n_locks;

static void
guard_prepare (void)
{
  for (guint i = 0; i < n_locks; i++)
    g_mutex_lock (locks[i]);
  g_mutex_lock (&owned_lock);
}

static void
guard_parent (void)
{
  g_mutex_unlock (&owned_lock);
  for (guint i = n_locks; i > 0; i--)
    g_mutex_unlock (locks[i - 1]);
}

static void
guard_child (void)
{
  generation++;

  if (owned != NULL)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, owned);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        close (GPOINTER_TO_INT (key));
      inherited = owned;
      owned = NULL;
    }

  g_mutex_unlock (&owned_lock);
  for (guint i = n_locks; i > 0; i--)
    g_mutex_unlock (locks[i - 1]);
}

void
psf_fork_guard_init (void)
{
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      pthread_atfork (guard_prepare, guard_parent, guard_child);
      g_once_init_leave (&initialized, 1);
    }
}

guint
psf_fork_guard_generation (void)
{
  return generation;
}

void
psf_fork_guard_add_lock (GMutex *lock)
{
  psf_fork_guard_init ();

  g_mutex_lock (&owned_lock);
  g_assert (n_locks < MAX_LOCKS);
  locks[n_locks++] = lock;
  g_mutex_unlock (&owned_lock);
}

void
psf_fork_guard_own_fd (int fd)
{
  g_return_if_fail (fd >= 0);

  g_mutex_lock (&owned_lock);
  if (owned == NULL)
    owned = g_hash_table_new (NULL, NULL);
  g_hash_table_add (owned, GINT_TO_POINTER (fd));
  g_mutex_unlock (&owned_lock);
}

void
psf_fork_guard_close_fd (int   *fd,
                         guint  fd_generation)
{
  if (*fd < 0)
    return;

  /* Out of the registry first: once closed, the number may be given to
   * someone else's file, which a fork must not close. */
  if (fd_generation == generation)
    {
      g_mutex_lock (&owned_lock);
      if (owned != NULL)
        g_hash_table_remove (owned, GINT_TO_POINTER (*fd));
      g_mutex_unlock (&owned_lock);
      close (*fd);
    }
  *fd = -1;
}
