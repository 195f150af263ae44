"""crmcli: a customer-relationship manager for people who live in the shell."""

__version__ = "0.1.0"

# Set to a list by the command line's main(): the records a command loads are
# kept in it, so the process ends without freeing them one by one (freeing
# 300,000 records took 0.5 s) -- main() leaves with os._exit once its output
# is flushed.  None in a library use: nothing is kept.
KEEP_ALIVE: list | None = None

