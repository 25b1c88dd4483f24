/* psf-subprocess-private.h: what subclasses inside libpsf-1 use
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "psf-subprocess.h"

G_BEGIN_DECLS

/* Called by a subclass's ->start once @pid exists: records it, opens a
 * pidfd for signalling, installs the child watch (which holds a reference
 * until the child is reaped) and the timeout, all in the task's context. */
void psf_subprocess_watch (PsfSubprocess *self,
                           GPid           pid);

G_END_DECLS
