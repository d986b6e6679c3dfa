{#-
    Identity records of the high-volume channels.

    A person who opens 300 newsletters, pays 40 times with the same loyalty card or orders every month with
    the same details produces hundreds of source records that say the same thing about who they are. The
    identity stage resolves *identity records*: in the channels listed by `collapsed_identity_channels()`
    the source records with identical identifying fields are one identity record (a contact signature),
    so the stage's work follows the number of distinct contact signatures, not the number of events.
    Records with identical identifying fields in one channel would be linked anyway (a shared email,
    account, loyalty card or phone links them deterministically, and no guard can refuse a link that adds
    no new value); counting them once also keeps repeated events from inflating the blocks of the
    probabilistic pass. CRM contacts (versioned) and tickets keep one identity record per source record.

    `int_contact_record_members` maps every source record to its identity record;
    `int_source_record_customers` maps every source record to its customer.
-#}

{% macro collapsed_identity_channels() -%}
    {{ return(['web', 'pos', 'marketing', 'surveys']) }}
{%- endmacro %}

{#- The fields whose values make a contact signature (the identity stage reads exactly these). -#}
{% macro identity_fields() -%}
    {{ return(['account_id', 'loyalty_id', 'email', 'phone', 'first_name', 'last_name', 'full_name',
               'birth_date', 'street', 'postal_code', 'city', 'country_code']) }}
{%- endmacro %}

{#-
    contact_signature_id(): `sig-` and the md5 of the identifying fields (each null written as `\N`, so a
    null and an empty text differ), for the row in scope. Deterministic, so the id is the same every day.
-#}
{% macro contact_signature_id() -%}
    {%- set parts = [] -%}
    {%- for field in identity_fields() -%}
        {%- if not loop.first -%}{%- do parts.append("'|'") -%}{%- endif -%}
        {%- do parts.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '\\N')") -%}
    {%- endfor -%}
    {{ dbt.concat(["'sig-'", "md5(" ~ dbt.concat(parts) ~ ")"]) }}
{%- endmacro %}
