"""Jobs whose module kills the worker as it loads, before the worker can say anything
(tests/documents/test_pool.py): a broken install as the pool sees it."""

import os

os._exit(3)
