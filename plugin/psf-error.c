/* psf-error.c: the PSF_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "psf-error.h"
#include "psf-error-private.h"

G_DEFINE_QUARK (psf-error-quark, psf_error)

gboolean
psf_set_error_from_errno (GError     **error,
                          PsfError     code,
                          int          saved_errno,
                          const char  *call,
                          const char  *detail)
{
  g_set_error (error, PSF_ERROR, code, "%s(%s): %s",
               call, detail != NULL ? detail : "", g_strerror (saved_errno));
  return FALSE;
}
