/* psf-syncfs-common.h: what the psf-syncfs program and its module share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libc only: the program (psf-syncfs-front.c) is linked with nothing else.
 * Built into both, so that a run says and does the same whichever of the
 * two serves it.
 */

#pragma once

/* The name every message on standard error starts with. */
#define PSF_SYNCFS_PRGNAME "psf-syncfs"

/* Descriptors 0-2 that are closed are reserved with /dev/null opened the
 * other way round, so that no descriptor opened later takes their number
 * (the table would end up in a pipe of the child) and using them still
 * fails with EBADF, as it would have: a closed stdout is a write error, a
 * closed stdin cannot be read by --files-from=-. */
void psf_syncfs_reserve_standard_fds (void);

/* setlocale() and the binding of the message catalog (PSF_LOCALEDIR, set
 * by meson devenv and the tests, else the installed one), in UTF-8. */
void psf_syncfs_init_i18n            (void);

/* "psf-syncfs: MESSAGE" and a newline on standard error. A message may
 * hold the bytes of a path: control characters (C0, DEL, and C1 as UTF-8)
 * are written as \xHH, so that a name cannot split the line or drive the
 * terminal. */
void psf_syncfs_print_error          (const char *message);

