"""The dashboard's HTTP side (aiohttp): sessions, pages, the live event stream."""
