/* psf-launch.c: the FORK and SPAWN start methods
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Host side. A process type fills one PsfLaunch (psf-launch-private.h) and
 * makes one call: psf_launch_fork(), psf_launch_spawn() or, for
 * FORKSERVER, psf_forkserver_start_child() (psf-forkserver.c). Nothing
 * here knows the process types: what the child gets is all in the launch.
 *
 *  - FORK: psf_fork_child_start() (plugin/child/psf-fork-child.c) forks
 *    the host; the copy lays out its fds by the one plan of
 *    plugin/child/psf-child-fds.c, applies the set-up, runs the C
 *    function, the built-in routine or the class's run() with only
 *    async-signal-safe calls, and _exit()s with its result.
 *  - SPAWN: posix_spawn() of the helper psf-child with the routine's name;
 *    the report pipe becomes its fd 3 and the routine's input (a memfd)
 *    its fd 4 (plugin/wire/psf-wire-child.h), followed there by the
 *    set-up record when there are set-up options (--setup=OFFSET). The
 *    same plan lays out its fds, as file actions (add_helper_fds()); with
 *    close-fds, what the helper would inherit goes: closefrom() above the
 *    plan's floor, a close action for each inheritable fd below it that
 *    it does not keep (add_close_inherited()), so that it gets the fds a
 *    FORK or forkserver child gets. Every file action that cannot be
 *    added fails start() with the call's name.
 *    glibc's posix_spawn() uses CLONE_VFORK and reports a failed exec as
 *    an error, so a missing helper fails start() itself.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psf-error.h"
#include "psf-error-private.h"
#include "psf-i18n-private.h"
#include "psf-launch-private.h"

const char *
psf_launch_get_helper_path (void)
{
  const char *path = g_getenv ("PSF_CHILD_PATH");

  if (path != NULL && *path != '\0')
    return path;
  return PSF_PKGLIBEXECDIR "/psf-child";
}

/* The helper's fd 4: the routine's input, then, when the child has
 * set-up options, the set-up record from *@setup_offset on (8-byte
 * aligned). *@fd stays -1 when there is neither. */
static gboolean
make_input_fd (const PsfLaunch  *launch,
               gboolean          with_setup,
               int              *fd,
               gsize            *setup_offset,
               GError          **error)
{
  g_autoptr(GByteArray) buffer = NULL;
  const guint8 *data = NULL;
  gsize len = 0;

  *fd = -1;
  *setup_offset = 0;
  if (launch->input != NULL)
    data = g_bytes_get_data (launch->input, &len);

  if (with_setup)
    {
      gsize setup_len = psf_child_setup_encode (&launch->setup, NULL, 0);

      if (setup_len == 0)
        return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, E2BIG, "memfd", NULL);
      *setup_offset = (len + 7) & ~(gsize) 7;
      buffer = g_byte_array_sized_new ((guint) (*setup_offset + setup_len));
      if (len > 0)
        g_byte_array_append (buffer, data, (guint) len);
      g_byte_array_set_size (buffer, (guint) (*setup_offset + setup_len));
      memset (buffer->data + len, 0, *setup_offset - len);
      psf_child_setup_encode (&launch->setup, buffer->data + *setup_offset, setup_len);
      data = buffer->data;
      len = buffer->len;
    }
  else if (launch->input == NULL)
    return TRUE;

  *fd = psf_launch_memfd_new ("psf-input", data, len, error);
  return *fd >= 0;
}

/* A copy of @data in a new close-on-exec memfd named @name. Its offset is
 * left at the end: the readers (the helper, the forkserver) mmap() it. */
int
psf_launch_memfd_new (const char    *name,
                      const guint8  *data,
                      gsize          len,
                      GError       **error)
{
  int fd = memfd_create (name, MFD_CLOEXEC);

  if (fd < 0)
    {
      psf_set_error_from_errno (error, PSF_ERROR_SPAWN, errno, "memfd_create", NULL);
      return -1;
    }
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          close (fd);
          psf_set_error_from_errno (error, PSF_ERROR_SPAWN, saved, "write", "memfd");
          return -1;
        }
      data += n;
      len -= (gsize) n;
    }
  return fd;
}

/* A working directory the child cannot enter fails start() here, before
 * anything is made (the child checks again: it may go meanwhile). The
 * child does its chdir() with the host's credentials, as this does. */
gboolean
psf_launch_check_cwd (const char  *cwd,
                      GError     **error)
{
  struct stat st;
  int saved = 0;

  if (cwd == NULL)
    return TRUE;
  if (stat (cwd, &st) < 0)
    saved = errno;
  else if (!S_ISDIR (st.st_mode))
    saved = ENOTDIR;
  else if (access (cwd, X_OK) < 0)
    saved = errno;
  if (saved == 0)
    return TRUE;
  return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, saved, "chdir", cwd);
}

gboolean
psf_launch_check_fd_map (const int  *source_fds,
                         const int  *target_fds,
                         guint       n_fds,
                         GError    **error)
{
  struct rlimit limit;
  rlim_t max_fds = G_MAXINT;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < max_fds)
    max_fds = limit.rlim_cur;
  for (guint i = 0; i < n_fds; i++)
    if (target_fds[i] < 0 || (rlim_t) target_fds[i] >= max_fds)
      {
        g_autofree char *detail = g_strdup_printf ("%d -> %d", source_fds[i], target_fds[i]);

        return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, EBADF, "dup2", detail);
      }
  return TRUE;
}

/* SPAWN's side of the one fd plan (psf-child-fds-private.h): the
 * helper's channels at their fixed places, 3 to 5, and the file actions
 * the plan becomes. File actions cannot move an fd: the plan's moves are
 * made here, as close-on-exec copies of the host's fds, which the child's
 * dup2() actions read and which go after posix_spawn(). The originals
 * stay (a source given with take_fd() is the task's until the child has
 * it: a failed start() must leave it). */
typedef struct
{
  PsfChildFdChannel channels[3];
  PsfChildFds       layout;
  int               floor;   /* above the helper's fds and every target */
  GArray           *copies;  /* made here, closed after posix_spawn() */
} HelperFds;

static void
helper_fds_init (HelperFds       *fds,
                 const PsfLaunch *launch)
{
  fds->channels[0] = (PsfChildFdChannel) { launch->report_fd, PSF_CHILD_REPORT_FD };
  /* Reserved even without an input. */
  fds->channels[1] = (PsfChildFdChannel) { -1, PSF_CHILD_INPUT_FD };
  fds->channels[2] = (PsfChildFdChannel) { launch->setup_fd, PSF_CHILD_SETUP_FD };
  fds->layout.channels = fds->channels;
  fds->layout.n_channels = launch->setup_fd >= 0 ? 3 : 2;
  fds->layout.error_channel = -1;
  fds->layout.output_fd = launch->output_fd;
  fds->layout.source_fds = launch->source_fds;
  fds->layout.target_fds = launch->target_fds;
  fds->layout.n_maps = launch->n_fds;
  fds->layout.min_floor = PSF_CHILD_SETUP_FD + 1;
  fds->floor = fds->layout.min_floor;
  fds->copies = g_array_new (FALSE, FALSE, sizeof (int));
}

static void
helper_fds_clear (HelperFds *fds)
{
  for (guint i = 0; i < fds->copies->len; i++)
    close (g_array_index (fds->copies, int, i));
  g_array_unref (fds->copies);
}

/* "CALL(FROM -> TO): errno text", the detail of psf_child_fds_apply(). */
static gboolean
fd_step_error (GError     **error,
               int          saved_errno,
               const char  *call,
               int          from,
               int          to)
{
  g_autofree char *detail = g_strdup_printf ("%d -> %d", from, to);

  return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, saved_errno, call, detail);
}

/* A close action for @fd in the helper (glibc ignores one for an fd that
 * is not open). */
static gboolean
add_close (posix_spawn_file_actions_t  *actions,
           int                          fd,
           GError                     **error)
{
  int r = posix_spawn_file_actions_addclose (actions, fd);

  if (r != 0)
    return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, r,
                                     "posix_spawn_file_actions_addclose", NULL);
  return TRUE;
}

/* Whether the helper keeps @fd: a target of the map, or one of its
 * channels. */
static gboolean
helper_keeps (const HelperFds *fds,
              int              fd)
{
  for (gsize i = 0; i < fds->layout.n_maps; i++)
    if (fds->layout.target_fds[i] == fd)
      return TRUE;
  for (gsize c = 0; c < fds->layout.n_channels; c++)
    if (fds->channels[c].fd >= 0 && fds->channels[c].target == fd)
      return TRUE;
  return FALSE;
}

/* With close-fds: the fds of this process that the helper would inherit
 * below the floor (closefrom() takes those above), which a FORK child or a
 * forkserver's closes, become close actions. Read from /proc/self/fd, or
 * tried one by one without it. An fd another thread opens without
 * O_CLOEXEC from now until posix_spawn() can still pass: open them with
 * it. */
static gboolean
add_close_inherited (const HelperFds             *fds,
                     posix_spawn_file_actions_t  *actions,
                     GError                     **error)
{
  g_autoptr(GArray) open_fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        gint64 fd;

        if (g_ascii_string_to_signed (name, 10, 3, fds->floor - 1, &fd, NULL))
          {
            int number = (int) fd;

            g_array_append_val (open_fds, number);
          }
      }
  else
    for (int fd = 3; fd < fds->floor; fd++)
      g_array_append_val (open_fds, fd);

  for (guint i = 0; i < open_fds->len; i++)
    {
      int fd = g_array_index (open_fds, int, i);
      int flags;

      if (helper_keeps (fds, fd))
        continue;
      flags = fcntl (fd, F_GETFD);
      if (flags < 0 || (flags & FD_CLOEXEC))
        continue;
      if (!add_close (actions, fd, error))
        return FALSE;
    }
  return TRUE;
}

/* Turns the plan of @fds, with @input_fd as the helper's fd 4, into
 * @actions. */
static gboolean
add_helper_fds (HelperFds                   *fds,
                int                          input_fd,
                posix_spawn_file_actions_t  *actions,
                GError                     **error)
{
  PsfChildFdCursor cursor = PSF_CHILD_FD_CURSOR_INIT;
  g_autofree int *slot_fds = NULL;
  PsfChildFdPlan plan;
  PsfChildFdStep step;
  int r;

  fds->channels[1].fd = input_fd;
  if (psf_child_fds_plan (&fds->layout, &plan) < 0)
    return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, EBADF, "dup2", NULL);
  fds->floor = plan.floor;

  slot_fds = g_new (int, plan.n_slots);
  for (gsize slot = 0; slot < plan.n_slots; slot++)
    slot_fds[slot] = psf_child_fds_slot_fd (&fds->layout, slot);

  while (psf_child_fds_next (&plan, &cursor, &step))
    {
      int copy;

      switch (step.op)
        {
        case PSF_CHILD_FD_MOVE:
          /* Said as a FORK child says it (psf_child_fds_apply()). */
          copy = fcntl (slot_fds[step.slot], F_DUPFD_CLOEXEC, step.target);
          if (copy < 0)
            return fd_step_error (error, errno, "fcntl", slot_fds[step.slot], step.target);
          g_array_append_val (fds->copies, copy);
          slot_fds[step.slot] = copy;
          break;

        case PSF_CHILD_FD_DUP2:
          r = posix_spawn_file_actions_adddup2 (actions, slot_fds[step.slot], step.target);
          if (r != 0)
            return fd_step_error (error, r, "posix_spawn_file_actions_adddup2",
                                  slot_fds[step.slot], step.target);
          break;

        case PSF_CHILD_FD_CLOSE:
        default:
          /* The copies are close-on-exec; the host's own fds stay its
           * own. */
          break;
        }
    }

  /* Without an input, whatever the host has inheritable at the input's
   * fd must not reach the helper, which would take it for one. */
  return input_fd >= 0 || add_close (actions, PSF_CHILD_INPUT_FD, error);
}

/* The chdir() to @cwd (when not %NULL), then, with @close_from >= 0, the
 * close of every fd from there on: the copies are above the fds kept, so
 * they go too. */
static gboolean
add_cwd_and_closefrom (const char                  *cwd,
                       int                          close_from,
                       posix_spawn_file_actions_t  *actions,
                       GError                     **error)
{
  int r;

  if (cwd != NULL && (r = posix_spawn_file_actions_addchdir_np (actions, cwd)) != 0)
    return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, r,
                                     "posix_spawn_file_actions_addchdir_np", cwd);
  if (close_from >= 0 && (r = posix_spawn_file_actions_addclosefrom_np (actions, close_from)) != 0)
    {
      g_autofree char *detail = g_strdup_printf ("%d", close_from);

      return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, r,
                                       "posix_spawn_file_actions_addclosefrom_np", detail);
    }
  return TRUE;
}

/* What posix_spawn() gives the helper (SPAWN's child and the forkserver):
 * default dispositions and nothing blocked, whatever the host (or the
 * thread calling start()) had. */
void
psf_launch_spawnattr_clean_signals (posix_spawnattr_t *attr)
{
  sigset_t mask;

  sigemptyset (&mask);
  posix_spawnattr_setsigmask (attr, &mask);
  sigfillset (&mask);
  sigdelset (&mask, SIGKILL);
  sigdelset (&mask, SIGSTOP);
  posix_spawnattr_setsigdefault (attr, &mask);
  posix_spawnattr_setflags (attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

gboolean
psf_launch_spawn (const PsfLaunch  *launch,
                  PsfLaunched      *launched,
                  GError          **error)
{
  const char *helper = launch->helper;
  const char * const *env = launch->env;
  const char *cwd = launch->cwd;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  HelperFds fds;
  int reserved;
  int input_fd = -1;
  gsize setup_offset = 0;
  gboolean with_setup = launch->setup_fd >= 0 && !psf_child_setup_is_empty (&launch->setup);
  pid_t pid;
  int r;

  /* glibc's posix_spawn() reports a failed exec, but emulations of vfork
   * (valgrind, qemu-user) do not: look first, so the error always comes
   * from start() and names the path. */
  if (access (helper, X_OK) != 0)
    {
      int saved = errno;

      g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                   _("Cannot run the helper %s: %s"), helper, g_strerror (saved));
      return FALSE;
    }

  if (launch->setup.child_setup != NULL)
    {
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("A child-setup function needs the FORK start method"));
      return FALSE;
    }

  g_return_val_if_fail (launch->routine != NULL, FALSE);

  helper_fds_init (&fds, launch);
  reserved = psf_child_fds_reserved_target (&fds.layout);
  if (reserved >= 0)
    {
      helper_fds_clear (&fds);
      g_set_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT,
                   _("fd %d is used by the helper of the SPAWN start method"),
                   reserved);
      return FALSE;
    }

  if (!make_input_fd (launch, with_setup, &input_fd, &setup_offset, error))
    {
      helper_fds_clear (&fds);
      return FALSE;
    }

  if ((r = posix_spawn_file_actions_init (&actions)) != 0)
    {
      helper_fds_clear (&fds);
      if (input_fd >= 0)
        close (input_fd);
      return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, r, "posix_spawn_file_actions_init", NULL);
    }
  posix_spawnattr_init (&attr);

  if (!add_helper_fds (&fds, input_fd, &actions, error) ||
      (launch->close_fds && !add_close_inherited (&fds, &actions, error)) ||
      !add_cwd_and_closefrom (cwd, launch->close_fds ? fds.floor : -1, &actions, error))
    {
      posix_spawn_file_actions_destroy (&actions);
      posix_spawnattr_destroy (&attr);
      helper_fds_clear (&fds);
      if (input_fd >= 0)
        close (input_fd);
      return FALSE;
    }

  psf_launch_spawnattr_clean_signals (&attr);

  g_ptr_array_add (argv, g_strdup (launch->argv0 != NULL ? launch->argv0 : helper));
  g_ptr_array_add (argv, g_strdup (launch->routine));
  if (with_setup)
    g_ptr_array_add (argv, g_strdup_printf (PSF_CHILD_SETUP_ARG "%" G_GSIZE_FORMAT, setup_offset));
  g_ptr_array_add (argv, NULL);

  r = posix_spawn (&pid, helper, &actions, &attr, (char **) argv->pdata,
                   env != NULL ? (char **) env : environ);

  posix_spawn_file_actions_destroy (&actions);
  posix_spawnattr_destroy (&attr);
  helper_fds_clear (&fds);
  if (input_fd >= 0)
    close (input_fd);

  if (r != 0)
    {
      /* The file actions fail the same way as the exec: a working
       * directory gone since check_cwd() is the likelier cause. */
      if (!psf_launch_check_cwd (cwd, error))
        return FALSE;
      g_set_error (error, PSF_ERROR, PSF_ERROR_SPAWN,
                   _("Cannot run the helper %s: %s"), helper, g_strerror (r));
      return FALSE;
    }

  *launched = (PsfLaunched) { .pid = pid, .relay_fd = -1, .exiting = -1 };
  return TRUE;
}

gboolean
psf_launch_fork (const PsfLaunch  *launch,
                 PsfLaunched      *launched,
                 GError          **error)
{
  PsfForkChildSpec spec = { 0 };
  g_autofree int *room = NULL;
  pid_t pid;

  spec.report_fd = launch->report_fd;
  spec.report_read_fd = launch->report_read_fd;
  spec.setup_read_fd = launch->setup_read_fd;
  spec.source_fds = launch->source_fds;
  spec.target_fds = launch->target_fds;
  spec.n_fds = launch->n_fds;
  /* The child cannot allocate: its working room is made here. */
  room = g_new (int, PSF_FORK_CHILD_ROOM (launch->n_fds));
  spec.room = room;
  spec.close_fds = launch->close_fds;
  spec.cwd = launch->cwd;
  spec.output_fd = launch->output_fd;
  spec.setup_fd = launch->setup_fd;
  spec.setup = launch->setup_fd >= 0 && !psf_child_setup_is_empty (&launch->setup) ?
               &launch->setup : NULL;

  if (launch->func != NULL)
    {
      spec.func = launch->func;
      spec.func_data = launch->func_data;
    }
  else if (launch->fork_routine != NULL)
    {
      spec.routine = launch->fork_routine;
      if (launch->input != NULL)
        spec.input = g_bytes_get_data (launch->input, &spec.input_len);
      spec.input_owner = launch->input;
    }
  else
    {
      g_return_val_if_fail (launch->method != NULL, FALSE);
      spec.method = launch->method;
      spec.instance = launch->instance;
    }

  pid = psf_fork_child_start (&spec);
  if (pid < 0)
    return psf_set_error_from_errno (error, PSF_ERROR_SPAWN, errno, "fork", NULL);

  *launched = (PsfLaunched) { .pid = pid, .relay_fd = -1, .exiting = -1 };
  return TRUE;
}
