import sys

from virtart.cli.main import main

sys.exit(main())
