/* psf-version.c: run-time version of libpsf-1
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "psf-version.h"

guint
psf_get_major_version (void)
{
  return PSF_MAJOR_VERSION;
}

guint
psf_get_minor_version (void)
{
  return PSF_MINOR_VERSION;
}

guint
psf_get_micro_version (void)
{
  return PSF_MICRO_VERSION;
}
