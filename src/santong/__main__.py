"""The project's one entry point: `santong <command>` wraps Django's management commands.

It picks the settings module (demo settings unless DJANGO_SETTINGS_MODULE says otherwise), so
`santong migrate`, `santong createsuperuser` and santong's own commands (`demo`, `screenshots`,
`loadregions`) all run the same way from a fresh clone.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "santong.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["santong", *sys.argv[1:]])


if __name__ == "__main__":
    main()
