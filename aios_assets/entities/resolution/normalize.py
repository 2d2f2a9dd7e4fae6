"""Normalization of person records, in DuckDB SQL (fast at 100k+ records).

Input: any table with ``source``, ``source_id`` and some of the person columns
(``first_name``, ``last_name`` or ``surname``, ``full_name``, ``email``, ``phone``, ``dob``,
``city``, ``postcode``, ``company``, ``street``, ``state``, ``title``, ``dob_unparsed``,
``first_seen_at``).
Output: one row per input row with a dense integer ``uid`` and the comparison columns Splink uses:

- ``first_name``, ``surname``: lower case, accents stripped, honorifics and punctuation removed;
  split from ``full_name`` ("Ada Lovelace", "Lovelace, Ada", "Ada <ada@x>") when missing.
- ``first_name_canon``: nickname-resolved given name (``bob`` -> ``robert``).
- ``email``: lower case, ``+tag`` removed, Gmail dots removed; NULL when not an address.
  ``email_is_role``: ``info@``, ``sales@``… — shared mailboxes never prove identity.
- ``dob``: ISO ``YYYY-MM-DD`` string (ISO, ``dd/mm/yyyy``, ``dd.mm.yyyy``, ``yyyy/mm/dd`` or
  ``yyyymmdd`` accepted). ``dob_digits``: the 8 digits of a date of birth that is no date
  (``19010271``, in ``dob`` or in ``dob_unparsed``, the raw text the ingest left out), else NULL.
- ``city``, ``postcode`` (upper, no spaces), ``phone`` (last 9 digits).
- ``state`` (region) and ``title`` (occupation): lower case, punctuation removed.
- ``street``: lower case, punctuation removed, street types spelt out (``st`` -> ``street``);
  ``street_number`` (its first house number) and ``street_name`` (the rest, without numbers).
- ``record_hash``: hash of the normalized identity fields (a changed record gets a new hash).
- ``input_hash``: hash of the raw person columns (``input_hash_sql``).
- ``k_*``: blocking keys; ``bk_*``: the same keys, NULL where a key value is shared by more than
  ``block_cap`` records, so that one placeholder value can never make the candidate set
  quadratic.
"""

from __future__ import annotations

from aios_assets.shared.text import VALID_ADDRESS_PATTERN

from .nicknames import nickname_map

PERSON_COLUMNS = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "dob",
    "city",
    "postcode",
    "company",
    "street",
    "state",
    "title",
    # a date of birth the ingest could not read ("19010271": left empty as a field issue,
    # its raw text kept here by dbt); only its digits are used, as typo evidence (dob_digits)
    "dob_unparsed",
)

ROLE_MAILBOXES = (
    "info admin administrator sales support help hello contact team office billing accounts "
    "accounting invoices noreply no-reply donotreply do-not-reply newsletter news marketing "
    "hr jobs careers press media enquiries inquiries mail postmaster webmaster service "
    "customerservice orders bookings reception"
).split()

# Street-type abbreviations spelt out, so "12 High St." and "12 high street" agree exactly.
STREET_TYPES = {
    "st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue",
    "pl": "place", "dr": "drive", "cres": "crescent", "ct": "court", "ln": "lane",
    "hwy": "highway", "pde": "parade", "tce": "terrace", "terr": "terrace", "cct": "circuit",
    "blvd": "boulevard", "sq": "square", "cl": "close", "gdns": "gardens", "mt": "mount",
}

HONORIFICS = "mr mrs ms miss mx dr prof sir dame rev".split()
SUFFIXES = "jr sr ii iii iv phd md esq".split()


def _clean_name_sql(expr: str) -> str:
    """lower, strip accents, keep letters, space, hyphen and apostrophe."""
    return (
        f"nullif(trim(regexp_replace(regexp_replace(lower(strip_accents({expr})), "
        f"'[^a-z\\s''-]', '', 'g'), '\\s+', ' ', 'g')), '')"
    )


def setup_lookup_tables(con) -> None:
    """Create the nickname and role-mailbox lookup tables on ``con`` (idempotent)."""
    nick = nickname_map()
    con.execute("create or replace temp table _nicknames (variant varchar, canonical varchar)")
    con.executemany("insert into _nicknames values (?, ?)", list(nick.items()))
    con.execute("create or replace temp table _role_mailboxes (local varchar)")
    con.executemany("insert into _role_mailboxes values (?)", [(r,) for r in ROLE_MAILBOXES])


# Uncapped blocking keys (``k_*``, kept in the resolver state so an incremental run can cap
# keys against the whole population) and the rule each capped key ``bk_*`` is used in.
KEY_COLUMNS = ("k_email", "k_name", "k_sdob", "k_fdob", "k_dob", "k_user", "k_phone", "k_scity",
               "k_swap", "k_addr", "k_fpost", "k_spost", "k_npost", "k_ipost", "k_icity")


OPTIONAL_HASH_COLUMNS = ("dob_unparsed",)


def input_hash_sql(alias: str = "") -> str:
    """md5 of a record's raw person columns (all VARCHAR): a changed record gets a new hash.

    The same expression runs over the raw ``int_person_records`` rows in the warehouse, so an
    incremental run finds new or changed records without normalizing everything again."""
    prefix = f"{alias}." if alias else ""
    # a NULL of an optional column is skipped by concat_ws: hashes of records without it stay
    # what they were before the column existed
    parts = ", ".join(f"cast({prefix}{c} as varchar)" if c in OPTIONAL_HASH_COLUMNS
                      else f"coalesce(cast({prefix}{c} as varchar), '')" for c in PERSON_COLUMNS)
    return f"md5(concat_ws(chr(31), {parts}))"


def _street_sql(expr: str) -> str:
    """lower, accents stripped, punctuation to spaces, street types spelt out."""
    out = (f"trim(regexp_replace(regexp_replace(lower(strip_accents({expr})), "
           f"'[^a-z0-9 ]', ' ', 'g'), '\\s+', ' ', 'g'))")
    for short, full in STREET_TYPES.items():
        out = f"regexp_replace({out}, '\\b{short}\\b', '{full}', 'g')"
    return f"nullif({out}, '')"


def normalize_sql(input_table: str, *, block_cap: int) -> str:
    """A SELECT that turns ``input_table`` (all person columns present, VARCHAR) into records."""
    honor = "|".join(HONORIFICS)
    suffix = "|".join(SUFFIXES)
    return f"""
with base as (
    select
        row_number() over (order by source, source_id) - 1 as uid,
        source, source_id, first_seen_at,
        {input_hash_sql()} as input_hash,
        {_clean_name_sql('first_name')} as fn_raw,
        {_clean_name_sql('last_name')} as ln_raw,
        -- full name: drop an "<address>" part, honorifics and suffixes; "Last, First" flips
        nullif(trim(regexp_replace(regexp_replace(regexp_replace(
            lower(strip_accents(regexp_replace(coalesce(full_name, ''), '<[^>]*>', '', 'g'))),
            '[^a-z\\s,''-]', '', 'g'),
            '^\\s*({honor})\\s+|\\s+({suffix})\\s*$', ' ', 'g'),
            '\\s+', ' ', 'g')), '') as full_raw,
        lower(trim(email)) as email_raw,
        regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') as phone_digits,
        trim(dob) as dob_raw,
        regexp_replace(coalesce(trim(dob), trim(dob_unparsed), ''), '[^0-9]', '', 'g')
            as dob_digits0,
        {_clean_name_sql('city')} as city,
        nullif(upper(regexp_replace(coalesce(postcode, ''), '[^A-Za-z0-9]', '', 'g')),
               '') as postcode,
        nullif(trim(company), '') as company,
        {_street_sql('street')} as street,
        {_clean_name_sql('state')} as state,
        {_clean_name_sql('title')} as title
    from {input_table}
),
split as (
    select *,
        case when full_raw like '%,%' then trim(split_part(full_raw, ',', 2))
             else trim(regexp_replace(full_raw, ',', '', 'g')) end as full_ordered
    from base
),
names as (
    select *,
        -- a full name that is only the surname (dbt builds full_name from first and last
        -- name, so a contact with a surname alone has full_name = its surname) has no first
        -- name: taking the surname as one would read as "first and last name swapped"
        coalesce(fn_raw, case when full_ordered is not null
                                   and full_ordered is distinct from ln_raw
                              then split_part(full_ordered, ' ', 1) end) as fn1,
        coalesce(ln_raw,
                 case when full_raw like '%,%' then trim(split_part(full_raw, ',', 1))
                      when full_ordered like '% %'
                      then string_split(full_ordered, ' ')[-1] end) as ln1,
        case when regexp_matches(email_raw, '{VALID_ADDRESS_PATTERN}')
             then email_raw end as email_ok
    from split
),
emails as (
    select *,
        split_part(email_ok, '@', 1) as local0,
        split_part(email_ok, '@', 2) as domain0
    from names
),
emails2 as (
    select *,
        case when domain0 in ('gmail.com', 'googlemail.com')
             then replace(split_part(local0, '+', 1), '.', '')
             else split_part(local0, '+', 1) end as local1,
        case when domain0 = 'googlemail.com' then 'gmail.com' else domain0 end as domain1
    from emails
),
norm as (
    select
        uid, source, source_id, first_seen_at, input_hash,
        -- strip an honorific left in a first-name field ("Dr Ada")
        nullif(regexp_replace(fn1, '^({honor})\\s+', ''), '') as first_name,
        nullif(regexp_replace(ln1, '\\s+({suffix})$', ''), '') as surname,
        case when email_ok is not null then local1 || '@' || domain1 end as email_norm,
        local1 as email_user,
        domain1 as email_domain,
        case when length(phone_digits) >= 9 then right(phone_digits, 9) end as phone,
        strftime(coalesce(
            try_cast(dob_raw as date),
            try_strptime(dob_raw, '%d/%m/%Y')::date,
            try_strptime(dob_raw, '%d.%m.%Y')::date,
            try_strptime(dob_raw, '%Y/%m/%d')::date,
            case when regexp_full_match(dob_raw, '\\d{{8}}')
                 then try_strptime(dob_raw, '%Y%m%d')::date end
        ), '%Y-%m-%d') as dob0, dob_digits0,
        city, postcode, company, street, state, title,
        nullif(regexp_extract(street, '\\d+[a-z]?\\b'), '') as street_number,
        nullif(trim(regexp_replace(regexp_replace(street, '\\b\\d+[a-z]?\\b', ' ', 'g'),
                                   '\\s+', ' ', 'g')), '') as street_name
    from emails2
),
final as (
    select
        n.uid, n.source, n.source_id, n.first_seen_at, n.input_hash,
        n.first_name, n.surname,
        coalesce(k.canonical, n.first_name) as first_name_canon,
        n.email_norm,
        (r.local is not null) as email_is_role,
        -- the email Splink compares: shared mailboxes are not evidence of identity
        case when r.local is null then n.email_norm end as email,
        case when r.local is null and length(n.email_user) >= 4 then n.email_user end
            as email_user,
        n.email_domain, n.phone,
        case when n.dob0 between '1900-01-01' and strftime(current_date, '%Y-%m-%d')
             then n.dob0 end as dob,
        -- an impossible date of birth ("19010271"), as its 8 digits: no date, but typo
        -- evidence against another record's date (see resolve._dob_digits_agree)
        case when n.dob0 is null and length(n.dob_digits0) = 8 then n.dob_digits0 end
            as dob_digits,
        n.city, n.postcode, n.company, n.street, n.street_number, n.street_name, n.state,
        n.title
    from norm n
    left join _nicknames k on k.variant = n.first_name
    left join _role_mailboxes r on r.local = n.email_user
),
keyed as (
    select *,
        md5(concat_ws('|', coalesce(first_name, ''), coalesce(surname, ''),
                      coalesce(email_norm, ''), coalesce(dob, ''), coalesce(city, ''),
                      coalesce(postcode, ''), coalesce(phone, ''), coalesce(street, ''),
                      coalesce(state, ''), coalesce(title, ''),
                      dob_digits)) as record_hash,  -- NULL skipped: old hashes unchanged
        email as k_email,
        case when first_name is not null and surname is not null
             then first_name_canon || '|' || surname end as k_name,
        case when surname is not null and dob is not null then surname || '|' || dob end as k_sdob,
        case when first_name is not null and dob is not null
             then first_name_canon || '|' || dob end as k_fdob,
        dob as k_dob,
        email_user as k_user,
        phone as k_phone,
        case when surname is not null and city is not null then surname || '|' || city end
            as k_scity,
        case when first_name is not null and surname is not null
             then surname || '|' || first_name end as k_swap,
        case when street_number is not null and street_name is not null
             then street_number || '|' || street_name end as k_addr,
        -- first name or surname with the postcode: finds a typo in the other name when the
        -- record has no dob and another street (no other key joins such a pair)
        case when first_name is not null and postcode is not null
             then first_name_canon || '|' || postcode end as k_fpost,
        case when surname is not null and postcode is not null
             then surname || '|' || postcode end as k_spost,
        -- house number and postcode: finds a typo in the street name ("dalrymple s treet")
        -- together with typos in both names, which no name key joins
        case when street_number is not null and postcode is not null
             then street_number || '|' || postcode end as k_npost,
        -- initials with the postcode, or the first two letters of each name with the town
        -- (a town holds many more people than a postcode): typos in both names ("kynzn
        -- doolqey" / "kynan dooley"), which no exact name key joins
        case when first_name is not null and surname is not null and postcode is not null
             then left(first_name, 1) || left(surname, 1) || '|' || postcode end as k_ipost,
        case when length(first_name) > 1 and length(surname) > 1 and city is not null
             then left(first_name, 2) || left(surname, 2) || '|' || city end as k_icity
    from final
)
select *,
    case when count(*) over (partition by k_email) <= {block_cap} then k_email end as bk_email,
    case when count(*) over (partition by k_name) <= {block_cap} then k_name end as bk_name,
    case when count(*) over (partition by k_sdob) <= {block_cap} then k_sdob end as bk_sdob,
    case when count(*) over (partition by k_fdob) <= {block_cap} then k_fdob end as bk_fdob,
    case when count(*) over (partition by k_dob) <= {block_cap} then k_dob end as bk_dob,
    case when count(*) over (partition by k_user) <= {block_cap} then k_user end as bk_user,
    case when count(*) over (partition by k_phone) <= {block_cap} then k_phone end as bk_phone,
    case when count(*) over (partition by k_scity) <= {block_cap} then k_scity end as bk_scity,
    -- first/last swapped: my "first|last" equals your "last|first"
    case when count(*) over (partition by k_swap) <= {block_cap} then k_swap end as bk_swap,
    case when count(*) over (partition by k_addr) <= {block_cap} then k_addr end as bk_addr,
    case when count(*) over (partition by k_fpost) <= {block_cap} then k_fpost end as bk_fpost,
    case when count(*) over (partition by k_spost) <= {block_cap} then k_spost end as bk_spost,
    case when count(*) over (partition by k_npost) <= {block_cap} then k_npost end as bk_npost,
    case when count(*) over (partition by k_ipost) <= {block_cap} then k_ipost end as bk_ipost,
    case when count(*) over (partition by k_icity) <= {block_cap} then k_icity end as bk_icity
from keyed
"""
