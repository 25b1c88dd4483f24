/* psf-error.c: the PSF_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "psf-error.h"

G_DEFINE_QUARK (psf-error-quark, psf_error)
