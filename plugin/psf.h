/* psf.h: the one header users include
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib-object.h>
#include <gio/gio.h>

#define PSF_INSIDE
# include "psf-version-macros.h"
# include "psf-version.h"
# include "psf-enums.h"
# include "psf-error.h"
# include "psf-task.h"
# include "psf-subprocess.h"
# include "psf-spawn-process.h"
# include "psf-fork-process.h"
# include "psf-syncfs-result.h"
# include "psf-syncfs-process.h"
# include "psf-hook.h"
# include "psf-loop-bridge.h"
#undef PSF_INSIDE
