"""The demo prints a caller join link that works, and the same one on every run."""

import re

from ringround.enrollment import LinkStatus, find_link, link_status


def test_demo_prints_a_working_join_link(runner, db, client):
    first = runner.invoke(args=["demo", "--contacts", "3"])
    assert first.exit_code == 0, first.output
    path = re.search(r"(/j/[A-Za-z0-9_-]{22})", first.output).group(1)
    link = find_link(db.session, path.rsplit("/", 1)[1])
    assert link is not None and link_status(link) is LinkStatus.OPEN
    assert link.role.value == "agent"
    again = runner.invoke(args=["demo"])
    assert path in again.output
    assert client.get(path).status_code == 200
