"""The leaderboard site: static HTML beside the markdown boards, from the same boards.

- :mod:`.data`: what a board's page shows, from its Board and the markdown's cell functions;
- :mod:`.traces`: the trace view's data, one script per test session;
- :mod:`.assets`: the scripts and styles copied from installed packages (nothing from the
  network at view time);
- :mod:`.build`: the pages (Jinja2 templates in ``templates/``), the rows download and the
  site folder (``write_site``, which ``emorec leaderboard`` calls).
"""
