"""`python -m server`: serve the whole service with uvicorn on HOST:PORT."""
import uvicorn

from core.settings import get_settings
from server.app import create_app

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, ws_max_size=256 * 1024)
