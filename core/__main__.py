"""`python -m core`: serve the whole service with uvicorn on HOST:PORT."""
import uvicorn

from core.app import create_app
from core.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None, ws_max_size=256 * 1024)
