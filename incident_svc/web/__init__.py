"""The banner feed: a Starlette ASGI app served by uvicorn (see docs/banners.md)."""
