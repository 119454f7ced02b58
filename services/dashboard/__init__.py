"""The web dashboard (``yidi dashboard``): the clearing center's, the provinces' and ops' view
of yidi in a browser (docs/dashboard.md). A pure core builds the view models and decides who
sees what; adapters read PostgreSQL and the broker; ``web/`` serves the pages (aiohttp)."""
