/* psf-fork-process-private.h: internals of PsfForkProcess
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-fork-process.h"

G_BEGIN_DECLS

/* Where the SPAWN method looks for its helper: $PSF_CHILD_PATH (set by
 * `meson devenv` and the tests), else the installed one. */
const char *psf_fork_process_get_helper_path (void);

/* The largest report a parent keeps; the rest is read and dropped. */
#define PSF_FORK_PROCESS_MAX_REPORT (64u * 1024u * 1024u)

G_END_DECLS
