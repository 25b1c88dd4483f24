/* test-child-fds.c: the one plan of a child's fds, and what each start
 * method makes of it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The plan (plugin/child/psf-child-fds.c) is checked three ways: its
 * steps, run on a model of an fd table that says which open file each fd
 * is (every layout, cycles and random maps included, must end with each
 * target holding its source's file, and no step may read an fd an earlier
 * step replaced); run for real in a forked child; and through each start
 * method, with the tests' "describe" routine reporting the child's fds.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "psf-child-private.h"
#include "psf-child-fds-private.h"

#include "test-utils.h"

/* ---- the plan, on a model of an fd table ---------------------------------- */

#define MODEL_FDS 512

/* Which open file each fd is: 0 closed, else a file's number. */
typedef struct
{
  int file[MODEL_FDS];
  int cloexec[MODEL_FDS];
} Model;

static int
model_lowest_free (const Model *m,
                   int          floor)
{
  for (int fd = floor; fd < MODEL_FDS; fd++)
    if (m->file[fd] == 0)
      return fd;
  g_assert_not_reached ();
  return -1;
}

/* Opens a file of its own on every fd @layout names (a source named twice
 * is one fd). */
static void
model_init (Model             *m,
            const PsfChildFds *layout)
{
  size_t n_slots = PSF_CHILD_FDS_N_SLOTS (layout->n_channels, layout->n_maps);

  memset (m, 0, sizeof *m);
  for (size_t slot = 0; slot < n_slots; slot++)
    {
      int fd = psf_child_fds_slot_fd (layout, slot);

      if (fd >= 0 && m->file[fd] == 0)
        m->file[fd] = 1000 + fd;
    }
}

/* Runs every step of @plan on @m, as psf_child_fds_apply() runs them on
 * the real table; @slot_fds gets where each slot ends. Returns the steps. */
static GArray *
model_run (Model                *m,
           const PsfChildFdPlan *plan,
           int                  *slot_fds)
{
  GArray *steps = g_array_new (FALSE, FALSE, sizeof (PsfChildFdStep));
  PsfChildFdCursor cursor = PSF_CHILD_FD_CURSOR_INIT;
  PsfChildFdStep step;

  for (size_t slot = 0; slot < plan->n_slots; slot++)
    slot_fds[slot] = psf_child_fds_slot_fd (plan->fds, slot);

  while (psf_child_fds_next (plan, &cursor, &step))
    {
      int fd = slot_fds[step.slot];
      int moved;

      g_array_append_val (steps, step);
      g_assert_cmpuint (steps->len, <, 4 * plan->n_slots + 8);
      g_assert_cmpint (fd, >=, 0);
      /* Nothing reads an fd that is closed. */
      g_assert_cmpint (m->file[fd], !=, 0);

      switch (step.op)
        {
        case PSF_CHILD_FD_MOVE:
          g_assert_cmpint (step.target, ==, plan->floor);
          g_assert_cmpint (fd, <, plan->floor);
          moved = model_lowest_free (m, plan->floor);
          m->file[moved] = m->file[fd];
          m->cloexec[moved] = 1;
          if (step.close_original)
            m->file[fd] = 0;
          slot_fds[step.slot] = moved;
          break;

        case PSF_CHILD_FD_DUP2:
          /* Every source is above every target by now: a dup2() never
           * meets its own fd, and always makes one without FD_CLOEXEC. */
          g_assert_cmpint (fd, >=, plan->floor);
          g_assert_cmpint (step.target, <, plan->floor);
          m->file[step.target] = m->file[fd];
          m->cloexec[step.target] = 0;
          break;

        case PSF_CHILD_FD_CLOSE:
          m->file[fd] = 0;
          slot_fds[step.slot] = -1;
          break;

        default:
          g_assert_not_reached ();
        }
    }
  return steps;
}

/* Runs @layout on the model and checks where every file ended. */
static GArray *
check_layout (const PsfChildFds *layout)
{
  g_autofree int *slot_fds = NULL;
  PsfChildFdPlan plan;
  Model before;
  Model m;
  GArray *steps;
  gboolean moving = TRUE;
  size_t n_out = 0;

  g_assert_cmpint (psf_child_fds_plan (layout, &plan), ==, 0);
  g_assert_cmpint (plan.floor, >=, 3);
  g_assert_cmpint (plan.floor, >=, layout->min_floor);
  model_init (&m, layout);
  before = m;
  slot_fds = g_new (int, plan.n_slots);
  steps = model_run (&m, &plan, slot_fds);

  /* The moves, then the dup2()s, then the closes; the error channel's
   * move, if any, first of all. */
  for (guint i = 0; i < steps->len; i++)
    {
      const PsfChildFdStep *step = &g_array_index (steps, PsfChildFdStep, i);

      if (step->op != PSF_CHILD_FD_MOVE)
        moving = FALSE;
      else
        g_assert_true (moving);
      if (step->op == PSF_CHILD_FD_MOVE && layout->error_channel >= 0 &&
          step->slot == (size_t) layout->error_channel)
        g_assert_cmpuint (i, ==, 0);
    }

  /* Each target holds its source's file; the map wins over the output. */
  for (size_t i = 0; i < layout->n_maps; i++)
    {
      int target = layout->target_fds[i];
      size_t last = i;

      /* A target named twice: the last mapping wins. */
      for (size_t j = i + 1; j < layout->n_maps; j++)
        if (layout->target_fds[j] == target)
          last = j;
      g_assert_cmpint (m.file[target], ==, before.file[layout->source_fds[last]]);
      g_assert_false (m.cloexec[target]);
    }
  if (layout->output_fd >= 0)
    for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
      {
        gboolean mapped = FALSE;

        for (size_t i = 0; i < layout->n_maps; i++)
          mapped |= layout->target_fds[i] == fd;
        if (!mapped)
          g_assert_cmpint (m.file[fd], ==, before.file[layout->output_fd]);
      }

  /* The channels are where they belong, and only there: psf's own fds
   * have one copy each. */
  for (size_t c = 0; c < layout->n_channels; c++)
    {
      const PsfChildFdChannel *channel = &layout->channels[c];
      int copies = 0;

      if (channel->fd < 0)
        {
          g_assert_cmpint (slot_fds[c], <, 0);
          continue;
        }
      if (channel->target == PSF_CHILD_FD_ANYWHERE)
        {
          g_assert_cmpint (slot_fds[c], >=, plan.floor);
          g_assert_cmpint (m.file[slot_fds[c]], ==, before.file[channel->fd]);
          for (int fd = 3; fd < MODEL_FDS; fd++)
            copies += m.file[fd] == before.file[channel->fd];
          g_assert_cmpint (copies, ==, 1);
        }
      else
        g_assert_cmpint (m.file[channel->target], ==, before.file[channel->fd]);
    }

  /* No copy is left above the floor but the channels. */
  for (int fd = plan.floor; fd < MODEL_FDS; fd++)
    if (m.file[fd] != 0 && before.file[fd] == 0)
      {
        gboolean channel = FALSE;

        for (size_t c = 0; c < layout->n_channels; c++)
          channel |= slot_fds[c] == fd;
        g_assert_true (channel);
        n_out++;
      }
  g_assert_cmpuint (n_out, <=, layout->n_channels);
  return steps;
}

/* SPAWN's layout: the helper's report channel on 3, input on 4, set-up
 * channel on 5 (when there is one), moves from 6 up. */
static void
spawn_layout (PsfChildFds       *layout,
              PsfChildFdChannel  channels[3],
              gboolean           with_setup,
              int                output_fd,
              const int         *sources,
              const int         *targets,
              size_t             n)
{
  channels[0] = (PsfChildFdChannel) { 20, PSF_CHILD_REPORT_FD };
  channels[1] = (PsfChildFdChannel) { 21, PSF_CHILD_INPUT_FD };
  channels[2] = (PsfChildFdChannel) { 22, PSF_CHILD_SETUP_FD };
  memset (layout, 0, sizeof *layout);
  layout->channels = channels;
  layout->n_channels = with_setup ? 3 : 2;
  layout->error_channel = -1;
  layout->output_fd = output_fd;
  layout->source_fds = sources;
  layout->target_fds = targets;
  layout->n_maps = n;
  layout->min_floor = PSF_CHILD_SETUP_FD + 1;
}

/* FORK's and the forkserver's: the channels wherever they land, the first
 * one where failures are said. */
static void
fork_layout (PsfChildFds       *layout,
             PsfChildFdChannel  channels[2],
             int                setup_fd,
             int                report_fd,
             int                output_fd,
             const int         *sources,
             const int         *targets,
             size_t             n)
{
  channels[0] = (PsfChildFdChannel) { setup_fd, PSF_CHILD_FD_ANYWHERE };
  channels[1] = (PsfChildFdChannel) { report_fd, PSF_CHILD_FD_ANYWHERE };
  memset (layout, 0, sizeof *layout);
  layout->channels = channels;
  layout->n_channels = 2;
  layout->error_channel = 0;
  layout->output_fd = output_fd;
  layout->source_fds = sources;
  layout->target_fds = targets;
  layout->n_maps = n;
  layout->min_floor = 3;
}

static void
test_plan_cycle (void)
{
  /* 3 -> 4 and 4 -> 3, with the channels on 5 and 6: nothing is lost. */
  static const int sources[] = { 3, 4 };
  static const int targets[] = { 4, 3 };
  PsfChildFdChannel channels[3];
  PsfChildFds layout;
  g_autoptr(GArray) steps = NULL;
  guint moves = 0;

  fork_layout (&layout, channels, 5, 6, -1, sources, targets, 2);
  steps = check_layout (&layout);
  for (guint i = 0; i < steps->len; i++)
    moves += g_array_index (steps, PsfChildFdStep, i).op == PSF_CHILD_FD_MOVE;
  /* Both sources move (a copy each); the channels, on 5 and 6, are at
   * the floor already. */
  g_assert_cmpuint (moves, ==, 2);
  g_clear_pointer (&steps, g_array_unref);

  /* A longer one, 3 -> 4 -> 5 -> 3, with an output. */
  {
    static const int sources3[] = { 3, 4, 5 };
    static const int targets3[] = { 4, 5, 3 };

    fork_layout (&layout, channels, 8, 9, 7, sources3, targets3, 3);
    steps = check_layout (&layout);
  }
  g_clear_pointer (&steps, g_array_unref);

  /* The same cycle through SPAWN's helper, whose own fds are 3 to 5:
   * the sources numbered 3 and 4 are read before the channels take 3 and
   * 4. */
  {
    static const int sources2[] = { 3, 4 };
    static const int targets2[] = { 10, 9 };

    spawn_layout (&layout, channels, TRUE, 7, sources2, targets2, 2);
    steps = check_layout (&layout);
  }
}

static void
test_plan_reserved (void)
{
  PsfChildFdChannel channels[3];
  PsfChildFds layout;
  PsfChildFdPlan plan;
  g_autoptr(GArray) steps = NULL;

  /* SPAWN: 3 and 4 are the helper's always, 5 with a set-up channel. */
  for (int target = 3; target <= 5; target++)
    {
      int source = 40;

      spawn_layout (&layout, channels, TRUE, -1, &source, &target, 1);
      g_assert_cmpint (psf_child_fds_reserved_target (&layout), ==, target);
      g_assert_cmpint (psf_child_fds_plan (&layout, &plan), ==, -1);

      spawn_layout (&layout, channels, FALSE, -1, &source, &target, 1);
      g_assert_cmpint (psf_child_fds_reserved_target (&layout), ==, target == 5 ? -1 : target);
      if (target == 5)
        {
          steps = check_layout (&layout);
          g_clear_pointer (&steps, g_array_unref);
        }
    }

  /* Channels without a fixed place reserve nothing: FORK's fd map may
   * use 3 to 5, where its own channels are. */
  {
    static const int sources[] = { 5, 40, 41 };
    static const int targets[] = { 3, 4, 5 };

    fork_layout (&layout, channels, 3, 4, 6, sources, targets, 3);
    g_assert_cmpint (psf_child_fds_reserved_target (&layout), ==, -1);
    steps = check_layout (&layout);
  }
}

static void
test_plan_refused (void)
{
  PsfChildFdChannel channels[3];
  PsfChildFds layout;
  PsfChildFdPlan plan;
  int source = 7;
  int target = -1;

  fork_layout (&layout, channels, -1, 4, -1, &source, &target, 1);
  g_assert_cmpint (psf_child_fds_plan (&layout, &plan), ==, -1);
  source = -3;
  target = 9;
  g_assert_cmpint (psf_child_fds_plan (&layout, &plan), ==, -1);
  source = 7;
  layout.error_channel = 2;
  g_assert_cmpint (psf_child_fds_plan (&layout, &plan), ==, -1);
  layout.error_channel = 0;
  g_assert_cmpint (psf_child_fds_plan (&layout, &plan), ==, 0);
  g_assert_cmpint (plan.floor, ==, 10);

  /* No floor above INT_MAX: refused, not overflowed. */
  target = G_MAXINT;
  g_assert_cmpint (psf_child_fds_plan (&layout, &plan), ==, -1);
  target = G_MAXINT - 1;
  g_assert_cmpint (psf_child_fds_plan (&layout, &plan), ==, 0);
  g_assert_cmpint (plan.floor, ==, G_MAXINT);
}

static void
test_plan_random (void)
{
  /* Maps of every shape: sources anywhere (channels' numbers excepted),
   * targets from 0 up, cycles, sources that are targets, targets named
   * twice, an output or none, both kinds of layout. */
  for (int round = 0; round < 2000; round++)
    {
      int sources[12];
      int targets[12];
      size_t n = (size_t) g_test_rand_int_range (0, 12);
      gboolean spawn = g_test_rand_bit ();
      int output = g_test_rand_bit () ? g_test_rand_int_range (30, 40) : -1;
      PsfChildFdChannel channels[3];
      PsfChildFds layout;
      g_autoptr(GArray) steps = NULL;

      for (size_t i = 0; i < n; i++)
        {
          /* Not the channels' (20 to 22) nor the output's (30 up). */
          do
            sources[i] = g_test_rand_int_range (0, 30);
          while (sources[i] >= 20 && sources[i] <= 22);
          /* SPAWN's helper keeps 3 to 5; a FORK child's map may take
           * the numbers its channels had (21, 22). */
          do
            targets[i] = g_test_rand_int_range (0, spawn ? 16 : 26);
          while (spawn && targets[i] >= 3 && targets[i] <= 5);
        }
      if (spawn)
        spawn_layout (&layout, channels, g_test_rand_bit (), output, sources, targets, n);
      else
        fork_layout (&layout, channels, g_test_rand_bit () ? 22 : -1, 21,
                     output, sources, targets, n);
      steps = check_layout (&layout);
    }
}

/* ---- the plan, run for real ------------------------------------------------ */

/* In a forked child: gives @fd the number @to (moving it out of the way
 * first). */
static void
place_fd (int fd,
          int to)
{
  int high = fcntl (fd, F_DUPFD, 200);

  if (high < 0 || dup2 (high, to) < 0)
    _exit (90);
  close (high);
}

static ino_t
inode_of (int fd)
{
  struct stat st;

  g_assert_no_errno (fstat (fd, &st));
  return st.st_ino;
}

static void
test_apply_cycle (void)
{
  int a[2], b[2], error[2];
  ino_t ino_a, ino_b;
  pid_t pid;
  int status;

  g_assert_no_errno (pipe2 (a, O_CLOEXEC));
  g_assert_no_errno (pipe2 (b, O_CLOEXEC));
  g_assert_no_errno (pipe2 (error, O_CLOEXEC));
  ino_a = inode_of (a[1]);
  ino_b = inode_of (b[1]);

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      static const int sources[] = { 3, 4 };
      static const int targets[] = { 4, 3 };
      int kept[] = { 3, 4 };
      PsfChildFdChannel channels[2];
      PsfChildFds layout;
      PsfChildFdPlan plan;
      int slot_fds[PSF_CHILD_FDS_N_SLOTS (2, 2)];
      struct stat st;

      place_fd (a[1], 3);
      place_fd (b[1], 4);
      place_fd (error[1], 2);
      psf_child_close_fds_except (kept, 2);

      /* 3 -> 4, 4 -> 3; the set-up channel on 2, below the floor. */
      fork_layout (&layout, channels, 2, -1, -1, sources, targets, 2);
      if (psf_child_fds_plan (&layout, &plan) < 0 || plan.floor != 5)
        _exit (10);
      if (psf_child_fds_apply (&plan, slot_fds) < 0)
        _exit (11);
      if (fstat (4, &st) < 0 || st.st_ino != ino_a)
        _exit (12);
      if (fstat (3, &st) < 0 || st.st_ino != ino_b)
        _exit (13);
      if (fcntl (3, F_GETFD) != 0 || fcntl (4, F_GETFD) != 0)
        _exit (14);
      /* The channel moved: one copy of it, above the floor. */
      if (slot_fds[0] < 5 || fstat (slot_fds[0], &st) < 0 || fcntl (2, F_GETFD) >= 0)
        _exit (15);
      /* The copies of the sources are gone. */
      for (int fd = 5; fd < 64; fd++)
        if (fd != slot_fds[0] && fcntl (fd, F_GETFD) >= 0)
          _exit (16);
      _exit (0);
    }

  close (error[1]);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  close (a[0]);
  close (a[1]);
  close (b[0]);
  close (b[1]);
  close (error[0]);
}

/* A step fails: the child says which, with the fds as its parent numbered
 * them, on the error channel from wherever that moved. */
static void
check_apply_failure (int         source,
                     int         target,
                     const char *call,
                     const char *detail)
{
  PsfSetupError record;
  PsfSetupError out;
  int error[2];
  pid_t pid;
  int status;
  gsize got = 0;
  ssize_t n;

  g_assert_no_errno (pipe2 (error, O_CLOEXEC));
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      int kept[] = { 3 };
      PsfChildFdChannel channels[2];
      PsfChildFds layout;
      PsfChildFdPlan plan;
      int slot_fds[PSF_CHILD_FDS_N_SLOTS (2, 1)];

      /* The error channel on 3, below the floor: it moves first. */
      place_fd (error[1], 3);
      psf_child_close_fds_except (kept, 1);
      fork_layout (&layout, channels, 3, -1, -1, &source, &target, 1);
      if (psf_child_fds_plan (&layout, &plan) < 0)
        _exit (10);
      _exit (psf_child_fds_apply (&plan, slot_fds) < 0 ? 20 : 0);
    }

  close (error[1]);
  while ((n = read (error[0], (char *) &record + got, sizeof record - got)) > 0)
    got += (gsize) n;
  close (error[0]);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 20);

  g_assert_cmpint (psf_setup_error_decode (&record, got, &out), ==, 0);
  g_assert_cmpstr (out.call, ==, call);
  g_assert_cmpstr (out.detail, ==, detail);
  g_assert_cmpint (out.error, ==, EBADF);
}

static void
test_apply_failure (void)
{
  /* A source that is not open: below the floor its move fails, above it
   * its dup2(). */
  check_apply_failure (6, 7, "fcntl", "6 -> 8");
  check_apply_failure (40, 7, "dup2", "40 -> 7");
}

/* ---- through each start method --------------------------------------------- */

/* What /proc/self/fd/@fd says. */
static char *
fd_link (int fd)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/fd/%d", fd);
  g_autoptr(GError) error = NULL;
  char *link = g_file_read_link (path, &error);

  g_assert_no_error (error);
  return link;
}

/* A pipe's write end at or above @floor, and what it is. */
static int
pipe_above (int    floor,
            char **link)
{
  int fds[2];
  int high;

  g_assert_no_errno (pipe2 (fds, O_CLOEXEC));
  high = fcntl (fds[1], F_DUPFD_CLOEXEC, floor);
  g_assert_cmpint (high, >=, floor);
  close (fds[0]);
  close (fds[1]);
  *link = fd_link (high);
  return high;
}

static GHashTable *
describe_with (PsfStartMethod  method,
               gboolean        close_fds,
               const int      *sources,
               const int      *targets,
               guint           n)
{
  g_autoptr(PsfSpawnProcess) proc = g_object_new (PSF_TEST_TYPE_DESCRIBE, "start-method", method,
                                                  "close-fds", close_fds, NULL);
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GBytes *report;

  for (guint i = 0; i < n; i++)
    psf_spawn_process_take_fd (proc, sources[i], targets[i]);
  g_assert_cmpint (psf_test_start_and_wait (PSF_TASK (proc), 20000), ==, 0);

  report = psf_fork_process_get_report (PSF_FORK_PROCESS (proc));
  text = g_strndup (g_bytes_get_data (report, NULL), g_bytes_get_size (report));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *eq = strchr (lines[i], '=');

      if (eq != NULL)
        g_hash_table_insert (table, g_strndup (lines[i], eq - lines[i]), g_strdup (eq + 1));
    }
  return table;
}

static GHashTable *
describe (PsfStartMethod  method,
          const int      *sources,
          const int      *targets,
          guint           n)
{
  return describe_with (method, TRUE, sources, targets, n);
}

static void
assert_child_fd (GHashTable *table,
                 int         fd,
                 const char *link)
{
  g_autofree char *key = g_strdup_printf ("fd.%d", fd);

  g_assert_cmpstr (g_hash_table_lookup (table, key), ==, link);
}

static void
test_method_cycle (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autofree char *link_a = NULL;
  g_autofree char *link_b = NULL;
  g_autoptr(GHashTable) table = NULL;
  int sources[2];
  int targets[2];

  /* Each source goes where the other one is. */
  sources[0] = pipe_above (40, &link_a);
  sources[1] = pipe_above (sources[0] + 1, &link_b);
  targets[0] = sources[1];
  targets[1] = sources[0];
  table = describe (method, sources, targets, 2);
  assert_child_fd (table, targets[0], link_a);
  assert_child_fd (table, targets[1], link_b);
}

static void
test_method_low_targets (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  char *links[3] = { NULL, NULL, NULL };
  g_autoptr(GHashTable) table = NULL;
  int sources[3];
  int targets[] = { 3, 4, 5 };

  for (guint i = 0; i < 3; i++)
    sources[i] = pipe_above (40, &links[i]);

  if (method == PSF_START_METHOD_SPAWN)
    {
      /* The helper's own fds: 3 and 4 are refused, 5 is free when there is
       * no set-up channel. */
      g_autoptr(PsfSpawnProcess) proc = g_object_new (PSF_TEST_TYPE_DESCRIBE,
                                                      "start-method", method, NULL);
      g_autoptr(GError) error = NULL;

      psf_spawn_process_take_fd (proc, sources[0], 3);
      g_assert_false (psf_task_start (PSF_TASK (proc), &error));
      g_assert_error (error, PSF_ERROR, PSF_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (error->message, ==, "fd 3 is used by the helper of the SPAWN start method");
      g_clear_object (&proc);

      table = describe (method, &sources[2], &targets[2], 1);
      assert_child_fd (table, 5, links[2]);
      close (sources[1]);
    }
  else
    {
      /* FORK's and the forkserver's channels get out of the way. */
      table = describe (method, sources, targets, 3);
      for (guint i = 0; i < 3; i++)
        assert_child_fd (table, targets[i], links[i]);
    }
  for (guint i = 0; i < 3; i++)
    g_free (links[i]);
}

/* Starting a describe task of @method with @source_fd as @target_fd
 * fails; returns the message. @source_fd stays the task's, then goes with
 * it. */
static char *
start_refused (PsfStartMethod method,
               int            source_fd,
               int            target_fd)
{
  g_autoptr(PsfSpawnProcess) proc = g_object_new (PSF_TEST_TYPE_DESCRIBE, "start-method", method, NULL);
  g_autoptr(GError) error = NULL;

  psf_spawn_process_take_fd (proc, source_fd, target_fd);
  g_assert_false (psf_task_start (PSF_TASK (proc), &error));
  g_assert_error (error, PSF_ERROR, PSF_ERROR_SPAWN);
  g_assert_cmpint (psf_task_get_state (PSF_TASK (proc)), ==, PSF_TASK_STATE_NEW);
  g_assert_cmpint (fcntl (source_fd, F_GETFD), >=, 0);
  return g_strdup (error->message);
}

/* A target no fd can be (INT_MAX, whose floor would overflow, or at the
 * host's RLIMIT_NOFILE, which the child inherits) is refused by start()
 * with the message dup2() would give, whatever the method. */
static void
test_method_target_too_high (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  struct rlimit limit;
  int targets[2];

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &limit));
  g_assert_cmpuint (limit.rlim_cur, <, G_MAXINT);
  targets[0] = G_MAXINT;
  targets[1] = (int) limit.rlim_cur;
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      int source = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      g_autofree char *message = NULL;
      g_autofree char *expected = g_strdup_printf ("dup2(%d -> %d): Bad file descriptor",
                                                   source, targets[i]);

      g_assert_cmpint (source, >=, 0);
      message = start_refused (method, source, targets[i]);
      g_assert_cmpstr (message, ==, expected);
      g_assert_cmpint (fcntl (source, F_GETFD), <, 0);
    }
}

/* An fd this process would let a child inherit (no FD_CLOEXEC) below the
 * floor of the plan (the highest target) does not reach a close-fds
 * child, whatever the method; with close-fds off it does. */
static void
test_method_inherited_below_floor (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autofree char *link_inherited = NULL;
  g_autofree char *link_source = NULL;
  g_autofree char *key = NULL;
  g_autoptr(GHashTable) table = NULL;
  int null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  int inherited;
  int source;
  int target;

  g_assert_cmpint (null_fd, >=, 0);
  inherited = fcntl (null_fd, F_DUPFD, 20);
  close (null_fd);
  g_assert_cmpint (inherited, >=, 20);
  g_assert_cmpint (inherited, <, 40);
  link_inherited = fd_link (inherited);
  key = g_strdup_printf ("fd.%d", inherited);

  source = pipe_above (40, &link_source);
  target = 50;
  table = describe_with (method, TRUE, &source, &target, 1);
  assert_child_fd (table, target, link_source);
  g_assert_null (g_hash_table_lookup (table, key));
  g_clear_pointer (&table, g_hash_table_unref);
  g_clear_pointer (&link_source, g_free);

  /* Not the floor's doing: without close-fds it is passed. */
  source = pipe_above (40, &link_source);
  table = describe_with (method, FALSE, &source, &target, 1);
  assert_child_fd (table, target, link_source);
  assert_child_fd (table, inherited, link_inherited);
  close (inherited);
}

/* A task without an input, close-fds off, in a host whose fd 4 (the
 * helper's input) is an inheritable regular file: SPAWN's helper must not
 * get it (it would map it as the routine's input); FORK and FORKSERVER
 * pass it on as any inheritable fd. Every routine gets no input. Run in a
 * subprocess, whose fd 4 can be taken. */
static void
test_method_input_fd_not_inherited (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autoptr(GHashTable) table = NULL;
  g_autofree char *path = NULL;
  g_autofree char *link = NULL;
  int fd;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  if (fcntl (4, F_GETFD) >= 0)
    {
      g_test_skip ("fd 4 is in use in this process");
      return;
    }
  fd = g_file_open_tmp ("psf-input-XXXXXX", &path, NULL);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, "not an input", 12), ==, 12);
  if (fd != 4)
    {
      g_assert_cmpint (dup2 (fd, 4), ==, 4);
      close (fd);
    }
  g_assert_no_errno (fcntl (4, F_SETFD, 0));
  link = fd_link (4);

  table = describe_with (method, FALSE, NULL, NULL, 0);
  g_assert_cmpstr (g_hash_table_lookup (table, "input_len"), ==, "0");
  if (method == PSF_START_METHOD_SPAWN)
    g_assert_null (g_hash_table_lookup (table, "fd.4"));
  else
    assert_child_fd (table, 4, link);
  close (4);
  unlink (path);
}

/* Runs the current test again in a subprocess (a process of its own, so
 * its forkserver is new too) and returns FALSE once it passed; in the
 * subprocess, sets RLIMIT_NOFILE to @limit and returns TRUE. */
static gboolean
in_subprocess_with_nofile (const struct rlimit *limit)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return FALSE;
    }
  g_assert_no_errno (setrlimit (RLIMIT_NOFILE, limit));
  return TRUE;
}

/* A step of the plan fails in the child's set-up: a target just below
 * RLIMIT_NOFILE leaves no room above it for the moves (the soft limit
 * is made the hard one first, so that the forkserver cannot raise it).
 * Every method fails start() with the call that failed. */
static void
test_method_plan_failure (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  struct rlimit limit;

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &limit));
  limit.rlim_max = limit.rlim_cur = MIN (limit.rlim_cur, 1024);
  if (!in_subprocess_with_nofile (&limit))
    return;

  {
    int source = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    int target = (int) limit.rlim_cur - 1;
    g_autofree char *message = NULL;
    g_autofree char *pattern = g_strdup_printf ("fcntl(* -> %d): Invalid argument", target + 1);

    g_assert_cmpint (source, >=, 0);
    message = start_refused (method, source, target);
    if (!g_pattern_match_simple (pattern, message))
      g_error ("\"%s\" is not \"%s\"", message, pattern);
    close (source);
  }
  g_assert_cmpuint (psf_test_count_zombies (), ==, 0);
}

/* The child has the host's RLIMIT_NOFILE soft limit, which the host
 * checks targets against, whatever the method: a forkserver raises its
 * own (made below the hard one here first, in a subprocess that starts a
 * server of its own) and gives its children the host's back. */
static void
test_method_nofile (gconstpointer data)
{
  PsfStartMethod method = GPOINTER_TO_INT (data);
  g_autoptr(GHashTable) table = NULL;
  g_autofree char *expected = NULL;
  struct rlimit limit;

  g_assert_no_errno (getrlimit (RLIMIT_NOFILE, &limit));
  if (limit.rlim_max <= 256)
    {
      g_test_skip ("RLIMIT_NOFILE's hard limit leaves no room below it");
      return;
    }
  limit.rlim_cur = 256;
  if (!in_subprocess_with_nofile (&limit))
    return;
  expected = g_strdup_printf ("%d", (int) limit.rlim_cur);

  table = describe (method, NULL, NULL, 0);
  g_assert_cmpstr (g_hash_table_lookup (table, "nofile"), ==, expected);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GEnumClass) methods = NULL;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/psf/child-fds/plan/cycle", test_plan_cycle);
  g_test_add_func ("/psf/child-fds/plan/reserved", test_plan_reserved);
  g_test_add_func ("/psf/child-fds/plan/refused", test_plan_refused);
  g_test_add_func ("/psf/child-fds/plan/random", test_plan_random);
  g_test_add_func ("/psf/child-fds/apply/cycle", test_apply_cycle);
  g_test_add_func ("/psf/child-fds/apply/failure", test_apply_failure);

  /* Each start method, by its nick: fork, spawn, forkserver. */
  methods = g_type_class_ref (PSF_TYPE_START_METHOD);
  for (guint i = 0; i < methods->n_values; i++)
    {
      const GEnumValue *method = &methods->values[i];
      g_autofree char *cycle = g_strdup_printf ("/psf/child-fds/%s/cycle", method->value_nick);
      g_autofree char *low = g_strdup_printf ("/psf/child-fds/%s/low-targets", method->value_nick);

      g_autofree char *high = g_strdup_printf ("/psf/child-fds/%s/target-too-high", method->value_nick);
      g_autofree char *inherited = g_strdup_printf ("/psf/child-fds/%s/inherited-below-floor",
                                                    method->value_nick);
      g_autofree char *failure = g_strdup_printf ("/psf/child-fds/%s/plan-failure", method->value_nick);
      g_autofree char *nofile = g_strdup_printf ("/psf/child-fds/%s/nofile", method->value_nick);
      g_autofree char *input = g_strdup_printf ("/psf/child-fds/%s/input-fd-not-inherited",
                                                method->value_nick);

      g_test_add_data_func (cycle, GINT_TO_POINTER (method->value), test_method_cycle);
      g_test_add_data_func (low, GINT_TO_POINTER (method->value), test_method_low_targets);
      g_test_add_data_func (high, GINT_TO_POINTER (method->value), test_method_target_too_high);
      g_test_add_data_func (inherited, GINT_TO_POINTER (method->value),
                            test_method_inherited_below_floor);
      g_test_add_data_func (failure, GINT_TO_POINTER (method->value), test_method_plan_failure);
      g_test_add_data_func (nofile, GINT_TO_POINTER (method->value), test_method_nofile);
      g_test_add_data_func (input, GINT_TO_POINTER (method->value),
                            test_method_input_fd_not_inherited);
    }

  return g_test_run ();
}
