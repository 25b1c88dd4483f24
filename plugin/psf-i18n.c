/* psf-i18n.c: translations of the library's messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <locale.h>

#include "psf-i18n-private.h"

void
psf_i18n_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      /* PSF_LOCALEDIR lets an uninstalled build tree (meson devenv, the
       * tests) find its compiled catalogs. */
      const char *dir = g_getenv ("PSF_LOCALEDIR");

      bindtextdomain (GETTEXT_PACKAGE, dir != NULL && *dir != '\0' ? dir : LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      g_once_init_leave (&initialized, 1);
    }
}
