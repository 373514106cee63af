"""``adamkit serve``: a page with sliders that races optimizers in the browser, computed by adamkit.

- :mod:`~adamkit.web.server`: the Starlette app (static page + JSON API);
- :mod:`~adamkit.web.api`: what the API computes, all through ``adamkit.lab``;
- :mod:`~adamkit.web.inputs`: request checking, limits, the sliders' declarations;
- :mod:`~adamkit.web.export`: the race as PNG, GIF, MP4;
- ``static/``: the page (plain JavaScript and canvas, no CDN, works offline).
"""
