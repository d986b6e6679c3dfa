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
        {%- do parts.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), " ~ null_marker() ~ ")") -%}
    {%- endfor -%}
    {{ dbt.concat(["'sig-'", "md5(" ~ dbt.concat(parts) ~ ")"]) }}
{%- endmacro %}

{#-
    identity_blocklist(): the values that identify no one, as the identity stage's
    plugins/customer360/identity/blocklist.yml lists them (tests/unit/test_identity_guards.py checks that the
    two lists are the same). Phones: digits only; one repeated digit, seven or more equal trailing digits and
    seven-digit runs are placeholders by rule (identity.normalize_phone).
-#}
{% macro identity_blocklist() -%}
{%- set lists -%}
role_email_local_parts: [abuse, accounts, admin, administrator, billing, booking, bookings, contact,
  customerservice, customer.service, donotreply, do-not-reply, do_not_reply, enquiries, feedback, finance,
  hello, help, helpdesk, hr, info, invoice, invoices, jobs, kantoor, klantenservice, mail, marketing,
  no-reply, no_reply, noreply, office, orders, postmaster, reception, sales, service, shop, support, team,
  test, webmaster]
blocked_email_domains: [example.com, example.net, example.org, test.com, localhost, invalid, noemail.com,
  none.com]
placeholder_phone_digits: ["0000000000", "1234567890", "0123456789", "0612345678", "31612345678",
  "0201234567"]
placeholder_phone_pattern: "^(0+|1+|2+|3+|4+|5+|6+|7+|8+|9+)$|^[0-9]{0,4}(0{7,}|1{7,}|2{7,}|3{7,}|4{7,}|5{7,}|6{7,}|7{7,}|8{7,}|9{7,})$|0123456|1234567|2345678|3456789|9876543|8765432|7654321|6543210"
{%- endset -%}
{{ return(fromyaml(lists)) }}
{%- endmacro %}

{#-
    identity_record_is_collapsible(): true when the row (with the fields of identity_fields()) holds an
    identifier that names one person: an account id, a loyalty id, a name, or an email that is not a role
    mailbox or placeholder domain. A phone alone is not enough: a family's landline given at the till is
    everyone's and no one's (a household value, identity/households.py), so receipts that carry nothing
    but a phone stay one identity record each, and the identity stage links them by the phone only when
    one person holds it. Placeholder phones are listed here for the privacy scan and the blocklist test.
-#}
{% macro identity_record_is_collapsible() -%}
    {%- set blocklist = identity_blocklist() -%}
    {%- set email = "lower(trim(email))" -%}
    {%- set local_part = "regexp_replace(" ~ dbt.split_part(email, "'@'", 1) ~ ", '[+].*$', '')" -%}
    {%- set domain = dbt.split_part(email, "'@'", 2) -%}
    (
        nullif(trim(cast(account_id as {{ dbt.type_string() }})), '') is not null
        or nullif(trim(cast(loyalty_id as {{ dbt.type_string() }})), '') is not null
        or nullif(trim(coalesce(full_name, first_name, last_name)), '') is not null
        or (
            nullif(trim(email), '') is not null
            and {{ local_part }} not in ('{{ blocklist.role_email_local_parts | join("', '") }}')
            and {{ domain }} not in ('{{ blocklist.blocked_email_domains | join("', '") }}')
        )
    )
{%- endmacro %}
