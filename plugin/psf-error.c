/* psf-error.c: the PSF_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "psf-error.h"
#include "psf-error-private.h"

/**
 * psf_error_quark:
 *
 * Gets the quark of psf's error domain; C code uses %PSF_ERROR instead.
 *
 * Returns: the quark of the %PSF_ERROR domain
 *
 * Since: 1.0
 */
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
