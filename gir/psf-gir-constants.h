/* psf-gir-constants.h: read by g-ir-scanner only, never compiled or installed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * g-ir-scanner evaluates the body of a #define itself and cannot follow
 * G_MININT (INT_MIN, then the compiler's built-in __INT_MAX__), so
 * `#define PSF_RETURNCODE_NONE G_MININT` in psf-task.h gives no constant and
 * Psf.RETURNCODE_NONE would be missing from the typelib. This restates the
 * same value as a literal the scanner can read; the doc comment stays in
 * psf-task.h. gir/meson.build only passes this file while psf-task.h still
 * uses G_MININT.
 */

#undef PSF_RETURNCODE_NONE
#define PSF_RETURNCODE_NONE (-2147483647 - 1)
