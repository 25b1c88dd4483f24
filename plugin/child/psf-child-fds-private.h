/* psf-child-fds-private.h: the one plan of a child's fds
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Plain libc, async-signal-safe. Every start method lays out the fds of
 * its child the same way, decided here once:
 *
 *  1. MOVE: every fd the layout reads from (psf's own channels, the output,
 *     the fd map's sources) that lies below the floor gets a number at or
 *     above it (F_DUPFD_CLOEXEC). The floor is above every target, so no
 *     dup2() of step 2 can replace an fd it still has to read, whatever
 *     the map (3 -> 4 and 4 -> 3; a source that is another's target or a
 *     channel's fd). A channel's or the output's old number is closed (a
 *     child keeps one copy of psf's own fds: the parent waits for the EOF
 *     of the set-up channel); a source's is kept, as g_spawn keeps it.
 *  2. DUP2: the channels with a fixed place (SPAWN's helper finds its
 *     report channel on 3, input on 4, set-up channel on 5), then the
 *     output onto stdout and stderr, then the fd map, which wins (as with
 *     g_spawn). Every source is above every target now, so each dup2()
 *     makes a new fd, without FD_CLOEXEC.
 *  3. CLOSE: the copies step 1 made of the sources, and the output.
 *
 * psf_child_fds_plan() checks a layout and finds its floor;
 * psf_child_fds_next() gives its steps one after the other, computed as
 * they are asked for (no room to allocate, in a child that may not);
 * psf_child_fds_apply() runs them in the child (FORK's copy of the host,
 * the forkserver's children); psf-launch.c turns them into posix_spawn()
 * file actions for SPAWN.
 */

#pragma once

#include <stddef.h>

/* A channel's target when the child finds it wherever it lands (FORK,
 * the forkserver): above every target. */
#define PSF_CHILD_FD_ANYWHERE (-2)

/* One of psf's own fds for the child. */
typedef struct
{
  int fd;      /* where it is now, or -1: none (a fixed target stays reserved) */
  int target;  /* where the child finds it, or PSF_CHILD_FD_ANYWHERE */
} PsfChildFdChannel;

/* What a child's fds are to be. */
typedef struct
{
  const PsfChildFdChannel *channels;
  size_t                   n_channels;
  int                      error_channel;  /* the channel set-up failures are
                                            * written to (a PsfSetupError), or -1 */
  int                      output_fd;      /* becomes stdout and stderr, or -1 */
  const int               *source_fds;     /* the fd map: source_fds[i] -> target_fds[i] */
  const int               *target_fds;
  size_t                   n_maps;
  int                      min_floor;      /* moves go at least this high (3 and up) */
} PsfChildFds;

/* The slots the steps name: the channels, the output, the map's sources. */
#define PSF_CHILD_FDS_N_SLOTS(n_channels, n_maps) ((n_channels) + 1 + (n_maps))
#define PSF_CHILD_FDS_OUTPUT_SLOT(fds)            ((fds)->n_channels)
#define PSF_CHILD_FDS_MAP_SLOT(fds, i)            ((fds)->n_channels + 1 + (i))

typedef enum
{
  PSF_CHILD_FD_MOVE,   /* the slot's fd to a number >= target (the floor) */
  PSF_CHILD_FD_DUP2,   /* the slot's fd onto target */
  PSF_CHILD_FD_CLOSE,  /* the slot's fd (a copy, or the output once placed) */
} PsfChildFdOp;

typedef struct
{
  PsfChildFdOp op;
  size_t       slot;
  int          target;          /* DUP2: where to; MOVE: the floor */
  int          close_original;  /* MOVE: the old number goes (a channel, the output) */
} PsfChildFdStep;

typedef struct
{
  const PsfChildFds *fds;
  int                floor;    /* above every target and fixed channel */
  size_t             n_slots;
} PsfChildFdPlan;

/* Where psf_child_fds_next() is; start from PSF_CHILD_FD_CURSOR_INIT. */
typedef struct
{
  unsigned phase;
  size_t   index;
} PsfChildFdCursor;

#define PSF_CHILD_FD_CURSOR_INIT { 0, 0 }

/* The first map target that is a channel's fixed target (the fd would be
 * overwritten), or -1. */
int    psf_child_fds_reserved_target (const PsfChildFds *fds);

/* The fd @slot starts from: a channel's, the output, a source. */
int    psf_child_fds_slot_fd         (const PsfChildFds *fds,
                                      size_t             slot);

/* Fills @plan for @fds (which must stay). Returns 0, or -1 for a layout
 * that cannot be made: a negative map source or target or fixed channel
 * target, a target of INT_MAX (the floor above it would overflow), a
 * reserved map target (psf_child_fds_reserved_target()), an error channel
 * that is not one. The host refuses targets at or above its
 * RLIMIT_NOFILE before (psf_launch_check_fd_map()). */
int    psf_child_fds_plan            (const PsfChildFds *fds,
                                      PsfChildFdPlan    *plan);

/* The step after @cursor: returns 1 with *@step filled and @cursor moved
 * on, 0 when there is none left. Always the same steps in the same order
 * for the same plan. */
int    psf_child_fds_next            (const PsfChildFdPlan *plan,
                                      PsfChildFdCursor     *cursor,
                                      PsfChildFdStep       *step);

/* Runs @plan in this process with fcntl(), dup2() and close(). @slot_fds
 * (room for plan->n_slots) gets each slot's fd as it goes: in the end
 * the channels' places (-1 for the output and the copies, which are
 * closed; a source not moved keeps its number). On a failure writes
 * "fcntl(FROM -> FLOOR)" or "dup2(FROM -> TO)" with the errno to the
 * error channel, FROM as the caller numbered it, and returns -1 (the
 * caller then _exit()s). Async-signal-safe. */
int    psf_child_fds_apply           (const PsfChildFdPlan *plan,
                                      int                  *slot_fds);

/* Writes to @keep (room for n_maps + n_channels) the fds a child keeps
 * once it closes the others: the map's targets and the channels of
 * @slot_fds that are still open (>= 0). Returns how many. */
size_t psf_child_fds_kept            (const PsfChildFdPlan *plan,
                                      const int            *slot_fds,
                                      int                  *keep);
