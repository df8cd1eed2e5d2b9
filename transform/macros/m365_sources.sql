{#- Sources that may be absent: a stream skipped for a missing licence or permission (Intune, Entra ID
    P1/P2), not selected by default (detected_app_devices), or newer than the loaded tables
    (user_registration_details). A staging model over such a source reads it when the table exists and
    is empty (same columns) otherwise, so the marts build on any tenant. -#}

{% macro m365_source_relation(table) -%}
    {%- set src = source('microsoft365', table) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier)) }}
{%- endmacro %}

{% macro m365_source_exists(table) -%}
    {{ return(m365_source_relation(table) is not none) }}
{%- endmacro %}

{#- `select * from <source>` without rows deleted in Graph: delta streams mark them with _sdc_deleted_at
    (and deletion_reason); target-postgres also sets _sdc_deleted_at on rows a full-table stream no longer
    sends (ACTIVATE_VERSION). Tables without the column have no deletions to drop. -#}
{% macro m365_live_source(table) -%}
    {%- set src = source('microsoft365', table) -%}
    {%- set rel = m365_source_relation(table) -%}
    {%- set names = [] -%}
    {%- if rel is not none -%}
        {%- for col in adapter.get_columns_in_relation(rel) -%}
            {%- do names.append(col.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    select * from {{ src }}
    {%- if '_sdc_deleted_at' in names %} where _sdc_deleted_at is null{% endif %}
{%- endmacro %}

{#- An optional source: its live rows when the table exists, else no rows, with the given columns either
    way (a column the table lacks is null, so a loader or tap version without it still builds).
    columns: {"raw column name": "type"} for every column the staging model reads; types as m365_type. -#}
{% macro m365_optional_source(table, columns, enabled=true) -%}
    {%- set rel = m365_source_relation(table) if enabled else none -%}
    {%- if rel is none -%}
        {{ m365_empty_source(columns) }}
    {%- else -%}
        {%- set present = [] -%}
        {%- for col in adapter.get_columns_in_relation(rel) -%}
            {%- do present.append(col.name | lower) -%}
        {%- endfor -%}
        select
        {%- for name, type in columns.items() %}
            {% if name | lower in present -%}
            {{ adapter.quote(name) }}
            {%- else -%}
            cast(null as {{ m365_type(type) }}) as {{ adapter.quote(name) }}
            {%- endif %}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ source('microsoft365', table) }}
        {%- if '_sdc_deleted_at' in present %} where _sdc_deleted_at is null{% endif %}
    {%- endif -%}
{%- endmacro %}

{#- No rows, with the given columns. -#}
{% macro m365_empty_source(columns) -%}
    select
    {%- for name, type in columns.items() %}
        cast(null as {{ m365_type(type) }}) as {{ adapter.quote(name) }}{{ "," if not loop.last }}
    {%- endfor %}
    where 1 = 0
{%- endmacro %}

{#- Portable type names for the empty branch of m365_optional_source. -#}
{% macro m365_type(name) -%}
    {{ return(adapter.dispatch('m365_type', 'microsoft365')(name)) }}
{%- endmacro %}

{% macro default__m365_type(name) -%}
    {%- set types = {'text': 'text', 'bool': 'boolean', 'int': 'bigint', 'timestamp': 'timestamp',
                     'date': 'date', 'json': 'jsonb', 'json_array': 'jsonb', 'text_array': 'text[]',
                     'number': 'double precision'} -%}
    {{ return(types.get(name, name)) }}
{%- endmacro %}

{% macro duckdb__m365_type(name) -%}
    {%- set types = {'text': 'varchar', 'bool': 'boolean', 'int': 'bigint', 'timestamp': 'timestamp',
                     'date': 'date', 'json': 'json', 'json_array': 'json', 'text_array': 'json',
                     'number': 'double'} -%}
    {{ return(types.get(name, name)) }}
{%- endmacro %}

{#- A role assignment's directoryScopeId as tenant ("/"), administrative_unit or object (one directory
    object, e.g. an app registration). -#}
{% macro m365_directory_scope_type(column) -%}
    case
        when {{ column }} is null then null
        when {{ column }} = '/' then 'tenant'
        when {{ column }} like '/administrativeUnits/%' then 'administrative_unit'
        else 'object'
    end
{%- endmacro %}
