/* psf-error.c: the PSF_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "psf-child-setup-private.h"
#include "psf-error.h"
#include "psf-error-private.h"
#include "psf-i18n-private.h"

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

gboolean
psf_set_error_from_setup_record (GError        **error,
                                 gconstpointer   data,
                                 gsize           len)
{
  PsfSetupError record;

  if (psf_setup_error_decode (data, len, &record) < 0)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                   _("The child process failed to set itself up"));
      return FALSE;
    }
  return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, record.error,
                                   record.call, record.detail);
}
