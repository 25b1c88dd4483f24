/* psf-child-describe.h: the tests' "describe" child routine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain libc, async-signal-safe, like every routine (plugin/child).
 */

#pragma once

#include <stddef.h>

#include "psf-child-private.h"

/* Reports the child's identity as "key=value" lines on @report_fd. */
int             psf_child_describe_run         (const void *input,
                                                size_t      input_len,
                                                int         report_fd);

/* Finds the tests' own routines by name (the helper's extension point). */
PsfChildRoutine psf_child_extra_routine_lookup (const char *name);
