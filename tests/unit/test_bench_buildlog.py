"""The benchmark's reading of a BuildKit plain-progress log (bench/buildlog.py)."""

from __future__ import annotations

from bench.buildlog import build_steps, cache_use, slowest

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
