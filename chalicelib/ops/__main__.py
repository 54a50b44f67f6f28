from chalicelib.ops.cli import main

raise SystemExit(main())
