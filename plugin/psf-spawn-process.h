/* psf-spawn-process.h: PsfSpawnProcess, a subprocess that executes a program
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(PSF_INSIDE) && !defined(PSF_COMPILATION)
# error "Only <psf.h> can be included directly."
#endif

#include "psf-subprocess.h"

G_BEGIN_DECLS

#define PSF_TYPE_SPAWN_PROCESS (psf_spawn_process_get_type ())

PSF_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (PsfSpawnProcess, psf_spawn_process, PSF, SPAWN_PROCESS, PsfSubprocess)

/**
 * PsfSpawnProcessClass:
 * @parent_class: the parent class
 *
 * The class of a [class@Psf.SpawnProcess].
 *
 * Since: 1.0
 */
struct _PsfSpawnProcessClass
{
  PsfSubprocessClass parent_class;

  /*< private >*/
  gpointer _reserved[8];
};

PSF_AVAILABLE_IN_ALL
PsfSpawnProcess     *psf_spawn_process_new             (const char * const *argv);
PSF_AVAILABLE_IN_ALL
const char * const  *psf_spawn_process_get_argv        (PsfSpawnProcess    *self);
PSF_AVAILABLE_IN_ALL
void                 psf_spawn_process_set_argv        (PsfSpawnProcess    *self,
                                                        const char * const *argv);
PSF_AVAILABLE_IN_ALL
const char * const  *psf_spawn_process_get_env         (PsfSpawnProcess    *self);
PSF_AVAILABLE_IN_ALL
void                 psf_spawn_process_set_env         (PsfSpawnProcess    *self,
                                                        const char * const *env);
PSF_AVAILABLE_IN_ALL
const char          *psf_spawn_process_get_cwd         (PsfSpawnProcess    *self);
PSF_AVAILABLE_IN_ALL
void                 psf_spawn_process_set_cwd         (PsfSpawnProcess    *self,
                                                        const char         *cwd);
PSF_AVAILABLE_IN_ALL
gboolean             psf_spawn_process_get_path_lookup (PsfSpawnProcess    *self);
PSF_AVAILABLE_IN_ALL
void                 psf_spawn_process_set_path_lookup (PsfSpawnProcess    *self,
                                                        gboolean            path_lookup);
PSF_AVAILABLE_IN_ALL
gboolean             psf_spawn_process_get_close_fds   (PsfSpawnProcess    *self);
PSF_AVAILABLE_IN_ALL
void                 psf_spawn_process_set_close_fds   (PsfSpawnProcess    *self,
                                                        gboolean            close_fds);
PSF_AVAILABLE_IN_ALL
void                 psf_spawn_process_set_groups      (PsfSpawnProcess    *self,
                                                        const guint32      *groups,
                                                        gsize               n_groups);
PSF_AVAILABLE_IN_ALL
void                 psf_spawn_process_set_child_setup (PsfSpawnProcess    *self,
                                                        GSpawnChildSetupFunc child_setup,
                                                        gpointer            user_data,
                                                        GDestroyNotify      destroy);
PSF_AVAILABLE_IN_ALL
void                 psf_spawn_process_take_fd         (PsfSpawnProcess    *self,
                                                        int                 source_fd,
                                                        int                 target_fd);

G_END_DECLS
