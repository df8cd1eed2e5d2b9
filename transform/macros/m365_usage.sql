{#- Staging for a usage report table (already snake_case): every column but the loader's _sdc_ ones, dates
    (columns ending in _date) as dates, lists (assigned_products) as comma-separated text, extra_columns
    (columns Microsoft added that the tap does not know yet) as JSON text. An absent table (no
    Reports.Read.All) gives no rows with tenant_id, report_date and the key columns. -#}
{% macro m365_usage_staging(table, keys=['user_principal_name']) -%}
    {%- set rel = m365_source_relation(table) -%}
    {%- if rel is none -%}
        {%- set columns = {'tenant_id': 'text', 'report_date': 'date'} -%}
        {%- for key in keys -%}{%- do columns.update({key: 'text'}) -%}{%- endfor -%}
        {{ m365_empty_source(columns) }}
    {%- else -%}
        select
        {%- for col in adapter.get_columns_in_relation(rel) if not (col.name | lower).startswith('_sdc_') %}
            {%- set name = col.name | lower %}
            {% if name.endswith('_date') -%}
            {{ m365_date(adapter.quote(col.name)) }} as {{ name }}
            {%- elif name == 'assigned_products' -%}
            {{ m365_string_list(adapter.quote(col.name), ' + ') }} as {{ name }}
            {%- elif name == 'extra_columns' -%}
            cast({{ adapter.quote(col.name) }} as {{ dbt.type_string() }}) as {{ name }}
            {%- else -%}
            {{ adapter.quote(col.name) }} as {{ name }}
            {%- endif %}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ source('microsoft365', table) }}
        {%- if '_sdc_deleted_at' in (adapter.get_columns_in_relation(rel) | map(attribute='name') | map('lower') | list) %}
        where _sdc_deleted_at is null
        {%- endif %}
    {%- endif -%}
{%- endmacro %}
