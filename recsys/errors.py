"""Domain exceptions. The library raises these; only the CLI turns them into exit codes."""


class RecsysError(Exception):
    """Base class for every error a user can fix: the message says what is wrong and what to do."""


class ConfigError(RecsysError):
    """A setting, environment variable or option value is invalid."""


class DataValidationError(RecsysError):
    """Input files are missing or do not match the Yambda schema.

    ``problems`` lists every problem found, each naming the file and column.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in the input data:\n{lines}\n"
            "Fix or replace these files (the public Yambda layout and dtypes: recsys/schema.py), "
            "or regenerate them with `recsys generate`; `recsys validate` checks them again."
        )


class WarehouseError(RecsysError):
    """The DuckDB warehouse is missing, locked by another process, or lacks a table."""


class HubUnreachableError(RecsysError):
    """The Hugging Face hub cannot be reached (offline machine)."""
