"""Demo and development settings: the embedded defaults, nothing else running."""

from .base import *  # noqa: F403
from .base import VAR_DIR, derive_demo_secret, env_bool, load_master_key

DEBUG = env_bool("DEBUG", True)
SANTONG_ID_MASTER_KEY = load_master_key(VAR_DIR / "keys" / "id-master.key")
SECRET_KEY = SECRET_KEY or derive_demo_secret(VAR_DIR / "keys" / "id-master.key")  # noqa: F405
