/* psf-output-log.c: the child's output, copied to a log file
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* The child writes to a pty (OPOST cleared, so bytes pass unchanged) or a
 * pipe. The parent end is non-blocking and read on every wake-up until
 * EAGAIN ("later"); 0 or EIO (a pty whose slave side is closed) is EOF. Each
 * chunk is copied to the host's stdout unless the task is in the
 * background, and written to the log: straight into the file stream, or
 * into the filter's stdin, whose stdout is spliced into the file. The file
 * stream is wrapped in a gzip compressor for a ".gz" name; appending to an
 * existing .gz adds a gzip member, which gunzip reads as one stream.
 *
 * "Done" means: EOF on the child's output, every byte handed to the file,
 * the filter's stdin closed, the filter exited and its output spliced, the
 * file closed. Only then does the task report the exit: no byte is lost.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "psf-error.h"
#include "psf-error-private.h"
#include "psf-fork-guard-private.h"
#include "psf-i18n-private.h"
#include "psf-output-log-private.h"

struct _PsfOutputLog
{
  int            master_fd;
  int            child_fd;
  gboolean       copy_to_stdout;

  GOutputStream *file;
  GSubprocess   *filter;
  GOutputStream *filter_stdin;

  GSource       *source;
  GQueue         pending;      /* GBytes for the filter's stdin */
  gboolean       writing;
  gboolean       eof;
  gboolean       stdin_closed;
  gboolean       splice_done;
  gboolean       done;

  GMainContext  *context;
  GSourceFunc    done_func;
  gpointer       done_data;

  /* The process it was made in: a fork's copy reads, closes and signals
   * nothing of it (psf-fork-guard.c). */
  guint          fork_generation;
};

static gboolean
open_pty (int *master_out,
          int *slave_out)
{
  char name[128];
  struct termios tio;
  int master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  int slave;

  if (master < 0)
    return FALSE;
  if (grantpt (master) < 0 || unlockpt (master) < 0 ||
      ptsname_r (master, name, sizeof name) != 0 ||
      (slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
    {
      close (master);
      return FALSE;
    }

  /* No output processing: "\n" must not become "\r\n". */
  if (tcgetattr (slave, &tio) == 0)
    {
      tio.c_oflag &= ~OPOST;
      tio.c_lflag &= ~ECHO;
      tcsetattr (slave, TCSANOW, &tio);
    }

  *master_out = master;
  *slave_out = slave;
  return TRUE;
}

PsfOutputLog *
psf_output_log_new (const char  *logfile,
                    const char  *filter,
                    gboolean     copy_to_stdout,
                    GError     **error)
{
  g_autoptr(PsfOutputLog) log = g_new0 (PsfOutputLog, 1);
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileOutputStream) stream = NULL;
  g_autoptr(GError) local_error = NULL;

  log->master_fd = -1;
  log->child_fd = -1;
  log->copy_to_stdout = copy_to_stdout;
  g_queue_init (&log->pending);

  file = g_file_new_for_path (logfile);
  stream = g_file_append_to (file, G_FILE_CREATE_NONE, NULL, &local_error);
  if (stream == NULL)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("Cannot open the log file %s: %s"), logfile, local_error->message);
      return NULL;
    }

  if (g_str_has_suffix (logfile, ".gz"))
    {
      g_autoptr(GZlibCompressor) gzip = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);

      log->file = g_converter_output_stream_new (G_OUTPUT_STREAM (stream), G_CONVERTER (gzip));
    }
  else
    log->file = G_OUTPUT_STREAM (g_steal_pointer (&stream));

  if (filter != NULL && *filter != '\0')
    {
      g_auto(GStrv) argv = NULL;

      if (!g_shell_parse_argv (filter, NULL, &argv, &local_error))
        {
          g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                       _("Cannot parse the log filter “%s”: %s"), filter, local_error->message);
          return NULL;
        }
      log->filter = g_subprocess_newv ((const char * const *) argv,
                                       G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                       &local_error);
      if (log->filter == NULL)
        {
          g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                       _("Cannot start the log filter “%s”: %s"), filter, local_error->message);
          return NULL;
        }
      log->filter_stdin = g_object_ref (g_subprocess_get_stdin_pipe (log->filter));
    }

  if (!open_pty (&log->master_fd, &log->child_fd))
    {
      int fds[2];

      if (pipe2 (fds, O_CLOEXEC) < 0)
        {
          int saved = errno;

          psf_set_error_from_errno (error, PSF_ERROR_SPAWN, saved, "pipe2", NULL);
          return NULL;
        }
      log->master_fd = fds[0];
      log->child_fd = fds[1];
    }
  g_unix_set_fd_nonblocking (log->master_fd, TRUE, NULL);
  log->fork_generation = psf_fork_guard_generation ();
  psf_fork_guard_own_fd (log->master_fd);

  return g_steal_pointer (&log);
}

int
psf_output_log_get_child_fd (PsfOutputLog *log)
{
  return log->child_fd;
}

gboolean
psf_output_log_is_done (PsfOutputLog *log)
{
  return log->done;
}

static void
psf_output_log_check_done (PsfOutputLog *log)
{
  if (log->done || !log->eof)
    return;

  if (log->filter != NULL)
    {
      if (log->writing || !g_queue_is_empty (&log->pending) ||
          !log->stdin_closed || !log->splice_done)
        return;
    }
  else
    g_output_stream_close (log->file, NULL, NULL);

  log->done = TRUE;
  if (log->done_func != NULL)
    {
      GSource *idle = g_idle_source_new ();

      /* Never from inside a callback of ours: the task may free us. */
      g_source_set_callback (idle, log->done_func, log->done_data, NULL);
      g_source_set_static_name (idle, "[psf] output done");
      g_source_attach (idle, log->context);
      g_source_unref (idle);
    }
}

static void write_next (PsfOutputLog *log);

static void
filter_stdin_closed_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      data)
{
  PsfOutputLog *log = data;

  g_output_stream_close_finish (G_OUTPUT_STREAM (object), result, NULL);
  log->stdin_closed = TRUE;
  psf_output_log_check_done (log);
}

static void
filter_write_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      data)
{
  PsfOutputLog *log = data;
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      g_warning ("Writing to the log filter: %s", error->message);
      while (!g_queue_is_empty (&log->pending))
        g_bytes_unref (g_queue_pop_head (&log->pending));
    }
  g_bytes_unref (g_queue_pop_head (&log->pending));
  log->writing = FALSE;
  write_next (log);
}

static void
write_next (PsfOutputLog *log)
{
  GBytes *next;

  if (log->writing)
    return;

  next = g_queue_peek_head (&log->pending);
  if (next != NULL)
    {
      log->writing = TRUE;
      g_output_stream_write_all_async (log->filter_stdin,
                                       g_bytes_get_data (next, NULL),
                                       g_bytes_get_size (next),
                                       G_PRIORITY_DEFAULT, NULL,
                                       filter_write_cb, log);
      return;
    }

  if (log->eof && !log->stdin_closed && !g_output_stream_is_closing (log->filter_stdin))
    g_output_stream_close_async (log->filter_stdin, G_PRIORITY_DEFAULT, NULL,
                                 filter_stdin_closed_cb, log);
  psf_output_log_check_done (log);
}

static void
splice_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      data)
{
  PsfOutputLog *log = data;
  g_autoptr(GError) error = NULL;

  if (g_output_stream_splice_finish (G_OUTPUT_STREAM (object), result, &error) < 0)
    g_warning ("Writing the log filter's output: %s", error->message);
  log->splice_done = TRUE;
  psf_output_log_check_done (log);
}

static void
copy_out (PsfOutputLog *log,
          const guint8 *data,
          gsize         len)
{
  if (log->copy_to_stdout)
    {
      const guint8 *p = data;
      gsize left = len;

      while (left > 0)
        {
          ssize_t n = write (STDOUT_FILENO, p, left);

          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          p += n;
          left -= (gsize) n;
        }
    }

  if (log->filter != NULL)
    {
      g_queue_push_tail (&log->pending, g_bytes_new (data, len));
      write_next (log);
    }
  else
    {
      g_autoptr(GError) error = NULL;

      if (!g_output_stream_write_all (log->file, data, len, NULL, NULL, &error))
        g_warning ("Writing the log: %s", error->message);
    }
}

static gboolean
output_ready_cb (int          fd,
                 GIOCondition condition,
                 gpointer     data)
{
  PsfOutputLog *log = data;
  guint8 buffer[65536];

  /* A fork's copy: the output is the parent's to read. */
  if (log->fork_generation != psf_fork_guard_generation ())
    {
      g_clear_pointer (&log->source, g_source_unref);
      return G_SOURCE_REMOVE;
    }

  for (;;)
    {
      ssize_t n = read (fd, buffer, sizeof buffer);

      if (n > 0)
        {
          copy_out (log, buffer, (gsize) n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return G_SOURCE_CONTINUE;
      break; /* 0, EIO (pty closed) or another error: EOF */
    }

  log->eof = TRUE;
  g_clear_pointer (&log->source, g_source_unref);
  if (log->filter != NULL)
    write_next (log);
  else
    psf_output_log_check_done (log);
  return G_SOURCE_REMOVE;
}

void
psf_output_log_start (PsfOutputLog *log,
                      GMainContext *context,
                      GSourceFunc   done,
                      gpointer      data)
{
  if (log->child_fd >= 0)
    {
      close (log->child_fd);
      log->child_fd = -1;
    }

  log->context = context;
  log->done_func = done;
  log->done_data = data;

  if (log->filter != NULL)
    g_output_stream_splice_async (log->file,
                                  g_subprocess_get_stdout_pipe (log->filter),
                                  G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                  G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                  G_PRIORITY_DEFAULT, NULL, splice_cb, log);

  log->source = g_unix_fd_source_new (log->master_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback (log->source, G_SOURCE_FUNC (output_ready_cb), log, NULL);
  g_source_set_static_name (log->source, "[psf] child output");
  g_source_attach (log->source, context);
}

void
psf_output_log_free (PsfOutputLog *log)
{
  if (log->source != NULL)
    {
      g_source_destroy (log->source);
      g_source_unref (log->source);
    }
  psf_fork_guard_close_fd (&log->master_fd, log->fork_generation);
  if (log->fork_generation != psf_fork_guard_generation ())
    {
      /* A fork's copy: the log file, the filter and its pipes are the
       * parent's. Their fds may be someone else's files by now, and the
       * filter is not ours to stop: left alone, not freed. */
      return;
    }
  if (log->child_fd >= 0)
    close (log->child_fd);
  while (!g_queue_is_empty (&log->pending))
    g_bytes_unref (g_queue_pop_head (&log->pending));
  if (log->filter != NULL && !log->splice_done)
    g_subprocess_force_exit (log->filter);
  g_clear_object (&log->filter_stdin);
  g_clear_object (&log->filter);
  if (log->file != NULL && !g_output_stream_is_closed (log->file))
    g_output_stream_close (log->file, NULL, NULL);
  g_clear_object (&log->file);
  g_free (log);
}
