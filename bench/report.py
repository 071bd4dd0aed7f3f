"""Turn ``results.json`` into ``RESULTS.md`` and PNG plots.

Run on its own to redraw from a saved run: ``python3 bench/report.py
bench/results/results.json``.
"""

import json
import sys
from pathlib import Path

TARGET_GRID_MS = 2.0
TARGET_SPEEDUP = 20
TARGET_PAGE_RATIO = 1.5
TARGET_RATE = 10_000
TARGET_TRANSACTION_S = 2.0
TARGET_MEMORY_MB = 200


def _sizes(results):
    return sorted(results["sizes"], key=int)


def _n(size):
    size = int(size)
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1_000 and size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def _yes(ok):
    return "met" if ok else "**not met**"


def targets(results):
    """Each target with the measured figure and whether it is met; None when
    the run did not measure it."""
    sizes = _sizes(results)
    rows = []
    grids = {size: results["sizes"][size]["grid"] for size in sizes}
    queries = [grids[size]["ours"]["queries"] for size in sizes]
    rows.append(
        (
            "grid builder issues one query",
            ", ".join(f"{_n(s)}: {q}" for s, q in zip(sizes, queries, strict=True)),
            all(q == 1 for q in queries),
        )
    )
    if "1000000" in grids:
        median = grids["1000000"]["ours"]["median_ms"]
        rows.append(
            (
                f"grid builder median < {TARGET_GRID_MS:g} ms at 1M",
                f"{median:.2f} ms",
                median < TARGET_GRID_MS,
            )
        )
    else:
        rows.append((f"grid builder median < {TARGET_GRID_MS:g} ms at 1M", "", None))
    if "100000" in grids:
        speedup = (
            grids["100000"]["before"]["median_ms"]
            / grids["100000"]["ours"]["median_ms"]
        )
        rows.append(
            (
                f"grid builder >= {TARGET_SPEEDUP}x faster than before at 100k",
                f"{speedup:.1f}x",
                speedup >= TARGET_SPEEDUP,
            )
        )
    else:
        rows.append(
            (f"grid builder >= {TARGET_SPEEDUP}x faster than before at 100k", "", None)
        )
    for concurrency in (1, 8):
        ratios = []
        for size in sizes:
            http = results["sizes"][size].get("http")
            if http:
                ratios.append(
                    (
                        size,
                        http[f"booking_c{concurrency}"]["median_ms"]
                        / http[f"floor_c{concurrency}"]["median_ms"],
                    )
                )
        rows.append(
            (
                f"page median < {TARGET_PAGE_RATIO:g}x the website homepage "
                f"(concurrency {concurrency})",
                ", ".join(f"{_n(s)}: {r:.2f}x" for s, r in ratios),
                all(r < TARGET_PAGE_RATIO for _s, r in ratios) if ratios else None,
            )
        )
    cleanup = results.get("cleanup")
    if cleanup:
        rate = cleanup["activities"]["rows_per_second"]
        rows.append(
            (
                f"cleanup >= {TARGET_RATE:,} activities/s",
                f"{rate:,.0f}/s",
                rate >= TARGET_RATE,
            )
        )
        longest = max(
            cleanup["activities"]["longest_batch_s"],
            cleanup["attachments"]["longest_batch_s"],
            cleanup["watch"]["longest_transaction_s"],
        )
        rows.append(
            (
                f"no cleanup transaction over {TARGET_TRANSACTION_S:g} s",
                f"{longest:.3f} s",
                longest <= TARGET_TRANSACTION_S,
            )
        )
        growth = cleanup["memory"]["growth_mb"]
        rows.append(
            (
                f"cleanup memory growth < {TARGET_MEMORY_MB} MB",
                f"{growth:.1f} MB",
                growth < TARGET_MEMORY_MB,
            )
        )
    return rows


def reasons(results):
    """Plain sentences, from the measured figures, on why each missed target
    is missed."""
    lines = []
    sizes = _sizes(results)
    verdicts = {name: ok for name, _value, ok in targets(results)}
    grid_target = f"grid builder median < {TARGET_GRID_MS:g} ms at 1M"
    if verdicts.get(grid_target) is False:
        grid = results["sizes"]["1000000"]["grid"]
        phases = grid["profile"]["phases_ms_per_run"]
        sql_bound = grid["ours"]["sql_median_ms"] > grid["ours"]["python_median_ms"]
        lines.append(
            "- **Grid builder at 1M**: median {:.2f} ms, of which SQL {:.2f} ms "
            "(one query; PostgreSQL executes it in {:.2f} ms, see its plan "
            "below) and Python {:.2f} ms. Under the profiler, per call: {}. "
            "The time goes to {}.".format(
                grid["ours"]["median_ms"],
                grid["ours"]["sql_median_ms"],
                grid["busy_query"]["execution_ms"],
                grid["ours"]["python_median_ms"],
                "; ".join(f"{label} {value:.2f} ms" for label, value in phases.items()),
                "the database: the busy query" if sql_bound else "Python",
            )
        )
    for concurrency in (1, 8):
        name = (
            f"page median < {TARGET_PAGE_RATIO:g}x the website homepage "
            f"(concurrency {concurrency})"
        )
        if verdicts.get(name) is not False:
            continue
        http = results["sizes"][sizes[-1]].get("http") or {}
        page = http.get(f"booking_c{concurrency}")
        floor = http.get(f"floor_c{concurrency}")
        if not (page and floor and page.get("server") and floor.get("server")):
            continue
        lines.append(
            "- **Page vs homepage, concurrency {}** (at {}): server side the "
            "booking page runs {:g} queries ({:.1f} ms SQL) and {:.1f} ms of "
            "other work, the homepage {:g} queries ({:.1f} ms) and {:.1f} ms: "
            "of the difference, {:.1f} ms is SQL and {:.1f} ms Python "
            "(controller and QWeb rendering). The page's HTML is {:.0f} KB "
            "against {:.0f} KB.".format(
                concurrency,
                _n(sizes[-1]),
                page["server"]["queries"],
                page["server"]["sql_ms"],
                page["server"]["other_ms"],
                floor["server"]["queries"],
                floor["server"]["sql_ms"],
                floor["server"]["other_ms"],
                page["server"]["sql_ms"] - floor["server"]["sql_ms"],
                page["server"]["other_ms"] - floor["server"]["other_ms"],
                page.get("bytes", 0) / 1024,
                floor.get("bytes", 0) / 1024,
            )
        )
    cleanup = results.get("cleanup")
    rate_target = f"cleanup >= {TARGET_RATE:,} activities/s"
    if cleanup and verdicts.get(rate_target) is False:
        profile = cleanup.get("activities_profile") or {}
        phases = profile.get("phases_ms_per_batch", {})
        lines.append(
            "- **Cleanup rate**: {:,.0f} activities/s. Per batch of {} under the "
            "profiler: {}.".format(
                cleanup["activities"]["rows_per_second"],
                cleanup["batch_size"],
                "; ".join(f"{label} {value:.1f} ms" for label, value in phases.items()),
            )
        )
    return lines


def _server_cells(outcome):
    server = outcome.get("server")
    if not server:
        return ("", "", "")
    return (
        f"{server['queries']:g}",
        f"{server['sql_ms']:.1f}",
        f"{server['other_ms']:.1f}",
    )


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results):
    machine = results["machine"]
    settings = results["settings"]
    sizes = _sizes(results)
    parts = [
        "# meeting_rooms benchmark",
        "",
        "Produced by `bench/run` on real Odoo 17 and PostgreSQL; every figure "
        "below comes from `results.json` of the same run.",
        "",
        "## Machine",
        "",
        _table(
            ["", ""],
            [
                ("date (UTC)", machine.get("date", "")),
                ("CPU", machine.get("cpu", "")),
                ("cores", machine.get("cores", "")),
                ("memory", f"{machine.get('memory_gb', 0):.1f} GB"),
                ("PostgreSQL", machine.get("postgresql", "")),
                ("Odoo", machine.get("odoo", "")),
                (
                    "meeting_rooms code",
                    "commit {}{}".format(
                        machine.get("addon_commit", "?"),
                        ", with uncommitted changes in "
                        + ", ".join(line[3:] for line in machine["addon_changed_files"])
                        if machine.get("addon_changed_files")
                        else "",
                    ),
                ),
                ("Python", machine.get("python", "")),
                ("OS", machine.get("platform", "")),
                (
                    "load average (1, 5, 15 min) at start",
                    ", ".join(f"{v:.2f}" for v in machine["load_average_start"]),
                ),
                (
                    "load average at end",
                    ", ".join(f"{v:.2f}" for v in machine.get("load_average_end", []))
                    or "",
                ),
            ],
        ),
        "",
        "The machine was shared with other jobs (see the load averages), so "
        "absolute figures carry that noise; each comparison was measured in "
        "the same minute on the same server.",
        "",
        "## Targets",
        "",
        _table(
            ["target", "measured", "verdict"],
            [
                (name, value, "not measured" if ok is None else _yes(ok))
                for name, value, ok in targets(results)
            ],
        ),
        "",
        *(
            ["### Why a target is missed", "", *reasons(results), ""]
            if reasons(results)
            else []
        ),
        "## Data",
        "",
        f"{settings['hosts']:,} hosts (internal users) and {settings['rooms']} "
        "rooms, created once through the ORM; meetings added by bulk SQL over "
        "two years of working hours around today (70% confirmed, 15% draft, "
        "15% cancelled; 1 to 4 attendees; a room for about 60%), respecting "
        "the exclusion constraints; `VACUUM ANALYZE` after each size.",
        "",
        _table(
            [
                "meetings",
                "attendee rows",
                "room bookings",
                "seeding (s)",
                "load average after measuring (1, 5, 15 min)",
            ],
            [
                (
                    f"{int(size):,}",
                    f"{results['sizes'][size]['rows']['meeting_event_attendee_rel']:,}",
                    f"{results['sizes'][size]['rows']['meeting_rooms']:,}",
                    f"{results['sizes'][size]['seed_seconds']:.0f}",
                    ", ".join(
                        f"{value:.2f}"
                        for value in results["sizes"][size].get("load_average", [])
                    ),
                )
                for size in sizes
            ],
        ),
        "",
        "## Slot grid builder",
        "",
        "`link._get_slot_grid()` in `odoo shell`, for the host with the most "
        "meetings in the coming week (link in Europe/Brussels, Monday to "
        "Friday 9:00-17:00, 60-minute slots, the 3 busiest rooms), against the "
        "replaced design written in the benchmark only: the same slots, then "
        "one `search_count` per slot for the host's draft and confirmed "
        "meetings and the confirmed meetings the host attends, and one per "
        "room until a free one is found. That per-slot query joins hosting "
        "and attendance with an OR, which no index answers: its time grows "
        "with the table, hence the speed-ups at the larger sizes."
        f" {settings['runs']} calls after "
        f"{settings['warmup']} warm-up calls (the replaced design: as many as "
        "60 s allow, at least 3); link record cached, as within a request. "
        "`same answer`: both builders marked every slot alike (free, busy, "
        "no room, too soon, and the same room).",
        "",
        _table(
            [
                "meetings",
                "host's next-week meetings",
                "ours median (ms)",
                "ours p95",
                "ours min",
                "ours queries",
                "before median (ms)",
                "before p95",
                "before queries",
                "before calls",
                "speed-up",
                "same answer",
            ],
            [
                (
                    f"{int(size):,}",
                    grid["host_meetings_next_week"],
                    f"{grid['ours']['median_ms']:.2f}",
                    f"{grid['ours']['p95_ms']:.2f}",
                    f"{grid['ours']['min_ms']:.2f}",
                    grid["ours"]["queries"],
                    f"{grid['before']['median_ms']:.2f}",
                    f"{grid['before']['p95_ms']:.2f}",
                    grid["before"]["queries"],
                    grid["before"]["runs"],
                    f"{grid['before']['median_ms'] / grid['ours']['median_ms']:.1f}x",
                    "yes" if grid["same_answer"] else "**NO**",
                )
                for size, grid in (
                    (size, results["sizes"][size]["grid"]) for size in sizes
                )
            ],
        ),
        "",
        "![grid builder latency](grid_builder.png)",
        "",
        "### Where the grid builder's time goes",
        "",
        "SQL time is what Odoo's cursor records inside `execute`; the rest is "
        "Python (slot generation, marking, ORM reads of the link). The busy "
        "query's own execution time is from `EXPLAIN ANALYZE`.",
        "",
        _table(
            [
                "meetings",
                "ours median (ms)",
                "of which SQL",
                "of which Python",
                "busy query execution (ms)",
                "busy rows",
                "queries on a cold cache",
            ],
            [
                (
                    f"{int(size):,}",
                    f"{grid['ours']['median_ms']:.2f}",
                    f"{grid['ours']['sql_median_ms']:.2f}",
                    f"{grid['ours']['python_median_ms']:.2f}",
                    f"{grid['busy_query']['execution_ms']:.2f}",
                    grid["busy_query"]["rows"],
                    grid["ours_cold_queries"],
                )
                for size, grid in (
                    (size, results["sizes"][size]["grid"]) for size in sizes
                )
            ],
        ),
    ]
    largest = sizes[-1]
    profile = results["sizes"][largest]["grid"]["profile"]
    parts += [
        "",
        f"Profile at {_n(largest)} (cProfile, per call, "
        f"{profile['total_ms_per_run']:.2f} ms under the profiler), top "
        "functions by own time:",
        "",
        _table(
            ["function", "calls", "own (ms)", "cumulative (ms)"],
            [
                (
                    f"`{row['function']}`",
                    f"{row['calls_per_run']:.0f}",
                    f"{row['own_ms_per_run']:.3f}",
                    f"{row['cumulative_ms_per_run']:.3f}",
                )
                for row in profile["top_own_time"][:10]
            ],
        ),
        "",
        f"Busy query plan at {_n(largest)}:",
        "",
        "```",
        results["sizes"][largest]["grid"]["busy_query"]["plan"],
        "```",
    ]
    if any(results["sizes"][size].get("http") for size in sizes):
        parts += [
            "",
            "## Pages over HTTP",
            "",
            f"A real server with {settings['workers']} worker processes on "
            "loopback; a Python load generator with threads and `requests` "
            f"(one session per thread). `GET /book/<token>` against the floor, "
            f"the website's homepage `{settings['floor_path']}` on the same "
            "server (the lightest real website page we found: lighter than "
            "`/website/info` and `/contactus`), in four alternating blocks "
            "each, after warm-up. "
            "Failed means a status other than 200 or a body without the grid.",
            "",
            _table(
                [
                    "meetings",
                    "concurrency",
                    "page median (ms)",
                    "page p95",
                    "page req/s",
                    "homepage median (ms)",
                    "homepage p95",
                    "homepage req/s",
                    "ratio of medians",
                    "failed",
                ],
                [
                    (
                        f"{int(size):,}",
                        concurrency,
                        f"{page['median_ms']:.1f}",
                        f"{page['p95_ms']:.1f}",
                        f"{page['rps']:.1f}",
                        f"{floor['median_ms']:.1f}",
                        f"{floor['p95_ms']:.1f}",
                        f"{floor['rps']:.1f}",
                        f"{page['median_ms'] / floor['median_ms']:.2f}x",
                        page["failed"] + floor["failed"],
                    )
                    for size in sizes
                    if results["sizes"][size].get("http")
                    for concurrency in (1, 8)
                    for page, floor in [
                        (
                            results["sizes"][size]["http"][f"booking_c{concurrency}"],
                            results["sizes"][size]["http"][f"floor_c{concurrency}"],
                        )
                    ]
                ],
            ),
            "",
            "Server side, medians from Odoo's access log for the same requests "
            "(queries, time in SQL, the rest of the server's time):",
            "",
            _table(
                [
                    "meetings",
                    "concurrency",
                    "page queries",
                    "page SQL (ms)",
                    "page other (ms)",
                    "homepage queries",
                    "homepage SQL (ms)",
                    "homepage other (ms)",
                ],
                [
                    (
                        f"{int(size):,}",
                        concurrency,
                        *_server_cells(http[f"booking_c{concurrency}"]),
                        *_server_cells(http[f"floor_c{concurrency}"]),
                    )
                    for size in sizes
                    if (http := results["sizes"][size].get("http"))
                    for concurrency in (1, 8)
                ],
            ),
            "",
            "![page latency](pages.png)",
        ]
    cleanup = results.get("cleanup")
    if cleanup:
        memory = cleanup["memory"]
        parts += [
            "",
            "## Cleanup",
            "",
            "Stale activities (deadline passed, on meetings and room bookings, "
            "assigned to hosts in five timezones) and old calendar files "
            "(`calendar_file` attachments with a real file in the filestore, "
            "older than the 90-day retention), drained in `odoo shell` by "
            "calling `_cron_auto_delete_activities` then "
            "`_cron_delete_old_ics_files` until they leave no backlog, with "
            f"their commits, a {cleanup['budget_s']} s time budget per run and "
            f"batches of {cleanup['batch_size']}. Longest batch: measured by "
            "the cron itself (select, delete, commit). Longest writing "
            "transaction: sampled from `pg_stat_activity` every "
            f"{cleanup['watch']['interval_s'] * 1000:.0f} ms by another "
            "connection. Fast SQL path for activities: "
            f"{'yes' if cleanup['sql_path'] else 'no (ORM)'}.",
            "",
            _table(
                [
                    "what",
                    "removed",
                    "left",
                    "seconds",
                    "rows/s",
                    "cron runs",
                    "batches",
                    "longest batch (s)",
                    "longest run (s)",
                ],
                [
                    (
                        what,
                        f"{figures['removed']:,}",
                        figures["left"],
                        f"{figures['seconds']:.1f}",
                        f"{figures['rows_per_second']:,.0f}",
                        figures["runs"],
                        figures["batches"],
                        f"{figures['longest_batch_s']:.3f}",
                        f"{figures['longest_run_s']:.1f}",
                    )
                    for what, figures in (
                        ("stale activities", cleanup["activities"]),
                        ("old calendar files", cleanup["attachments"]),
                    )
                ],
            ),
            "",
            _table(
                ["", ""],
                [
                    (
                        "longest writing transaction seen",
                        f"{cleanup['watch']['longest_transaction_s']:.3f} s "
                        f"({cleanup['watch']['samples']:,} samples)",
                    ),
                    ("RSS before", f"{memory['rss_before_mb']:.1f} MB"),
                    (
                        "RSS peak (sampled every 50 ms)",
                        f"{memory['rss_peak_mb']:.1f} MB",
                    ),
                    ("RSS after", f"{memory['rss_after_mb']:.1f} MB"),
                    ("memory growth (peak - before)", f"{memory['growth_mb']:.1f} MB"),
                    (
                        "rows the cleanup had to keep, still there",
                        ", ".join(
                            f"{k}: {v:,}" for k, v in cleanup["activities_left"].items()
                        )
                        + "; fresh calendar files: "
                        + f"{cleanup['fresh_attachments_left']:,}",
                    ),
                    (
                        "seeding",
                        f"activities {cleanup['activities_seed_seconds']:.0f} s, "
                        f"calendar files {cleanup['attachments_seed_seconds']:.0f} s",
                    ),
                ],
            ),
            "",
            "![cleanup drain](cleanup.png)",
        ]
        profile = cleanup.get("activities_profile")
        if profile:
            assignees = profile.get("distinct_assignees_per_batch")
            parts += [
                "",
                f"Where an activity batch's time goes: one cron run over "
                f"{profile['removed']:,} more stale activities under cProfile "
                f"({profile['batches']} batches, "
                f"{profile['ms_per_batch']:.0f} ms per batch under the "
                "profiler"
                + (
                    f"; about {assignees:.0f} different assignees per batch of "
                    "1000, each told by the bus"
                    if assignees
                    else ""
                )
                + "):",
                "",
                _table(
                    ["phase", "ms per batch"],
                    [
                        (label, f"{value:.1f}")
                        for label, value in profile["phases_ms_per_batch"].items()
                    ],
                ),
            ]
    parts += [
        "",
        "## Re-run",
        "",
        "```",
        "pip install -r requirements-bench.txt",
        "bench/run            # 1k to 1M meetings, 10 to 15 minutes on 2 cores",
        "bench/run --quick    # 1k and 10k, about 3 minutes",
        "```",
        "",
    ]
    return "\n".join(parts)


def plots(results, out):
    """Three PNGs next to RESULTS.md; skipped (with a note) without
    matplotlib."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is missing: no plots (pip install -r requirements-bench.txt)")
        return
    matplotlib.use("Agg")
    from matplotlib import pyplot

    sizes = _sizes(results)
    ns = [int(size) for size in sizes]

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for key, label in (("ours", "ours (one query)"), ("before", "before (per slot)")):
        medians = [results["sizes"][s]["grid"][key]["median_ms"] for s in sizes]
        p95 = [results["sizes"][s]["grid"][key]["p95_ms"] for s in sizes]
        axes.errorbar(
            ns,
            medians,
            yerr=[[0] * len(ns), [p - m for p, m in zip(p95, medians, strict=True)]],
            marker="o",
            capsize=3,
            label=f"{label}: median, bar to p95",
        )
    axes.axhline(TARGET_GRID_MS, color="grey", linestyle=":", label="2 ms target")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("meetings in the database")
    axes.set_ylabel("grid builder time (ms)")
    axes.set_title("Slot grid builder: ours vs the replaced design")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out / "grid_builder.png", dpi=110)
    pyplot.close(figure)

    http_sizes = [s for s in sizes if results["sizes"][s].get("http")]
    if http_sizes:
        figure, axes = pyplot.subplots(figsize=(7, 4.5))
        http_ns = [int(s) for s in http_sizes]
        for concurrency, style in ((1, "-"), (8, "--")):
            for page, label in (("booking", "/book/<token>"), ("floor", "homepage")):
                axes.plot(
                    http_ns,
                    [
                        results["sizes"][s]["http"][f"{page}_c{concurrency}"][
                            "median_ms"
                        ]
                        for s in http_sizes
                    ],
                    style,
                    marker="o" if page == "booking" else "s",
                    label=f"{label}, concurrency {concurrency}",
                )
        axes.set_xscale("log")
        axes.set_ylim(bottom=0)
        axes.set_xlabel("meetings in the database")
        axes.set_ylabel("median latency (ms)")
        axes.set_title("Booking page vs the website homepage (same server)")
        axes.grid(True, alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(out / "pages.png", dpi=110)
        pyplot.close(figure)

    cleanup = results.get("cleanup")
    if cleanup:
        figure, axes = pyplot.subplots(figsize=(7, 4.5))
        offset = 0.0
        for what, label in (
            ("activities", "stale activities"),
            ("attachments", "old calendar files"),
        ):
            curve = cleanup[what]["curve"]
            axes.plot(
                [offset + t for t, _left in curve],
                [left for _t, left in curve],
                marker=".",
                label=label,
            )
            offset += curve[-1][0]
        axes.set_xlabel("seconds since the first cron run")
        axes.set_ylabel("rows left")
        axes.set_title(
            f"Cleanup drain ({cleanup['budget_s']} s budget per run, one point per run)"
        )
        axes.grid(True, alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(out / "cleanup.png", dpi=110)
        pyplot.close(figure)


def write_report(results, out):
    out = Path(out)
    plots(results, out)
    (out / "RESULTS.md").write_text(markdown(results))


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/results.json")
    write_report(json.loads(path.read_text()), path.parent)
