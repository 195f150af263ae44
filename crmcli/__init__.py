"""crmcli: a customer-relationship manager for people who live in the shell."""

__version__ = "0.1.0"
