/* psf-output-log-private.h: the child's output, copied to a log file
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PsfOutputLog PsfOutputLog;

/* Opens @logfile for appending (gzip-compressed when it ends in ".gz"),
 * starts @filter (a command line; its stdout goes to the file) when given,
 * and makes the channel the child writes its stdout and stderr to: a pty
 * with OPOST cleared where one can be had, else a pipe. */
PsfOutputLog *psf_output_log_new          (const char    *logfile,
                                           const char    *filter,
                                           gboolean       copy_to_stdout,
                                           GError       **error);

/* The fd the child gets as stdout and stderr. */
int           psf_output_log_get_child_fd (PsfOutputLog  *log);

/* Once the child exists: closes the parent's copy of the child's end and
 * drains the output in @context. @done runs there once the output reached
 * EOF and every byte is in the file (the filter, if any, has exited). */
void          psf_output_log_start        (PsfOutputLog  *log,
                                           GMainContext  *context,
                                           GSourceFunc    done,
                                           gpointer       data);

gboolean      psf_output_log_is_done      (PsfOutputLog  *log);

void          psf_output_log_free         (PsfOutputLog  *log);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PsfOutputLog, psf_output_log_free)

G_END_DECLS
