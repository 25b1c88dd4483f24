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

G_END_DECLS
