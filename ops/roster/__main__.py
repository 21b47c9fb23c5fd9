"""`python -m ops.roster import|export|generate`: see ops.roster.cli."""

from ops.roster.cli import main

raise SystemExit(main())
