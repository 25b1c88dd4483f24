/* psf-syncfs-result.c: the outcome of one path of a PsfSyncfsProcess
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/sysmacros.h>

#include "psf-child-private.h"
#include "psf-enums.h"
#include "psf-syncfs-result-private.h"

/* The child writes the wire's status numbers; the host reads them as
 * PsfSyncfsStatus. */
G_STATIC_ASSERT (PSF_SYNCFS_STATUS_SYNCED == PSF_WIRE_STATUS_SYNCED);
G_STATIC_ASSERT (PSF_SYNCFS_STATUS_DUPLICATE == PSF_WIRE_STATUS_DUPLICATE);
G_STATIC_ASSERT (PSF_SYNCFS_STATUS_SKIPPED == PSF_WIRE_STATUS_SKIPPED);
G_STATIC_ASSERT (PSF_SYNCFS_STATUS_FAILED == PSF_WIRE_STATUS_FAILED);

struct _PsfSyncfsResult
{
  GObject          parent_instance;
  char            *path;
  PsfSyncfsStatus  status;
  int              error_number;
  guint64          device;
};

G_DEFINE_FINAL_TYPE (PsfSyncfsResult, psf_syncfs_result, G_TYPE_OBJECT)

/**
 * PsfSyncfsResult:
 *
 * What a [class@Psf.SyncfsProcess] did with one of its paths: its
 * [enum@Psf.SyncfsStatus], the errno when something went wrong, and the
 * device number of the filesystem that holds it.
 *
 * Since: 1.0
 */

static void
psf_syncfs_result_finalize (GObject *object)
{
  PsfSyncfsResult *self = PSF_SYNCFS_RESULT (object);

  g_free (self->path);

  G_OBJECT_CLASS (psf_syncfs_result_parent_class)->finalize (object);
}

static void
psf_syncfs_result_class_init (PsfSyncfsResultClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = psf_syncfs_result_finalize;
}

static void
psf_syncfs_result_init (PsfSyncfsResult *self)
{
}

PsfSyncfsResult *
psf_syncfs_result_new (const char      *path,
                       PsfSyncfsStatus  status,
                       int              error_number,
                       guint64          device)
{
  PsfSyncfsResult *self = g_object_new (PSF_TYPE_SYNCFS_RESULT, NULL);

  self->path = g_strdup (path);
  self->status = status;
  self->error_number = error_number;
  self->device = device;
  return self;
}

void
psf_syncfs_decoder_init (PsfSyncfsDecoder   *decoder,
                         GPtrArray          *results,
                         const char * const *paths,
                         guint               n_paths)
{
  memset (decoder, 0, sizeof *decoder);
  decoder->results = g_ptr_array_ref (results);
  decoder->seen = g_new0 (guchar, n_paths);
  psf_wire_report_reader_init (&decoder->reader, n_paths, decoder->seen);

  g_ptr_array_set_size (results, 0);
  for (guint i = 0; i < n_paths; i++)
    g_ptr_array_add (results,
                     psf_syncfs_result_new (paths[i], PSF_SYNCFS_STATUS_SKIPPED, 0, 0));
}

void
psf_syncfs_decoder_clear (PsfSyncfsDecoder *decoder)
{
  g_clear_pointer (&decoder->results, g_ptr_array_unref);
  g_clear_pointer (&decoder->seen, g_free);
}

guint
psf_syncfs_decoder_feed (PsfSyncfsDecoder *decoder,
                         const guint8     *report,
                         gsize             report_len,
                         GQueue           *arrived)
{
  guint used = decoder->reader.n_used;
  PsfSyncfsRecord record;
  int first;

  while ((first = psf_wire_report_reader_next (&decoder->reader, report, report_len,
                                               &record)) >= 0)
    {
      PsfSyncfsResult *result;

      if (first == 0)
        continue;
      result = g_ptr_array_index (decoder->results, record.index);
      result->status = record.status;
      result->error_number = record.error;
      result->device = record.device;
      if (arrived != NULL)
        g_queue_push_tail (arrived, GUINT_TO_POINTER (record.index));
    }

  return decoder->reader.n_used - used;
}

guint
psf_syncfs_results_decode_full (GPtrArray          *results,
                                const char * const *paths,
                                guint               n_paths,
                                const guint8       *report,
                                gsize               report_len,
                                int                *failed_call,
                                int                *failed_errno)
{
  PsfSyncfsDecoder decoder;
  guint used;

  psf_syncfs_decoder_init (&decoder, results, paths, n_paths);
  used = psf_syncfs_decoder_feed (&decoder, report, report_len, NULL);
  if (failed_call != NULL)
    *failed_call = decoder.reader.failed_call;
  if (failed_errno != NULL)
    *failed_errno = decoder.reader.failed_errno;
  psf_syncfs_decoder_clear (&decoder);

  return used;
}

guint
psf_syncfs_results_decode (GPtrArray          *results,
                           const char * const *paths,
                           guint               n_paths,
                           const guint8       *report,
                           gsize               report_len)
{
  return psf_syncfs_results_decode_full (results, paths, n_paths, report, report_len,
                                         NULL, NULL);
}

/**
 * psf_syncfs_result_get_path:
 * @self: a #PsfSyncfsResult
 *
 * Gets the path this result is about.
 *
 * Returns: (type filename): the path as it was given to the process
 *
 * Since: 1.0
 */
const char *
psf_syncfs_result_get_path (PsfSyncfsResult *self)
{
  g_return_val_if_fail (PSF_IS_SYNCFS_RESULT (self), NULL);

  return self->path;
}

/**
 * psf_syncfs_result_get_path_bytes:
 * @self: a #PsfSyncfsResult
 *
 * Gets the path this result is about as its bytes, without the trailing
 * NUL: what a binding whose strings must be valid Unicode (gjs) uses for
 * a file name that is not UTF-8, which psf_syncfs_result_get_path() cannot
 * give it.
 *
 * Returns: (transfer full): the bytes of the path
 *
 * Since: 1.0
 */
GBytes *
psf_syncfs_result_get_path_bytes (PsfSyncfsResult *self)
{
  g_return_val_if_fail (PSF_IS_SYNCFS_RESULT (self), NULL);

  return g_bytes_new (self->path, strlen (self->path));
}

/**
 * psf_syncfs_result_get_status:
 * @self: a #PsfSyncfsResult
 *
 * Gets what the child did with the path.
 *
 * Returns: what happened to the path
 *
 * Since: 1.0
 */
PsfSyncfsStatus
psf_syncfs_result_get_status (PsfSyncfsResult *self)
{
  g_return_val_if_fail (PSF_IS_SYNCFS_RESULT (self), PSF_SYNCFS_STATUS_SKIPPED);

  return self->status;
}

/**
 * psf_syncfs_result_get_errno:
 * @self: a #PsfSyncfsResult
 *
 * The errno of the failed call: for %PSF_SYNCFS_STATUS_SKIPPED the one of
 * stat() or open(), for %PSF_SYNCFS_STATUS_FAILED the one of syncfs(). A
 * %PSF_SYNCFS_STATUS_SYNCED result with `ENOSYS` was flushed by the sync()
 * fallback. A %PSF_SYNCFS_STATUS_SKIPPED result with 0 was never reached
 * (the child ended early).
 *
 * Returns: an errno value, or 0
 *
 * Since: 1.0
 */
int
psf_syncfs_result_get_errno (PsfSyncfsResult *self)
{
  g_return_val_if_fail (PSF_IS_SYNCFS_RESULT (self), 0);

  return self->error_number;
}

/**
 * psf_syncfs_result_get_device:
 * @self: a #PsfSyncfsResult
 *
 * Gets the filesystem that was synced (or found) for the path, as a device number: `major(dev)` and `minor(dev)` of `<sys/sysmacros.h>` split it.
 *
 * Returns: the device number (`st_dev`) of the filesystem that holds the
 *   path, or 0 when it could not be looked at
 *
 * Since: 1.0
 */
guint64
psf_syncfs_result_get_device (PsfSyncfsResult *self)
{
  g_return_val_if_fail (PSF_IS_SYNCFS_RESULT (self), 0);

  return self->device;
}

/**
 * psf_syncfs_result_to_string:
 * @self: a #PsfSyncfsResult
 *
 * Describes the result in one line for people: the path, the status, the
 * device as major:minor and the errno text, if any.
 *
 * Returns: (transfer full): a newly allocated string
 *
 * Since: 1.0
 */
char *
psf_syncfs_result_to_string (PsfSyncfsResult *self)
{
  g_autoptr(GEnumClass) klass = NULL;
  GEnumValue *value;
  g_autofree char *display = NULL;

  g_return_val_if_fail (PSF_IS_SYNCFS_RESULT (self), NULL);

  klass = g_type_class_ref (PSF_TYPE_SYNCFS_STATUS);
  value = g_enum_get_value (klass, self->status);
  display = g_filename_display_name (self->path);

  return g_strdup_printf ("%s %s %u:%u%s%s", display, value->value_nick,
                          major ((dev_t) self->device), minor ((dev_t) self->device),
                          self->error_number != 0 ? " " : "",
                          self->error_number != 0 ? g_strerror (self->error_number) : "");
}
