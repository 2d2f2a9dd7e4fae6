"""Common English given-name variants, mapped to one canonical form.

Used for the "nickname match" comparison level (``Bob`` ~ ``Robert``) and nowhere else: a
nickname agreement is evidence, never a rule. The list is deliberately conservative (ambiguous
short forms such as ``Chris``, ``Sam``, ``Alex``, ``Pat``, ``Jo`` map to the most common full form
only when that is unambiguous enough to be useful).
"""

from __future__ import annotations

_GROUPS: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "alexander": ("alex", "al", "xander", "sandy", "alec"),
    "alexandra": ("alex", "lexi", "sandra", "sasha"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "ant"),
    "barbara": ("barb", "babs"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("cathy", "cath", "kate", "katie", "cat", "katherine", "kathryn", "kathy",
                  "kat", "kay", "kathleen"),
    "charles": ("charlie", "chuck", "chas"),
    "christina": ("tina", "chrissy"),
    "christopher": ("chris", "kit", "topher"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "deborah": ("deb", "debbie", "debra"),
    "jacob": ("jake",),
    "dorothy": ("dot", "dottie", "dora"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "elizabeth": ("liz", "beth", "betty", "lizzie", "eliza", "libby", "bess"),
    "frederick": ("fred", "freddie"),
    "gregory": ("greg",),
    "henry": ("harry", "hank"),
    "jacqueline": ("jackie",),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jen", "jenny", "jenn"),
    "jonathan": ("jon", "jonny"),
    "john": ("jack", "johnny"),
    "joseph": ("joe", "joey"),
    "judith": ("judy",),
    "kenneth": ("ken", "kenny"),
    "kimberly": ("kim",),
    "lawrence": ("larry", "laurie"),
    "leonard": ("leo", "len", "lenny"),
    "margaret": ("maggie", "meg", "peggy", "marge", "greta"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mick", "mikey", "mickey"),
    "nicholas": ("nick", "nicky"),
    "pamela": ("pam",),
    "patricia": ("trish", "patty", "tricia"),
    "patrick": ("paddy",),
    "peter": ("pete",),
    "philip": ("phil",),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "dick", "rich", "ricky", "richie"),
    "robert": ("bob", "rob", "bobby", "robbie", "bert"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam", "sammy"),
    "samuel": ("sammy",),
    "stephanie": ("steph",),
    "stephen": ("steve", "stevie", "steven"),
    "susan": ("sue", "susie"),
    "theodore": ("ted", "theo", "teddy"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori", "vic"),
    "william": ("bill", "will", "billy", "willy", "liam"),
    "zachary": ("zach", "zack"),
}


def nickname_map() -> dict[str, str]:
    """``{variant: canonical}`` for every variant (a variant of two names keeps the first)."""
    out: dict[str, str] = {}
    for canonical, variants in _GROUPS.items():
        for v in variants:
            out.setdefault(v, canonical)
    return out
