"""`setup --set-variables`: the repository variables the workflows read, set through GitHub's API.

docs.github.com/rest/actions/variables: "Get a repository variable" (`GET
/repos/{owner}/{repo}/actions/variables/{name}`, 404 when there is none), "Create a repository
variable" (`POST .../actions/variables` with `name` and `value`, 201) and "Update a repository
variable" (`PATCH .../actions/variables/{name}`, 204). The token comes from `GH_TOKEN` or
`GITHUB_TOKEN` in the environment (a fine-grained token needs the repository permission
"Variables: write"), never from an option.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .errors import InputProblem, OptionError
from .failures import GITHUB_API, translate
from .retry import Retrier

API_VERSION = "2022-11-28"


def token_of(env: Mapping[str, str]) -> str:
    """The GitHub token of `--set-variables`, or the problem that asks for one."""
    token = env.get("GH_TOKEN") or env.get("GITHUB_TOKEN") or ""
    if not token:
        message = "needs a GitHub token in GH_TOKEN or GITHUB_TOKEN (Variables: write)"
        raise OptionError([InputProblem("--set-variables", message, "GH_TOKEN=$(gh auth token)")])
    return token


def set_variables(
    repo: str,
    variables: Mapping[str, str],
    token: str,
    *,
    api_url: str = "https://api.github.com",
    retrier: Retrier | None = None,
) -> Iterator[tuple[str, str]]:
    """Create or update each variable; yields (name, "created" / "updated" / "unchanged")."""
    send = (retrier or Retrier()).http
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    base = f"{api_url.rstrip('/')}/repos/{repo}/actions/variables"
    for name, value in variables.items():
        found = send(GITHUB_API.name, "GET", f"{base}/{name}", headers=headers)
        if found.status_code == 200 and found.json().get("value") == value:
            yield name, "unchanged"
            continue
        if found.status_code == 200:
            method, url, state = "PATCH", f"{base}/{name}", "updated"
        elif found.status_code == 404:
            method, url, state = "POST", base, "created"
        else:
            raise translate(GITHUB_API, found, where=f"{base}/{name}")
        answer = send(
            GITHUB_API.name, method, url, headers=headers, json={"name": name, "value": value}
        )
        if answer.status_code not in (201, 204):
            raise translate(GITHUB_API, answer, where=url)
        yield name, state
