"""Which users and groups a run loads: one scope per run and tenant, applied by every user-keyed stream.

Rules (settings): ``user_domains`` (``["*"]`` = every user, including those without an address; a list =
users whose address per ``email_method`` is exactly in one of the domains, case-insensitive, subdomains
not included; guests match on the domain of their address, e.g. ``#EXT#`` UPNs on the tenant's initial
domain), ``user_deny_list`` (addresses or object ids), ``exclude_guests``, ``exclude_unlicensed_users``,
``exclude_disabled_users``; groups: ``group_types`` and ``group_ids`` (ids or display names), and
``include_users_of_groups_only`` (users who are direct members of a scoped group).

Graph facts: a domain filter can be pushed to Graph only as an advanced query (``endswith`` with
``ConsistencyLevel: eventual`` and ``$count=true``, graph.md 9.10); the other rules are applied to the rows.
A stream whose records name users (members, owners, role holders, sign-ins, audits, reports ...) keeps only
rows of in-scope users; the in-scope ids are read once per run with one ``/users`` listing (999 per page)
when any user rule is set, and cost nothing otherwise.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

GROUP_TYPES = ("unified", "security", "mail_enabled_security", "distribution")
#: Users' properties the rules read.
USER_FIELDS = ("id", "userPrincipalName", "mail", "userType", "accountEnabled", "assignedLicenses")


def group_kind(group: Mapping[str, t.Any]) -> str:
    """unified, security, mail_enabled_security or distribution, from Graph's flags (groupTypes)."""
    if "Unified" in (group.get("groupTypes") or ()):
        return "unified"
    mail, security = bool(group.get("mailEnabled")), bool(group.get("securityEnabled"))
    if security and mail:
        return "mail_enabled_security"
    if security:
        return "security"
    return "distribution"


@dataclass(frozen=True)
class Scope:
    """The run's scope rules, from settings."""

    domains: frozenset[str] | None = None  # None: every user
    email_method: str = "upn"
    deny: frozenset[str] = frozenset()
    exclude_guests: bool = False
    exclude_unlicensed: bool = False
    exclude_disabled: bool = False
    group_types: frozenset[str] | None = None
    group_ids: frozenset[str] | None = None
    users_of_groups_only: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, t.Any]) -> Scope:
        """The rules in the (validated) settings."""
        domains = [str(d).strip().lstrip("@").lower() for d in config.get("user_domains") or ["*"]]
        types = config.get("group_types")
        ids = config.get("group_ids")
        return cls(
            domains=None if "*" in domains or not domains else frozenset(domains),
            email_method=str(config.get("email_method") or "upn"),
            deny=frozenset(str(v).strip().lower() for v in config.get("user_deny_list") or ()),
            exclude_guests=bool(config.get("exclude_guests")),
            exclude_unlicensed=bool(config.get("exclude_unlicensed_users")),
            exclude_disabled=bool(config.get("exclude_disabled_users")),
            group_types=frozenset(types) if types else None,
            group_ids=frozenset(str(i).strip().lower() for i in ids) if ids else None,
            users_of_groups_only=bool(config.get("include_users_of_groups_only")),
        )

    @property
    def filters_users(self) -> bool:
        """True when some users are left out (then user-keyed streams need the in-scope ids)."""
        return bool(
            self.domains is not None
            or self.deny
            or self.exclude_guests
            or self.exclude_unlicensed
            or self.exclude_disabled
            or self.users_of_groups_only
        )

    @property
    def filters_groups(self) -> bool:
        """True when some groups are left out."""
        return self.group_types is not None or self.group_ids is not None

    def email(self, user: Mapping[str, t.Any]) -> str | None:
        """The user's address per ``email_method``: the UPN, or mail (else the UPN)."""
        if self.email_method == "mail":
            return user.get("mail") or user.get("userPrincipalName")
        return user.get("userPrincipalName")

    def user_ok(self, user: Mapping[str, t.Any]) -> bool:
        """The rules that read the user itself (group membership is checked by the index)."""
        email = (self.email(user) or "").lower()
        if self.domains is not None and (not email or email.rpartition("@")[2] not in self.domains):
            return False
        if self.deny and (email in self.deny or str(user.get("id", "")).lower() in self.deny):
            return False
        if self.exclude_guests and user.get("userType") == "Guest":
            return False
        if self.exclude_disabled and user.get("accountEnabled") is False:
            return False
        return not (self.exclude_unlicensed and not user.get("assignedLicenses"))

    def group_ok(self, group: Mapping[str, t.Any]) -> bool:
        """The group rules (types, ids or display names)."""
        if self.group_types is not None and group_kind(group) not in self.group_types:
            return False
        if self.group_ids is None:
            return True
        return (
            str(group.get("id", "")).lower() in self.group_ids
            or str(group.get("displayName") or "").lower() in self.group_ids
        )

    def pushed_filter(self) -> dict[str, str]:
        """The ``$filter`` Graph can apply to ``/users`` (domains only; an advanced query)."""
        if self.domains is None or self.email_method == "mail":
            return {}  # "mail, else the UPN" is not one Graph filter: applied to the rows instead
        clauses = " or ".join(f"endswith(userPrincipalName,'@{d}')" for d in sorted(self.domains))
        return {"$filter": clauses, "$count": "true"}


@dataclass
class ScopeIndex:
    """The in-scope user ids and addresses of a run (lowercased), and the in-scope group ids."""

    user_ids: frozenset[str] | None = None  # None: every user is in scope
    addresses: frozenset[str] | None = None
    group_ids: frozenset[str] | None = None  # None: every group is in scope

    def user(self, user_id: t.Any) -> bool:
        """Whether a user id is in scope."""
        return self.user_ids is None or str(user_id).lower() in self.user_ids

    def address(self, upn: t.Any) -> bool:
        """Whether a user principal name is in scope (usage reports)."""
        return self.addresses is None or str(upn or "").lower() in self.addresses

    def group(self, group_id: t.Any) -> bool:
        """Whether a group id is in scope."""
        return self.group_ids is None or str(group_id).lower() in self.group_ids


def build_users(
    scope: Scope, users: Iterable[Mapping[str, t.Any]], members: frozenset[str] | None
) -> tuple[frozenset[str], frozenset[str]]:
    """(ids, addresses) of the users the rules keep; ``members``: the scoped groups' members."""
    ids: set[str] = set()
    addresses: set[str] = set()
    for user in users:
        if not scope.user_ok(user):
            continue
        uid = str(user.get("id", "")).lower()
        if members is not None and uid not in members:
            continue
        ids.add(uid)
        upn = user.get("userPrincipalName")
        if upn:
            addresses.add(str(upn).lower())
    return frozenset(ids), frozenset(addresses)


def compute_index(scope: Scope, client: t.Any, stream: str) -> ScopeIndex:
    """The run's in-scope ids, read once.

    One ``/users`` listing when a user rule is set; the scoped groups (and their direct members, for
    ``include_users_of_groups_only``, 20 groups per ``$batch``) when a group rule is set.
    """
    index = ScopeIndex()
    members: frozenset[str] | None = None
    if scope.filters_groups or scope.users_of_groups_only:
        groups = [
            g
            for page in client.pages(
                "/groups",
                stream=stream,
                params={"$select": "id,displayName,groupTypes,mailEnabled,securityEnabled", "$top": 999},
            )
            for g in page["value"]
            if isinstance(g, dict) and scope.group_ok(g)
        ]
        index.group_ids = frozenset(str(g["id"]).lower() for g in groups)
        if scope.users_of_groups_only:
            found: set[str] = set()
            requests_ = ((g["id"], f"/groups/{g['id']}/members?$select=id&$top=999") for g in groups)
            for _, page in client.batch(requests_, stream=stream):
                for member in page["value"]:
                    if isinstance(member, dict) and member.get("@odata.type") == "#microsoft.graph.user":
                        found.add(str(member.get("id", "")).lower())
            members = frozenset(found)
    if scope.filters_users:
        pushed = scope.pushed_filter()
        users = (
            u
            for page in client.pages(
                "/users",
                stream=stream,
                params={"$select": ",".join(USER_FIELDS), "$top": 999, **pushed},
                headers={"ConsistencyLevel": "eventual"} if pushed else None,
            )
            for u in page["value"]
            if isinstance(u, dict)
        )
        index.user_ids, index.addresses = build_users(scope, users, members)
    return index
