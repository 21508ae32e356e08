"""Result files -> markdown leaderboards, figures and factor-study pages, byte-stable.

- :mod:`.board`: one dataset's current rows grouped into entries, with bootstrap draws;
- :mod:`.columns`: the columns of an entry's row, declared, and the cells they show;
- :mod:`.tables`: the leaderboard tables, made of those columns;
- :mod:`.prose`: the fixed text of a page (how to read it, guards, reproduction table);
- :mod:`.figures`: the PNG figures; :mod:`.factor_study`: pages across a generator factor;
- :mod:`.thesis`: the thesis's reported tables, loaded once;
- :mod:`.display`: how params, windows and numbers are written for people;
- :mod:`.pages`: a dataset's page, and every page of a results folder (``render_all``);
- :mod:`.sweep`: what ``emorec bench`` prints at its end, the page's headline.
- :mod:`.site`: the HTML site of the same boards, beside the markdown.
"""
