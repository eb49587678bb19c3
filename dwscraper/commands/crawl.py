"""`scrapy crawl` with the run lock and an exit code that tells cron how the run went.

Scrapy's own `crawl` exits 0 even when every request failed. This command (found through the
COMMANDS_MODULE setting; a project command overrides the built-in of the same name) takes the
run lock before anything starts, so a second run exits at once with one line naming the
holder's pid, and exits with the code RunStateExtension decided (see README "Incremental runs
and cron"): 0 ok, 3 no discovery source read, 4 too many errors, 5 output unwritable,
6 extraction collapsed, 7 interrupted, 75 another run active; 1 and 2 stay Scrapy's
(2 also for a bad -a value, which the spider's check_arguments reports before the start).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError

from dwscraper import runlock
from dwscraper.extensions import (
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_OUTPUT,
    STAT_EXIT,
    parse_refetch,
    write_refused_start,
)


def exit_code(crawler: Crawler | None, bootstrap_failed: bool) -> int:
    """The process exit code for a finished crawl."""
    try:
        stats = crawler.stats if crawler is not None else None
    except RuntimeError:  # Scrapy 2.13+: no stats before the crawl started (bootstrap failed)
        stats = None
    code = stats.get_value(STAT_EXIT) if stats is not None else None
    if stats is not None and code in (None, EXIT_OK) and stats.get_value("dwscraper/output/error"):
        return EXIT_OUTPUT
    if code is None or (code == EXIT_OK and bootstrap_failed):
        return 1 if bootstrap_failed else EXIT_OK
    return int(code)


def _check_spider_arguments(process: Any, name: str, spargs: dict[str, Any]) -> None:
    """A spider's check_arguments (if it has one) as a usage error: exit 2, one line."""
    try:
        spidercls = process.spider_loader.load(name)
    except KeyError:
        return  # Scrapy's own "Spider not found" follows
    check = getattr(spidercls, "check_arguments", None)
    if check is None:
        return
    try:
        check(**spargs)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"spider {name}: {exc}", print_help=False) from exc


class Command(ScrapyCrawlCommand):
    """Run a spider under the run lock; exit non-zero when the run failed."""

    def short_desc(self) -> str:
        """Shown by `scrapy -h`."""
        return "Run a spider (one run at a time; exit code reports the run's outcome)"

    lock: runlock.RunLock | None = None

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """Take the run lock as soon as -s settings are known, before Scrapy logs anything.

        A refused run prints exactly one line and exits EXIT_LOCKED; Scrapy's start-up
        (logging set-up, reactor) has not happened yet at this point.
        """
        super().process_options(args, opts)
        assert self.settings is not None
        try:
            parse_refetch(opts.spargs.get("refetch"))
        except ValueError as exc:
            raise UsageError(str(exc), print_help=False) from exc
        state_path = self.settings.get("DW_STATE_PATH")
        if not state_path:
            return
        try:
            self.lock = runlock.acquire(runlock.lock_path_for(state_path))
        except runlock.RunLockBusy as exc:
            print(f"dwscraper: {exc}; not starting", file=sys.stderr, flush=True)
            sys.exit(EXIT_LOCKED)
        except OSError as exc:  # the state's directory cannot hold the lock file
            detail = f"cannot take the run lock beside {state_path}: {exc}"
            print(f"dwscraper: {detail}; not starting", file=sys.stderr, flush=True)
            write_refused_start(self.settings, "state_unwritable", detail)
            sys.exit(EXIT_OUTPUT)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Crawl, then set self.exitcode from the run's outcome; free the lock."""
        try:
            if len(args) < 1:
                raise UsageError
            if len(args) > 1:
                raise UsageError(
                    "running 'scrapy crawl' with more than one spider is not supported"
                )
            assert self.crawler_process is not None
            _check_spider_arguments(self.crawler_process, args[0], opts.spargs)
            crawler = self._create_crawler(args[0])
            self.crawler_process.crawl(crawler, **opts.spargs)
            self.crawler_process.start()
            self.exitcode = exit_code(crawler, self.crawler_process.bootstrap_failed)
        finally:
            if self.lock is not None:
                runlock.release(self.lock)
                self.lock = None
