/* psf-error.h: the PSF_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(PSF_INSIDE) && !defined(PSF_COMPILATION)
# error "Only <psf.h> can be included directly."
#endif

#include "psf-version-macros.h"

G_BEGIN_DECLS

/**
 * PSF_ERROR:
 *
 * The error domain of psf. Errors in it use codes from [enum@Psf.Error].
 *
 * Since: 1.0
 */
#define PSF_ERROR (psf_error_quark ())

/**
 * PsfError:
 * @PSF_ERROR_FAILED: the child ran but reported a failure (a non-zero
 *   returncode, or a syncfs() that failed); the message says what failed
 * @PSF_ERROR_INVALID_STATE: the call does not fit the task's state, such as
 *   waiting on a task that was never started
 * @PSF_ERROR_TIMED_OUT: the task's #PsfSubprocess:timeout expired and the task
 *   was cancelled
 * @PSF_ERROR_CANCELLED: the task was cancelled with psf_task_cancel() or its
 *   #PsfTask:cancellable
 * @PSF_ERROR_SPAWN: the child process could not be created (missing program
 *   or helper, too many open files, too many processes)
 * @PSF_ERROR_INVALID_ARGUMENT: an option or input the task cannot use
 *
 * Error codes in the %PSF_ERROR domain.
 *
 * Since: 1.0
 */
typedef enum
{
  PSF_ERROR_FAILED,
  PSF_ERROR_INVALID_STATE,
  PSF_ERROR_TIMED_OUT,
  PSF_ERROR_CANCELLED,
  PSF_ERROR_SPAWN,
  PSF_ERROR_INVALID_ARGUMENT,
} PsfError;

PSF_AVAILABLE_IN_ALL
GQuark psf_error_quark (void);

G_END_DECLS
