/* psf-spawn-process-private.h: what PsfForkProcess reads of its parent
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-spawn-process.h"

G_BEGIN_DECLS

/* The fds given with psf_spawn_process_take_fd(): parallel arrays, owned
 * by @self until psf_spawn_process_close_fds_taken(). */
void psf_spawn_process_get_fd_map        (PsfSpawnProcess  *self,
                                          const int       **source_fds,
                                          const int       **target_fds,
                                          guint            *n_fds);
void psf_spawn_process_close_fds_taken   (PsfSpawnProcess  *self);

G_END_DECLS
