/* psf-bench.c: what a PsfSyncfsProcess costs, against its floors and the
 * alternatives, in small and large hosts
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One run measures medians of many iterations, round-robin (each iteration
 * runs every mode once, so drift hits all modes alike, as Portage's harness
 * does; in an order shuffled per iteration, so that no mode always follows
 * the same one) after unmeasured warm-up iterations. The modes run in three
 * round-robins of their own, so that what one kind of mode leaves behind is
 * charged to no other kind (see mode_pass()): the modes that start no
 * program, SPAWN (which starts one), and the modes that fork the host. For
 * K = 1 a fourth round-robin measures the floor and the default method
 * each right after a SPAWN task, and the ratios show that case too:
 *
 *  - in-process: open + syncfs + close per path, in this process (Portage's
 *    `ctypes_syncfs`): the floor of the work;
 *  - vfork floor: vfork(), the child runs psf's own syncfs routine and
 *    _exit()s, the parent learns of it through a GLib child watch: the
 *    floor of an isolated child, whatever the host's size;
 *  - fork + _exit: the same with fork() and nothing to do: what a copy of
 *    the host costs;
 *  - sync -f: g_subprocess_newv ("sync", "-f", paths...) and
 *    g_subprocess_wait_async(): what a GLib program writes today;
 *  - psf FORK / SPAWN / FORKSERVER: psf_syncfs_process_new() + start()
 *    until ::exited, with each start method;
 *
 * for K = 1 path, 16 paths on one filesystem and 1000 paths on three
 * filesystems, in a small host and in hosts of 256 MiB and 1 GiB resident
 * (anonymous memory touched page by page, 4 KiB pages): each host is a
 * process of its own, forked from this one at the start, and every
 * iteration runs on every host (see measure_hosts()). It then starts 1000
 * tasks at once on one main loop per method, in this small process (total
 * time, peak fds, peak RSS), and prints the ratios that psf sets as
 * targets.
 *
 * --slow-filesystems runs the concurrency demonstration instead: it needs
 * the fault shim preloaded (LD_PRELOAD=libpsf-fault-shim.so) and makes
 * every syncfs() sleep 200 ms on three filesystems.
 *
 * Run with `meson test -C BUILD --benchmark -v` or tests/bench/run.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <psf.h>

#include "test-utils.h"

/* psf's own syncfs routine, built into this program for the vfork floor. */
#include "psf-child-private.h"

/* Portage's SyncfsProcess on this machine type (K=1, the median of the
 * medians of runs under /tmp and /work, measured before psf existed), in
 * µs; tests/bench/portage-bench.py times it side by side with psf. */
#define PORTAGE_WARM_US    5696.0
#define PORTAGE_WARM_BG_US 4607.0

typedef enum
{
  MODE_INPROCESS,
  MODE_VFORK_FLOOR,
  MODE_FORK_FLOOR,
  MODE_SYNC_F,
  MODE_PSF_FORK,
  MODE_PSF_SPAWN,
  MODE_PSF_FORKSERVER,
  N_MODES
} Mode;

static const char *mode_names[N_MODES] = {
  "in-process open+syncfs+close",
  "vfork + syncfs routine + reap (floor)",
  "fork + _exit + reap",
  "g_subprocess sync -f",
  "psf FORK",
  "psf SPAWN",
  "psf FORKSERVER",
};

#define N_KS 3
#define MAX_HOSTS 8
static const guint ks[N_KS] = { 1, 16, 1000 };

typedef struct
{
  char       **paths;    /* NULL-terminated */
  guint        n_paths;
  GBytes      *input;    /* psf's routine input, for the vfork floor */
} PathSet;

typedef struct
{
  guint   host_mib;
  guint64 rss_kib;
  double  median[N_KS][N_MODES];
  double  p10[N_KS][N_MODES];
  double  p90[N_KS][N_MODES];
  double  after_exec[N_MODES];  /* K = 1, PASS_AFTER_EXEC: medians */
} HostResult;

typedef struct
{
  PsfStartMethod method;
  guint  started;
  guint  succeeded;
  double total_ms;
  guint  fds_before;
  guint  fds_peak;
  guint  fds_after;
  guint64 rss_before_kib;
  guint64 rss_peak_kib;
} ConcurrentResult;

static int opt_iterations = 200;
static int opt_warmup = 10;
static int opt_iterations_1000 = 20;
static int opt_concurrent = 1000;
static char *opt_root = NULL;
static char *opt_hosts = NULL;
static gboolean opt_slow = FALSE;
static gboolean opt_quick = FALSE;
static gboolean opt_verbose = FALSE;
static gboolean opt_fixed_order = FALSE;
static GRand *order_rand;

static GOptionEntry entries[] = {
  { "iterations", 'n', 0, G_OPTION_ARG_INT, &opt_iterations, "Measured iterations for K=1 and K=16 (200)", "N" },
  { "iterations-1000", 0, 0, G_OPTION_ARG_INT, &opt_iterations_1000, "Measured iterations for K=1000 (20)", "N" },
  { "warmup", 'w', 0, G_OPTION_ARG_INT, &opt_warmup, "Unmeasured warm-up iterations (10)", "N" },
  { "concurrent", 'c', 0, G_OPTION_ARG_INT, &opt_concurrent, "Tasks started at once (1000, 0 to skip)", "N" },
  { "hosts", 0, 0, G_OPTION_ARG_STRING, &opt_hosts, "Host sizes in MiB (0,256,1024)", "LIST" },
  { "root", 0, 0, G_OPTION_ARG_FILENAME, &opt_root, "Where the test files go (the temporary directory)", "DIR" },
  { "slow-filesystems", 0, 0, G_OPTION_ARG_NONE, &opt_slow, "Only the 3 x 200 ms concurrency demonstration (needs the fault shim)", NULL },
  { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick, "Few iterations, small hosts: a smoke test", NULL },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Also print p10 and p90", NULL },
  { "fixed-order", 0, 0, G_OPTION_ARG_NONE, &opt_fixed_order, "Run the modes in table order in every iteration instead of a shuffled order", NULL },
  { NULL }
};

static double
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n > 0 ? n - 1 : 0;
}

static guint64
status_kib (const char *field)
{
  g_autofree char *contents = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &contents, NULL, NULL) ||
      (line = strstr (contents, field)) == NULL)
    return 0;
  return g_ascii_strtoull (line + strlen (field), NULL, 10);
}

static void
reset_peak_rss (void)
{
  int fd = open ("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

  if (fd >= 0)
    {
      if (write (fd, "5", 1) != 1)
        g_debug ("clear_refs: %s", g_strerror (errno));
      close (fd);
    }
}

/* Grows this process by @mib MiB of anonymous memory touched in 4 KiB
 * pages (no transparent huge pages: the page tables are what fork()
 * copies). */
static void
grow_host (guint mib)
{
  size_t len = (size_t) mib << 20;
  char *memory;

  if (mib == 0)
    return;
  memory = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    g_error ("mmap(%u MiB): %s", mib, g_strerror (errno));
  madvise (memory, len, MADV_NOHUGEPAGE);
  for (size_t off = 0; off < len; off += 4096)
    memory[off] = (char) off;
  /* Kept for the rest of the run. */
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
quantile (GArray *samples,
          double  q)
{
  if (samples->len == 0)
    return 0;
  qsort (samples->data, samples->len, sizeof (double), compare_doubles);
  return g_array_index (samples, double, (guint) (q * (samples->len - 1) + 0.5));
}

/* --- the test files ---------------------------------------------------- */

static GPtrArray *made_dirs;

static char *
make_dir_in (const char *parent)
{
  g_autofree char *template = g_build_filename (parent, "psf-bench-XXXXXX", NULL);

  if (g_mkdtemp (template) == NULL)
    return NULL;
  g_ptr_array_add (made_dirs, g_strdup (template));
  return g_steal_pointer (&template);
}

static dev_t
device_of (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 ? st.st_dev : 0;
}

/* @n paths on the filesystem of @parent: files in a new directory there,
 * or @parent itself over and over where nothing can be created. */
static void
add_paths_on (GPtrArray  *paths,
              const char *parent,
              guint       n)
{
  g_autofree char *dir = make_dir_in (parent);

  for (guint i = 0; i < n; i++)
    {
      char *path;

      if (dir == NULL)
        {
          g_ptr_array_add (paths, g_strdup (parent));
          continue;
        }
      path = g_strdup_printf ("%s/file-%04u", dir, i);
      if (!g_file_set_contents (path, "psf", 3, NULL))
        g_error ("Cannot create %s", path);
      g_ptr_array_add (paths, path);
    }
}

/* A third filesystem besides @a and @b, found among the usual mounts. */
static const char *
third_filesystem (const char *a,
                  const char *b)
{
  static char run_user[64];
  const char *candidates[] = { run_user, "/run", "/dev/mqueue", "/dev", "/sys/fs/cgroup", "/proc" };
  dev_t da = device_of (a);
  dev_t db = device_of (b);

  g_snprintf (run_user, sizeof run_user, "/run/user/%u", (guint) getuid ());
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      dev_t d = device_of (candidates[i]);

      if (d != 0 && d != da && d != db)
        return candidates[i];
    }
  return NULL;
}

static GBytes *
make_routine_input (char  **paths,
                    guint   n)
{
  PsfSyncfsInputHeader header = { PSF_SYNCFS_INPUT_MAGIC, 0, n, 0 };
  GByteArray *input = g_byte_array_new ();

  g_byte_array_append (input, (const guint8 *) &header, sizeof header);
  for (guint i = 0; i < n; i++)
    g_byte_array_append (input, (const guint8 *) paths[i], strlen (paths[i]) + 1);
  return g_byte_array_free_to_bytes (input);
}

static void
path_set_init (PathSet   *set,
               GPtrArray *paths)
{
  set->n_paths = paths->len;
  g_ptr_array_add (paths, NULL);
  set->paths = (char **) g_ptr_array_free (paths, FALSE);
  set->input = make_routine_input (set->paths, set->n_paths);
}

static void
remove_made_dirs (void)
{
  for (guint i = 0; i < made_dirs->len; i++)
    {
      const char *dir = g_ptr_array_index (made_dirs, i);
      g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);

          unlink (path);
        }
      rmdir (dir);
    }
}

/* --- one call of each mode ---------------------------------------------- */

static gboolean done;

static void
child_watch_cb (GPid     pid,
                int      status,
                gpointer data)
{
  done = TRUE;
}

static void
run_until_done (void)
{
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  done = FALSE;
}

static void
run_inprocess (const PathSet *set)
{
  for (guint i = 0; i < set->n_paths; i++)
    {
      int fd = open (set->paths[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

      if (fd >= 0)
        {
          syncfs (fd);
          close (fd);
        }
    }
}

static void
run_vfork_floor (const PathSet *set)
{
  gsize len = 0;
  const void *input = g_bytes_get_data (set->input, &len);
  pid_t pid = vfork ();

  if (pid == 0)
    _exit (psf_syncfs_child_run (input, len, -1));
  if (pid < 0)
    g_error ("vfork: %s", g_strerror (errno));
  g_child_watch_add (pid, child_watch_cb, NULL);
  run_until_done ();
}

static void
run_fork_floor (void)
{
  pid_t pid = fork ();

  if (pid == 0)
    _exit (0);
  if (pid < 0)
    g_error ("fork: %s", g_strerror (errno));
  g_child_watch_add (pid, child_watch_cb, NULL);
  run_until_done ();
}

static char *sync_program;

static void
sync_waited_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (object), result, &error))
    g_error ("sync -f: %s", error->message);
  done = TRUE;
}

static void
run_sync_f (const PathSet *set)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, sync_program);
  g_ptr_array_add (argv, (char *) "-f");
  for (guint i = 0; i < set->n_paths; i++)
    g_ptr_array_add (argv, set->paths[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata, G_SUBPROCESS_FLAGS_NONE, &error);
  if (process == NULL)
    g_error ("sync -f: %s", error->message);
  g_subprocess_wait_async (process, NULL, sync_waited_cb, NULL);
  run_until_done ();
}

static void
psf_exited_cb (PsfTask *task,
               int      returncode,
               gpointer data)
{
  if (returncode != 0)
    g_error ("psf task exited with %d", returncode);
  done = TRUE;
}

static void
run_psf (const PathSet  *set,
         PsfStartMethod  method)
{
  g_autoptr(PsfSyncfsProcess) process = psf_syncfs_process_new ((const char * const *) set->paths);
  g_autoptr(GError) error = NULL;

  psf_fork_process_set_start_method (PSF_FORK_PROCESS (process), method);
  g_signal_connect (process, "exited", G_CALLBACK (psf_exited_cb), NULL);
  if (!psf_task_start (PSF_TASK (process), &error))
    g_error ("start: %s", error->message);
  run_until_done ();
}

static void
run_mode (Mode           mode,
          const PathSet *set)
{
  switch (mode)
    {
    case MODE_INPROCESS: run_inprocess (set); break;
    case MODE_VFORK_FLOOR: run_vfork_floor (set); break;
    case MODE_FORK_FLOOR: run_fork_floor (); break;
    case MODE_SYNC_F: run_sync_f (set); break;
    case MODE_PSF_FORK: run_psf (set, PSF_START_METHOD_FORK); break;
    case MODE_PSF_SPAWN: run_psf (set, PSF_START_METHOD_SPAWN); break;
    case MODE_PSF_FORKSERVER: run_psf (set, PSF_START_METHOD_FORKSERVER); break;
    case N_MODES:
    default: g_assert_not_reached ();
    }
}

/* The round-robins. A fork of the host leaves its pages copy-on-write: the
 * next writes fault, 25 us each on this VM, and a large host's are many. A
 * program that starts and exits (an exec: a new address space) leaves the
 * machine slow for a while: measured here, a FORKSERVER call right after a
 * posix_spawn() of /bin/true takes 2-4 times as long as one after another
 * FORKSERVER call or after an idle sleep, the vfork floor 1.2-1.9 times
 * (tests/bench, perf stat: the same work, each step slower). Both are real
 * costs of the mode that causes them, so each kind runs in a pass of its
 * own; PASS_AFTER_EXEC then shows the second effect on its own, for K = 1. */
typedef enum
{
  PASS_QUIET,       /* start no program, fork nothing */
  PASS_EXEC,        /* SPAWN: starts psf-child */
  PASS_FORK,        /* fork the host */
  PASS_AFTER_EXEC,  /* K = 1: floor and FORKSERVER, each after a SPAWN task */
  N_PASSES
} Pass;

static Pass
mode_pass (Mode mode)
{
  switch (mode)
    {
    case MODE_FORK_FLOOR:
    case MODE_SYNC_F:
    case MODE_PSF_FORK:
      return PASS_FORK;
    case MODE_PSF_SPAWN:
      return PASS_EXEC;
    case MODE_INPROCESS:
    case MODE_VFORK_FLOOR:
    case MODE_PSF_FORKSERVER:
    case N_MODES:
    default:
      return PASS_QUIET;
    }
}

/* Whether @mode runs in @pass; in PASS_AFTER_EXEC, SPAWN runs unmeasured
 * before each of the two measured modes. */
static gboolean
mode_in_pass (Mode mode,
              Pass pass)
{
  if (pass == PASS_AFTER_EXEC)
    return mode == MODE_VFORK_FLOOR || mode == MODE_PSF_FORKSERVER;
  return mode_pass (mode) == pass;
}

/* --- hosts ---------------------------------------------------------------
 *
 * Each host size is a process of its own, forked from this one before
 * anything ran (no thread, no forkserver yet), which grows itself and then
 * times single calls on request. Every iteration runs on every host, so
 * that the machine's drift (the medians of a mode move by ±50 % from one
 * minute to the next on this VM) hits all host sizes alike: measured one
 * after the other, the small host in the first minute and the 1 GiB host
 * in the third, the host-size ratio read anything from 0.6 to 3.2 for the
 * same code. */

typedef struct
{
  gint32 mode;        /* -1: exit */
  gint32 k;
  gint32 after_exec;  /* run a SPAWN task first, untimed */
} Command;

typedef struct
{
  guint   mib;
  GPid    pid;
  int     to;         /* commands */
  int     from;       /* timings */
  guint64 rss_kib;
} Worker;

static void
read_all (int      fd,
          void    *buffer,
          gsize    len)
{
  gsize got = 0;

  while (got < len)
    {
      ssize_t n = read (fd, (char *) buffer + got, len - got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        g_error ("benchmark host: read(): %s", n < 0 ? g_strerror (errno) : "end of file");
      got += (gsize) n;
    }
}

static void
write_all (int           fd,
           gconstpointer buffer,
           gsize         len)
{
  if (psf_child_write_all (fd, buffer, len) < 0)
    g_error ("benchmark host: write(): %s", g_strerror (errno));
}

static void __attribute__((noreturn))
worker_main (guint          mib,
             const PathSet *sets,
             int            in,
             int            out)
{
  guint64 rss;

  grow_host (mib);
  /* Let the kernel settle after the new memory (its background work on a
   * freshly touched GiB shows in the first calls). */
  if (mib > 0)
    g_usleep (2 * G_USEC_PER_SEC);
  rss = status_kib ("VmRSS:");
  write_all (out, &rss, sizeof rss);

  for (;;)
    {
      Command command;
      double t0;
      double elapsed;

      read_all (in, &command, sizeof command);
      if (command.mode < 0)
        _exit (0);
      if (command.after_exec)
        run_mode (MODE_PSF_SPAWN, &sets[command.k]);
      t0 = now_us ();
      run_mode ((Mode) command.mode, &sets[command.k]);
      elapsed = now_us () - t0;
      write_all (out, &elapsed, sizeof elapsed);
    }
}

static void
worker_start (Worker        *worker,
              guint          mib,
              const PathSet *sets)
{
  int to[2];
  int from[2];

  if (pipe2 (to, O_CLOEXEC) < 0 || pipe2 (from, O_CLOEXEC) < 0)
    g_error ("pipe2(): %s", g_strerror (errno));
  worker->mib = mib;
  worker->pid = fork ();
  if (worker->pid < 0)
    g_error ("fork(): %s", g_strerror (errno));
  if (worker->pid == 0)
    {
      close (to[1]);
      close (from[0]);
      worker_main (mib, sets, to[0], from[1]);
    }
  close (to[0]);
  close (from[1]);
  worker->to = to[1];
  worker->from = from[0];
}

static double
worker_time (Worker *worker,
             Mode    mode,
             guint   k,
             gboolean after_exec)
{
  Command command = { (gint32) mode, (gint32) k, after_exec };
  double elapsed;

  write_all (worker->to, &command, sizeof command);
  read_all (worker->from, &elapsed, sizeof elapsed);
  return elapsed;
}

static void
worker_stop (Worker *worker)
{
  Command command = { -1, 0, 0 };

  write_all (worker->to, &command, sizeof command);
  close (worker->to);
  close (worker->from);
  waitpid (worker->pid, NULL, 0);
}

/* A seeded shuffle of 0..n-1. */
static void
shuffle (guint *order,
         guint  n)
{
  for (guint j = 0; j < n; j++)
    order[j] = j;
  if (!opt_fixed_order)
    for (guint j = n - 1; j > 0; j--)
      {
        guint r = (guint) g_rand_int_range (order_rand, 0, (gint32) j + 1);
        guint t = order[j];

        order[j] = order[r];
        order[r] = t;
      }
}

static void
measure_hosts (HostResult *results,
               Worker     *workers,
               guint       n_hosts)
{
  for (guint k = 0; k < N_KS; k++)
    {
      GArray *samples[MAX_HOSTS][N_MODES];
      GArray *after_exec[MAX_HOSTS][N_MODES];
      int iterations = ks[k] >= 1000 ? opt_iterations_1000 : opt_iterations;

      for (guint h = 0; h < n_hosts; h++)
        for (guint m = 0; m < N_MODES; m++)
          {
            samples[h][m] = g_array_new (FALSE, FALSE, sizeof (double));
            after_exec[h][m] = g_array_new (FALSE, FALSE, sizeof (double));
          }

      /* Round-robin, every mode once per iteration on every host, so that
       * drift hits every mode and every host alike (as Portage's harness
       * does for modes), in the passes of mode_pass(). */
      for (Pass pass = 0; pass < N_PASSES; pass++)
        for (int i = -opt_warmup; i < iterations && (pass != PASS_AFTER_EXEC || k == 0); i++)
          {
            guint host_order[MAX_HOSTS];

            shuffle (host_order, n_hosts);
            for (guint hj = 0; hj < n_hosts; hj++)
              {
                guint h = host_order[hj];
                guint order[N_MODES];

                /* Each iteration runs the modes in an order of its own (a
                 * seeded shuffle), so that every mode follows every other
                 * one as often: what ran just before shows in a call. A
                 * syncfs() right after another one of the same filesystem
                 * finds the journal committed and the disk's cache
                 * flushed, and costs a third of one after other work
                 * (measured here: 100 against 300-380 us), so the fixed
                 * order that put the floor right after the in-process mode
                 * favoured it (--fixed-order). */
                shuffle (order, N_MODES);
                for (guint j = 0; j < N_MODES; j++)
                  {
                    Mode m = (Mode) order[j];
                    double elapsed;

                    if (!mode_in_pass (m, pass))
                      continue;
                    /* The fork floor does not depend on K. */
                    if (m == MODE_FORK_FLOOR && k > 0)
                      continue;
                    elapsed = worker_time (&workers[h], m, k, pass == PASS_AFTER_EXEC);
                    if (i >= 0)
                      g_array_append_val (pass == PASS_AFTER_EXEC ? after_exec[h][m] : samples[h][m],
                                          elapsed);
                  }
              }
          }

      for (guint h = 0; h < n_hosts; h++)
        {
          HostResult *result = &results[h];

          for (guint m = 0; m < N_MODES; m++)
            {
              result->median[k][m] = quantile (samples[h][m], 0.5);
              result->p10[k][m] = quantile (samples[h][m], 0.1);
              result->p90[k][m] = quantile (samples[h][m], 0.9);
              if (k == 0)
                result->after_exec[m] = quantile (after_exec[h][m], 0.5);
              g_array_unref (samples[h][m]);
              g_array_unref (after_exec[h][m]);
            }
          if (k > 0)
            {
              result->median[k][MODE_FORK_FLOOR] = result->median[0][MODE_FORK_FLOOR];
              result->p10[k][MODE_FORK_FLOOR] = result->p10[0][MODE_FORK_FLOOR];
              result->p90[k][MODE_FORK_FLOOR] = result->p90[0][MODE_FORK_FLOOR];
            }
        }
      g_printerr ("  K=%u: done\n", ks[k]);
    }
}

/* --- 1000 at once -------------------------------------------------------- */

static void
measure_concurrent (ConcurrentResult *result,
                    const PathSet    *set,
                    PsfStartMethod    method)
{
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);
  PsfTestCrowd crowd = { 0, 0 };
  double t0;

  /* What the previous mode left to its next iteration (a GSubprocess
   * closes its pidfd there) is not this mode's baseline. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  result->method = method;
  result->fds_before = count_fds ();
  reset_peak_rss ();
  result->rss_before_kib = status_kib ("VmRSS:");

  t0 = now_us ();
  for (int i = 0; i < opt_concurrent; i++)
    {
      PsfSyncfsProcess *process = psf_syncfs_process_new ((const char * const *) set->paths);
      g_autoptr(GError) error = NULL;

      psf_fork_process_set_start_method (PSF_FORK_PROCESS (process), method);
      g_signal_connect (process, "exited", G_CALLBACK (psf_test_crowd_exited_cb), &crowd);
      g_ptr_array_add (tasks, process);
      if (!psf_task_start (PSF_TASK (process), &error))
        {
          g_printerr ("  start %d failed: %s\n", i, error->message);
          continue;
        }
      crowd.pending++;
      result->started++;
    }
  /* Nothing has been reaped yet: every task holds its fds now. */
  result->fds_peak = count_fds ();

  while (crowd.pending > 0)
    g_main_context_iteration (NULL, TRUE);
  result->total_ms = (now_us () - t0) / 1000.0;
  result->succeeded = crowd.succeeded;
  result->rss_peak_kib = status_kib ("VmHWM:");

  g_ptr_array_set_size (tasks, 0);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  result->fds_after = count_fds ();
}

/* --- output -------------------------------------------------------------- */

static const char *
method_name (PsfStartMethod method)
{
  switch (method)
    {
    case PSF_START_METHOD_FORK: return "FORK";
    case PSF_START_METHOD_SPAWN: return "SPAWN";
    case PSF_START_METHOD_FORKSERVER: return "FORKSERVER";
    default: return "?";
    }
}

static Mode
mode_of_method (PsfStartMethod method)
{
  switch (method)
    {
    case PSF_START_METHOD_FORK: return MODE_PSF_FORK;
    case PSF_START_METHOD_SPAWN: return MODE_PSF_SPAWN;
    case PSF_START_METHOD_FORKSERVER: return MODE_PSF_FORKSERVER;
    default: g_assert_not_reached ();
    }
}

static void
print_host_table (const HostResult *r,
                  PsfStartMethod    default_method)
{
  g_print ("\n### Host %u MiB (VmRSS %" G_GUINT64_FORMAT " MiB), medians in us\n\n",
           r->host_mib, r->rss_kib / 1024);
  g_print ("| mode | K=1 | K=16 (1 fs) | K=1000 (3 fs) |\n|---|---:|---:|---:|\n");
  for (guint m = 0; m < N_MODES; m++)
    {
      g_print ("| %s%s |", mode_names[m], m == mode_of_method (default_method) ? " (default)" : "");
      for (guint k = 0; k < N_KS; k++)
        {
          if (opt_verbose)
            g_print (" %.0f (%.0f-%.0f) |", r->median[k][m], r->p10[k][m], r->p90[k][m]);
          else
            g_print (" %.0f |", r->median[k][m]);
        }
      g_print ("\n");
    }
}

static guint n_missed;

static void
print_ratio (const char *what,
             double      ratio,
             const char *op,
             double      target)
{
  gboolean met = g_str_equal (op, "<=") ? ratio <= target : ratio >= target;

  if (!met)
    n_missed++;
  g_print ("| %s | %.3f | %s %.2f | %s |\n", what, ratio, op, target, met ? "met" : "MISSED");
}

static void
print_ratios (const HostResult       *hosts,
              guint                   n_hosts,
              PsfStartMethod          method,
              const ConcurrentResult *crowds,
              guint                   n_crowds)
{
  Mode d = mode_of_method (method);
  const HostResult *small = &hosts[0];
  const HostResult *large = &hosts[n_hosts - 1];

  g_print ("\n### Ratios against the targets (default method: %s)\n\n", method_name (method));
  g_print ("| ratio | value | target | |\n|---|---:|---:|---|\n");
  for (guint h = 0; h < n_hosts; h++)
    {
      g_autofree char *a = g_strdup_printf ("K=1, %u MiB host: psf / `sync -f`", hosts[h].host_mib);
      g_autofree char *b = g_strdup_printf ("K=1, %u MiB host: psf / vfork floor", hosts[h].host_mib);

      if (h != 0 && h != n_hosts - 1)
        continue;
      print_ratio (a, hosts[h].median[0][d] / hosts[h].median[0][MODE_SYNC_F], "<=", 0.25);
      print_ratio (b, hosts[h].median[0][d] / hosts[h].median[0][MODE_VFORK_FLOOR], "<=", 2.0);
    }
  if (d == MODE_PSF_FORKSERVER)
    for (guint h = 0; h < n_hosts; h += MAX (n_hosts - 1, 1))
      {
        const HostResult *r = &hosts[h];

        g_print ("| K=1, %u MiB host, each call right after a SPAWN task (%.0f / %.0f us) | %.3f "
                 "| (shown, not a target) | |\n",
                 r->host_mib, r->after_exec[d], r->after_exec[MODE_VFORK_FLOOR],
                 r->after_exec[d] / r->after_exec[MODE_VFORK_FLOOR]);
      }
  {
    g_autofree char *c = g_strdup_printf ("K=1: psf in the %u MiB host / in the %u MiB host",
                                          large->host_mib, small->host_mib);

    print_ratio (c, large->median[0][d] / small->median[0][d], "<=", 1.2);
  }
  for (guint h = 0; h < n_hosts; h++)
    {
      g_autofree char *e = g_strdup_printf ("K=16 on 1 fs, %u MiB host: psf / in-process loop of 16",
                                            hosts[h].host_mib);

      print_ratio (e, hosts[h].median[1][d] / hosts[h].median[1][MODE_INPROCESS], "<=", 0.5);
    }
  for (guint i = 0; i < n_crowds; i++)
    if (crowds[i].method == method)
      {
        g_autofree char *f = g_strdup_printf ("%d at once: tasks that completed with 0 / started",
                                              opt_concurrent);
        g_autofree char *g = g_strdup_printf ("%d at once: fds after / fds before", opt_concurrent);

        print_ratio (f, (double) crowds[i].succeeded / MAX (opt_concurrent, 1), ">=", 1.0);
        print_ratio (g, (double) crowds[i].fds_after / crowds[i].fds_before, "<=", 1.0);
      }

  g_print ("\nFor reference, Portage's SyncfsProcess (K=1, measured on this machine type before psf existed): "
           "%.0f us warm, %.0f us in the background; psf's default in the small host is "
           "%.0fx and %.0fx faster.\n",
           PORTAGE_WARM_US, PORTAGE_WARM_BG_US,
           PORTAGE_WARM_US / small->median[0][d], PORTAGE_WARM_BG_US / small->median[0][d]);
}

static void
print_concurrent (const ConcurrentResult *crowds,
                  guint                   n)
{
  g_print ("\n### %d tasks started at once on one main loop (K=1, small host)\n\n", opt_concurrent);
  g_print ("| method | completed | total ms | fds before -> peak -> after | RSS before -> peak (MiB) |\n"
           "|---|---:|---:|---|---|\n");
  for (guint i = 0; i < n; i++)
    g_print ("| %s | %u/%u | %.0f | %u -> %u -> %u | %.1f -> %.1f |\n",
             method_name (crowds[i].method), crowds[i].succeeded, crowds[i].started,
             crowds[i].total_ms, crowds[i].fds_before, crowds[i].fds_peak, crowds[i].fds_after,
             crowds[i].rss_before_kib / 1024.0, crowds[i].rss_peak_kib / 1024.0);
}

/* --- the slow-filesystem demonstration ---------------------------------- */

static int
run_slow_filesystems (const char *root)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();
  const char *third = third_filesystem (root, "/dev/shm");
  const char *delay = "200";
  PathSet set = { 0 };
  static const Mode modes[] = { MODE_INPROCESS, MODE_SYNC_F, MODE_PSF_FORK, MODE_PSF_SPAWN, MODE_PSF_FORKSERVER };
  int iterations = opt_quick ? 1 : 3;

  if (g_getenv ("LD_PRELOAD") == NULL || strstr (g_getenv ("LD_PRELOAD"), "psf-fault-shim") == NULL)
    {
      g_printerr ("--slow-filesystems needs LD_PRELOAD=.../libpsf-fault-shim.so\n");
      return 77;
    }
  if (third == NULL || device_of (root) == device_of ("/dev/shm"))
    {
      g_printerr ("three distinct filesystems are needed (%s, /dev/shm and one more)\n", root);
      return 77;
    }

  add_paths_on (paths, root, 1);
  add_paths_on (paths, "/dev/shm", 1);
  add_paths_on (paths, third, 1);
  path_set_init (&set, g_steal_pointer (&paths));

  g_print ("### Three filesystems (%s, /dev/shm, %s), every syncfs() made to sleep %s ms "
           "(PSF_SHIM_SYNCFS_DELAY_MS), median of %d, ms\n\n", root, third, delay, iterations);
  g_print ("| mode | ms |\n|---|---:|\n");
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(GArray) samples = g_array_new (FALSE, FALSE, sizeof (double));

      for (int n = 0; n < iterations; n++)
        {
          double t0;

          g_setenv ("PSF_SHIM_SYNCFS_DELAY_MS", delay, TRUE);
          t0 = now_us ();
          run_mode (modes[i], &set);
          g_array_append_val (samples, (double) { (now_us () - t0) / 1000.0 });
          g_unsetenv ("PSF_SHIM_SYNCFS_DELAY_MS");
        }
      g_print ("| %s | %.0f |\n", mode_names[modes[i]], quantile (samples, 0.5));
    }
  g_print ("\nFORKSERVER and SPAWN sync the three at once (about one delay); a fork of the "
           "host may only make async-signal-safe calls and syncs them in turn.\n");
  g_strfreev (set.paths);
  g_bytes_unref (set.input);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- psf benchmarks");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) host_list = NULL;
  PathSet sets[N_KS];
  HostResult hosts[MAX_HOSTS];
  Worker workers[MAX_HOSTS];
  ConcurrentResult crowds[3] = { 0 };
  guint n_hosts = 0;
  guint n_crowds = 0;
  PsfStartMethod default_method;
  struct rlimit limit;
  const char *root;
  const char *third;
  int status = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_quick)
    {
      opt_iterations = 10;
      opt_iterations_1000 = 3;
      opt_warmup = 2;
      opt_concurrent = MIN (opt_concurrent, 100);
      if (opt_hosts == NULL)
        opt_hosts = g_strdup ("0,64");
    }

  /* 1000 tasks at once hold a few fds each. */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }

  made_dirs = g_ptr_array_new_with_free_func (g_free);
  order_rand = g_rand_new_with_seed (6);
  root = opt_root != NULL ? opt_root : g_get_tmp_dir ();

  sync_program = g_find_program_in_path ("sync");
  if (sync_program == NULL)
    g_error ("coreutils sync is not in PATH");

  if (opt_slow)
    {
      status = run_slow_filesystems (root);
      remove_made_dirs ();
      return status;
    }

  {
    g_autoptr(PsfSyncfsProcess) probe = psf_syncfs_process_new (NULL);

    default_method = psf_fork_process_get_start_method (PSF_FORK_PROCESS (probe));
  }

  /* K=1 and K=16 on the filesystem of the root; K=1000 on three. */
  third = third_filesystem (root, "/dev/shm");
  {
    g_autoptr(GPtrArray) one = g_ptr_array_new ();
    g_autoptr(GPtrArray) sixteen = g_ptr_array_new ();
    g_autoptr(GPtrArray) thousand = g_ptr_array_new ();

    add_paths_on (one, root, 1);
    add_paths_on (sixteen, root, 16);
    add_paths_on (thousand, root, 334);
    add_paths_on (thousand, "/dev/shm", 333);
    add_paths_on (thousand, third != NULL ? third : "/", 333);
    path_set_init (&sets[0], g_steal_pointer (&one));
    path_set_init (&sets[1], g_steal_pointer (&sixteen));
    path_set_init (&sets[2], g_steal_pointer (&thousand));
  }

  g_print ("## psf benchmark\n\n");
  g_print ("%s, %ld CPUs; default start method %s; %d iterations (K=1000: %d) after %d "
           "warm-up ones, round-robin over the hosts (a process each) and the modes in %s order "
           "(SPAWN and the modes that fork the host in passes of their own); "
           "K=1 and K=16 under %s, K=1000 under %s, /dev/shm and %s\n",
           g_get_os_info (G_OS_INFO_KEY_PRETTY_NAME), sysconf (_SC_NPROCESSORS_ONLN),
           method_name (default_method), opt_iterations, opt_iterations_1000, opt_warmup,
           opt_fixed_order ? "table" : "a shuffled",
           root, root, third != NULL ? third : "/ (no third filesystem found)");

  /* The hosts, each a process of its own (see measure_hosts()), forked
   * before this process made a thread or a forkserver. */
  host_list = g_strsplit (opt_hosts != NULL ? opt_hosts : "0,256,1024", ",", -1);
  for (guint i = 0; host_list[i] != NULL && n_hosts < G_N_ELEMENTS (hosts); i++)
    {
      memset (&hosts[n_hosts], 0, sizeof hosts[n_hosts]);
      hosts[n_hosts].host_mib = (guint) g_ascii_strtoull (host_list[i], NULL, 10);
      worker_start (&workers[n_hosts], hosts[n_hosts].host_mib, sets);
      n_hosts++;
    }
  for (guint h = 0; h < n_hosts; h++)
    {
      read_all (workers[h].from, &hosts[h].rss_kib, sizeof hosts[h].rss_kib);
      g_printerr ("host %u MiB ready (VmRSS %" G_GUINT64_FORMAT " KiB)\n",
                  hosts[h].host_mib, hosts[h].rss_kib);
    }
  measure_hosts (hosts, workers, n_hosts);
  for (guint h = 0; h < n_hosts; h++)
    worker_stop (&workers[h]);

  /* In this process, as small as the smallest host. */
  if (opt_concurrent > 0)
    {
      static const PsfStartMethod methods[] = {
        PSF_START_METHOD_FORKSERVER, PSF_START_METHOD_SPAWN, PSF_START_METHOD_FORK,
      };

      /* One task of each first, so that what stays for good (the
       * forkserver and its socket, GLib's wakeup fd) is in the baseline. */
      for (guint m = 0; m < G_N_ELEMENTS (methods); m++)
        run_mode (mode_of_method (methods[m]), &sets[0]);
      for (guint m = 0; m < G_N_ELEMENTS (methods); m++)
        measure_concurrent (&crowds[n_crowds++], &sets[0], methods[m]);
    }

  for (guint h = 0; h < n_hosts; h++)
    print_host_table (&hosts[h], default_method);
  if (n_crowds > 0)
    print_concurrent (crowds, n_crowds);
  print_ratios (hosts, n_hosts, default_method, crowds, n_crowds);
  g_print ("\n%u target(s) missed.\n", n_missed);

  /* The forkserver goes with this process (EOF on its socket). */
  remove_made_dirs ();
  for (guint k = 0; k < N_KS; k++)
    {
      g_strfreev (sets[k].paths);
      g_bytes_unref (sets[k].input);
    }
  return status;
}
