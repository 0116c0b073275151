"""``python -m docflow``: the same command as ``docflow``."""

from docflow.cli import main

main()
