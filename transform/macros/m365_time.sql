{#- Date-times as UTC-aware timestamps (timestamptz on PostgreSQL, TIMESTAMPTZ on DuckDB), whatever the
    loader made of Graph's ISO strings: a naive timestamp (UTC, as both targets load them), a timestamp
    with a zone, or the text itself. Naive values are read as UTC, never in the session's time zone. -#}
{% macro m365_timestamp(column) -%}
    {{ return(adapter.dispatch('m365_timestamp', 'microsoft365')(column)) }}
{%- endmacro %}

{% macro default__m365_timestamp(column) -%}
    case
        when ({{ column }}) is null then null
        when cast(({{ column }}) as text) ~ '\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$'
            then cast(cast(({{ column }}) as text) as timestamptz)
        else cast(cast(({{ column }}) as text) || '+00' as timestamptz)
    end
{%- endmacro %}

{% macro duckdb__m365_timestamp(column) -%}
    case
        when ({{ column }}) is null then null
        when regexp_matches(cast(({{ column }}) as varchar), '\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$')
            then cast(replace(replace(cast(({{ column }}) as varchar), 'Z', '+00'), 'z', '+00') as timestamptz)
        else cast(cast(({{ column }}) as varchar) || '+00' as timestamptz)
    end
{%- endmacro %}

{#- A calendar date from a date, a timestamp or ISO text ('2026-11-30'); empty text is null. -#}
{% macro m365_date(column) -%}
    cast(nullif(substr(cast({{ column }} as {{ dbt.type_string() }}), 1, 10), '') as date)
{%- endmacro %}

{#- The instant the marts measure from: var m365_as_of (ISO 8601; a naive value is UTC), else now. -#}
{% macro m365_as_of() -%}
    {%- set as_of = var('m365_as_of', none) -%}
    {%- if as_of -%}
        {{ m365_timestamp("'" ~ as_of ~ "'") }}
    {%- else -%}
        {{ m365_timestamp('current_timestamp') }}
    {%- endif -%}
{%- endmacro %}

{#- Whole days elapsed from start to end (floor), null when either is null. -#}
{% macro m365_days_between(start, end) -%}
    {{ return(adapter.dispatch('m365_days_between', 'microsoft365')(start, end)) }}
{%- endmacro %}

{% macro default__m365_days_between(start, end) -%}
    cast(floor(extract(epoch from ({{ end }}) - ({{ start }})) / 86400) as integer)
{%- endmacro %}

{% macro duckdb__m365_days_between(start, end) -%}
    cast(floor((epoch({{ end }}) - epoch({{ start }})) / 86400) as integer)
{%- endmacro %}

{#- A timestamp n days before / after another. -#}
{% macro m365_days_before(ts, days) -%}
    ({{ ts }} - interval '{{ days | int }} days')
{%- endmacro %}

{% macro m365_days_after(ts, days) -%}
    ({{ ts }} + interval '{{ days | int }} days')
{%- endmacro %}

{#- The largest non-null value of several expressions (null when all are null). -#}
{% macro m365_greatest(expressions) -%}
    greatest({{ expressions | join(', ') }})
{%- endmacro %}

{#- A date as the timestamp of its midnight UTC. -#}
{% macro m365_date_to_timestamp(column) -%}
    {{ m365_timestamp("cast(" ~ column ~ " as " ~ dbt.type_string() ~ ") || 'T00:00:00Z'") }}
{%- endmacro %}
