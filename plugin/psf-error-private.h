/* psf-error-private.h: the one way psf says that a system call failed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-error.h"

G_BEGIN_DECLS

/* Sets @error to @code in PSF_ERROR with the message
 * "CALL(DETAIL): errno text" ("CALL(): errno text" without @detail), the
 * form every message about a failed call takes, and returns FALSE. */
gboolean psf_set_error_from_errno (GError     **error,
                                   PsfError     code,
                                   int          saved_errno,
                                   const char  *call,
                                   const char  *detail);

/* Sets @error (PSF_ERROR_SPAWN) from the @len bytes a child sent on its
 * set-up channel: "CALL(DETAIL): errno text" from a PsfSetupError
 * (psf-child-setup-private.h), or "The child process failed to set itself
 * up" when they are not one (cut short, another magic, an errno out of
 * range). Returns FALSE. The one decoder of the record on the host side:
 * SPAWN, FORK and PsfSpawnProcess read it in psf-spawn-process.c, the
 * forkserver in launch/psf-forkserver.c. */
gboolean psf_set_error_from_setup_record (GError       **error,
                                          gconstpointer  data,
                                          gsize          len);

G_END_DECLS
