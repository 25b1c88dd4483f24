/* psf-i18n-private.h: translations of the library's messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib/gi18n-lib.h>

G_BEGIN_DECLS

/* Binds GETTEXT_PACKAGE to LOCALEDIR once; called lazily by every class
 * init, so a host pays for it only when it uses psf. Never textdomain(). */
void psf_i18n_init (void);

G_END_DECLS
