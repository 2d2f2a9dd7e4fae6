{#- The address inside "Name <addr>" (else the value when it is a bare address with a dotted
    domain), lower case. The one rule with aios_assets.shared.text.email_of (a parity test runs
    both). `expr` is parenthesized: an operator expression such as `payload ->> 'organizer'`
    binds more loosely than LIKE, so unparenthesized it would be parsed as `payload ->> (...)`. -#}
{% macro email_of(expr) -%}
nullif(lower(coalesce(
    nullif(regexp_extract(({{ expr }}), '<\s*([^<>\s]+@[^<>\s]+)\s*>', 1), ''),
    nullif(regexp_extract(({{ expr }}), '^\s*([^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)\s*$', 1), '')
)), '')
{%- endmacro %}

{#- The display name of "Name <addr>": every <...> part and quote removed, spaces collapsed; a
    value without "<" is a name unless it holds an "@" (aios_assets.shared.text.name_of). -#}
{% macro display_name_of(expr) -%}
case
    when ({{ expr }}) like '%<%'
    then nullif(trim(regexp_replace(
        replace(regexp_replace(({{ expr }}), '<[^<>]*>', ' ', 'g'), '"', ''), '\s+', ' ', 'g')),
        '')
    when ({{ expr }}) not like '%@%'
    then nullif(regexp_replace(replace(({{ expr }}), '"', ''), '^\s+|\s+$', '', 'g'), '')
end
{%- endmacro %}

{#- A field of the JSON payload as text (NULL for empty strings). -#}
{% macro pl(field) -%}
nullif(trim(payload ->> '{{ field }}'), '')
{%- endmacro %}

{#- Non-personal mail providers: their domains never identify an organization. -#}
{% macro freemail_domains() -%}
('gmail.com', 'googlemail.com', 'yahoo.com', 'yahoo.co.uk', 'outlook.com', 'hotmail.com',
 'hotmail.co.uk', 'live.com', 'msn.com', 'icloud.com', 'me.com', 'mac.com', 'aol.com',
 'proton.me', 'protonmail.com', 'gmx.com', 'gmx.de', 'web.de', 'fastmail.com', 'zoho.com',
 'mail.com', 'yandex.com', 'hey.com', 'pm.me',
 'gmail.example', 'outlook.example', 'proton.example', 'icloud.example', 'fastmail.example')
{%- endmacro %}

{#- A company name reduced to a matching key: "ACME, Ltd." and "Acme" -> "acme"; "Acme B.V."
    (punctuation made spaces: "acme b v") and "Acme SAS" -> "acme" too. Mirrored by
    aios_assets.memory.fact_extraction.company_key; tests/test_company_key_parity.py holds them
    equal. -#}
{% macro company_key(expr) -%}
nullif(trim(regexp_replace(regexp_replace(regexp_replace(
    lower(strip_accents(({{ expr }}))), '[^a-z0-9 ]', ' ', 'g'),
    '\b(ltd|limited|inc|incorporated|llc|llp|gmbh|plc|group|co|corp|corporation|company|sa|sas|sarl|bv|b v|ag|pty)\b', ' ', 'g'),
    '\s+', ' ', 'g')), '')
{%- endmacro %}

{#- What an invoice line sells, without its billing period: "Q3 retainer - July 2026" and
    "Q4 Retainer – October 2026" are both "retainer" (lower case, spacing collapsed). -#}
{% macro product_name_of(expr) -%}
nullif(trim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
    trim(({{ expr }})),
    '\s*[-–—:]\s*((jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{4}|\d{4}-\d{2}(-\d{2})?|q[1-4]\s*\d{4})\s*$', '', 'i'),
    '^\s*(q[1-4]|h[12])(\s+\d{4})?\s+', '', 'i'),
    '^\s*(january|february|march|april|may|june|july|august|september|october|november|december)\s+\d{4}\s+', '', 'i'),
    '\s+', ' ', 'g')), '')
{%- endmacro %}

{#- The product id of an invoice line description (see product_name_of). -#}
{% macro product_id_of(expr) -%}
'prd_' || left(md5(lower({{ product_name_of(expr) }})), 16)
{%- endmacro %}

{#- dim_contacts' pick of one value for an entity: the preferred record kind first, then the
    most recently seen, ties by (source, source_id), among the records where `present` holds
    (default: the column is not NULL). -#}
{% macro preferred(column, present=none) -%}
first({{ column }} order by kind_rank, last_seen_at desc nulls last, source, source_id)
    filter (where {{ present if present else column ~ ' is not null' }})
{%- endmacro %}
