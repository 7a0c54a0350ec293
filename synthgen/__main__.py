"""``python -m synthgen``: the same as the ``synthgen`` command."""

from synthgen.cli.main import main

main()
