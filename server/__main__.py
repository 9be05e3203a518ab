"""`python -m server`: serve the whole service with uvicorn on HOST:PORT."""
import uvicorn

from core.settings import get_settings
from server.app import create_app

if __name__ == "__main__":
    settings = get_settings()
    # Behind nginx the peer is the proxy: X-Forwarded-For from the addresses trusted here gives each citizen's
    # own address to the per-address rate limits and the audit trail.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, ws_max_size=256 * 1024,
                proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)
