/* psf-spawn-process-private.h: what PsfForkProcess reads of its parent
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-child-setup-private.h"
#include "psf-spawn-process.h"

G_BEGIN_DECLS

/* The fds given with psf_spawn_process_take_fd(): parallel arrays, owned
 * by @self until psf_spawn_process_close_fds_taken(). */
void psf_spawn_process_get_fd_map        (PsfSpawnProcess  *self,
                                          const int       **source_fds,
                                          const int       **target_fds,
                                          guint            *n_fds);
void psf_spawn_process_close_fds_taken   (PsfSpawnProcess  *self);

/* Validates the spawn options, creates the cgroup directory and the output
 * log, and fills @setup (pointing into @self) for the child. @output_fd is
 * the fd the child must get as stdout and stderr, or -1 to inherit. */
gboolean    psf_spawn_process_prepare_child (PsfSpawnProcess  *self,
                                             PsfChildSetup    *setup,
                                             int              *output_fd,
                                             GError          **error);
/* Undoes prepare_child() when the child could not be made. */
void        psf_spawn_process_abort_child   (PsfSpawnProcess  *self);
/* After psf_subprocess_watch(): starts draining the output. */
void        psf_spawn_process_child_started (PsfSpawnProcess  *self);
/* Reads the setup channel to EOF: FALSE with the child's reason (and the
 * child reaped) when its set-up failed. */
gboolean    psf_spawn_process_check_setup   (int               setup_read_fd,
                                             GPid              pid,
                                             GError          **error);
const char *psf_spawn_process_get_opt_name  (PsfSpawnProcess  *self);

G_END_DECLS
