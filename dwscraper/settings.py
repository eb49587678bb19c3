"""Scrapy settings for dwscraper: polite defaults, every DW base URL overridable.

Override anything with `-s NAME=value`; see README.md for the DW_* settings.
"""

BOT_NAME = "dwscraper"
SPIDER_MODULES = ["dwscraper.spiders"]
NEWSPIDER_MODULE = "dwscraper.spiders"

# --- Where DW lives (tests point these at a local server) ---------------------------------
DW_BASE_URL = "https://www.dw.com"
DW_RSS_URL = "https://rss.dw.com"
DW_PERMALINK_URL = "https://p.dw.com"  # short links given in -a urls= are fetched here
DW_SITEMAP_MAX_DEPTH = 3  # sitemap index -> child nesting followed at most this deep
DW_MAX_SOURCES = 20_000  # sitemaps/feeds fetched per run at most (an index may fan out)
DW_SOURCE_MAXSIZE = 50 * 1024 * 1024  # a sitemap/feed (after gunzip) larger than this is refused
DW_VALIDATE_SCHEMA = True  # check every record against dwscraper/record.schema.json

# --- Output --------------------------------------------------------------------------------
DW_OUTPUT_DIR = "output"  # empty string: write no dw-<run>.jsonl (use -O/-o feeds instead)

# --- Incremental runs (issue 3; README "Incremental runs and cron") -------------------------
DW_STATE_PATH = "output/state.sqlite3"  # SQLite state; the run lock is <this>.lock; "" = off
DW_MAX_ERROR_RATIO = 0.2  # exit 4 when more of the fetched pages (or of the sources) failed
DW_MAX_EMPTY_RATIO = 0.2  # exit 6 when more article pages gave no title or no text
DW_MIN_PROBLEM_PAGES = 3  # ...and at least this many did (a ratio over 2 pages is noise)
DW_PROGRESS_INTERVAL = 60.0  # seconds between progress lines (0: none)
DW_SUMMARY_PATH = ""  # default: DW_OUTPUT_DIR/last-run.json
DW_STATE_BATCH = 200  # state writes per SQLite transaction (fewer commits, fewer fsyncs)
DW_STATE_COMMIT_INTERVAL = 5.0  # seconds at most between state commits (bounds what a kill loses)
STATS_CLASS = "dwscraper.extensions.StatsCollector"  # Scrapy's, minus a per-call shim
LOG_FORMATTER = "dwscraper.extensions.LogFormatter"  # Scrapy's; per-page DEBUG lines only at DEBUG
COMMANDS_MODULE = "dwscraper.commands"  # `crawl` with the run lock and meaningful exit codes
EXTENSIONS = {
    "dwscraper.extensions.RunStateExtension": 0,
    # robots.txt Crawl-delay (dwscraper/crawl_delay.py); after AutoThrottle (0), whose slot
    # delay tuning it must follow.
    "dwscraper.crawl_delay.RobotsCrawlDelay": 500,
    # Scrapy 2.19's remote-control HTTP server (runs Python sent to it): not wanted in an
    # unattended cron run, and not loading it (aiohttp) saves ~0.3 s per run.
    "scrapy.extensions.remote_control.RemoteControl": None,
}

# --- Politeness ----------------------------------------------------------------------------
DW_CONTACT_URL = "https://github.com/dwscraper/dwscraper"


def user_agent(contact_url: str) -> str:
    """The User-Agent naming the operator; DwSpider re-derives it from a -s DW_CONTACT_URL."""
    return f"dwscraper/0.1 (+{contact_url}; news research crawler)"


USER_AGENT = user_agent(DW_CONTACT_URL)
ROBOTSTXT_OBEY = True
DW_ROBOTS_CRAWL_DELAY_MAX = 60.0  # seconds: a larger robots.txt Crawl-delay is capped here
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Scrapy starts this many asyncio worker tasks for *every* response's output (default 100),
# even when a page yields one item: ~30% of the crawl's CPU at 32 requests in flight
# (benchmarks/RESULTS.md). Our pipelines are synchronous, so 1 processes items identically.
CONCURRENT_ITEMS = 1
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# Wait before a retry: the server's Retry-After (capped) or DW_RETRY_BACKOFF_BASE * 2^(n-1).
DW_RETRY_BACKOFF_BASE = 1.0
DW_RETRY_BACKOFF_MAX = 60.0
DW_RETRY_AFTER_MAX = 120.0
# A body cut short is retried, then parsed as far as it goes (flag "dataloss", counted).
DOWNLOAD_FAIL_ON_DATALOSS = False

# Scope (only DW hosts), accounting (every URL ends counted) and backoff retries: see
# dwscraper/middlewares.py. The retry middleware extends Scrapy's and takes its slot.
DOWNLOADER_MIDDLEWARES = {
    "dwscraper.middlewares.AccountingMiddleware": 10,
    "dwscraper.middlewares.ScopeMiddleware": 40,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "dwscraper.middlewares.BackoffRetryMiddleware": 550,
    "dwscraper.warc_middleware.WarcCaptureMiddleware": 950,
    # Scrapy's meta refresh redirects, with a cheap test first (same results, see the class).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "dwscraper.middlewares.MetaRefreshMiddleware": 580,
    # Scrapy defaults we have no use for (each costs a call per request): no HTTP auth.
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
}
SPIDER_MIDDLEWARES = {
    "dwscraper.middlewares.AccountingSpiderMiddleware": 950,
    "dwscraper.warc_middleware.WarcItemMiddleware": 900,
    # A Scrapy default we have no use for, a layer every callback's output passes: a
    # developer warning about meta keys copied from responses (the spider copies none).
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
# No Referer header: DW needs none, and Scrapy's default policy costs ~30 us per request to
# work out (no-referrer: ~6 us). RefererMiddleware itself stays: without it the redirect
# middlewares log a warning on every run.
REFERRER_POLICY = "no-referrer"

# --- WARC capture (dwscraper/warc_middleware.py, README "WARC capture") ---------------------
# Every fetch (pages, sitemaps, feeds) goes to <DW_WARC_DIR>/dw-<run start>-NNNNN.warc.gz;
# a run that fetches no content page keeps no WARC (its sitemaps/feeds are held, then dropped).
DW_WARC_DIR = None  # None: <DW_OUTPUT_DIR>/warc, i.e. output/warc; "" disables capture
DW_WARC_MAX_BYTES = 1_000_000_000  # a WARC file rolls over at this size
DW_WARC_HOLD_BYTES = 8 * 1024 * 1024  # held sitemap/feed records (gzipped) beyond this: written
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

ITEM_PIPELINES = {
    "dwscraper.pipelines.NormalizePipeline": 100,
    "dwscraper.pipelines.ValidatePipeline": 200,
    "dwscraper.pipelines.DedupePipeline": 300,
    "dwscraper.extensions.RevisionPipeline": 800,
    "dwscraper.pipelines.JsonLinesWriterPipeline": 900,
    "dwscraper.extensions.StateCommitPipeline": 990,
}

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
