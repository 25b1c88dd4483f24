/* psf-wire-setup.c: the one codec of a child's set-up and of its error
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain libc, async-signal-safe, no GLib. Two records of
 * psf-child-setup-private.h:
 *  - the set-up itself (PsfChildSetupRecord), encoded by the host for the
 *    helper of SPAWN and for the forkserver, decoded by them;
 *  - the error record (PsfSetupError) a child writes when a set-up step
 *    fails, encoded in the child, decoded by the host.
 * The decoders read bytes another process wrote: every count and offset
 * is checked against the length before anything is read.
 */

#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "psf-child-setup-private.h"
#include "psf-wire-report.h"

#define KNOWN_FIELDS (PSF_CHILD_SETUP_UMASK | PSF_CHILD_SETUP_GROUPS | \
                      PSF_CHILD_SETUP_GID | PSF_CHILD_SETUP_UID)
#define KNOWN_UNSHARE_FLAGS (CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET)

_Static_assert (sizeof (gid_t) == sizeof (uint32_t), "gid_t is 32 bits");
_Static_assert (sizeof (PsfChildSetupRecord) % sizeof (uint32_t) == 0,
                "the groups follow the header at their alignment");

size_t
psf_child_setup_encode (const PsfChildSetup *setup,
                        void                *buffer,
                        size_t               size)
{
  PsfChildSetupRecord record;
  size_t n_groups = setup->has_groups ? setup->n_groups : 0;
  size_t cgroup_len = setup->cgroup_procs != NULL ? strlen (setup->cgroup_procs) + 1 : 0;
  size_t needed;
  char *out = buffer;

  if (n_groups > UINT32_MAX / sizeof (uint32_t) ||
      cgroup_len > UINT32_MAX - sizeof record - n_groups * sizeof (uint32_t))
    return 0;
  needed = sizeof record + n_groups * sizeof (uint32_t) + cgroup_len;
  if (buffer == NULL || size < needed)
    return needed;

  memset (&record, 0, sizeof record);
  record.magic = PSF_CHILD_SETUP_MAGIC;
  record.unshare_flags = setup->unshare_flags;
  if (setup->has_umask)
    {
      record.fields |= PSF_CHILD_SETUP_UMASK;
      record.umask_value = (uint32_t) setup->umask_value;
    }
  if (setup->has_groups)
    {
      record.fields |= PSF_CHILD_SETUP_GROUPS;
      record.n_groups = (uint32_t) n_groups;
    }
  if (setup->has_gid)
    {
      record.fields |= PSF_CHILD_SETUP_GID;
      record.gid = (uint32_t) setup->gid;
    }
  if (setup->has_uid)
    {
      record.fields |= PSF_CHILD_SETUP_UID;
      record.uid = (uint32_t) setup->uid;
    }
  record.cgroup_len = (uint32_t) cgroup_len;

  memcpy (out, &record, sizeof record);
  if (n_groups > 0)
    memcpy (out + sizeof record, setup->groups, n_groups * sizeof (uint32_t));
  if (cgroup_len > 0)
    memcpy (out + sizeof record + n_groups * sizeof (uint32_t), setup->cgroup_procs, cgroup_len);
  return needed;
}

int
psf_child_setup_decode (const void    *data,
                        size_t         len,
                        PsfChildSetup *setup)
{
  const char *bytes = data;
  PsfChildSetupRecord record;
  uint64_t groups_size;
  const char *cgroup;

  /* The groups are used where they lie: at their alignment. */
  if (data == NULL || (uintptr_t) data % sizeof (uint32_t) != 0 || len < sizeof record)
    return EINVAL;
  memcpy (&record, data, sizeof record);

  if (record.magic != PSF_CHILD_SETUP_MAGIC ||
      (record.fields & ~KNOWN_FIELDS) != 0 ||
      (record.unshare_flags & ~KNOWN_UNSHARE_FLAGS) != 0 ||
      record.umask_value > 0777 ||
      /* What is not set is 0, as the encoder writes it: one record per
       * set-up. */
      (!(record.fields & PSF_CHILD_SETUP_UMASK) && record.umask_value != 0) ||
      (!(record.fields & PSF_CHILD_SETUP_GROUPS) && record.n_groups != 0) ||
      (!(record.fields & PSF_CHILD_SETUP_GID) && record.gid != 0) ||
      (!(record.fields & PSF_CHILD_SETUP_UID) && record.uid != 0))
    return EINVAL;

  /* In 64 bits: n_groups * 4 + cgroup_len cannot wrap. */
  groups_size = (uint64_t) record.n_groups * sizeof (uint32_t);
  if (groups_size + record.cgroup_len != (uint64_t) (len - sizeof record))
    return EINVAL;
  cgroup = bytes + sizeof record + groups_size;
  /* One string, its NUL last. */
  if (record.cgroup_len > 0 &&
      memchr (cgroup, '\0', record.cgroup_len) != cgroup + record.cgroup_len - 1)
    return EINVAL;

  memset (setup, 0, sizeof *setup);
  setup->cgroup_procs = record.cgroup_len > 0 ? cgroup : NULL;
  setup->unshare_flags = record.unshare_flags;
  setup->has_umask = (record.fields & PSF_CHILD_SETUP_UMASK) != 0;
  setup->umask_value = (mode_t) record.umask_value;
  setup->has_groups = (record.fields & PSF_CHILD_SETUP_GROUPS) != 0;
  setup->groups = (const gid_t *) (const void *) (bytes + sizeof record);
  setup->n_groups = record.n_groups;
  setup->has_gid = (record.fields & PSF_CHILD_SETUP_GID) != 0;
  setup->gid = (gid_t) record.gid;
  setup->has_uid = (record.fields & PSF_CHILD_SETUP_UID) != 0;
  setup->uid = (uid_t) record.uid;
  return 0;
}

/* Copies @src into @dest, cut to fit with its NUL. */
static void
copy_text (char       *dest,
           size_t      size,
           const char *src)
{
  size_t len = src != NULL ? strlen (src) : 0;

  if (len >= size)
    len = size - 1;
  if (len > 0)
    memcpy (dest, src, len);
  dest[len] = '\0';
}

void
psf_setup_error_encode (PsfSetupError *record,
                        int            error,
                        const char    *call,
                        const char    *detail)
{
  memset (record, 0, sizeof *record);
  record->magic = PSF_SETUP_ERROR_MAGIC;
  record->error = error;
  copy_text (record->call, sizeof record->call, call);
  copy_text (record->detail, sizeof record->detail, detail);
}

int
psf_setup_error_decode (const void    *data,
                        size_t         len,
                        PsfSetupError *record)
{
  PsfSetupError r;

  if (data == NULL || len != sizeof r)
    return -1;
  memcpy (&r, data, sizeof r);
  if (r.magic != PSF_SETUP_ERROR_MAGIC || r.error < 0 || r.error > PSF_CHILD_MAX_ERRNO)
    return -1;
  /* A text cut short is still a text. */
  r.call[sizeof r.call - 1] = '\0';
  r.detail[sizeof r.detail - 1] = '\0';
  *record = r;
  return 0;
}
