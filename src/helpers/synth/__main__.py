"""``python -m helpers.synth``: generate the course world (see :func:`helpers.synth.main`)."""

from . import main

raise SystemExit(main())
