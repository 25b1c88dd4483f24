/* psf-child-fds.c: the one plan of a child's fds
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ASYNC-SIGNAL-SAFE ONLY: runs between fork() and _exit() in a copy of a
 * host that may have had threads, and in the forkserver's CLONE_VM
 * children. fcntl(), dup2() and close(), no allocation: the steps are
 * computed one at a time, and the only memory written is the room the
 * caller gave. psf-child-fds-private.h says what the plan decides and why.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "psf-child-private.h"
#include "psf-child-fds-private.h"

/* The phases of a plan, in order. */
enum
{
  PHASE_MOVE_ERROR_CHANNEL,
  PHASE_MOVE,
  PHASE_DUP2_CHANNELS,
  PHASE_DUP2_OUTPUT,
  PHASE_DUP2_MAP,
  PHASE_CLOSE_OUTPUT,
  PHASE_CLOSE_COPIES,
  PHASE_DONE,
};

int
psf_child_fds_reserved_target (const PsfChildFds *fds)
{
  for (size_t i = 0; i < fds->n_maps; i++)
    for (size_t c = 0; c < fds->n_channels; c++)
      if (fds->channels[c].target != PSF_CHILD_FD_ANYWHERE &&
          fds->channels[c].target == fds->target_fds[i])
        return fds->target_fds[i];
  return -1;
}

int
psf_child_fds_slot_fd (const PsfChildFds *fds,
                       size_t             slot)
{
  if (slot < fds->n_channels)
    return fds->channels[slot].fd;
  if (slot == PSF_CHILD_FDS_OUTPUT_SLOT (fds))
    return fds->output_fd;
  return fds->source_fds[slot - fds->n_channels - 1];
}

/* Puts *@floor above @target. Returns -1 for a target no fd can be, and
 * for INT_MAX, which leaves no room above it for the moves. */
static int
raise_floor (int *floor,
             int  target)
{
  if (target < 0 || target == INT_MAX)
    return -1;
  if (target >= *floor)
    *floor = target + 1;
  return 0;
}

int
psf_child_fds_plan (const PsfChildFds *fds,
                    PsfChildFdPlan    *plan)
{
  int floor = fds->min_floor > 3 ? fds->min_floor : 3;

  if (psf_child_fds_reserved_target (fds) >= 0 ||
      (fds->error_channel >= 0 && (size_t) fds->error_channel >= fds->n_channels))
    return -1;

  /* Above every fd written to. */
  for (size_t c = 0; c < fds->n_channels; c++)
    if (fds->channels[c].target != PSF_CHILD_FD_ANYWHERE)
      {
        if (raise_floor (&floor, fds->channels[c].target) < 0)
          return -1;
      }
  for (size_t i = 0; i < fds->n_maps; i++)
    {
      if (fds->source_fds[i] < 0 || raise_floor (&floor, fds->target_fds[i]) < 0)
        return -1;
    }

  plan->fds = fds;
  plan->floor = floor;
  plan->n_slots = PSF_CHILD_FDS_N_SLOTS (fds->n_channels, fds->n_maps);
  return 0;
}

/* Whether @slot's fd is below the floor: it moves, and a source leaves a
 * copy to close. */
static int
moves (const PsfChildFdPlan *plan,
       size_t                slot)
{
  int fd = psf_child_fds_slot_fd (plan->fds, slot);

  return fd >= 0 && fd < plan->floor;
}

static int
step_set (PsfChildFdStep *step,
          PsfChildFdOp    op,
          size_t          slot,
          int             target,
          int             close_original)
{
  step->op = op;
  step->slot = slot;
  step->target = target;
  step->close_original = close_original;
  return 1;
}

int
psf_child_fds_next (const PsfChildFdPlan *plan,
                    PsfChildFdCursor     *cursor,
                    PsfChildFdStep       *step)
{
  const PsfChildFds *fds = plan->fds;
  size_t output = PSF_CHILD_FDS_OUTPUT_SLOT (fds);

  while (cursor->phase < PHASE_DONE)
    {
      size_t i = cursor->index++;

      switch (cursor->phase)
        {
        case PHASE_MOVE_ERROR_CHANNEL:
          /* First, so that a later failure is said on it from its new
           * place. */
          if (i == 0 && fds->error_channel >= 0 && moves (plan, (size_t) fds->error_channel))
            return step_set (step, PSF_CHILD_FD_MOVE, (size_t) fds->error_channel, plan->floor, 1);
          if (i == 0)
            continue;
          break;

        case PHASE_MOVE:
          if (i < plan->n_slots)
            {
              if (i != (size_t) fds->error_channel && moves (plan, i))
                return step_set (step, PSF_CHILD_FD_MOVE, i, plan->floor, i <= output);
              continue;
            }
          break;

        case PHASE_DUP2_CHANNELS:
          if (i < fds->n_channels)
            {
              if (fds->channels[i].fd >= 0 && fds->channels[i].target != PSF_CHILD_FD_ANYWHERE)
                return step_set (step, PSF_CHILD_FD_DUP2, i, fds->channels[i].target, 0);
              continue;
            }
          break;

        case PHASE_DUP2_OUTPUT:
          if (i < 2)
            {
              if (fds->output_fd >= 0)
                return step_set (step, PSF_CHILD_FD_DUP2, output,
                                 i == 0 ? STDOUT_FILENO : STDERR_FILENO, 0);
              continue;
            }
          break;

        case PHASE_DUP2_MAP:
          /* Last: the map wins over stdout and stderr, as with g_spawn. */
          if (i < fds->n_maps)
            return step_set (step, PSF_CHILD_FD_DUP2, PSF_CHILD_FDS_MAP_SLOT (fds, i),
                             fds->target_fds[i], 0);
          break;

        case PHASE_CLOSE_OUTPUT:
          if (i == 0 && fds->output_fd >= 0)
            return step_set (step, PSF_CHILD_FD_CLOSE, output, 0, 0);
          if (i == 0)
            continue;
          break;

        case PHASE_CLOSE_COPIES:
          if (i < fds->n_maps)
            {
              if (moves (plan, PSF_CHILD_FDS_MAP_SLOT (fds, i)))
                return step_set (step, PSF_CHILD_FD_CLOSE, PSF_CHILD_FDS_MAP_SLOT (fds, i), 0, 0);
              continue;
            }
          break;

        default:
          break;
        }

      cursor->phase++;
      cursor->index = 0;
    }
  return 0;
}

int
psf_child_fds_apply (const PsfChildFdPlan *plan,
                     int                  *slot_fds)
{
  const PsfChildFds *fds = plan->fds;
  PsfChildFdCursor cursor = PSF_CHILD_FD_CURSOR_INIT;
  PsfChildFdStep step;

  for (size_t slot = 0; slot < plan->n_slots; slot++)
    slot_fds[slot] = psf_child_fds_slot_fd (fds, slot);

  while (psf_child_fds_next (plan, &cursor, &step))
    {
      int original = psf_child_fds_slot_fd (fds, step.slot);
      int error_fd = fds->error_channel >= 0 ? slot_fds[fds->error_channel] : -1;
      int fd = slot_fds[step.slot];
      int moved;

      switch (step.op)
        {
        case PSF_CHILD_FD_MOVE:
          moved = fcntl (fd, F_DUPFD_CLOEXEC, step.target);
          if (moved < 0)
            return psf_child_setup_fail_fds (error_fd, errno, "fcntl", original, step.target);
          if (step.close_original)
            close (fd);
          slot_fds[step.slot] = moved;
          break;

        case PSF_CHILD_FD_DUP2:
          if (dup2 (fd, step.target) < 0)
            return psf_child_setup_fail_fds (error_fd, errno, "dup2", original, step.target);
          break;

        case PSF_CHILD_FD_CLOSE:
        default:
          close (fd);
          slot_fds[step.slot] = -1;
          break;
        }
    }
  return 0;
}

size_t
psf_child_fds_kept (const PsfChildFdPlan *plan,
                    const int            *slot_fds,
                    int                  *keep)
{
  const PsfChildFds *fds = plan->fds;
  size_t n = 0;

  for (size_t i = 0; i < fds->n_maps; i++)
    keep[n++] = fds->target_fds[i];
  for (size_t c = 0; c < fds->n_channels; c++)
    if (slot_fds[c] >= 0)
      keep[n++] = slot_fds[c];
  return n;
}
