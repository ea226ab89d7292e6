"""Where the client talks to: an lms-progress server, or Zoho People in one of its data centres."""

from __future__ import annotations

from dataclasses import dataclass

from lms_progress.client._auth import TOKEN_PATH

DATA_CENTRES = ("com", "eu", "in", "com.au", "jp", "com.cn", "sa")


@dataclass(frozen=True, slots=True)
class ZohoHosts:
    """A data centre's People API host and its accounts (OAuth) host."""

    people: str
    accounts: str

    @property
    def token_url(self) -> str:
        return self.accounts + TOKEN_PATH


def zoho_hosts(data_centre: str) -> ZohoHosts:
    """The hosts of a data centre by its domain suffix: "com", "eu", "in", "com.au", ..."""
    suffix = data_centre.strip().lower().lstrip(".")
    if suffix not in DATA_CENTRES:
        raise ValueError(
            f"unknown Zoho data centre {data_centre!r}; use one of {', '.join(DATA_CENTRES)}"
        )
    return ZohoHosts(
        people=f"https://people.zoho.{suffix}", accounts=f"https://accounts.zoho.{suffix}"
    )
