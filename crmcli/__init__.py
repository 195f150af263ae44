"""crmcli: a customer-relationship manager for people who live in the shell."""

__version__ = "0.1.0"

# Set to a list by the command line's main(): the records a command loads are
# kept in it, so the process ends without freeing them one by one (freeing
# 300,000 records took 0.5 s) -- main() leaves with os._exit once its output
# is flushed.  None in a library use: nothing is kept.
KEEP_ALIVE: list | None = None


# Set to a list by the command line's main() too: work that may wait until
# the command's output is out (an index written afresh, see
# crmcli.cache.DETACH_MIN), run by main() in a process of its own, as
# ``git gc --auto`` does.  None in a library use: such work is done at once.
LATER: list | None = None
