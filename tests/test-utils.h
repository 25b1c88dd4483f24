/* test-utils.h: shared helpers of the C suites
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <psf.h>

G_BEGIN_DECLS

/* Number of open fds of this process. */
guint       psf_test_count_fds          (void);

/* Number of zombie children of this process. */
guint       psf_test_count_zombies      (void);

/* Iterates the thread-default context until @task has exited, failing the
 * test after @timeout_ms. */
void        psf_test_run_until_exited   (PsfTask *task,
                                         guint    timeout_ms);

/* Iterates the default context until *@flag is TRUE, or fails after
 * @timeout_ms. */
void        psf_test_run_until          (gboolean *flag,
                                         guint     timeout_ms);

/* The psf-test-prog helper built beside the tests. */
const char *psf_test_prog_path          (void);

/* A process running psf-test-prog with @mode and @arg. */
PsfSpawnProcess *psf_test_prog_new      (const char *mode,
                                         const char *arg);

/* The single-letter state of /proc/@pid/stat, or 0 if it is gone. */
char        psf_test_proc_state         (GPid pid);

G_END_DECLS
