/* psf-version-macros.h: symbol export and availability macros
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(PSF_INSIDE) && !defined(PSF_COMPILATION)
# error "Only <psf.h> can be included directly."
#endif

#include <glib.h>

#ifndef _PSF_EXTERN
# define _PSF_EXTERN __attribute__((visibility ("default"))) extern
#endif

/* Every public prototype carries one of these; the library is built with
 * hidden visibility, so nothing else leaves it. */
#define PSF_AVAILABLE_IN_ALL _PSF_EXTERN
#define PSF_AVAILABLE_IN_1_0 _PSF_EXTERN
