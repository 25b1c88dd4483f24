# psf_builder_test_driver.py: drives a headless GNOME Builder for psf's tests
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A workbench addin that test-builder.py installs next to the psf-builder
# plugin. Once the project is loaded and its pipeline can build, it asks
# Builder's build manager for the INSTALL phase (what Builder's own Install
# action does), copies every build log line into $PSF_BUILDER_TEST_OUT/
# build.log, writes the outcome to $PSF_BUILDER_TEST_OUT/result.json and
# quits Builder.
#
#   PSF_BUILDER_TEST_OUT      folder for build.log and result.json (required)
#   PSF_BUILDER_TEST_CANCEL   1: cancel the build through the build manager
#                             (Builder's stop button) as soon as the psf
#                             stage logs the pid of its child, and quit once
#                             the stage has logged its last line (Builder
#                             reports the build cancelled before that)
#   PSF_BUILDER_TEST_TIMEOUT  seconds before the driver gives up (default 90)
#   PSF_BUILDER_TEST_BUILDS   how many times to build to INSTALL, one after
#                             the other while they succeed (default 1)

import json
import os
import re
import sys
import traceback

import gi

gi.require_version('Ide', '43')

from gi.repository import GLib, GObject, Gio, Ide  # noqa: E402

STARTED_LINE = re.compile(r'^psf: syncing .* \(child pid (\d+)\)$')
# The psf stage's last line: cancelled, its summary, or its error.
STAGE_DONE_LINE = re.compile(r'^psf: (cancelled: |\d+ filesystems? synced in |syncfs\()')
STAGE_DONE_WAIT_S = 30


class PsfBuilderTestDriver(GObject.Object, Ide.WorkbenchAddin):

    def do_load(self, workbench):
        self.workbench = workbench
        self.out = os.environ.get('PSF_BUILDER_TEST_OUT')
        self.cancel_on_start = os.environ.get('PSF_BUILDER_TEST_CANCEL') == '1'
        self.builds_left = int(os.environ.get('PSF_BUILDER_TEST_BUILDS', '1'))
        self.builds_done = 0
        self.done = False
        self.cancelled_pid = None
        self.stage_done = False
        self.pending_outcome = None
        self.log = None
        self.started_at = GLib.get_monotonic_time()
        if self.out:
            self.log = open(os.path.join(self.out, 'build.log'), 'w', encoding='utf-8')
            timeout = int(os.environ.get('PSF_BUILDER_TEST_TIMEOUT', '90'))
            GLib.timeout_add_seconds(timeout, self._on_timeout)

    def do_unload(self, workbench):
        if self.log is not None:
            self.log.close()
            self.log = None

    def do_project_loaded(self, project_info):
        if not self.out:
            return
        GLib.timeout_add(100, self._try_build)

    def _try_build(self):
        try:
            context = self.workbench.get_context()
            manager = Ide.BuildManager.from_context(context)
            pipeline = manager.get_pipeline()
            if pipeline is None or not pipeline.is_ready() or not manager.get_can_build():
                return GLib.SOURCE_CONTINUE
            self.manager = manager
            pipeline.add_log_observer(self._on_log)
            self._build()
        except Exception:
            self._finish({'ok': False, 'error': 'driver: ' + traceback.format_exc()})
        return GLib.SOURCE_REMOVE

    def _build(self):
        self.builds_left -= 1
        self._record('build-requested')
        self.manager.build_async(Ide.PipelinePhase.INSTALL, None, None, self._on_built)

    def _on_log(self, stream, message, message_len, *data):
        line = message if message_len < 0 else message[:message_len]
        name = 'stderr' if stream == Ide.BuildLogStream.STDERR else 'stdout'
        if self.log is not None:
            self.log.write('%s: %s\n' % (name, line))
            self.log.flush()
        if STAGE_DONE_LINE.match(line):
            self.stage_done = True
            if self.pending_outcome is not None:
                outcome, self.pending_outcome = self.pending_outcome, None
                GLib.idle_add(lambda: (self._finish(outcome), GLib.SOURCE_REMOVE)[1])
        match = STARTED_LINE.match(line)
        if match and self.cancel_on_start and self.cancelled_pid is None:
            self.cancelled_pid = int(match.group(1))
            self._record('cancel-requested')
            # The stop button's action, from the main loop like a click.
            GLib.idle_add(lambda: (self.manager.cancel(), GLib.SOURCE_REMOVE)[1])

    def _on_built(self, manager, result):
        outcome = {'ok': True}
        try:
            manager.build_finish(result)
        except GLib.Error as error:
            outcome = {'ok': False, 'domain': error.domain,
                       'code': error.code, 'error': error.message}
        self._record('build-finished')
        self.builds_done += 1
        if outcome['ok'] and self.builds_left > 0:
            # From the main loop, once the build manager is done with this one.
            GLib.timeout_add(100, lambda: (self._build(), GLib.SOURCE_REMOVE)[1])
            return
        outcome['builds'] = self.builds_done
        if self.cancelled_pid is not None:
            outcome['cancelled_pid'] = self.cancelled_pid
            if not self.stage_done:
                # Builder completes a cancelled build at once; the psf stage
                # ends when its child is reaped. Quit only after that (or
                # after STAGE_DONE_WAIT_S, which the test then sees).
                self.pending_outcome = outcome
                GLib.timeout_add_seconds(STAGE_DONE_WAIT_S, self._on_stage_wait_over)
                return
        self._finish(outcome)

    def _on_stage_wait_over(self):
        if self.pending_outcome is not None:
            outcome, self.pending_outcome = self.pending_outcome, None
            outcome['stage_wait'] = 'the psf stage did not end within %d s' % STAGE_DONE_WAIT_S
            self._finish(outcome)
        return GLib.SOURCE_REMOVE

    def _on_timeout(self):
        self._finish({'ok': False, 'error': 'driver: timed out'})
        return GLib.SOURCE_REMOVE

    def _record(self, event):
        if self.log is not None:
            self.log.write('driver: %s at %.3f s\n'
                           % (event, (GLib.get_monotonic_time() - self.started_at) / 1e6))
            self.log.flush()

    def _finish(self, outcome):
        if self.done:
            return
        self.done = True
        self._record('finished')
        outcome['seconds'] = (GLib.get_monotonic_time() - self.started_at) / 1e6
        # Whether Builder's Python took psf's PyGObject overrides (PYTHONPATH).
        outcome['psf_overrides'] = 'gi.overrides.Psf' in sys.modules
        path = os.path.join(self.out, 'result.json')
        with open(path + '.tmp', 'w', encoding='utf-8') as f:
            json.dump(outcome, f)
        os.rename(path + '.tmp', path)
        if self.log is not None:
            self.log.flush()
        Gio.Application.get_default().quit()
