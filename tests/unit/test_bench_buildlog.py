"""The benchmark's reading of a BuildKit plain-progress log (bench/buildlog.py)."""

from __future__ import annotations

from bench.buildlog import build_steps, build_timeline, cache_use, imported_refs, slowest

LOG = """\
#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 1.2kB done
#1 DONE 0.0s
#5 [1/6] FROM 127.0.0.1:5000/python:3.11-bookworm@sha256:abc
#5 sha256:0123 55.1MB / 55.1MB 1.2s done
#5 extracting sha256:0123 0.8s done
#5 DONE 2.4s
#8 [4/6] RUN --mount=type=cache,target=/root/.cache/pip     pip install -r requirements.txt
#8 12.34 Collecting flask==3.1.3
#8 DONE 95.3s
#9 [5/6] COPY app.py .
#9 CACHED
#10 exporting to image
#10 DONE 1.1s
"""


def test_steps_are_named_by_their_first_line_and_sorted_slowest_first() -> None:
    assert build_steps(LOG) == [
        (
            "[4/6] RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt",
            95.3,
        ),
        ("[1/6] FROM 127.0.0.1:5000/python:3.11-bookworm@sha256:abc", 2.4),
        ("exporting to image", 1.1),
        ("[internal] load build definition from Dockerfile", 0.0),
    ]


def test_slowest_cuts_names_and_counts() -> None:
    assert slowest(LOG, count=2, width=10) == "[4/6] RUN  95.3 s; [1/6] FROM 2.4 s"


def test_no_build_log() -> None:
    assert slowest("Pushing acr/iris:abc\n") == "no build log"


def test_cache_use_counts_cached_steps_and_names_the_import() -> None:
    log = LOG.replace(
        "#5 [1/6] FROM",
        "#4 importing cache manifest from acr.local/iris:main\n#4 DONE 0.1s\n#5 [1/6] FROM",
    )
    assert cache_use(log) == "1 of 3 steps CACHED, cache manifest imported from acr.local/iris:main"


def test_cache_use_says_when_nothing_was_imported_and_shows_x509() -> None:
    log = LOG + "#11 ERROR: x509: certificate signed by unknown authority\n"
    assert cache_use(log) == "1 of 3 steps CACHED, no cache imported, x509 error in the log"


# A cached build as the action prints it, with the times its lines arrived (bench/harness.py).
TIMED = [
    (0.5, "::group::Build acr.example/iris-api:sha-1"),
    (0.6, "::stop-commands::token"),
    (0.8, "#1 [internal] load build definition from Dockerfile"),
    (0.8, "#1 DONE 0.0s"),
    (0.9, "#5 [stage-0 2/8] WORKDIR /app"),
    (0.9, "#5 CACHED"),
    (1.0, "#10 [stage-0 6/8] RUN python train.py --output /app/model.joblib"),
    (1.0, "#10 sha256:ec51"),
    (1.2, "#10 pulling sha256:0f87"),
    (2.4, "#10 pulling sha256:0f87 12.3MB / 12.3MB 1.1s done"),
    (2.4, "#10 pulling sha256:fe3f 0.4s done"),
    (7.0, "#10 CACHED"),
    (7.4, "#11 [stage-0 7/8] COPY app.py ."),
    (7.6, "#11 DONE 0.3s"),
    (7.7, "::token::"),
    (7.8, "::endgroup::"),
]


def test_a_timeline_places_each_vertex_by_its_lines() -> None:
    line = build_timeline(TIMED)
    assert line is not None
    assert (line.cli_start, line.cli_exit, line.last_vertex) == (0.5, 7.8, 7.6)
    assert line.first_vertex == 0.8
    [loading] = line.cached()  # WORKDIR's CACHED came at once: not measurable
    assert (loading.number, loading.start, loading.end, loading.fetched) == ("10", 1.0, 7.0, 2.4)
    assert round(loading.pulled, 6) == 1.5  # the last time of each layer, summed
    copy = next(v for v in line.vertices if v.number == "11")
    assert round(copy.start, 6) == 7.3  # its DONE time before its DONE line, not its first line
    assert round(line.timed(), 6) == 0.3
    assert round(line.covered(), 6) == 6.3  # 0.8-0.8, 0.9-0.9, 1.0-7.0, 7.3-7.6


def test_no_build_group_no_timeline() -> None:
    assert build_timeline([(0.1, "#1 DONE 0.0s")]) is None


def test_imported_refs_are_read_from_the_log() -> None:
    log = "#13 importing cache manifest from acr.example/iris-api:main\n#13 DONE 0.0s\n"
    assert imported_refs(log) == ["acr.example/iris-api:main"]
