"""Real clients against `pulse-etl sim`: python's `jira`, PyGithub and python-gitlab, called as a new
user would.

Usage: clients.py URLS_JSON [--record FILE]

URLS_JSON is the first line `pulse-etl sim` prints. Every step checks what it got back; the exit
status is 1 if any step failed. `--record FILE` writes the requests the clients made (method,
path below the flavour's base URL, query, headers, status), with the dataset's own names turned
into placeholders, for the replay test in `main.rs`.
"""

import json
import re
import sys
import traceback
from urllib.parse import urlsplit

import gitlab
import requests
from github import Auth, Github
from jira import JIRA

JIRA_CLOUD = ("sim@example.com", "sim-token")
JIRA_DC_PAT = "sim-pat"
GITHUB_TOKEN = "sim-github-token"
GITLAB_TOKEN = "sim-gitlab-token"
ORG = "acme"
# Headers worth replaying; the rest are transport details (length, encoding, connection).
REPLAYED = {"accept", "authorization", "cache-control", "content-type", "user-agent", "x-atlassian-token"}

seen = []
_send = requests.Session.send


def _logging_send(self, request, **kwargs):
    response = _send(self, request, **kwargs)
    seen.append((request, response.status_code))
    return response


requests.Session.send = _logging_send


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def jira_steps(jira, cloud):
    projects = jira.projects()
    check(projects and all(p.key.isupper() for p in projects), f"projects: {projects}")
    key = projects[0].key
    project = jira.project(key)
    check(project.key == key and project.name, f"project {key}: {project.raw}")
    fields = jira.fields()
    check(any(f["id"] == "summary" for f in fields), "fields: no summary")
    issues = jira.search_issues(f"project = {key} ORDER BY updated DESC", maxResults=5)
    check(0 < len(issues) <= 5 and all(i.key.startswith(key + "-") for i in issues), f"search: {issues}")
    issue = jira.issue(issues[0].key, expand="changelog")
    check(issue.fields.status.name and issue.fields.project.key == key, f"issue {issue.key}")
    check(isinstance(issue.changelog.histories, list), "issue: no changelog")
    me = jira.myself()
    check(me.get("accountId") if cloud else me.get("name"), f"myself: {me}")
    check(jira.statuses() and jira.issue_types(), "statuses or issue types empty")
    return {"project": key, "issue": issues[0].key}


def github_steps(gh, enterprise):
    org = gh.get_organization(ORG)
    check(org.login == ORG and org.type == "Organization" and org.public_repos >= 0, f"org: {org.raw_data}")
    members = list(org.get_members())
    check(members and all(m.login for m in members), "members: none")
    repos = list(org.get_repos())
    check(repos, "org repos: none")
    repo = gh.get_repo(repos[0].full_name)
    check(repo.full_name == repos[0].full_name and repo.default_branch, f"repo: {repo.raw_data}")
    pulls = repo.get_pulls(state="all")
    first = pulls[0]
    check(first.number > 0 and first.user.login and first.head.ref, f"pull: {first.raw_data}")
    user = gh.get_user(members[0].login)
    check(user.login == members[0].login and user.created_at, f"user: {user.raw_data}")
    me = gh.get_user()
    check(me.login, "authenticated user: no login")
    check(ORG in [o.login for o in me.get_orgs()], "user orgs: no acme")
    if not enterprise:  # GHES answers 404 when rate limiting is off, as the simulated one is
        check(gh.get_rate_limit().resources.core.limit > 0, "rate limit")
    return {"repo": repo.full_name, "pull": str(first.number), "login": members[0].login, "org": ORG}


def gitlab_steps(gl):
    gl.auth()
    check(gl.user and gl.user.username, "auth: no user")
    version, revision = gl.version()
    check(version.startswith("17.") and revision != "unknown", f"version: {version}")
    group = gl.groups.get(ORG)
    check(group.full_path == ORG, f"group: {group.attributes}")
    projects = group.projects.list(include_subgroups=True, archived=False, all=True)
    check(projects and all(p.path_with_namespace.startswith(ORG + "/") for p in projects), "group projects")
    check(any(p.path_with_namespace.count("/") == 2 for p in projects), "no project in a subgroup")
    keyset = group.projects.list(include_subgroups=True, pagination="keyset", order_by="id", sort="asc",
                                 per_page=2, iterator=True)
    ids = [p.id for p in keyset]
    check(ids == sorted(ids) and len(ids) >= len(projects), f"keyset: {ids}")
    project = gl.projects.get(projects[0].path_with_namespace)
    check(project.id == projects[0].id and project.default_branch, f"project: {project.attributes}")
    mrs = project.mergerequests.list(state="all", order_by="updated_at", sort="asc", iterator=True, per_page=50)
    mrs = list(mrs)
    check(mrs and all(m.iid > 0 and m.state in ("opened", "closed", "merged") for m in mrs), "merge requests")
    mr = project.mergerequests.get(mrs[-1].iid)
    notes = mr.notes.list(all=True, sort="asc")
    check(all(n.noteable_iid == mr.iid for n in notes), "notes")
    commits = list(mr.commits())
    check(all(len(c.id) == 40 for c in commits), "commits")
    approvals = mr.approvals.get()
    check(isinstance(approvals.approved_by, list), f"approvals: {approvals.attributes}")
    deployments = project.deployments.list(order_by="updated_at", sort="asc", all=True)
    check(all(d.environment["name"] for d in deployments), "deployments")
    pipelines = project.pipelines.list(ref=project.default_branch, all=True)
    check(all(p.ref == project.default_branch for p in pipelines), "pipelines")
    return {"group": ORG, "project": str(project.id), "mr": str(mr.iid)}


def record(flavour, base, names, since):
    """The requests made since index `since`, below `base`, with `names` as placeholders."""
    base_path = urlsplit(base).path
    out = []
    for request, status in seen[since:]:
        url = urlsplit(request.url)
        check(url.path.startswith(base_path), f"{request.url} is not below {base}")
        path, query = url.path[len(base_path):], url.query
        for name, value in names.items():
            # Whole names only: PAY is not the start of PAY-12, 67 not part of 1674.
            whole = r"(?<![\w-])" + re.escape(value) + r"(?![\w-])"
            path = re.sub(whole, "{" + name + "}", path)
            query = re.sub(whole, "{" + name + "}", query)
        headers = {k: v for k, v in request.headers.items() if k.lower() in REPLAYED}
        headers = {k: v for k, v in sorted(headers.items())}
        out.append({"flavour": flavour, "method": request.method, "path": path, "query": query,
                    "headers": headers, "status": status})
    return out


def main():
    urls = json.loads(sys.argv[1])
    record_to = sys.argv[sys.argv.index("--record") + 1] if "--record" in sys.argv else None
    def jira_cloud(version):
        options = {"rest_api_version": version}
        return lambda: jira_steps(JIRA(urls["jira_cloud"], basic_auth=JIRA_CLOUD, options=options), True)

    def github(flavour):
        return lambda: github_steps(Github(base_url=urls[flavour], auth=Auth.Token(GITHUB_TOKEN)),
                                    flavour == "github_enterprise")

    runs = [
        # The library's default is REST v2, on Cloud too; v3 is what Cloud documents.
        ("jira_cloud", "REST v2", jira_cloud("2")),
        ("jira_cloud", "REST v3", jira_cloud("3")),
        ("jira_dc", "REST v2", lambda: jira_steps(JIRA(urls["jira_dc"], token_auth=JIRA_DC_PAT), False)),
        ("github", "PyGithub", github("github")),
        ("github_enterprise", "PyGithub", github("github_enterprise")),
        ("gitlab", "python-gitlab", lambda: gitlab_steps(gitlab.Gitlab(urls["gitlab"], private_token=GITLAB_TOKEN))),
    ]
    failed, recorded = [], []
    for flavour, label, run in runs:
        since = len(seen)
        try:
            names = run()
            calls = record(flavour, urls[flavour], names, since)
            bad = [c for c in calls if not 200 <= c["status"] < 300]
            check(not bad, f"answers not 2xx: {bad}")
            recorded += calls
            print(f"ok   {flavour} ({label}): {len(calls)} requests")
        except Exception:
            failed.append(flavour)
            print(f"FAIL {flavour} ({label}):", file=sys.stderr)
            traceback.print_exc()
            for request, status in seen[since:]:
                print(f"     {status} {request.method} {request.url}", file=sys.stderr)
    if record_to and not failed:
        with open(record_to, "w") as f:
            json.dump(recorded, f, indent=1)
            f.write("\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
