"""Clustering: a union-find that refuses merges the operator or the records forbid, and the
stable entity ids of its clusters."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from .records import Key, isna
from .rules import _dobs_conflict, _first_names_conflict


class _Clusters:
    def __init__(self, n: int, fnames, dobs, cannot: dict[int, set[int]], max_size: int):
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {}
        self.fnames = fnames
        self.dobs = dobs
        self.cannot = cannot
        self.max_size = max_size
        self.refused = {"cannot_link": 0, "conflict": 0, "size": 0, "names": 0}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def _members(self, root: int) -> list[int]:
        return self.members.get(root) or [root]

    def _conflicting(self, a: int, b: int, ma: list[int], mb: list[int]) -> bool:
        """Two clusters are two people when the pair being joined contradicts on first name
        and dob, or more than half the comparable cross pairs do. Not "any cross pair": one
        record with a wrong first name and another with a wrong dob inside a cluster of one
        person would make it refuse its own further records (FEBRL corrupts fields
        independently, and so do real imports)."""
        fnames, dobs = self.fnames, self.dobs
        if dobs[a] is None or dobs[b] is None:
            # A record without a date of birth does not bridge two groups whose dates of birth
            # contradict ("Vincent Perry" alone joining two Vincent Perrys born 30 years
            # apart): namesakes. Their own records may still join directly.
            da = [dobs[x] for x in ma if dobs[x] is not None]
            db = [dobs[y] for y in mb if dobs[y] is not None]
            if da and db and 2 * sum(1 for x in da for y in db if _dobs_conflict(x, y)) > (
                    len(da) * len(db)):
                return True

        def clash(x: int, y: int) -> bool:
            return _first_names_conflict(fnames[x], fnames[y]) and _dobs_conflict(
                dobs[x], dobs[y])

        left = [x for x in ma if fnames[x] is not None and dobs[x] is not None]
        if not left:
            return False
        right = [y for y in mb if fnames[y] is not None and dobs[y] is not None]
        if not right:
            return False
        if fnames[a] is not None and fnames[b] is not None and clash(a, b):
            return True
        clashes = sum(1 for x in left for y in right if clash(x, y))
        return 2 * clashes > len(left) * len(right)

    def try_union(self, a: int, b: int, *, forced: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        ma, mb = self._members(ra), self._members(rb)
        if len(ma) > len(mb):
            ra, rb, ma, mb = rb, ra, mb, ma
        # operator cannot_link wins over everything, must_link included
        if self.cannot:
            for x in ma:
                for y in self.cannot.get(x, ()):
                    if self.find(y) == rb:
                        self.refused["cannot_link"] += 1
                        return False
        if not forced:
            if len(ma) + len(mb) > self.max_size:
                self.refused["size"] += 1
                return False
            if self._conflicting(a, b, ma, mb):
                self.refused["conflict"] += 1
                return False
        self.parent[ra] = rb
        self.members[rb] = mb + ma if rb in self.members else [rb, *ma]
        self.members.pop(ra, None)
        return True


def _new_entity_id(key: Key, used: set[str]) -> str:
    base = hashlib.sha256(f"{key[0]}\x1f{key[1]}".encode()).hexdigest()
    n = 0
    while True:
        candidate = "ent_" + (base[:16] if n == 0 else hashlib.sha256(
            f"{base}\x1f{n}".encode()).hexdigest()[:16])
        if candidate not in used:
            used.add(candidate)
            return candidate
        n += 1


# --- main -------------------------------------------------------------------------------------



def assign_entity_ids(uf: _Clusters, keys: Sequence[Key], prev_ids: Sequence[str | None],
                      seen_at: Sequence, reserved_ids: Iterable[str] = ()
                      ) -> tuple[dict[int, list[int]], dict[int, str]]:
    """The clusters of ``uf`` (root -> member uids) and each root's entity id: a cluster keeps
    the oldest previous id among its members (merges keep the older id, splits leave it with
    the larger part); one with none gets a new id from its earliest member."""
    n = len(keys)
    order_key = [
        (0, s, k[0], k[1]) if not isna(s) else (1, 0, k[0], k[1])
        for s, k in zip(seen_at, keys)
    ]
    clusters: dict[int, list[int]] = {}
    for i in range(n):
        clusters.setdefault(uf.find(i), []).append(i)
    # age of each previous id = its earliest member
    id_age: dict[str, tuple] = {}
    for i in range(n):
        pid = prev_ids[i]
        if pid is not None and (pid not in id_age or order_key[i] < id_age[pid]):
            id_age[pid] = order_key[i]
    claims = []
    for root, members in clusters.items():
        counts: dict[str, int] = {}
        for i in members:
            if prev_ids[i] is not None:
                counts[prev_ids[i]] = counts.get(prev_ids[i], 0) + 1
        for pid, c in counts.items():
            claims.append((id_age[pid], -c, pid, root))
    claims.sort(key=lambda t: (t[0], t[1], t[2], t[3]))
    entity_of: dict[int, str] = {}
    taken: set[str] = set()
    for _age, _c, pid, root in claims:
        if root in entity_of or pid in taken:
            continue
        entity_of[root] = pid
        taken.add(pid)
    used = set(id_age) | taken | set(reserved_ids)
    for root in sorted(clusters, key=lambda r: min(order_key[i] for i in clusters[r])):
        if root not in entity_of:
            first = min(clusters[root], key=lambda i: order_key[i])
            entity_of[root] = _new_entity_id(keys[first], used)
    return clusters, entity_of
