"""The site's scripts and styles, copied beside its pages from installed packages, so a page
needs nothing from the network:

- DataTables with jQuery and its extensions, as ``itables`` bundles them (``dt_bundle.js``, an
  ES module, and ``dt_bundle.css``). A browser refuses to load a module from a ``file://``
  page, so the bundle travels as the text of a classic script that imports it from a ``blob:``
  URL, as itables' own offline mode does; the page awaits ``window.emorecTables``;
- plotly.js (``plotly.offline.get_plotlyjs``) for the trace view;
- the site's own ``site.js`` and ``site.css`` (this package's ``static/``);
- the libraries' licence files.
"""

from __future__ import annotations

import json
from importlib import metadata, resources
from pathlib import Path

FOLDER = "assets"
TABLES_SCRIPT = "datatables.js"
TABLES_STYLE = "datatables.css"
PLOTS_SCRIPT = "plotly.min.js"
OWN = ("site.js", "site.css")
LICENSED = ("itables", "plotly")   # the packages whose code the site carries


def write(site: Path) -> list[str]:
    """Write every asset under ``site/assets``; returns their names."""
    import plotly.offline
    from itables import options

    folder = Path(site) / FOLDER
    folder.mkdir()
    bundle = Path(options.dt_bundle)
    (folder / TABLES_SCRIPT).write_text(
        "// DataTables, jQuery and extensions as the itables package bundles them (an ES module),\n"
        "// imported from a blob: URL because a file:// page may not load a module file.\n"
        "window.emorecTables = import(URL.createObjectURL(new Blob([\n"
        + json.dumps(bundle.read_text(encoding="utf-8"))
        + "\n], {type: 'text/javascript'})));\n", encoding="utf-8")
    (folder / TABLES_STYLE).write_text(bundle.with_suffix(".css").read_text(encoding="utf-8"),
                                       encoding="utf-8")
    (folder / PLOTS_SCRIPT).write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
    static = resources.files("emorec.report.site") / "static"
    for name in OWN:
        (folder / name).write_text(static.joinpath(name).read_text(encoding="utf-8"),
                                   encoding="utf-8")
    return [TABLES_SCRIPT, TABLES_STYLE, PLOTS_SCRIPT, *OWN, *_licences(folder)]


def _licences(folder: Path) -> list[str]:
    """Each carried package's licence file(s) from its metadata, as
    ``LICENSE-<package>[-n].txt``."""
    written = []
    for package in LICENSED:
        files = [f for f in metadata.distribution(package).files or []
                 if ".dist-info/" in f.as_posix() and "licen" in f.name.lower()]
        for number, file in enumerate(sorted(files, key=str)):
            name = f"LICENSE-{package}{f'-{number}' if number else ''}.txt"
            (folder / name).write_text(Path(file.locate()).read_text(encoding="utf-8"),
                                       encoding="utf-8")
            written.append(name)
    return written
